"""The customer's list of tickets, written in Python: `{% ticket_rows tickets empty_text %}`.

The list is the page customers load most; as a template its twenty rows cost more than the rest
of the page (a dozen nodes a row, each resolved through the context, escaped, localised). Here a
row is one string: the values escaped as the template did, the link built from one `reverse`.
"""

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from core import dates
from tickets.models import Ticket

register = template.Library()

# Stands for the ticket number in the link reversed once a list; numbers are integers.
_NUMBER = 987654321


def _opener(ticket: Ticket, viewer_pk) -> str:
    """ " · Marco Rossi" on a ticket a colleague opened; nothing on the viewer's own."""
    if viewer_pk is None or ticket.opened_by_id in (None, viewer_pk):
        return ""
    opener = ticket.opened_by
    return f" · {escape(opener.get_full_name() or opener.email)}"


def _row(ticket: Ticket, link: tuple[str, str], viewer_pk=None) -> str:
    received = dates.in_service_zone(ticket.received_at)
    serial = f" · {escape(ticket.serial_number)}" if ticket.serial_number else ""
    serial += _opener(ticket, viewer_pk)
    return (
        '\n  <li class="ticket-row">\n'
        f'    <a href="{link[0]}{ticket.number}{link[1]}">\n'
        f'      <span class="ticket-number">#{ticket.number}</span>\n'
        f'      <span class="ticket-subject">{escape(ticket.subject)}</span>\n'
        "    </a>\n"
        f'    <span class="ticket-meta">{escape(str(ticket.product))}{serial} · '
        f'<time datetime="{received.isoformat()}">{dates.datetime_short(received)}</time></span>\n'
        f'    <span class="status status-{escape(ticket.status)}">'
        f"{escape(ticket.status_label)}</span>\n"
        "  </li>"
    )


@register.simple_tag
def ticket_rows(tickets, empty_text="", viewer=None) -> SafeString:
    """The `<ul>` of a page of tickets: number, subject, product, serial, received, status.

    Given the viewer, a ticket a colleague of the workshop opened names them.
    """
    link = tuple(escape(reverse("tickets:detail", args=[_NUMBER])).split(str(_NUMBER)))
    viewer_pk = getattr(viewer, "pk", None)
    rows = "".join(_row(ticket, link, viewer_pk) for ticket in tickets)
    if not rows:
        rows = f'\n  <li class="empty">{escape(str(empty_text))}</li>'
    return mark_safe(f'<ul class="ticket-list">{rows}\n</ul>')  # noqa: S308 - every value escaped
