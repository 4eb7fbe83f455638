"""How the portal writes dates and times for people: in the service's zone, in the reader's style.

An instant is written in figures, day first, on 24 hours (settings.FORMAT_MODULE_PATH); a day
that people plan around is written in words with its weekday. Italian and French write weekday
and month names in lower case ("mardi 8 décembre"), which Django's names do not always do: its
Italian catalogue and ours capitalise them.
"""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import get_language

# Languages whose weekday and month names are common nouns, in lower case inside a sentence.
LOWER_CASE_NAMES = frozenset({"it", "fr"})
EN_DASH = "\u2013"  # between the two ends of a span


def service_zone() -> ZoneInfo:
    """Return the zone of the service hours, in which every instant is shown."""
    return ZoneInfo(settings.SERVICE_TIME_ZONE)


def in_service_zone(value: datetime) -> datetime:
    """Return an aware instant as the wall-clock time of the service zone."""
    return timezone.localtime(value, service_zone())


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


def _day(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return in_service_zone(value)
    return value


def date_long(value: date | datetime, *, weekday: bool = True) -> str:
    """Write a day in words, e.g. "martedì 8 dicembre 2026", "mardi 1er décembre 2026"."""
    value = _day(value)
    language = _language()
    day = r"j\e\r" if language == "fr" and value.day == 1 else "j"
    text = formats.date_format(value, f"{'l ' if weekday else ''}{day} F Y")
    return text.lower() if language in LOWER_CASE_NAMES else text


def datetime_long(value: datetime) -> str:
    """Write an instant in words with its time, e.g. "martedì 8 dicembre 2026, 09:00"."""
    value = in_service_zone(value)
    return f"{date_long(value)}, {formats.date_format(value, 'TIME_FORMAT')}"


# Django's format characters that strftime writes the same way (figures only, no names).
_STRFTIME = {"d": "%d", "m": "%m", "Y": "%Y", "y": "%y", "H": "%H", "i": "%M", "s": "%S"}


@lru_cache(maxsize=32)
def _strftime_pattern(django_format: str) -> str | None:
    """The strftime pattern of a Django date format in figures, or None if it needs Django's."""
    pattern = []
    for char in django_format:
        if char in _STRFTIME:
            pattern.append(_STRFTIME[char])
        elif char.isalpha() or char == "\\":
            return None
        else:
            pattern.append(char.replace("%", "%%"))
    return "".join(pattern)


def datetime_short(value: datetime) -> str:
    """Write an instant in figures, e.g. "08/12/2026 09:00", in the service zone.

    Through strftime when the reader's SHORT_DATETIME_FORMAT is figures only: lists write one
    a row, and Django's formatter costs several times as much.
    """
    local = in_service_zone(value)
    django_format = formats.get_format("SHORT_DATETIME_FORMAT")
    pattern = _strftime_pattern(django_format)
    if pattern is None:
        return formats.date_format(local, django_format)
    return local.strftime(pattern)


def date_short(value: date | datetime) -> str:
    """Write a day in figures, e.g. "08/12/2026"."""
    return formats.date_format(_day(value), "SHORT_DATE_FORMAT")


def day_month_short(value: date | datetime) -> str:
    """Write a day without its year, in the order of the short date, e.g. "08/12"."""
    pattern = formats.get_format("SHORT_DATE_FORMAT")
    for year in ("/Y", ".Y", "-Y", "Y/", "Y-", "Y.", "/y", ".y", "-y"):
        pattern = pattern.replace(year, "")
    return formats.date_format(_day(value), pattern)


def zone_name() -> str:
    """Name the service zone, for times a reader could take for their own zone's."""
    return settings.SERVICE_TIME_ZONE


def span_short(start: datetime, end: datetime) -> str:
    """Write a span of time in figures, its day once when it ends on the day it starts."""
    start, end = in_service_zone(start), in_service_zone(end)
    if start.date() == end.date():
        return f"{datetime_short(start)}{EN_DASH}{formats.date_format(end, 'TIME_FORMAT')}"
    return f"{datetime_short(start)} {EN_DASH} {datetime_short(end)}"
