"""Files kept for forms never sent are deleted after a while: files first, then their rows."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_image, stored_files, ticket_post_data, ticket_submit
from tickets import attachments, services
from tickets.attachments import attachments_stage
from tickets.models import Attachment, Ticket, TicketCounter
from tickets.tasks import attachments_sweep_staged
from tickets.uploads import clean_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


def stage_image(user, name="old.png", hours_ago=0):
    [attachment] = attachments_stage(
        user=user, files=[("screenshot", clean_upload(make_image(name)))]
    )
    if hours_ago:
        Attachment.objects.filter(pk=attachment.pk).update(
            created_at=timezone.now() - timedelta(hours=hours_ago)
        )
    return attachment


def names(attachment) -> list[str]:
    return [n for n in (attachment.file.name, attachment.thumbnail.name) if n]


@pytest.fixture
def staged_files(customer, unit, terms):
    """An old staged file, a fresh one, and an old one that belongs to a ticket."""
    old = stage_image(customer.user, "old.png", hours_ago=25)
    fresh = stage_image(customer.user, "fresh.png", hours_ago=23)
    ticket = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        files=[("screenshot", clean_upload(make_image("sent.png")))],
    )
    sent = ticket.attachments.get()
    Attachment.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(days=30))
    return {"old": old, "fresh": fresh, "sent": sent}


def assert_swept(staged_files, private_media):
    assert sorted(Attachment.objects.values_list("original_name", flat=True)) == [
        "fresh.png",
        "sent.png",
    ]
    assert stored_files(private_media) == sorted(
        names(staged_files["fresh"]) + names(staged_files["sent"])
    )


def test_the_command_deletes_old_staged_files_and_rows_only(staged_files, private_media, capsys):
    assert len(stored_files(private_media)) == 6
    call_command("attachments_sweep")
    assert capsys.readouterr().out.strip() == "1 staged attachments deleted."
    assert_swept(staged_files, private_media)


def test_the_periodic_task_does_the_same(staged_files, private_media):
    assert attachments_sweep_staged.delay().get() == 1
    assert_swept(staged_files, private_media)


def test_the_age_comes_from_the_settings_or_the_command(staged_files, settings, private_media):
    settings.ATTACHMENT_STAGED_MAX_AGE_HOURS = 30
    assert attachments_sweep_staged() == 0
    call_command("attachments_sweep", "--hours", "22", stdout=None)
    assert list(Attachment.objects.values_list("original_name", flat=True)) == ["sent.png"]
    assert stored_files(private_media) == names(staged_files["sent"])


@pytest.mark.parametrize("args", [["--hours", "-1"], ["--batch-size", "0"]])
def test_the_command_refuses_nonsense(args):
    with pytest.raises(CommandError):
        call_command("attachments_sweep", *args)


def test_a_missing_file_does_not_stop_the_sweep(customer, private_media):
    staged = [stage_image(customer.user, f"{i}.png", hours_ago=48) for i in range(5)]
    (private_media / staged[2].file.name).unlink()
    assert attachments.attachments_staged_sweep(batch_size=2) == 5
    assert not Attachment.objects.exists()
    assert stored_files(private_media) == []


def test_a_file_that_cannot_be_deleted_keeps_its_row_for_the_next_sweep(
    customer, private_media, monkeypatch
):
    stuck, _other = (stage_image(customer.user, n, hours_ago=48) for n in ("stuck.png", "ok.png"))
    real_delete = FileSystemStorage.delete

    def delete(storage, name):
        if name == stuck.file.name:
            raise PermissionError(name)
        real_delete(storage, name)

    monkeypatch.setattr(FileSystemStorage, "delete", delete)
    assert attachments.attachments_staged_sweep() == 1
    [left] = Attachment.objects.all()
    assert left.pk == stuck.pk
    assert stuck.file.name in stored_files(private_media)

    monkeypatch.setattr(FileSystemStorage, "delete", real_delete)
    assert attachments.attachments_staged_sweep() == 1
    assert not Attachment.objects.exists()
    assert stored_files(private_media) == []


class Killed(BaseException):
    """What a killed worker looks like to the code: nothing after this point runs."""


def test_a_request_killed_half_way_leaves_only_what_the_sweep_removes(
    customer, unit, terms, private_media, monkeypatch
):
    def die(**kwargs):
        raise Killed

    monkeypatch.setattr(services, "event_record", die)
    with pytest.raises(Killed):
        ticket_submit(
            customer=customer,
            unit=unit,
            terms=terms,
            files=[("screenshot", clean_upload(make_image("lost.png")))],
        )
    # No file without a row: the row was saved, as staged, before the file was written.
    [left] = Attachment.objects.all()
    assert left.ticket is None
    assert stored_files(private_media) == sorted(names(left))

    assert attachments.attachments_staged_sweep(at=timezone.now() + timedelta(days=2)) == 1
    assert stored_files(private_media) == []


def test_a_staged_file_swept_while_its_form_was_pending_is_reported(
    customer_client, customer, unit, terms, private_media
):
    kept = stage_image(customer.user, hours_ago=48)
    attachments.attachments_staged_sweep()
    # Through the service: nothing is saved and the customer is told why.
    before = TicketCounter.objects.filter(name="ticket").count()
    with pytest.raises(ValidationError, match="no longer available"):
        ticket_submit(customer=customer, unit=unit, terms=terms, staged=[kept])
    assert not Ticket.objects.exists()
    assert TicketCounter.objects.filter(name="ticket").count() == before
    # Through the portal: the form no longer offers it.
    response = customer_client.post(
        reverse("tickets:create"), ticket_post_data(unit, terms, staged=[kept.pk])
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert stored_files(private_media) == []


def test_beat_runs_the_sweep_task_that_the_worker_knows(settings):
    from config.celery_app import app

    entry = settings.CELERY_BEAT_SCHEDULE["attachments-sweep-staged"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.ATTACHMENT_STAGED_SWEEP_SECONDS
