"""The 503 page says once when the portal is back, and the service's reopening only if later."""

import pytest
import time_machine

from tests.schedule.conftest import rome
from tests.schedule.factories import MaintenanceFactory

pytestmark = pytest.mark.django_db


def page_during(start, end, now, **texts):
    MaintenanceFactory(starts_at=start, ends_at=end, **texts)
    with time_machine.travel(now, tick=False):
        from django.test import Client

        response = Client().get("/")
    assert response.status_code == 503
    return response.content.decode()


def test_a_window_ending_in_service_hours_gives_one_time():
    page = page_during(
        rome(2025, 11, 26, 10, 0), rome(2025, 11, 26, 11, 0), rome(2025, 11, 26, 10, 15)
    )
    assert "The portal will be back on Wednesday 26 November 2025, 11:00." in page
    assert page.count("26 November 2025, 11:00") == 1
    assert "opens again" not in page


def test_a_window_ending_after_hours_says_both_in_one_sentence():
    page = page_during(
        rome(2025, 11, 26, 17, 0), rome(2025, 11, 26, 22, 0), rome(2025, 11, 26, 17, 30)
    )
    assert (
        "The portal will be back on Wednesday 26 November 2025, 22:00; the support service "
        "then opens again on Thursday 27 November 2025, 08:30."
    ) in page
    assert page.count("22:00") == 1
    assert page.count("08:30") == 1


def test_the_heading_is_not_repeated_by_the_reason_only_the_managers_words_follow():
    page = page_during(
        rome(2025, 11, 26, 10, 0), rome(2025, 11, 26, 11, 0), rome(2025, 11, 26, 10, 15)
    )
    assert "The portal is under extraordinary maintenance" in page
    assert "The portal is closed for extraordinary maintenance." not in page
    assert "Server upgrade." in page


def test_without_the_managers_words_no_empty_paragraph():
    page = page_during(
        rome(2025, 11, 26, 10, 0),
        rome(2025, 11, 26, 11, 0),
        rome(2025, 11, 26, 10, 15),
        text_it="",
        text_en="",
        text_fr="",
    )
    assert "<p></p>" not in page
    assert "The portal will be back on Wednesday 26 November 2025, 11:00." in page
