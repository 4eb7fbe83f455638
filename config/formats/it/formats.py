"""Italian: Django's formats, but an instant in figures, without capitalised names."""

# Django's own are "d F Y" and "l d F Y H:i", whose names its catalogue capitalises
# ("Mercoledì 02 Dicembre"): Italian writes them in lower case (core.dates does).
DATE_FORMAT = "d/m/Y"  # 27/11/2026
DATETIME_FORMAT = "d/m/Y H:i"  # 27/11/2026 14:30
