from celery import shared_task

from notifications.services import TemporarySendError, notification_send, notifications_sweep


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def notification_send_task(self, *, notification_id: int) -> None:
    """Send one notification; retry later if the mail server refuses for now."""
    try:
        notification_send(notification_id=notification_id)
    except TemporarySendError as exc:
        if self.request.is_eager:
            # Run inline (embedded default): no broker to wait on; the row stays pending.
            return
        # The row counts the attempts and stops at NOTIFICATIONS_MAX_ATTEMPTS, not Celery.
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(acks_late=True)
def notifications_sweep_task() -> int:
    """Enqueue again the pending notifications that no worker has sent in time."""
    return notifications_sweep()
