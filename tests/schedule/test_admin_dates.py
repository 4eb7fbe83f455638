"""The calendar in the admin: its saves and delete pages give times in the service zone, named."""

import pytest
import time_machine
from django.urls import reverse

from schedule.models import Maintenance, Notice
from tests.schedule.conftest import rome
from tests.schedule.factories import MaintenanceFactory

pytestmark = pytest.mark.django_db

NOW = rome(2026, 12, 1, 9, 0)  # a Tuesday, service open
DASH = "\N{EN DASH}"


# The admin: messages and delete pages ------------------------------------------------------------


@pytest.mark.parametrize("language", ["it", "en", "fr"])
def test_maintenance_save_message_and_delete_page_give_the_same_service_time(
    manager_client, django_capture_on_commit_callbacks, language
):
    data = {
        "starts_at_0": "2026-12-08",
        "starts_at_1": "09:58",
        "ends_at_0": "2026-12-08",
        "ends_at_1": "10:18",
        "text_it": "Aggiornamento.",
        "text_en": "",
        "text_fr": "",
    }
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        saved = manager_client.post(
            reverse("admin:schedule_maintenance_add"),
            data,
            follow=True,
            HTTP_ACCEPT_LANGUAGE=language,
        )
        deleting = manager_client.get(
            reverse("admin:schedule_maintenance_delete", args=[Maintenance.objects.get().pk]),
            HTTP_ACCEPT_LANGUAGE=language,
        )

    shown = f"08/12/2026 09:58{DASH}10:18 (Europe/Rome)"
    message = [str(m) for m in saved.context["messages"]]
    assert len(message) == 1
    assert shown in message[0]
    assert shown in deleting.content.decode()
    assert "08:58" not in deleting.content.decode()  # UTC, as the delete page used to say


def test_a_window_over_midnight_gives_both_days(manager_client):
    window = MaintenanceFactory(starts_at=rome(2026, 12, 8, 22, 0), ends_at=rome(2026, 12, 9, 2, 0))

    page = manager_client.get(reverse("admin:schedule_maintenance_delete", args=[window.pk]))

    assert f"08/12/2026 22:00 {DASH} 09/12/2026 02:00 (Europe/Rome)" in page.content.decode()


def test_closure_and_notice_messages_give_days_and_times_day_first(
    manager_client, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        closure = manager_client.post(
            reverse("admin:schedule_closure_add"),
            {
                "first_day": "2026-12-24",
                "last_day": "2026-12-31",
                "title_it": "Ferie invernali",
                "title_en": "Winter holidays",
                "title_fr": "",
            },
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
        notice = manager_client.post(
            reverse("admin:schedule_notice_add"),
            {
                "severity": Notice.Severity.INFO,
                "publish_from_0": "2026-12-01",
                "publish_from_1": "09:00",
                "publish_until_0": "2026-12-05",
                "publish_until_1": "18:00",
                "text_it": "Nuovo listino prezzi.",
                "text_en": "",
                "text_fr": "Nouvelle liste de prix.",
            },
            follow=True,
            HTTP_ACCEPT_LANGUAGE="fr",
        )

    assert f"Winter holidays (24/12/2026{DASH}31/12/2026)" in str(
        next(iter(closure.context["messages"]))
    )
    assert (
        f"Nouvelle liste de prix. (01/12/2026 09:00 {DASH} 05/12/2026 18:00, Europe/Rome)"
        in str(next(iter(notice.context["messages"])))
    )


def test_maintenance_and_notice_forms_name_the_zone_of_their_times(manager_client):
    for name in ("maintenance", "notice"):
        page = manager_client.get(reverse(f"admin:schedule_{name}_add")).content.decode()
        assert page.count("Time in the service's time zone (Europe/Rome).") == 2, name
