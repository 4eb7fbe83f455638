"""An urgent maintenance may start now, never in the past: that would close the portal unwarned."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from schedule.models import Maintenance
from schedule.services import maintenance_check, maintenance_save
from tests.schedule.conftest import rome
from tests.schedule.test_admin_and_feeds import maintenance_form

pytestmark = pytest.mark.django_db

NOW = rome(2025, 11, 24, 9, 0)  # a Monday, service open


@pytest.mark.parametrize(
    ("minutes_ago", "accepted"),
    [(60, False), (6, False), (4, True), (1, True), (0, True)],
)
def test_admin_refuses_an_urgent_start_in_the_past_beyond_the_forms_round_trip(
    manager_client, client, django_capture_on_commit_callbacks, minutes_ago, accepted
):
    start = NOW - timedelta(minutes=minutes_ago)
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            response = manager_client.post(
                reverse("admin:schedule_maintenance_add"), maintenance_form(start, urgent=True)
            )
        home = client.get("/")
    assert (response.status_code == 302) is accepted
    assert Maintenance.objects.exists() is accepted
    if accepted:
        assert home.status_code == 503
        return
    page = response.content.decode()
    assert "The maintenance cannot start in the past" in page
    assert "Monday 24 November 2025, 09:00" in page  # says what "now" is
    assert home.status_code == 200  # the portal stays up


def test_an_ongoing_maintenance_can_be_prolonged_without_touching_its_start(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        window = maintenance_save(
            maintenance=Maintenance(
                starts_at=NOW, ends_at=NOW + timedelta(hours=1), is_urgent=True, text_it="Rete."
            ),
            at=NOW,
        )
    later = NOW + timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_save(maintenance=window, data={"ends_at": NOW + timedelta(hours=3)}, at=later)
    window.refresh_from_db()
    assert window.ends_at == NOW + timedelta(hours=3)

    # Moving its start, though, is a new start: not in the past either.
    with pytest.raises(ValidationError, match="cannot start in the past") as refused:
        maintenance_save(maintenance=window, data={"starts_at": NOW - timedelta(hours=1)}, at=later)
    assert "starts_at" in refused.value.message_dict


def test_the_service_gives_the_reason_on_the_start_field():
    with pytest.raises(ValidationError) as refused:
        maintenance_check(
            starts_at=NOW - timedelta(hours=1),
            ends_at=NOW + timedelta(hours=1),
            is_urgent=True,
            at=NOW,
        )
    assert list(refused.value.message_dict) == ["starts_at"]
