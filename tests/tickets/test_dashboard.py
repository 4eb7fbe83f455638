import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import StaffFactory
from tests.products.factories import ProductFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket
from tickets.reports.charts import dashboard_csv
from tickets.reports.selectors import dashboard_figures, percentile

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
AT = datetime(2026, 3, 18, 12, 0, tzinfo=ROME)  # a Wednesday


@pytest.fixture
def dashboard_viewer(db):
    user = StaffFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return user


@pytest.fixture
def dashboard_tickets(db):
    kess, ktag = ProductFactory(name="KESS test"), ProductFactory(name="KTAG test")
    alice, bob = StaffFactory(first_name="Alice"), StaffFactory(first_name="Bob")
    monday = datetime(2026, 3, 16, 9, 0, tzinfo=ROME)
    # This week: 2 KESS (open), 1 KTAG answered; last week: 1 KESS closed; 13 weeks ago: outside.
    TicketFactory(unit__product=kess, received_at=monday)
    TicketFactory(
        unit__product=kess,
        received_at=monday + timedelta(hours=1),
        status=Ticket.Status.TAKEN,
        assigned_to=alice,
        taken_at=monday + timedelta(hours=2),
    )
    TicketFactory(
        unit__product=ktag,
        received_at=monday + timedelta(hours=2),
        status=Ticket.Status.ANSWERED,
        assigned_to=alice,
        taken_at=monday + timedelta(hours=3),
        first_response_at=monday + timedelta(hours=4),
    )
    TicketFactory(
        unit__product=kess,
        received_at=monday - timedelta(days=7),
        status=Ticket.Status.CLOSED,
        assigned_to=bob,
        taken_at=monday - timedelta(days=7),
        first_response_at=monday - timedelta(days=7) + timedelta(hours=1),
        closed_at=monday - timedelta(days=6),
    )
    TicketFactory(unit__product=kess, received_at=monday - timedelta(weeks=13))
    return {"kess": kess, "ktag": ktag, "alice": alice, "bob": bob}


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        pytest.param([], 0.5, None, id="no values"),
        pytest.param([1.0], 0.9, 1.0, id="one value"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 0.5, 2.5, id="median between two ranks"),
        # Rank 0.9 * (10 - 1) = 8.1: a tenth of the way from the 9th value (9) to the 10th (10).
        pytest.param([float(n) for n in range(1, 11)], 0.9, 9.1, id="p90 of 1 to 10"),
    ],
)
def test_percentile_interpolates_between_ranks(values, fraction, expected):
    found = percentile(values, fraction)
    assert found == (expected if expected is None else pytest.approx(expected))


def test_the_figures_on_a_known_data_set(dashboard_tickets):
    figures = dashboard_figures(at=AT)

    assert figures.queue_length == 4  # three this week and the one 13 weeks old
    assert figures.oldest_received_at == datetime(2025, 12, 15, 9, 0, tzinfo=ROME)
    assert len(figures.weeks) == 12
    assert figures.weeks[-1].isoformat() == "2026-03-16"
    rows = {row.name: row for row in figures.products}
    assert rows["KESS test"].weekly[-1] == 2
    assert rows["KESS test"].weekly[-2] == 1
    assert rows["KESS test"].total == 3  # the 13-week-old ticket is outside the window
    assert rows["KTAG test"].total == 1
    assert figures.weekly_totals[-1] == 3
    # First responses in service hours (08:30-12:30, 14:00-18:00): the KESS ticket of the week
    # before, Monday 09:00 -> 10:00, 60 min; the KTAG one, Monday 11:00 -> 13:00, only the
    # 90 min up to the lunch break. Median 75 min; p90 60 + 0.9 * 30 = 87 min.
    assert figures.response_sample_size == 2
    assert figures.response_median == timedelta(minutes=75)
    assert figures.response_p90 == timedelta(minutes=87)
    operators = {row.username: row for row in figures.operators}
    assert operators[dashboard_tickets["alice"].username].open_now == 2
    assert operators[dashboard_tickets["bob"].username].open_now == 0
    assert operators[dashboard_tickets["bob"].username].taken_in_window == 1


def test_the_figures_cost_a_constant_number_of_queries(
    dashboard_tickets, django_assert_max_num_queries
):
    dashboard_figures(at=AT)  # warm the calendar's cache
    with django_assert_max_num_queries(10):
        dashboard_figures(at=AT)
    TicketFactory.create_batch(
        5, unit__product=dashboard_tickets["ktag"], received_at=AT - timedelta(days=1)
    )
    with django_assert_max_num_queries(10):
        dashboard_figures(at=AT)


def test_the_csv_holds_the_same_figures(dashboard_tickets):
    figures = dashboard_figures(at=AT)
    rows = list(csv.DictReader(io.StringIO(dashboard_csv(figures=figures))))

    def value(section, metric, item="", week=""):
        return next(
            r["value"]
            for r in rows
            if (r["section"], r["metric"], r["item"], r["week"]) == (section, metric, item, week)
        )

    assert value("queue", "open_tickets") == "4"
    assert value("received", "tickets", "KESS test", "2026-03-16") == "2"
    assert value("first_response", "sample_size") == "2"
    assert float(value("first_response", "median_service_hours")) == pytest.approx(
        figures.response_median.total_seconds() / 3600, abs=0.01
    )
    assert value("operators", "open_now", dashboard_tickets["alice"].username) == "2"


def test_csv_cells_cannot_run_as_formulas(dashboard_tickets):
    dashboard_tickets["kess"].name = "=HYPERLINK(1)"
    dashboard_tickets["kess"].save()
    text = dashboard_csv(figures=dashboard_figures(at=AT))
    assert ",=HYPERLINK" not in text
    assert "'=HYPERLINK(1)" in text


def test_the_page_and_the_export_need_the_permission(client, dashboard_tickets, dashboard_viewer):
    url, csv_url = reverse("tickets_admin:dashboard"), reverse("tickets_admin:dashboard-csv")
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 403
    assert client.get(csv_url).status_code == 403

    client.force_login(dashboard_viewer)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg class="chart"') == 4
    assert "KESS test" in html
    export = client.get(csv_url)
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    assert export.content.decode().startswith("section,item,week,metric,value")


def test_the_page_and_the_export_cost_the_same_queries_with_more_data(
    client, dashboard_tickets, dashboard_viewer, django_assert_num_queries
):
    client.force_login(dashboard_viewer)
    url, csv_url = reverse("tickets_admin:dashboard"), reverse("tickets_admin:dashboard-csv")
    client.get(url)  # warm the session and the calendar's cache
    with CaptureQueriesContext(connection) as page_before:
        client.get(url)
    with CaptureQueriesContext(connection) as csv_before:
        client.get(csv_url)

    # Within every window of the page (it reads the clock): new weeks, products and operators.
    operators = StaffFactory.create_batch(4)
    now = timezone.now()
    for index in range(40):
        received = now - timedelta(days=index % 60, hours=2)
        TicketFactory(
            unit__product=ProductFactory() if index % 10 == 0 else dashboard_tickets["kess"],
            received_at=received,
            status=Ticket.Status.ANSWERED,
            assigned_to=operators[index % 4],
            taken_at=received,
            first_response_at=received + timedelta(hours=1),
        )

    with django_assert_num_queries(len(page_before.captured_queries)):
        page = client.get(url)
    with django_assert_num_queries(len(csv_before.captured_queries)):
        client.get(csv_url)
    assert page.status_code == 200
    assert page.context["figures"].response_sample_size == 40
    assert len(page.context["figures"].operators) >= 4
