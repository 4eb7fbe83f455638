"""Staff's full-text search: ranked, highlighted tickets, closed ones included, never counted.

Reached from the queue (words that are no exact number, code or serial land here) or directly at
admin/tickets/ticket/search/. The reading is tickets.selectors.ticket_search; this page only
shows it: three queries for the results (their ids, their rows, their snippets) and two for the
exact check, whatever the number of results.
"""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.models import Customer
from tickets.models import Ticket
from tickets.selectors import SEARCH_PAGE_SIZE, SEARCH_WINDOW, ticket_search

# Past the last page of the ranked window there is nothing to show.
MAX_PAGE = SEARCH_WINDOW // SEARCH_PAGE_SIZE + 1


def exact_condition(search_term: str) -> Q | None:
    """The queue's search: a ticket number, customer code or serial, exactly; None if empty.

    Each branch is an equality on an indexed column of the ticket table itself, so PostgreSQL
    can OR three index scans instead of joining customers to every ticket. A number written with
    leading zeros ("0012") is no ticket's number but part of a code: the full-text search's.
    """
    term = search_term.strip().lstrip("#").strip().upper()
    if not term:
        return None
    condition = Q(serial_number=term)
    if term.isdigit() and len(term) < 19 and not term.startswith("0"):
        condition |= Q(number=int(term))
    customer_pk = Customer.objects.filter(code=term).values_list("pk", flat=True).first()
    if customer_pk is not None:
        condition |= Q(customer_id=customer_pk)
    return condition


def _page_number(raw: str) -> int:
    return min(int(raw), MAX_PAGE) if raw.isdigit() and len(raw) < 7 else 1


def ticket_search_view(*, model_admin, request) -> TemplateResponse:
    """Show one page of the tickets matching the words of `q`; an exact match goes to the queue."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    query = request.GET.get("q", "")
    page = _page_number(request.GET.get("p", "1"))
    queue_url = reverse("admin:tickets_ticket_changelist")
    condition = exact_condition(query) if page == 1 else None
    if condition is not None and Ticket.objects.filter(condition).exists():
        return redirect(f"{queue_url}?{urlencode({'q': query.strip()})}")
    results = ticket_search(query=query, page=page)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Ticket._meta,
        "title": _("Search tickets"),
        "results": results,
        "queue_url": queue_url,
    }
    return TemplateResponse(request, "admin/tickets/ticket/search.html", context)
