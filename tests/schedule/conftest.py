from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

ROME = ZoneInfo("Europe/Rome")


def rome(*args) -> datetime:
    """An instant given as Italian wall-clock time."""
    return datetime(*args, tzinfo=ROME)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """Each test starts from the database, not from a calendar cached by another test."""
    cache.clear()
    yield
    cache.clear()
