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


def _row(ticket: Ticket, link: tuple[str, str]) -> str:
    received = dates.in_service_zone(ticket.received_at)
    serial = f" · {escape(ticket.serial_number)}" if ticket.serial_number else ""
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
def ticket_rows(tickets, empty_text="") -> SafeString:
    """The `<ul>` of a page of tickets: number, subject, product, serial, received, status."""
    link = tuple(escape(reverse("tickets:detail", args=[_NUMBER])).split(str(_NUMBER)))
    rows = "".join(_row(ticket, link) for ticket in tickets)
    if not rows:
        rows = f'\n  <li class="empty">{escape(str(empty_text))}</li>'
    return mark_safe(f'<ul class="ticket-list">{rows}\n</ul>')  # noqa: S308 - every value escaped
