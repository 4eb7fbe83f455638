import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from customers.models import Unit
from customers.selectors import customer_access
from tickets.models import Attachment, Ticket, TicketEvent

ROW_FIELDS = (
    "number",
    "customer_id",
    "opened_by__first_name",
    "opened_by__last_name",
    "opened_by__email",
    "product__name",
    "serial_number",
    "subject",
    "status",
    "received_at",
)


def ticket_scope(*, user) -> QuerySet[Ticket]:
    """The tickets a person may see: the one rule every page, file, search and link asks.

    Staff see every ticket. A workshop's owner, and a member the owner let see everything, see
    the workshop's tickets; any other member sees the tickets they opened. Nobody else sees any:
    a removed member, a visitor, another workshop's people. Files, thumbnails, remote-access
    pages and ratings hang on their ticket, so they follow it (attachment_get_for_user).
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Ticket.objects.none()
    if user.is_staff:
        return Ticket.objects.all()
    access = customer_access(user)
    if access is None:
        return Ticket.objects.none()
    tickets = Ticket.objects.filter(customer_id=access.customer.pk)
    if not access.sees_all:
        tickets = tickets.filter(opened_by_id=user.pk)
    return tickets


def ticket_is_visible(*, ticket: Ticket, user) -> bool:
    """Whether the user sees this ticket (ticket_scope), for the services' writes."""
    return ticket_scope(user=user).filter(pk=ticket.pk).exists()


def ticket_list_for_user(*, user, state: str = "all", query: str = "") -> QuerySet[Ticket]:
    """Return the tickets the user sees, newest first, filtered by open/closed and number."""
    tickets = ticket_scope(user=user).select_related("product", "opened_by")
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


def ticket_get_for_user(*, user, number: int) -> Ticket:
    """Return a ticket the user sees by number, or raise Ticket.DoesNotExist.

    For people of a workshop: staff read tickets in the admin (tickets.desk).
    """
    access = customer_access(user)
    if access is None:
        raise Ticket.DoesNotExist
    # Each join costs PostgreSQL planning time on every page: the customer is the caller's, and
    # the rare duplicate_of is read only when set. The page names the terms accepted; their
    # whole text, in three languages, stays behind.
    ticket = (
        ticket_scope(user=user)
        .select_related("product", "unit", "terms_version", "opened_by")
        .defer(*(f"terms_version__text_{code}" for code in ("it", "en", "fr")))
        .get(number=number)
    )
    ticket.customer = access.customer
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

    The files of the tickets the user sees (ticket_scope), and the user's own staged uploads.
    """
    attachments = Attachment.objects.select_related("ticket")
    if user.is_staff and user.is_active:
        return attachments.get(pk=pk)
    return attachments.get(
        Q(ticket__in=ticket_scope(user=user)) | Q(ticket__isnull=True, uploaded_by=user), pk=pk
    )


def attachment_list_staged(*, user, form_token: str) -> QuerySet[Attachment]:
    """Return the files a user kept for the retry of one form, the one holding `form_token`."""
    if not form_token:
        return Attachment.objects.none()
    return Attachment.objects.filter(
        uploaded_by=user, form_token=form_token, ticket__isnull=True
    ).order_by("created_at", "pk")


def ticket_open_list_by_unit(*, user, units: Sequence[Unit]) -> dict[int, list[Ticket]]:
    """Return the open tickets the user sees of each unit that has some, oldest first, by unit."""
    by_unit: dict[int, list[Ticket]] = {}
    if not units:
        return by_unit
    tickets = (
        ticket_scope(user=user)
        .filter(unit__in=units, status__in=Ticket.OPEN_STATUSES)
        .only("pk", "number", "subject", "status", "received_at", "unit_id")
        .order_by("received_at", "number")
    )
    for ticket in tickets:
        by_unit.setdefault(ticket.unit_id, []).append(ticket)
    return by_unit


# Staff's full-text search ------------------------------------------------------------------------

SEARCH_PAGE_SIZE = 25
# Longest query taken; a code shorter than three characters has no trigram to look up.
SEARCH_MAX_CHARS = 200
CODE_MIN_CHARS = 3
# Matches ranked at most, the most recent first: a word found in half of a million tickets would
# otherwise rank them all on every page (seconds). The cost of a common word is the rows read
# until the window is full (window / share of tickets matching): 500 (20 pages) keeps a two-word
# search at a million tickets near 25 ms of SQL (bench/bench_search.py; 1,000 took twice as
# long). Past it, the page says so.
SEARCH_WINDOW = 500
# The newest tickets read one by one for words before the index is asked for the older ones:
# 20,000 sent too many two-word searches to the index (p95 near a second at a million tickets).
SEARCH_RECENT = 50_000
# Private-use characters mark highlights inside PostgreSQL's text: they are stripped from the
# stored text first, then the whole snippet is escaped and only they become <mark>.
MARK_START, MARK_STOP = "\ue000", "\ue001"
SEARCH_ROW_FIELDS = (
    "number",
    "received_at",
    "status",
    "language",
    "serial_number",
    "subject",
    "description",
    "customer__code",
    "product__name",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


@dataclass
class TicketSearchPage:
    """One page of search results, best first, and whether there are pages around it."""

    tickets: list[Ticket]
    number: int
    has_next: bool
    full_text: bool
    query: str = ""
    words: list[str] = field(default_factory=list)
    # More tickets matched than SEARCH_WINDOW: only the most recent of them were ranked.
    capped: bool = False
    window: int = 0

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _search_code(query: str) -> str:
    """The query as a part of a code (serial, customer, ECU, vehicle), or "" if it cannot be one."""
    code = query.strip().lstrip("#").upper()
    if len(code) < CODE_MIN_CHARS or any(ch.isspace() for ch in code):
        return ""
    return code


def _mark(text: str, words: Sequence[str]) -> SafeString:
    """Escape `text`, wrapping each case-insensitive occurrence of one of `words` in <mark>."""
    words = [w for w in words if w]
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def _marked(text: str) -> SafeString:
    """Escape PostgreSQL's headline, turning its (balanced) private-use markers into <mark>."""
    html = str(escape(text))
    return mark_safe(  # noqa: S308 - escaped first; the markers are not HTML
        html.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")
    )


def full_text_search_available() -> bool:
    """Whether the database runs PostgreSQL's full-text search (else the simple fallback)."""
    return connection.vendor == "postgresql"


def ticket_search(
    *, query: str, page: int = 1, per_page: int = SEARCH_PAGE_SIZE
) -> TicketSearchPage:
    """Return a page of the tickets matching staff's words, best first, closed ones included.

    PostgreSQL: the words in Italian or English (websearch syntax: "quoted phrase", -excluded,
    or) against TicketSearch.document, and the query as part of a code through the trigram
    index; the SEARCH_WINDOW most recent matches ranked by ts_rank (a code found ranks first),
    ties newest first (the later received, that is the higher id). Three queries: the page's
    ids (one row past it tells whether a next page exists: nothing is counted), their rows, and
    the highlighted snippets of those rows only.
    SQLite (the embedded default): every word must be a substring of the subject, description,
    error message, vehicle, ECU, serial number or customer code; newest first; messages and file
    names are not searched.
    """
    query = " ".join(query.split())[:SEARCH_MAX_CHARS]
    page = max(page, 1)
    full_text = full_text_search_available()
    result = TicketSearchPage(
        tickets=[],
        number=page,
        has_next=False,
        full_text=full_text,
        query=query,
        window=SEARCH_WINDOW,
    )
    if not query:
        return result
    offset = (page - 1) * per_page
    tickets = Ticket.objects.select_related("customer", "product", "assigned_to").only(
        *SEARCH_ROW_FIELDS
    )
    code = _search_code(query)
    if full_text:
        ids, result.capped = _search_ranked_ids(
            query=query, code=code, limit=per_page + 1, offset=offset
        )
        by_pk = tickets.in_bulk(ids)
        rows = [by_pk[pk] for pk in ids if pk in by_pk]
    else:
        result.words = query.split()[:5]
        for word in result.words:
            tickets = tickets.filter(
                Q(subject__icontains=word)
                | Q(description__icontains=word)
                | Q(error_message__icontains=word)
                | Q(vehicle_description__icontains=word)
                | Q(vehicle_identification__icontains=word)
                | Q(ecu_description__icontains=word)
                | Q(ecu_identification__icontains=word)
                | Q(serial_number__icontains=word)
                | Q(customer__code__icontains=word)
            )
        rows = list(tickets.order_by("-received_at", "-pk")[offset : offset + per_page + 1])
    result.has_next = len(rows) > per_page
    result.tickets = rows[:per_page]
    if full_text:
        _headlines_set(result.tickets, query=query, code=code)
    else:
        for ticket in result.tickets:
            ticket.subject_html = _mark(ticket.subject, result.words)
            ticket.snippet_html = _mark(ticket.description[:300], result.words)
            ticket.serial_html = _mark(ticket.serial_number, result.words)
            ticket.customer_code_html = _mark(ticket.customer.code, result.words)
    return result


# At most SEARCH_WINDOW matches are read, newest first, and only those are ranked.
# The tsquery is written out, not bound from a CTE, so the planner sees it.
# Newest is the highest ticket id: tickets are stored in the order they are received, and the
# ticket table is not joined (an index lookup per match would cost a third of the ranking).
TSQUERY_SQL = (
    "(websearch_to_tsquery('pg_catalog.italian'::regconfig, %(query)s)"
    " || websearch_to_tsquery('pg_catalog.english'::regconfig, %(query)s))"
)
# Words: the most recent SEARCH_RECENT tickets are read backwards along the primary key (a common
# word fills the window there, in a few milliseconds); only if it does not, the older ones are
# read from the GIN index (a rare word: few rows). The second part runs only when the first
# falls short (a LIMIT over UNION ALL stops pulling), and `+ 0` keeps PostgreSQL from planning
# either on its guess: it cannot estimate a word it has no statistics for, and a wrong guess
# read a million rows for a word found nowhere. A part of a code: from the trigram index, always.
WORDS_HITS_SQL = """
  (SELECT * FROM (
    (SELECT s.ticket_id, s.document, s.codes FROM tickets_ticketsearch s
     WHERE s.document @@ {tsquery}
       AND s.ticket_id > (SELECT max(ticket_id) FROM tickets_ticketsearch) - %(recent)s
     ORDER BY s.ticket_id DESC LIMIT %(window)s)
    UNION ALL
    (SELECT s.ticket_id, s.document, s.codes FROM tickets_ticketsearch s
     WHERE s.document @@ {tsquery}
       AND s.ticket_id + 0 <= (SELECT max(ticket_id) FROM tickets_ticketsearch) - %(recent)s
     ORDER BY s.ticket_id + 0 DESC LIMIT %(window)s)
  ) words LIMIT %(window)s)"""
CODE_HITS_SQL = """
  (SELECT s.ticket_id, s.document, s.codes FROM tickets_ticketsearch s
   WHERE s.codes LIKE %(pattern)s ORDER BY s.ticket_id + 0 DESC LIMIT %(window)s)"""
RANKED_SQL = """
WITH hits AS ({hits}),
windowed AS (
  SELECT DISTINCT ON (ticket_id) ticket_id, document, codes
  FROM hits ORDER BY ticket_id DESC LIMIT %(window)s
)
SELECT h.ticket_id, count(*) OVER () AS matched
FROM windowed h
ORDER BY ts_rank(h.document, {tsquery})
         + CASE WHEN h.codes LIKE %(pattern)s THEN 1.0 ELSE 0.0 END DESC,
         h.ticket_id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""


def _search_ranked_ids(*, query: str, code: str, limit: int, offset: int) -> tuple[list[int], bool]:
    """Return the ids of one page of matches, best first, and whether the window was full."""
    hits = []
    # Only excluded words ("-flash") would match nearly every ticket: not a search.
    if any(not w.startswith("-") and w.lower() != "or" for w in query.split()):
        hits.append(WORDS_HITS_SQL.format(tsquery=TSQUERY_SQL))
    if code:
        hits.append(CODE_HITS_SQL)
    if not hits:
        return [], False
    escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    sql = RANKED_SQL.format(hits=" UNION ALL ".join(hits), tsquery=TSQUERY_SQL)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "query": query,
                "pattern": f"%{escaped}%" if code else None,
                "window": SEARCH_WINDOW,
                "recent": SEARCH_RECENT,
                "limit": limit,
                "offset": offset,
            },
        )
        rows = cursor.fetchall()
    return [pk for pk, _matched in rows], bool(rows) and rows[0][1] >= SEARCH_WINDOW


# The snippet: the problem as described, the vehicle and ECU, the latest messages and the files'
# names, each cut short: ts_headline reads the whole text it is given, on the shown page only.
HEADLINE_SQL = """
WITH q AS (
  SELECT websearch_to_tsquery('pg_catalog.italian'::regconfig, %(query)s)
      || websearch_to_tsquery('pg_catalog.english'::regconfig, %(query)s) AS query
)
SELECT t.id,
  ts_headline(cfg.config, translate(t.subject, %(marks)s, ''), q.query, %(subject_options)s),
  ts_headline(cfg.config, translate(concat_ws(' … ',
      left(t.description, 3000), left(t.error_message, 1000),
      t.vehicle_description, t.ecu_description,
      (SELECT string_agg(left(m.body, 1000), ' … ')
         FROM (SELECT e.body FROM tickets_ticketevent e
               WHERE e.ticket_id = t.id AND e.body <> ''
               ORDER BY e.created_at DESC, e.id DESC LIMIT 10) m),
      (SELECT string_agg(a.original_name, ' ')
         FROM (SELECT original_name FROM tickets_attachment
               WHERE ticket_id = t.id ORDER BY id LIMIT 20) a)
    ), %(marks)s, ''), q.query, %(snippet_options)s)
FROM tickets_ticket t
CROSS JOIN q
CROSS JOIN LATERAL (
  SELECT (CASE WHEN t.language = 'it' THEN 'pg_catalog.italian'
               ELSE 'pg_catalog.english' END)::regconfig AS config
) cfg
WHERE t.id = ANY(%(ids)s)
"""
HEADLINE_MARKS = f"StartSel={MARK_START}, StopSel={MARK_STOP}"


def _headlines_set(tickets: Sequence[Ticket], *, query: str, code: str) -> None:
    """Set subject_html and snippet_html (highlighted, escaped) on a page of found tickets."""
    if not tickets:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            HEADLINE_SQL,
            {
                "query": query,
                "marks": MARK_START + MARK_STOP,
                "ids": [t.pk for t in tickets],
                "subject_options": f"HighlightAll=true, {HEADLINE_MARKS}",
                "snippet_options": (
                    "MaxFragments=2, MaxWords=24, MinWords=8, "
                    f'FragmentDelimiter=" … ", {HEADLINE_MARKS}'
                ),
            },
        )
        headlines = {pk: (subject, snippet) for pk, subject, snippet in cursor.fetchall()}
    words = [code] if code else []
    for ticket in tickets:
        subject, snippet = headlines.get(ticket.pk, (ticket.subject, ""))
        ticket.subject_html = _marked(subject)
        ticket.snippet_html = _marked(snippet)
        ticket.serial_html = _mark(ticket.serial_number, words)
        ticket.customer_code_html = _mark(ticket.customer.code, words)
