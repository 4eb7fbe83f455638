from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet

from customers.models import Customer, Unit
from tickets.models import Attachment, Ticket, TicketEvent

ROW_FIELDS = (
    "number",
    "customer_id",
    "product__name",
    "serial_number",
    "subject",
    "status",
    "received_at",
)


def ticket_list_for_customer(
    *, customer: Customer, state: str = "all", query: str = ""
) -> QuerySet[Ticket]:
    """Return the customer's tickets, newest first, filtered by open/closed and number."""
    tickets = Ticket.objects.filter(customer=customer).select_related("product")
    if state == "open":
        tickets = tickets.exclude(status=Ticket.Status.CLOSED)
    elif state == "closed":
        tickets = tickets.filter(status=Ticket.Status.CLOSED)
    query = query.strip().lstrip("#")
    if query:
        if query.isdigit():
            tickets = tickets.filter(Q(number=int(query)) | Q(serial_number__iexact=query))
        else:
            tickets = tickets.filter(serial_number__iexact=query)
    # Only what a row shows (tickets/_ticket_rows.html): a ticket has a dozen more columns.
    return tickets.only(*ROW_FIELDS).order_by("-received_at", "-number")


def ticket_get_for_customer(*, customer: Customer, number: int) -> Ticket:
    """Return one of the customer's tickets by number, or raise Ticket.DoesNotExist."""
    # Each join costs PostgreSQL planning time on every page: the customer is the caller's, and
    # the rare duplicate_of is read only when set. The page names the terms accepted; their
    # whole text, in three languages, stays behind.
    ticket = (
        Ticket.objects.select_related("product", "unit", "terms_version")
        .defer(*(f"terms_version__text_{code}" for code in ("it", "en", "fr")))
        .get(customer=customer, number=number)
    )
    ticket.customer = customer
    return ticket


def ticket_timeline(*, ticket: Ticket, include_internal: bool = False) -> QuerySet[TicketEvent]:
    """Return a ticket's events in order with their authors and files."""
    events = TicketEvent.objects.filter(ticket=ticket)
    if not include_internal:
        events = events.filter(is_public=True)
    return (
        events.select_related("author")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
        )
        .order_by("created_at", "pk")
    )


def attachment_get_for_user(*, user, pk: int) -> Attachment:
    """Return an attachment the user may download, or raise Attachment.DoesNotExist.

    Staff see every file; a customer sees files of its own tickets and its own staged uploads.
    """
    attachments = Attachment.objects.select_related("ticket")
    if user.is_staff:
        return attachments.get(pk=pk)
    return attachments.get(
        Q(ticket__customer__user=user) | Q(ticket__isnull=True, uploaded_by=user), pk=pk
    )


def attachment_list_staged(*, user, form_token: str) -> QuerySet[Attachment]:
    """Return the files a user kept for the retry of one form, the one holding `form_token`."""
    if not form_token:
        return Attachment.objects.none()
    return Attachment.objects.filter(
        uploaded_by=user, form_token=form_token, ticket__isnull=True
    ).order_by("created_at", "pk")


def ticket_open_list_by_unit(*, units: Sequence[Unit]) -> dict[int, list[Ticket]]:
    """Return the open tickets of each of the units that has some, oldest first, by unit pk."""
    by_unit: dict[int, list[Ticket]] = {}
    if not units:
        return by_unit
    tickets = (
        Ticket.objects.filter(unit__in=units, status__in=Ticket.OPEN_STATUSES)
        .only("pk", "number", "subject", "status", "received_at", "unit_id")
        .order_by("received_at", "number")
    )
    for ticket in tickets:
        by_unit.setdefault(ticket.unit_id, []).append(ticket)
    return by_unit
