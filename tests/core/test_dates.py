"""core.dates: the short form of an instant, written through strftime where Django's formatter
would write the same, and through Django's where the format has names in it."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import formats, translation

from core import dates

INSTANTS = [
    datetime(2026, 11, 27, 9, 5, tzinfo=UTC),  # winter: 10:05 in Rome
    datetime(2026, 7, 1, 22, 30, 59, tzinfo=UTC),  # summer, the next day in Rome
    datetime(1999, 1, 2, 3, 4, tzinfo=UTC),
]


@pytest.mark.parametrize("language", ["it", "en", "fr"])
@pytest.mark.parametrize("instant", INSTANTS)
def test_it_writes_what_django_s_formatter_writes(language, instant):
    with translation.override(language):
        expected = formats.date_format(dates.in_service_zone(instant), "SHORT_DATETIME_FORMAT")
        assert dates.datetime_short(instant) == expected


def test_the_service_zone_not_the_server_s(settings):
    settings.TIME_ZONE = "UTC"
    with translation.override("en"):
        assert dates.datetime_short(INSTANTS[0]) == "27/11/2026 10:05"


def test_a_format_with_names_or_escapes_goes_to_django(monkeypatch):
    assert dates._strftime_pattern("d/m/Y H:i") == "%d/%m/%Y %H:%M"
    assert dates._strftime_pattern("d.m.Y, H:i %") == "%d.%m.%Y, %H:%M %%"
    assert dates._strftime_pattern("j N Y") is None
    assert dates._strftime_pattern(r"d \d\e m") is None

    monkeypatch.setattr(formats, "get_format", lambda name, *args, **kwargs: "l j F Y, H:i")
    with translation.override("en"):
        assert dates.datetime_short(INSTANTS[0]) == "Friday 27 November 2026, 10:05"


def test_the_time_tag_gives_machines_iso_and_people_figures():
    template = Template("{% load portal_dates %}{% time_short when %}|{% time_short none %}")
    with translation.override("it"):
        html = template.render(Context({"when": INSTANTS[0], "none": None}))
    assert html == '<time datetime="2026-11-27T10:05:00+01:00">27/11/2026 10:05</time>|'
