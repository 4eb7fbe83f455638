"""Remote assistance with TeamViewer (terms §5, §6): the services and selectors of one use case.

The operator who took a ticket asks for a session; the ticket's customer confirms the §5
authorisation and the §6 backup warning and sends the TeamViewer ID and password; only that
operator is shown them, with an audit row each time. Both are kept only as Fernet tokens
(tickets.crypto), never in clear, and wiped together when the ticket closes or the time limit
passes. Neither ever goes into an event, an e-mail, a log line or a list.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from customers.models import Customer
from tickets.crypto import (
    SecretExpiredError,
    secret_decrypt,
    secret_encrypt,
    secret_rotate,
    ttl_seconds,
)
from tickets.models import RemoteAccessRequest, RemoteAccessReveal, Ticket, TicketEvent
from tickets.recording import customer_write_check, event_record, update_record
from tickets.selectors import ticket_is_visible

TEAMVIEWER_ID_RE = re.compile(r"^\d{9,12}$")
PASSWORD_MIN, PASSWORD_MAX = 4, 64


@dataclass(frozen=True)
class RevealedCredentials:
    teamviewer_id: str = field(repr=False)
    password: str = field(repr=False)
    expires_at: datetime


# Selectors ----------------------------------------------------------------------------------------


def remote_access_current(*, ticket: Ticket) -> RemoteAccessRequest | None:
    """Return the ticket's latest remote-access request, live or erased."""
    return (
        RemoteAccessRequest.objects.filter(ticket=ticket)
        .select_related("requested_by")
        .defer("teamviewer_id_token", "password_token")
        .order_by("-requested_at", "-pk")
        .first()
    )


def remote_access_expires_at(*, remote_access: RemoteAccessRequest) -> datetime | None:
    """Return when a submitted password stops being usable."""
    if remote_access.submitted_at is None or remote_access.erased_at is not None:
        return None
    return remote_access.submitted_at + timedelta(seconds=ttl_seconds())


def remote_access_expired_ids(*, at: datetime | None = None) -> list[int]:
    """Return the live requests whose secret is past the time limit or whose ticket is closed."""
    at = at or timezone.now()
    limit = at - timedelta(seconds=ttl_seconds())
    return list(
        RemoteAccessRequest.objects.filter(erased_at__isnull=True)
        .filter(Q(submitted_at__lte=limit) | Q(ticket__status=Ticket.Status.CLOSED))
        .values_list("pk", flat=True)
    )


def can_reveal(*, remote_access: RemoteAccessRequest, user) -> bool:
    """Tell whether this user is the operator who may see the credentials."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and remote_access.ticket.assigned_to_id == user.pk
    )


# Services -----------------------------------------------------------------------------------------


def _erase(*, queryset, reason: str, at: datetime) -> int:
    return queryset.filter(erased_at__isnull=True).update(
        teamviewer_id_token=None,
        password_token=None,
        erased_at=at,
        erase_reason=reason,
        updated_at=at,
    )


def remote_access_request(
    *, ticket: Ticket, operator, message: str = "", at: datetime | None = None
) -> RemoteAccessRequest:
    """Ask the ticket's customer for a TeamViewer session; only the assigned operator may."""
    if not (operator.is_active and operator.is_staff):
        raise PermissionDenied
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.assigned_to_id != operator.pk:
            raise PermissionDenied(_("Only the operator who took the ticket can ask for access."))
        if not ticket.is_open:
            raise ValidationError(_("This ticket is closed."))
        live = RemoteAccessRequest.objects.filter(ticket=ticket, erased_at__isnull=True).first()
        if live is not None and live.is_pending:
            return live
        now = at or timezone.now()
        if live is not None:
            # New credentials are needed for a new session; the old ones go now.
            _erase(
                queryset=RemoteAccessRequest.objects.filter(pk=live.pk),
                reason=RemoteAccessRequest.EraseReason.REPLACED,
                at=now,
            )
        remote_access = RemoteAccessRequest.objects.create(
            ticket=ticket, requested_by=operator, requested_at=now
        )
        # Only the operator's own words are stored: without them the ticket page and the e-mail
        # each say what the request means, in the language of whoever reads it.
        event = event_record(
            ticket=ticket,
            kind=TicketEvent.Kind.REMOTE_REQUEST,
            author=operator,
            body=message.strip(),
            is_public=True,
            at=now,
        )
        ticket.save(update_fields=["updated_at"])
        update_record(ticket=ticket, recorded=[event])
    return remote_access


@sensitive_variables("teamviewer_id", "password", "id_token", "token")
def remote_access_submit(
    *,
    remote_access: RemoteAccessRequest,
    customer: Customer,
    teamviewer_id: str,
    password: str,
    authorisation_confirmed: bool,
    backup_confirmed: bool,
    by=None,
    at: datetime | None = None,
) -> RemoteAccessRequest:
    """Store the customer's TeamViewer ID and password, both encrypted, after both confirmations.

    `by` is the person of the workshop answering (its owner by default), who must see the ticket.
    """
    ticket = remote_access.ticket
    by = by or customer.user
    if ticket.customer_id != customer.pk or not ticket_is_visible(ticket=ticket, user=by):
        raise PermissionDenied
    customer_write_check(customer=customer, at=at)
    errors: dict[str, list[str]] = {}
    if not authorisation_confirmed:
        errors["confirm_authorisation"] = [_("Confirm that you authorise the remote access.")]
    if not backup_confirmed:
        errors["confirm_backup"] = [_("Confirm that you have backed up your computer.")]
    teamviewer_id = re.sub(r"[\s-]", "", teamviewer_id or "")
    if not TEAMVIEWER_ID_RE.match(teamviewer_id):
        errors["teamviewer_id"] = [_("Copy the ID shown by TeamViewer: 9 to 12 digits.")]
    password = (password or "").strip()
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors["password"] = [
            _("Copy the password shown by TeamViewer (%(min)s to %(max)s characters).")
            % {"min": PASSWORD_MIN, "max": PASSWORD_MAX}
        ]
    if errors:
        raise ValidationError(errors)
    id_token = secret_encrypt(plaintext=teamviewer_id)
    token = secret_encrypt(plaintext=password)
    with transaction.atomic():
        # Same lock order as ticket_close: ticket, then request.
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        remote_access = RemoteAccessRequest.objects.select_for_update().get(pk=remote_access.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is closed."))
        if remote_access.erased_at is not None:
            raise ValidationError(_("This request is no longer valid."))
        now = at or timezone.now()
        remote_access.authorisation_confirmed_at = now
        remote_access.backup_confirmed_at = now
        remote_access.teamviewer_id_token = id_token
        remote_access.password_token = token
        remote_access.submitted_at = now
        remote_access.save(
            update_fields=[
                "authorisation_confirmed_at",
                "backup_confirmed_at",
                "teamviewer_id_token",
                "password_token",
                "submitted_at",
                "updated_at",
            ]
        )
        # Internal: tells the operator; carries no detail and is never e-mailed.
        event = event_record(
            ticket=ticket,
            kind=TicketEvent.Kind.REMOTE_SUBMITTED,
            author=by,
            is_public=False,
            at=now,
        )
        update_record(ticket=ticket, recorded=[event])
    return remote_access


@sensitive_variables("teamviewer_id", "password", "credentials")
def remote_access_reveal(*, remote_access: RemoteAccessRequest, operator) -> RevealedCredentials:
    """Decrypt the credentials for the assigned operator and record that they were shown."""
    with transaction.atomic():
        remote_access = (
            RemoteAccessRequest.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .get(pk=remote_access.pk)
        )
        if not can_reveal(remote_access=remote_access, user=operator):
            raise PermissionDenied(_("Only the operator who took the ticket can see these."))
        if not remote_access.is_submitted or not remote_access.ticket.is_open:
            raise ValidationError(_("There are no access details to show."))
        try:
            teamviewer_id = secret_decrypt(token=remote_access.teamviewer_id_token)
            password = secret_decrypt(token=remote_access.password_token)
        except SecretExpiredError:
            password = None
        if password is None:
            _erase(
                queryset=RemoteAccessRequest.objects.filter(pk=remote_access.pk),
                reason=RemoteAccessRequest.EraseReason.EXPIRED,
                at=timezone.now(),
            )
        else:
            RemoteAccessReveal.objects.create(request=remote_access, operator=operator)
            credentials = RevealedCredentials(
                teamviewer_id=teamviewer_id,
                password=password,
                expires_at=remote_access_expires_at(remote_access=remote_access),
            )
    if password is None:
        raise ValidationError(_("The access details have expired and were erased."))
    return credentials


def remote_access_erase(*, remote_access: RemoteAccessRequest, reason: str) -> bool:
    """Wipe a request's encrypted TeamViewer ID and password; tell whether anything was live."""
    return bool(
        _erase(
            queryset=RemoteAccessRequest.objects.filter(pk=remote_access.pk),
            reason=reason,
            at=timezone.now(),
        )
    )


def remote_access_erase_for_ticket(*, ticket: Ticket, reason: str) -> int:
    """Wipe every live request of a ticket (called inside the closing transaction)."""
    return _erase(
        queryset=RemoteAccessRequest.objects.filter(ticket=ticket),
        reason=reason,
        at=timezone.now(),
    )


def remote_access_keys_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored TeamViewer secret with the newest key; return the rows changed.

    Run after putting a new key first in REMOTE_ACCESS_KEYS: once it has run, the old keys can
    be dropped from the setting without losing a credential a customer has just sent.
    """
    changed = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                RemoteAccessRequest.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .filter(Q(password_token__isnull=False) | Q(teamviewer_id_token__isnull=False))
                .order_by("pk")
                .only("pk", "password_token", "teamviewer_id_token")[:batch_size]
            )
            if not rows:
                return changed
            for row in rows:
                for name in ("password_token", "teamviewer_id_token"):
                    token = getattr(row, name)
                    if token is not None:
                        setattr(row, name, secret_rotate(token=token))
            RemoteAccessRequest.objects.bulk_update(rows, ["password_token", "teamviewer_id_token"])
        changed += len(rows)
        last_pk = rows[-1].pk
