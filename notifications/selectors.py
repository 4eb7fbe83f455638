from django.db.models import QuerySet

from notifications.models import Notification


def notification_list_for_ticket(*, ticket) -> QuerySet[Notification]:
    """Return the notifications about a ticket, newest first."""
    return Notification.objects.filter(ticket=ticket).order_by("-created_at", "-pk")


def notification_list_pending(*, limit: int = 100) -> QuerySet[Notification]:
    """Return the pending notifications that are due, oldest first."""
    return Notification.objects.filter(status=Notification.Status.PENDING).order_by(
        "next_attempt_at"
    )[:limit]
