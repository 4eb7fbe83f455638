from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def lease_default():
    """Return the end of the broker's lease on a row handed over now."""
    return timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE)


class Notification(models.Model):
    """One e-mail owed to one recipient about one update of a ticket (the outbox row).

    The row is written in the transaction that records the update, so it exists if and only if
    the update committed; the broker only wakes a worker up to send it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class RecipientKind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        OPERATOR = "operator", _("Operator")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # notification_ticket_idx starts with it
    )
    event = models.ForeignKey(
        "tickets.TicketEvent",
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="notifications",
        help_text=_("The first event of the update this e-mail tells about."),
    )
    # The events recorded by the same update (a reply that also changes the status is one e-mail).
    events = models.ManyToManyField(
        "tickets.TicketEvent",
        verbose_name=_("events"),
        related_name="+",
        blank=True,
    )
    recipient = models.EmailField(_("recipient"))
    recipient_kind = models.CharField(
        _("recipient kind"), max_length=10, choices=RecipientKind.choices
    )
    language = models.CharField(_("language"), max_length=5)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # Until when someone is trusted to send the row: the broker (NOTIFICATIONS_SWEEP_GRACE after
    # the hand-over), then the worker that claimed it (NOTIFICATIONS_CLAIM_GRACE, and as long as
    # it holds the row's lock). Once it has passed, the sweeper takes the row back.
    leased_until = models.DateTimeField(
        _("in someone's hands until"),
        default=lease_default,
        help_text=_("After this instant the sweeper hands a pending e-mail over again."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="notification_event_recipient_uniq"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="notification_sent_has_sent_at",
            ),
        ]
        indexes = [
            # The sweeper: pending rows nobody is trusted with any longer, oldest first.
            models.Index(
                fields=["leased_until"],
                name="notification_lease_idx",
                condition=models.Q(status="pending"),
            ),
            # The cron sweep's --grace: pending rows due for a while, whatever their lease.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=models.Q(status="pending"),
            ),
            # The staff log, newest first: whole, by ticket, by status, by recipient.
            models.Index(fields=["-created_at", "-id"], name="notification_created_idx"),
            models.Index(fields=["ticket", "-created_at", "-id"], name="notification_ticket_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="notification_status_idx"),
            models.Index(
                Upper("recipient"),
                F("created_at").desc(),
                F("id").desc(),
                name="notification_recipient_idx",
            ),
        ]

    def __str__(self):
        return f"#{self.ticket_id} → {self.recipient} ({self.get_status_display()})"
