"""Days as each language writes them on the portal, and the feeds in the language they say."""

import json
from datetime import date

import icalendar
import pytest
import time_machine
from django.urls import reverse

from schedule.models import Maintenance
from schedule.services import maintenance_save
from tests.schedule.conftest import rome
from tests.schedule.factories import ClosureFactory

pytestmark = pytest.mark.django_db

NOW = rome(2026, 12, 1, 9, 0)  # a Tuesday, service open


# The portal: weekday and month names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "written", "capitalised"),
    [
        ("fr", "mardi 8 décembre 2026", "Mardi 8"),
        ("it", "martedì 8 dicembre 2026", "Martedì 8"),
        ("en", "Tuesday 8 December 2026", "tuesday 8"),
    ],
)
def test_holiday_notice_writes_names_as_each_language_does(client, language, written, capitalised):
    with time_machine.travel(NOW, tick=False):
        page = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert written in page
    assert capitalised not in page
    assert "Dicembre" not in page


def test_french_writes_the_first_of_the_month_as_an_ordinal(client):
    with time_machine.travel(rome(2025, 12, 22, 12, 0), tick=False):
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "jeudi 1er janvier 2026" in page


def test_maintenance_notice_names_are_lower_case_in_french_and_italian(
    client, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        maintenance_save(
            maintenance=Maintenance(
                starts_at=rome(2026, 12, 8, 22, 0), ends_at=rome(2026, 12, 9, 2, 0), text_it="."
            )
        )
        feed = json.loads(client.get(reverse("schedule:notices-feed")).content)

    texts = next(n["text"] for n in feed["notices"] if n["source"] == "maintenance")
    assert "mardi 8 décembre 2026, 22:00" in texts["fr"]
    assert "mercredi 9 décembre 2026, 02:00" in texts["fr"]
    assert "martedì 8 dicembre 2026, 22:00" in texts["it"]
    assert "Tuesday 8 December 2026, 22:00" in texts["en"]


# The feeds: their language, and the holidays' English names ------------------------------------


def _feed(client, language):
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("schedule:calendar-feed"), {"lang": language})


@pytest.mark.parametrize("language", ["it", "en", "fr"])
def test_calendar_feed_is_labelled_with_the_language_it_is_written_in(client, language):
    ClosureFactory(first_day=date(2026, 12, 24), last_day=date(2026, 12, 31))

    response = _feed(client, language)

    assert response["Content-Language"] == language
    feed = icalendar.Calendar.from_ical(response.content)
    assert feed["X-WR-CALNAME"].params["LANGUAGE"] == language
    assert {e["SUMMARY"].params["LANGUAGE"] for e in feed.walk("VEVENT")} == {language}


def test_english_feed_gives_italian_holidays_their_british_names(client):
    summaries = [
        str(e["SUMMARY"])
        for e in icalendar.Calendar.from_ical(_feed(client, "en").content).walk("VEVENT")
    ]

    assert "Support closed: national holiday (Labour Day)" in summaries
    assert not [s for s in summaries if "Labor" in s]
    assert "Support closed: national holiday (Assumption of Mary)" in summaries


def test_notices_feed_is_labelled_with_its_three_languages(client):
    response = client.get(reverse("schedule:notices-feed"), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "it, en, fr"
