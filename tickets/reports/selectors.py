"""The managers' dashboard: figures read with a fixed number of grouped queries, and their charts.

Every figure covers a bounded window (the open queue, the last weeks, a sample of recent first
responses), so the page costs the same with a thousand tickets or a million.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import attrgetter
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from products.models import Product
from schedule.selectors import service_time_between
from tickets.models import CannedAnswerUse, Ticket, TicketRating

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
class TargetRow:
    """Tickets of a product or an operator received in the window, and how many kept their
    service targets (none missed, none overdue now)."""

    name: str
    total: int
    within: int

    @property
    def share(self) -> float:
        return round(100 * self.within / self.total, 1) if self.total else 0.0


@dataclass
class SatisfactionRow:
    """The answers to "How did we do?" about one product's or one operator's tickets (or all),
    per week of the dashboard's window: how many, and how many said good."""

    name: str
    weekly_total: list[int]
    weekly_good: list[int]
    neutral: int = 0
    bad: int = 0

    @property
    def total(self) -> int:
        return sum(self.weekly_total)

    @property
    def good(self) -> int:
        return sum(self.weekly_good)

    @property
    def share(self) -> float:
        """The share of good answers, in percent."""
        return round(100 * self.good / self.total, 1) if self.total else 0.0

    @property
    def weekly_share(self) -> list[float | None]:
        return [
            round(100 * good / total, 1) if total else None
            for good, total in zip(self.weekly_good, self.weekly_total, strict=True)
        ]


@dataclass(frozen=True)
class RatingComment:
    ticket_id: int
    number: int
    product: str
    operator: str
    score_label: str
    comment: str
    changed_at: datetime


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
    # (name, replies sent from it within the response window), most used first.
    canned_answers: list[tuple[str, int]] = field(default_factory=list)
    # Share of the tickets received in the response window that kept their service targets.
    targets_products: list[TargetRow] = field(default_factory=list)
    targets_operators: list[TargetRow] = field(default_factory=list)
    # "How did we do?" over the weeks: all answers, per product, per operator (by name: only
    # managers see this page), and the latest comments.
    satisfaction: SatisfactionRow | None = None
    satisfaction_products: list[SatisfactionRow] = field(default_factory=list)
    satisfaction_operators: list[SatisfactionRow] = field(default_factory=list)
    satisfaction_comments: list[RatingComment] = field(default_factory=list)

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
# The latest comments the dashboard shows.
SATISFACTION_COMMENTS = 10


def _person(first: str | None, last: str | None, username: str | None) -> str:
    return " ".join(filter(None, [first, last])) or username or ""


def _satisfaction(*, since: datetime, at: datetime, weeks: list[date], zone: ZoneInfo):
    """The answers given in the window, per week, product and operator, in one grouped query."""
    index = {week: n for n, week in enumerate(weeks)}
    overall = SatisfactionRow(name="", weekly_total=[0] * len(weeks), weekly_good=[0] * len(weeks))
    products: dict[int, SatisfactionRow] = {}
    operators: dict[int, SatisfactionRow] = {}
    for row in (
        TicketRating.objects.filter(rated_at__gte=since, rated_at__lte=at)
        .annotate(week=TruncWeek("rated_at", tzinfo=zone))
        .values(
            "week",
            "score",
            "ticket__product_id",
            "ticket__product__name",
            "ticket__assigned_to_id",
            "ticket__assigned_to__username",
            "ticket__assigned_to__first_name",
            "ticket__assigned_to__last_name",
        )
        .annotate(n=Count("pk"))
        .order_by()
    ):
        week = row["week"]
        week = week.date() if isinstance(week, datetime) else week
        slot = index.get(week)
        if slot is None:
            continue
        product = products.setdefault(
            row["ticket__product_id"],
            SatisfactionRow(
                name=row["ticket__product__name"],
                weekly_total=[0] * len(weeks),
                weekly_good=[0] * len(weeks),
            ),
        )
        targets = [overall, product]
        operator_id = row["ticket__assigned_to_id"]
        if operator_id is not None:
            operator = operators.setdefault(
                operator_id,
                SatisfactionRow(
                    name=_person(
                        row["ticket__assigned_to__first_name"],
                        row["ticket__assigned_to__last_name"],
                        row["ticket__assigned_to__username"],
                    ),
                    weekly_total=[0] * len(weeks),
                    weekly_good=[0] * len(weeks),
                ),
            )
            targets.append(operator)
        for target in targets:
            target.weekly_total[slot] += row["n"]
            if row["score"] == TicketRating.Score.GOOD:
                target.weekly_good[slot] += row["n"]
            elif row["score"] == TicketRating.Score.NEUTRAL:
                target.neutral += row["n"]
            else:
                target.bad += row["n"]
    by_name = attrgetter("name")
    return overall, sorted(products.values(), key=by_name), sorted(operators.values(), key=by_name)


def _satisfaction_comments(*, since: datetime, at: datetime) -> list[RatingComment]:
    """The latest comments of the window, with the ticket's product and operator."""
    labels = dict(TicketRating.Score.choices)
    return [
        RatingComment(
            ticket_id=rating.ticket_id,
            number=rating.ticket.number,
            product=rating.ticket.product.name,
            operator=_person(
                rating.ticket.assigned_to.first_name,
                rating.ticket.assigned_to.last_name,
                rating.ticket.assigned_to.username,
            )
            if rating.ticket.assigned_to
            else "",
            score_label=str(labels[rating.score]),
            comment=rating.comment,
            changed_at=rating.changed_at,
        )
        for rating in TicketRating.objects.filter(rated_at__gte=since, rated_at__lte=at)
        .exclude(comment="")
        .select_related("ticket__product", "ticket__assigned_to")
        .only(
            "score",
            "comment",
            "changed_at",
            "ticket__number",
            "ticket__product__name",
            "ticket__assigned_to__username",
            "ticket__assigned_to__first_name",
            "ticket__assigned_to__last_name",
        )
        .order_by("-changed_at")[:SATISFACTION_COMMENTS]
    ]


RESPONSE_BUCKETS = [(1, "< 1 h"), (2, "1-2 h"), (4, "2-4 h"), (8, "4-8 h"), (16, "8-16 h")]


def dashboard_figures(
    *,
    at: datetime | None = None,
    weeks: int | None = None,
    response_days: int | None = None,
    response_sample: int | None = None,
) -> DashboardFigures:
    """Return the dashboard's figures in ten grouped queries, whatever the table size."""
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
    # 3. Service targets kept, per product and per operator, over the response window.
    response_since = at - timedelta(days=response_days)
    in_window = Ticket.objects.filter(received_at__gte=response_since, received_at__lte=at)
    missed_q = Q(target_missed_at__isnull=False) | (
        ~Q(status=Ticket.Status.CLOSED) & Q(due_at__lte=at)
    )
    target_counts = {
        row["product_id"]: (row["total"], row["total"] - row["missed"])
        for row in in_window.values("product_id")
        .annotate(total=Count("pk"), missed=Count("pk", filter=missed_q))
        .order_by()
    }
    targets_operators = [
        TargetRow(
            name=" ".join(filter(None, [row["first"], row["last"]])) or row["username"],
            total=row["total"],
            within=row["total"] - row["missed"],
        )
        for row in in_window.filter(assigned_to__isnull=False)
        .values("assigned_to")
        .annotate(
            username=Min("assigned_to__username"),
            first=Min("assigned_to__first_name"),
            last=Min("assigned_to__last_name"),
            total=Count("pk"),
            missed=Count("pk", filter=missed_q),
        )
        .order_by("username")
    ]

    products = []
    targets_products = []
    product_ids = {product_id for product_id, _week in counts} | set(target_counts)
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
        if product.pk in target_counts:
            total, within = target_counts[product.pk]
            targets_products.append(TargetRow(name=product.name, total=total, within=within))

    # 4. Time to first response, in service hours, over a bounded sample of recent tickets.
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

    # 5. Tickets per operator: open now, and taken in charge within the response window.
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

    # 6. Canned answers: the replies sent from each within the response window.
    canned_answers = [
        (row["answer__name"], row["replies"])
        for row in CannedAnswerUse.objects.filter(used_at__gte=response_since, used_at__lte=at)
        .values("answer__name")
        .annotate(replies=Count("pk"))
        .order_by("-replies", "answer__name")
    ]

    # 7-8. "How did we do?": the answers of the weeks shown, and the latest comments.
    satisfaction, satisfaction_products, satisfaction_operators = _satisfaction(
        since=since, at=at, weeks=week_list, zone=zone
    )
    satisfaction_comments = _satisfaction_comments(since=since, at=at)

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
        canned_answers=canned_answers,
        targets_products=targets_products,
        targets_operators=targets_operators,
        satisfaction=satisfaction,
        satisfaction_products=satisfaction_products,
        satisfaction_operators=satisfaction_operators,
        satisfaction_comments=satisfaction_comments,
    )
