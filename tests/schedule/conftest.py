from datetime import datetime
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


def rome(*args) -> datetime:
    """An instant given as Italian wall-clock time."""
    return datetime(*args, tzinfo=ROME)
