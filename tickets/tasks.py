from celery import shared_task

from tickets import targets
from tickets.attachments import attachments_staged_sweep
from tickets.inbound import mailbox
from tickets.inbound.answers import inbound_answer_send  # noqa: F401 - registers the task
from tickets.models import RemoteAccessRequest
from tickets.personal_data_archive import personal_data_export_build, personal_data_exports_sweep
from tickets.remote.services import remote_access_erase, remote_access_expired_ids


@shared_task(name="tickets.remote_access_erase_expired", ignore_result=True)
def remote_access_erase_expired() -> int:
    """Wipe the remote-access secrets past the time limit or left on closed tickets."""
    erased = 0
    for remote_access in (
        RemoteAccessRequest.objects.filter(pk__in=remote_access_expired_ids())
        .select_related("ticket")
        .defer("teamviewer_id_token", "password_token")
    ):
        reason = (
            RemoteAccessRequest.EraseReason.EXPIRED
            if remote_access.ticket.is_open
            else RemoteAccessRequest.EraseReason.CLOSED
        )
        erased += remote_access_erase(remote_access=remote_access, reason=reason)
    return erased


@shared_task(name="tickets.attachments_sweep_staged", ignore_result=True)
def attachments_sweep_staged() -> int:
    """Delete the staged attachments older than ATTACHMENT_STAGED_MAX_AGE_HOURS."""
    return attachments_staged_sweep()


@shared_task(name="tickets.inbound_mail_fetch", ignore_result=True)
def inbound_mail_fetch() -> dict:
    """Read the support mailbox (INBOUND_IMAP_URL) once; the beat calls it every minute."""
    return dict(mailbox.inbound_mail_poll() or {})


@shared_task(name="tickets.service_targets_check", ignore_result=True)
def service_targets_check() -> dict:
    """Keep due instants true to the calendar, record missed targets and warn before a miss."""
    return vars(targets.service_targets_check())


@shared_task(name="tickets.personal_data_export_build", ignore_result=True)
def personal_data_export_build_task(export_id: int) -> None:
    """Build the ZIP of a workshop's personal data the customer asked for."""
    personal_data_export_build(export_id=export_id)


@shared_task(name="tickets.personal_data_exports_sweep", ignore_result=True)
def personal_data_exports_sweep_task() -> int:
    """Delete the personal-data archives past PERSONAL_DATA_EXPORT_HOURS."""
    return personal_data_exports_sweep()
