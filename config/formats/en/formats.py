"""English as written for an Italian service: day first, 24-hour clock (as in en-GB)."""

DATE_FORMAT = "j F Y"  # 27 November 2026
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "d/m/Y H:i"  # 27/11/2026 14:30
YEAR_MONTH_FORMAT = "F Y"  # November 2026
MONTH_DAY_FORMAT = "j F"  # 27 November
SHORT_DATE_FORMAT = "d/m/Y"  # 27/11/2026
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # 27/11/2026 14:30
FIRST_DAY_OF_WEEK = 1  # Monday

# The first of each list is how date fields show their value (and the admin's calendar fills
# them in); ISO dates are accepted too.
DATE_INPUT_FORMATS = [
    "%d/%m/%Y",  # '27/11/2026'
    "%d/%m/%y",  # '27/11/26'
    "%Y-%m-%d",  # '2026-11-27'
    "%d %b %Y",  # '27 Nov 2026'
    "%d %B %Y",  # '27 November 2026'
]
DATETIME_INPUT_FORMATS = [
    "%d/%m/%Y %H:%M:%S",  # '27/11/2026 14:30:59'
    "%d/%m/%Y %H:%M:%S.%f",  # '27/11/2026 14:30:59.000200'
    "%d/%m/%Y %H:%M",  # '27/11/2026 14:30'
    "%d/%m/%y %H:%M:%S",  # '27/11/26 14:30:59'
    "%d/%m/%y %H:%M",  # '27/11/26 14:30'
    "%Y-%m-%d %H:%M:%S",  # '2026-11-27 14:30:59'
    "%Y-%m-%d %H:%M:%S.%f",  # '2026-11-27 14:30:59.000200'
    "%Y-%m-%d %H:%M",  # '2026-11-27 14:30'
]
TIME_INPUT_FORMATS = ["%H:%M:%S", "%H:%M:%S.%f", "%H:%M"]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
