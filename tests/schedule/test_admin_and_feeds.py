"""Managers' saves through the admin (and the services behind it); the public feeds."""

import json
from datetime import date, timedelta

import icalendar
import pytest
import time_machine
from django.urls import reverse

from schedule.gate import ServiceState, service_status
from schedule.models import Closure, Maintenance, Notice, ServiceHours
from schedule.services import closure_save, maintenance_save, notice_save
from tests.schedule.conftest import rome
from tests.schedule.factories import ClosureFactory, MaintenanceFactory, NoticeFactory

pytestmark = pytest.mark.django_db

NOW = rome(2025, 11, 24, 9, 0)  # a Monday, service open


def maintenance_form(start, hours=2, urgent=False):
    data = {
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M"),
        "ends_at_0": (start + timedelta(hours=hours)).strftime("%Y-%m-%d"),
        "ends_at_1": (start + timedelta(hours=hours)).strftime("%H:%M"),
        "text_it": "Aggiornamento.",
        "text_en": "Upgrade.",
        "text_fr": "",
    }
    if urgent:
        data["is_urgent"] = "on"
    return data


def test_initial_hours_are_monday_to_friday_twice_a_day():
    rows = list(ServiceHours.objects.values_list("weekday", "opens_at", "closes_at"))
    assert len(rows) == 10
    assert {r[0] for r in rows} == {0, 1, 2, 3, 4}
    assert {(str(r[1]), str(r[2])) for r in rows} == {
        ("08:30:00", "12:30:00"),
        ("14:00:00", "18:00:00"),
    }


@pytest.mark.parametrize(
    ("hours_ahead", "urgent", "accepted"),
    [(23, False, False), (23, True, True), (25, False, True), (1, True, True)],
)
def test_admin_refuses_maintenance_without_24_hours_notice_unless_urgent(
    manager_client, django_capture_on_commit_callbacks, hours_ahead, urgent, accepted
):
    start = NOW + timedelta(hours=hours_ahead)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("admin:schedule_maintenance_add"), maintenance_form(start, urgent=urgent)
        )
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert "urgent" in response.content.decode()
        assert not Maintenance.objects.exists()
        return
    notice = Notice.objects.get(maintenance=Maintenance.objects.get())
    assert notice.publish_from == NOW
    assert notice.severity == ("critical" if urgent else "warning")
    end = start + timedelta(hours=2)
    assert notice.text_en == (
        f"Extraordinary maintenance from {start:%A} {start.day} {start:%B %Y, %H:%M} to "
        f"{end:%A} {end.day} {end:%B %Y, %H:%M}: the portal will not be reachable. Upgrade."
    )
    # The saved window reaches the gate at once: the cache was told on commit.
    assert service_status(at=start + timedelta(minutes=30)).state == ServiceState.MAINTENANCE
    with time_machine.travel(NOW, tick=False):
        page = manager_client.get("/").content.decode()
    assert "Extraordinary maintenance from" in page


def test_admin_closure_creates_and_updates_its_notice_and_the_gate_follows(
    manager_client, django_capture_on_commit_callbacks
):
    at = rome(2025, 11, 27, 10, 0)
    assert service_status(at=at).state == ServiceState.OPEN
    data = {
        "first_day": "2025-11-27",
        "last_day": "2025-11-28",
        "recurs_yearly": "",
        "title_it": "Inventario",
        "title_en": "Stocktaking",
        "title_fr": "Inventaire",
    }
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("admin:schedule_closure_add"), data)
    assert response.status_code == 302
    closure = Closure.objects.get()
    assert closure.notice.text_en == (
        "The support service is closed from Thursday 27 November 2025 to "
        "Friday 28 November 2025: Stocktaking."
    )
    assert service_status(at=at).state == ServiceState.CLOSURE

    data["last_day"] = "2025-11-27"
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("admin:schedule_closure_change", args=[closure.pk]), data)
    closure.notice.refresh_from_db()
    assert "on Thursday 27 November 2025: Stocktaking." in closure.notice.text_en
    assert service_status(at=rome(2025, 11, 28, 10, 0)).state == ServiceState.OPEN

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("admin:schedule_closure_delete", args=[closure.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Closure.objects.exists()
    assert not Notice.objects.exists()
    assert service_status(at=at).state == ServiceState.OPEN


def test_admin_service_hours_edit_reaches_the_gate_and_overlaps_are_refused(
    manager_client, django_capture_on_commit_callbacks
):
    saturday = rome(2025, 11, 29, 10, 0)
    assert service_status(at=saturday).state == ServiceState.OUTSIDE_HOURS
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("admin:schedule_servicehours_add"),
            {"weekday": 5, "opens_at": "09:00", "closes_at": "12:00"},
        )
    assert response.status_code == 302
    assert service_status(at=saturday).state == ServiceState.OPEN
    response = manager_client.post(
        reverse("admin:schedule_servicehours_add"),
        {"weekday": 5, "opens_at": "11:00", "closes_at": "13:00"},
    )
    assert response.status_code == 200
    assert "These hours overlap other hours of the same day." in response.content.decode()


def test_recurring_closure_is_announced_again_the_next_year():
    with time_machine.travel(rome(2025, 1, 10, 9, 0), tick=False):
        closure_save(
            closure=Closure(
                title_it="Ferie",
                title_en="Summer break",
                first_day=date(2025, 8, 11),
                last_day=date(2025, 8, 22),
                recurs_yearly=True,
            )
        )
    assert service_status(at=rome(2026, 8, 12, 10, 0)).state == ServiceState.CLOSURE
    from schedule.selectors import notice_list_active

    texts = [n.text for n in notice_list_active(at=rome(2026, 8, 1, 9, 0), language="en")]
    assert any("from Tuesday 11 August 2026 to Saturday 22 August 2026" in t for t in texts), texts


def test_calendar_feed_is_valid_icalendar_with_closures_holidays_and_maintenance(client):
    ClosureFactory(recurs_yearly=True)
    MaintenanceFactory(starts_at=rome(2026, 12, 1, 20, 0), ends_at=rome(2026, 12, 1, 22, 0))
    with time_machine.travel(rome(2026, 11, 24, 9, 0), tick=False):
        response = client.get(reverse("schedule:calendar-feed"), {"lang": "en"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "public, max-age=300"
    feed = icalendar.Calendar.from_ical(response.content)
    assert feed["VERSION"] == "2.0"
    assert feed["PRODID"]
    events = list(feed.walk("VEVENT"))
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids))
    assert all("DTSTAMP" in e and "DTSTART" in e and "SUMMARY" in e for e in events)
    closure = next(e for e in events if str(e["UID"]).startswith("closure-"))
    assert closure["RRULE"]["FREQ"] == ["YEARLY"]
    assert closure.decoded("DTEND") == date(2025, 8, 23)  # exclusive end of an all-day event
    summaries = [str(e["SUMMARY"]) for e in events]
    assert "Support closed: national holiday (Christmas Day)" in summaries
    maintenance = next(e for e in events if str(e["UID"]).startswith("maintenance-"))
    assert maintenance.decoded("DTSTART") == rome(2026, 12, 1, 20, 0)
    assert b"\r\n" in response.content


def test_notices_feed_lists_active_notices_in_every_language_and_is_cached(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        notice_save(
            notice=Notice(
                text_it="Nuovo listino.",
                text_en="New price list.",
                publish_from=rome(2026, 11, 1, 0, 0),
                publish_until=rome(2026, 12, 1, 0, 0),
                severity="warning",
            )
        )
    with time_machine.travel(rome(2026, 11, 24, 9, 0), tick=False):
        first = client.get(reverse("schedule:notices-feed"))
        with django_assert_num_queries(0):
            again = client.get(reverse("schedule:notices-feed"))
    assert first.content == again.content
    data = json.loads(first.content)
    notice = next(n for n in data["notices"] if n["source"] == "manual")
    assert notice["text"] == {
        "it": "Nuovo listino.",
        "en": "New price list.",
        "fr": "Nuovo listino.",
    }
    assert notice["severity"] == "warning"
    assert first["Access-Control-Allow-Origin"] == "*"
    assert first["Cache-Control"] == "public, max-age=300"

    # A manager's save drops the server-side copy at once.
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_save(
            maintenance=Maintenance(
                starts_at=rome(2026, 11, 26, 20, 0),
                ends_at=rome(2026, 11, 26, 21, 0),
                text_it="Rete.",
            ),
            at=rome(2026, 11, 24, 9, 0),
        )
    with time_machine.travel(rome(2026, 11, 24, 9, 0), tick=False):
        data = json.loads(client.get(reverse("schedule:notices-feed")).content)
    assert {n["source"] for n in data["notices"]} >= {"manual", "maintenance"}


def test_the_gate_costs_no_query_once_cached(client, django_assert_num_queries):
    client.get("/terms/")  # warm the calendar
    with django_assert_num_queries(0):
        for _ in range(3):
            service_status()


@pytest.mark.parametrize("name", ["schedule:calendar-feed", "schedule:notices-feed"])
def test_feeds_answer_conditional_gets_without_touching_the_database(
    client, django_assert_num_queries, name
):
    ClosureFactory(recurs_yearly=True)
    MaintenanceFactory(starts_at=rome(2026, 12, 1, 20, 0), ends_at=rome(2026, 12, 1, 22, 0))
    NoticeFactory(publish_from=rome(2026, 11, 1, 0, 0), publish_until=rome(2026, 12, 1, 0, 0))
    url = reverse(name)
    with time_machine.travel(rome(2026, 11, 24, 9, 0), tick=False):
        first = client.get(url, {"lang": "en"})
        etag = first["ETag"]
        with django_assert_num_queries(0):
            again = client.get(url, {"lang": "en"})
            unchanged = client.get(url, {"lang": "en"}, HTTP_IF_NONE_MATCH=etag)
            stale = client.get(url, {"lang": "en"}, HTTP_IF_NONE_MATCH='"something-else"')
    # Minutes later the body (and so the ETag) is the same: nothing in it is a clock reading.
    with time_machine.travel(rome(2026, 11, 24, 9, 7), tick=False):
        later = client.get(url, {"lang": "en"}, HTTP_IF_NONE_MATCH=etag)
    assert first.status_code == again.status_code == stale.status_code == 200
    assert again["ETag"] == etag
    assert again.content == first.content
    assert unchanged.status_code == later.status_code == 304
    assert unchanged.content == b""
    assert unchanged["Cache-Control"] == "public, max-age=300"
    assert stale.content == first.content


def test_calendar_feed_without_a_language_varies_with_the_browser_language(client):
    with time_machine.travel(rome(2026, 11, 24, 9, 0), tick=False):
        italian = client.get(reverse("schedule:calendar-feed"), HTTP_ACCEPT_LANGUAGE="it")
        english = client.get(reverse("schedule:calendar-feed"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Accept-Language" in italian["Vary"]
    assert italian["ETag"] != english["ETag"]
    summaries = {
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(italian.content).walk("VEVENT")
    }
    assert any("Natale" in s for s in summaries), summaries


def test_manager_save_invalidates_the_cached_calendar_at_once(
    client, manager_client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """Pages read the calendar from the cache; an admin save makes the very next page reload it."""
    visitor = client.__class__()
    with time_machine.travel(NOW, tick=False):
        visitor.get("/terms/")  # warm the cache
        with django_assert_num_queries(1):  # the terms page's own query; none for the calendar
            page = visitor.get("/terms/").content.decode()
        assert "Stock count" not in page
        data = {
            "severity": "warning",
            "publish_from_0": "2025-11-24",
            "publish_from_1": "08:00",
            "publish_until_0": "2025-11-25",
            "publish_until_1": "08:00",
            "text_it": "Inventario.",
            "text_en": "Stock count tomorrow.",
            "text_fr": "",
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = manager_client.post(reverse("admin:schedule_notice_add"), data)
        assert response.status_code == 302
        # One page reloads the four calendar tables, then the cache serves again.
        with django_assert_num_queries(1 + 4):
            page = visitor.get("/terms/").content.decode()
        assert "Stock count tomorrow." in page
        with django_assert_num_queries(1):
            visitor.get("/terms/")
