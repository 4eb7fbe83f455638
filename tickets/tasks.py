from celery import shared_task

from tickets.models import RemoteAccessRequest
from tickets.remote_access import remote_access_erase, remote_access_expired_ids


@shared_task(name="tickets.remote_access_erase_expired", ignore_result=True)
def remote_access_erase_expired() -> int:
    """Wipe the remote-access secrets past the time limit or left on closed tickets."""
    erased = 0
    for remote_access in (
        RemoteAccessRequest.objects.filter(pk__in=remote_access_expired_ids())
        .select_related("ticket")
        .defer("password_token")
    ):
        reason = (
            RemoteAccessRequest.EraseReason.EXPIRED
            if remote_access.ticket.is_open
            else RemoteAccessRequest.EraseReason.CLOSED
        )
        erased += remote_access_erase(remote_access=remote_access, reason=reason)
    return erased
