"""The managers' dashboard: figures read with a fixed number of grouped queries, and their charts.

Every figure covers a bounded window (the open queue, the last weeks, a sample of recent first
responses), so the page costs the same with a thousand tickets or a million.
"""

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from products.models import Product
from schedule.selectors import service_time_between
from tickets.models import Ticket

PALETTE = ["#1f5fa8", "#e07b00", "#2e8540", "#b3261e", "#6b4fbb", "#00838f", "#8d6e00", "#5f6b7a"]


@dataclass(frozen=True)
class ProductRow:
    name: str
    weekly: list[int]
    color: str

    @property
    def total(self) -> int:
        return sum(self.weekly)


@dataclass(frozen=True)
class OperatorRow:
    name: str
    username: str
    open_now: int
    taken_in_window: int


@dataclass(frozen=True)
class DashboardFigures:
    at: datetime
    queue_length: int
    oldest_received_at: datetime | None
    oldest_waiting_service: timedelta | None
    weeks: list[date]
    products: list[ProductRow]
    response_since: datetime
    response_sample_size: int
    response_median: timedelta | None
    response_p90: timedelta | None
    response_buckets: list[tuple[str, int]] = field(default_factory=list)
    operators: list[OperatorRow] = field(default_factory=list)

    @property
    def weekly_totals(self) -> list[int]:
        return [sum(row.weekly[i] for row in self.products) for i in range(len(self.weeks))]

    @property
    def received_total(self) -> int:
        return sum(self.weekly_totals)


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the percentile of sorted values by linear interpolation between ranks."""
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# Service-hour buckets of the response-time histogram: (upper bound in hours, label).
RESPONSE_BUCKETS = [(1, "< 1 h"), (2, "1-2 h"), (4, "2-4 h"), (8, "4-8 h"), (16, "8-16 h")]


def dashboard_figures(
    *,
    at: datetime | None = None,
    weeks: int | None = None,
    response_days: int | None = None,
    response_sample: int | None = None,
) -> DashboardFigures:
    """Return the dashboard's figures in five grouped queries, whatever the table size."""
    at = at or timezone.now()
    weeks = weeks or settings.DASHBOARD_WEEKS
    response_days = response_days or settings.DASHBOARD_RESPONSE_DAYS
    response_sample = response_sample or settings.DASHBOARD_RESPONSE_SAMPLE
    zone = ZoneInfo(settings.SERVICE_TIME_ZONE)
    open_tickets = Ticket.objects.exclude(status=Ticket.Status.CLOSED)

    # 1. The queue (served by the partial index on open tickets).
    queue = open_tickets.aggregate(length=Count("pk"), oldest=Min("received_at"))
    oldest = queue["oldest"]

    # 2. Arrivals per product and week, counted in the database.
    this_week = _week_start(timezone.localtime(at, zone).date())
    week_list = [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    since = datetime.combine(week_list[0], time.min, tzinfo=zone)
    counts: dict[tuple[int, date], int] = {}
    for row in (
        Ticket.objects.filter(received_at__gte=since, received_at__lte=at)
        .annotate(week=TruncWeek("received_at", tzinfo=zone))
        .values("product_id", "week")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        week = row["week"]
        week = week.date() if isinstance(week, datetime) else week
        counts[(row["product_id"], week)] = row["n"]
    products = []
    product_ids = {product_id for product_id, _week in counts}
    for index, product in enumerate(
        Product.objects.filter(Q(is_active=True) | Q(pk__in=product_ids)).order_by(
            "position", "name"
        )
    ):
        products.append(
            ProductRow(
                name=product.name,
                weekly=[counts.get((product.pk, week), 0) for week in week_list],
                color=PALETTE[index % len(PALETTE)],
            )
        )

    # 3. Time to first response, in service hours, over a bounded sample of recent tickets.
    response_since = at - timedelta(days=response_days)
    pairs = list(
        Ticket.objects.filter(
            received_at__gte=response_since,
            received_at__lte=at,
            first_response_at__isnull=False,
        )
        .order_by("-received_at")
        .values_list("received_at", "first_response_at")[:response_sample]
    )
    hours = sorted(
        service_time_between(start=received, end=answered).total_seconds() / 3600
        for received, answered in pairs
    )
    median, p90 = percentile(hours, 0.5), percentile(hours, 0.9)
    buckets = []
    lower = 0
    for upper, label in RESPONSE_BUCKETS:
        buckets.append((label, sum(1 for h in hours if lower <= h < upper)))
        lower = upper
    buckets.append((f"≥ {lower} h", sum(1 for h in hours if h >= lower)))

    # 4. Tickets per operator: open now, and taken in charge within the response window.
    open_q = ~Q(status=Ticket.Status.CLOSED)
    taken_q = Q(taken_at__gte=response_since, taken_at__lte=at)
    operators = [
        OperatorRow(
            name=" ".join(filter(None, [row["first"], row["last"]])) or row["username"],
            username=row["username"],
            open_now=row["open_now"],
            taken_in_window=row["taken"],
        )
        for row in Ticket.objects.filter(assigned_to__isnull=False)
        .filter(open_q | taken_q)
        .values("assigned_to")
        .annotate(
            username=Min("assigned_to__username"),
            first=Min("assigned_to__first_name"),
            last=Min("assigned_to__last_name"),
            open_now=Count("pk", filter=open_q),
            taken=Count("pk", filter=taken_q),
        )
        .order_by("-open_now", "username")
    ]

    return DashboardFigures(
        at=at,
        queue_length=queue["length"],
        oldest_received_at=oldest,
        oldest_waiting_service=service_time_between(start=oldest, end=at) if oldest else None,
        weeks=week_list,
        products=products,
        response_since=response_since,
        response_sample_size=len(hours),
        response_median=timedelta(hours=median) if median is not None else None,
        response_p90=timedelta(hours=p90) if p90 is not None else None,
        response_buckets=buckets,
        operators=operators,
    )


# Presentation -----------------------------------------------------------------------------------


def hours_display(value: timedelta | None) -> str:
    """Format a service time as hours and minutes, e.g. "3 h 05 min"."""
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _hours(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 3600:.2f}"


def _svg(width: int, height: int, label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{label}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
        "<title>{label}</title>{body}</svg>",
        w=width,
        h=height,
        label=label,
        body=body,
    )


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def svg_weekly_chart(*, figures: DashboardFigures) -> SafeString:
    """Draw arrivals per week as columns stacked by product."""
    width, height, left, bottom, top = 640, 260, 40, 30, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    totals = figures.weekly_totals
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(figures.weeks), 1)
    parts = []
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#dde3ea"/>'
                '<text x="{}" y="{}" text-anchor="end" fill="#5f6b7a">{}</text>',
                left,
                width - 10,
                left - 4,
                f"{y + 4:.1f}",
                f"{value:g}",
                y=f"{y:.1f}",
            )
        )
    for index, week in enumerate(figures.weeks):
        x = left + slot * index + slot * 0.15
        base = top + plot_h
        for row in figures.products:
            value = row.weekly[index]
            if not value:
                continue
            bar = plot_h * value / peak
            base -= bar
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} · {}: {}</title></rect>",
                    f"{x:.1f}",
                    f"{base:.1f}",
                    f"{slot * 0.7:.1f}",
                    f"{bar:.1f}",
                    row.color,
                    week.strftime("%d/%m"),
                    row.name,
                    value,
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" fill="#5f6b7a">{}</text>',
                f"{x + slot * 0.35:.1f}",
                height - bottom + 14,
                week.strftime("%d/%m"),
            )
        )
    return _svg(
        width,
        height,
        _("Tickets received per week, by product"),
        mark_safe("".join(parts)),  # noqa: S308 - every part was built by format_html
    )


def svg_bar_chart(*, items: list[tuple[str, float, str]], label: str, unit: str = "") -> SafeString:
    """Draw horizontal bars for (label, value, colour) items."""
    row_h, left, right = 24, 150, 70
    width = 640
    height = max(len(items), 1) * row_h + 10
    peak = max((value for _label, value, _colour in items), default=0) or 1
    parts = []
    for index, (name, value, colour) in enumerate(items):
        y = 5 + index * row_h
        bar = (width - left - right) * value / peak
        shown = f"{value:g}{unit}" if isinstance(value, int) else f"{value:.1f}{unit}"
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" fill="#1b2733">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<text x="{}" y="{}" fill="#1b2733">{}</text>',
                left - 6,
                y + 15,
                name if len(name) <= 24 else name[:23] + "…",
                left,
                y + 3,
                f"{bar:.1f}",
                row_h - 8,
                colour,
                f"{left + bar + 4:.1f}",
                y + 15,
                shown,
            )
        )
    return _svg(width, height, label, mark_safe("".join(parts)))  # noqa: S308


def dashboard_charts(*, figures: DashboardFigures) -> dict[str, SafeString]:
    """Return the dashboard's SVG charts, keyed by section."""
    return {
        "weekly": svg_weekly_chart(figures=figures),
        "products": svg_bar_chart(
            items=[(row.name, row.total, row.color) for row in figures.products],
            label=_("Tickets received per product"),
        ),
        "response": svg_bar_chart(
            items=[(name, count, PALETTE[0]) for name, count in figures.response_buckets],
            label=_("Time to first response in service hours (tickets per band)"),
        ),
        "operators": svg_bar_chart(
            items=[(row.name, row.open_now, PALETTE[1]) for row in figures.operators],
            label=_("Open tickets per operator"),
        ),
    }


def legend_html(*, figures: DashboardFigures) -> SafeString:
    """Return the colour legend of the weekly chart."""
    return format_html_join(
        "",
        '<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        'fill="{}"/></svg> {}</li>',
        ((row.color, row.name) for row in figures.products),
    )


def _cell(value) -> str:
    # Spreadsheets run cells that start with these; names come from people.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def dashboard_csv(*, figures: DashboardFigures) -> str:
    """Return the dashboard's figures as CSV: section, item, week, metric, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "item", "week", "metric", "value"])
    oldest = figures.oldest_received_at
    rows = [
        ("queue", "", "", "open_tickets", figures.queue_length),
        ("queue", "", "", "oldest_received_at", oldest.isoformat() if oldest else ""),
        ("queue", "", "", "oldest_waiting_service_hours", _hours(figures.oldest_waiting_service)),
    ]
    for row in figures.products:
        rows.extend(
            ("received", row.name, week.isoformat(), "tickets", value)
            for week, value in zip(figures.weeks, row.weekly, strict=True)
        )
    rows += [
        ("first_response", "", "", "since", figures.response_since.isoformat()),
        ("first_response", "", "", "sample_size", figures.response_sample_size),
        ("first_response", "", "", "median_service_hours", _hours(figures.response_median)),
        ("first_response", "", "", "p90_service_hours", _hours(figures.response_p90)),
    ]
    for row in figures.operators:
        rows.append(("operators", row.username, "", "open_now", row.open_now))
        rows.append(("operators", row.username, "", "taken_in_window", row.taken_in_window))
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()
