"""How did we do?: the closing e-mail's signed links, the page they open, the portal's form,
and who sees the answers."""

import csv
import io
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.conftest import ticket_submit
from tests.customers.factories import CustomerFactory, StaffFactory
from tests.products.factories import ProductFactory
from tests.tickets.factories import TicketRatingFactory
from tickets import services as tickets_services
from tickets.models import TicketRating
from tickets.reports.charts import dashboard_csv
from tickets.reports.selectors import dashboard_figures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

LINK = re.compile(r"https?://\S+/satisfaction/[^/\s]+/")
GOOD, NEUTRAL, BAD = TicketRating.Score.GOOD, TicketRating.Score.NEUTRAL, TicketRating.Score.BAD


def _closed_by_operator(*, customer, unit, terms, operator, on_commit, language="en"):
    with on_commit():
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms, language=language)
    with on_commit():
        tickets_services.ticket_take(ticket=ticket, operator=operator)
    mail.outbox.clear()
    with on_commit():
        tickets_services.ticket_close(ticket=ticket, user=operator, body="Fixed by the update.")
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def closed(customer, unit, terms, operator, on_commit):
    """A ticket the operator closed: the customer holds the closing e-mail."""
    return _closed_by_operator(
        customer=customer, unit=unit, terms=terms, operator=operator, on_commit=on_commit
    )


def _links(message) -> dict[str, str]:
    """The answers' labels and addresses (paths), as the plain-text part lists them."""
    found = {}
    for line in message.body.splitlines():
        match = LINK.search(line)
        if match:
            label = line.removeprefix("- ").split(": ")[0]
            found[label] = urlsplit(match.group()).path
    return found


def _link_for(message, score) -> str:
    with translation.override("en"):
        return _links(message)[str(TicketRating.Score(score).label)]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_closing_email_asks_how_did_we_do_in_the_tickets_language(
    customer, unit, terms, operator, on_commit, language
):
    _closed_by_operator(
        customer=customer,
        unit=unit,
        terms=terms,
        operator=operator,
        on_commit=on_commit,
        language=language,
    )

    [message] = mail.outbox
    assert message.to == [customer.user.email]
    with translation.override(language):
        question = gettext("How did we do?")
        labels = [str(score.label) for score in TicketRating.Score]
    assert question in message.body
    assert question in message.alternatives[0][0]
    links = _links(message)
    assert sorted(links) == sorted(labels)
    assert len(set(links.values())) == 3  # one signed link per answer
    for path in links.values():
        assert f'{path}"' in message.alternatives[0][0]


def test_only_a_closing_asks(customer, unit, terms, operator, on_commit):
    with on_commit():
        original = ticket_submit(customer=customer, unit=unit, terms=terms)
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    with on_commit():
        tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Try this.")
    assert mail.outbox
    assert all("/satisfaction/" not in m.body for m in mail.outbox)
    mail.outbox.clear()

    # A duplicate is not a resolution: its e-mail does not ask.
    with on_commit():
        tickets_services.ticket_mark_duplicate(ticket=ticket, original=original, operator=operator)

    [message] = mail.outbox
    assert "duplicate" in message.subject
    assert "/satisfaction/" not in message.body
    assert "/satisfaction/" not in message.alternatives[0][0]


def test_the_link_opens_a_page_without_logging_in_and_get_records_nothing(client, closed):
    [message] = mail.outbox
    path = _link_for(message, BAD)

    response = client.get(path)
    head = client.head(path)

    assert response.status_code == 200
    assert head.status_code == 200
    page = response.content.decode()
    assert f"#{closed.number}" in page
    assert re.search(rf'value="{BAD.value}"[^>]*checked', page)
    assert not re.search(rf'value="{GOOD.value}"[^>]*checked', page)
    assert 'name="comment"' in page
    assert not TicketRating.objects.exists()


def test_posting_the_page_records_the_answer_and_the_comment(client, closed):
    path = _link_for(mail.outbox[0], GOOD)
    client.get(path)

    response = client.post(path, {"score": GOOD.value, "comment": "Quick and clear."})

    assert response.status_code == 302
    rating = TicketRating.objects.get()
    assert rating.ticket == closed
    assert rating.score == GOOD
    assert rating.comment == "Quick and clear."
    assert rating.rated_at == rating.changed_at
    page = client.get(response["Location"]).content.decode()
    assert "Thank you: your answer has been recorded." in page


def test_the_answer_can_be_changed_within_seven_days_and_not_after(client, closed):
    path = _link_for(mail.outbox[0], GOOD)
    client.post(path, {"score": GOOD.value, "comment": ""})
    first = TicketRating.objects.get()

    with time_machine.travel(closed.closed_at + timedelta(days=6, hours=23)):
        response = client.post(path, {"score": NEUTRAL.value, "comment": "The fix broke later."})
    assert response.status_code == 302
    changed = TicketRating.objects.get()
    assert changed.score == NEUTRAL
    assert changed.comment == "The fix broke later."
    assert changed.rated_at == first.rated_at
    assert changed.changed_at > first.changed_at
    assert TicketRating.objects.count() == 1  # once per ticket

    with time_machine.travel(closed.closed_at + timedelta(days=7, minutes=1)):
        late_get = client.get(path)
        late_post = client.post(path, {"score": BAD.value, "comment": "Too late."})
    assert late_get.status_code == 410
    assert late_post.status_code == 410
    assert "expired" in late_get.content.decode()
    assert TicketRating.objects.get().score == NEUTRAL


def test_a_tampered_link_is_refused_with_a_page_and_records_nothing(client, closed):
    path = _link_for(mail.outbox[0], GOOD)
    token = path.rstrip("/").rsplit("/", 1)[1]
    value, signature = token.rsplit(":", 1)
    forged_signature = path.replace(token, f"{value}:{signature[:-2]}xx")
    bad_answer = path.replace(token, token.replace(f"{closed.number}.3", f"{closed.number}.1"))

    for forged in (forged_signature, bad_answer, "/satisfaction/garbage/"):
        assert forged != path
        response = client.get(forged)
        assert response.status_code == 400, forged
        assert "This link is not valid" in response.content.decode()
        assert client.post(forged, {"score": GOOD.value}).status_code == 400
    assert not TicketRating.objects.exists()


def test_the_link_of_another_ticket_cannot_rate_this_one(
    client, closed, customer, unit, terms, operator, on_commit
):
    other = _closed_by_operator(
        customer=customer, unit=unit, terms=terms, operator=operator, on_commit=on_commit
    )
    path = _link_for(mail.outbox[0], BAD)  # the other ticket's e-mail
    token = path.rstrip("/").rsplit("/", 1)[1]
    # Put this ticket's number in the other's signed value: the signature no longer holds.
    swapped = path.replace(token, token.replace(f"{other.number}.", f"{closed.number}.", 1))

    assert client.post(swapped, {"score": BAD.value}).status_code == 400
    assert client.post(path, {"score": BAD.value}).status_code == 302

    assert list(TicketRating.objects.values_list("ticket__number", "score")) == [
        (other.number, BAD)
    ]


def test_the_portal_takes_the_answer_and_comment_of_the_tickets_own_customer_only(
    client, customer, customer_client, closed
):
    page = customer_client.get(reverse("tickets:detail", args=[closed.number]))
    assert 'id="rating"' in page.content.decode()

    url = reverse("tickets:rating", args=[closed.number])
    response = customer_client.post(url, {"score": GOOD.value, "comment": "Thanks to Luca."})
    assert response.status_code == 302
    assert TicketRating.objects.get().comment == "Thanks to Luca."

    stranger = CustomerFactory()
    client.force_login(stranger.user)
    assert client.post(url, {"score": BAD.value, "comment": "Not mine."}).status_code == 404
    assert client.get(reverse("tickets:detail", args=[closed.number])).status_code == 404
    assert TicketRating.objects.get().score == GOOD


def test_the_portal_asks_nothing_of_an_open_ticket_and_refuses_a_forced_answer(
    customer_client, ticket
):
    page = customer_client.get(reverse("tickets:detail", args=[ticket.number]))
    assert 'id="rating"' not in page.content.decode()

    response = customer_client.post(
        reverse("tickets:rating", args=[ticket.number]), {"score": GOOD.value}
    )

    assert response.status_code == 302
    page = customer_client.get(response["Location"]).content.decode()
    assert "This ticket is not closed: you can rate it once it closes." in page
    assert not TicketRating.objects.exists()


def test_a_customer_who_closed_the_ticket_rates_it_in_the_portal(customer, customer_client, ticket):
    response = customer_client.post(reverse("tickets:close", args=[ticket.number]))
    page = customer_client.get(response["Location"]).content.decode()
    assert 'id="rating"' in page

    customer_client.post(reverse("tickets:rating", args=[ticket.number]), {"score": NEUTRAL.value})

    assert TicketRating.objects.get(ticket=ticket).score == NEUTRAL


def test_after_the_window_the_portal_shows_the_answer_without_the_form(customer_client, customer):
    rating = TicketRatingFactory(
        ticket__customer=customer,
        ticket__closed_at=timezone.now() - timedelta(days=8),
        comment="Kept for the record.",
    )

    page = customer_client.get(reverse("tickets:detail", args=[rating.ticket.number]))

    html = page.content.decode()
    assert "Kept for the record." in html
    assert 'action="/tickets/' not in html.split('id="rating"')[1]


# Privacy: operators never see a customer's rating ---------------------------------------------


@pytest.fixture
def rated(operator):
    return TicketRatingFactory(
        ticket__assigned_to=operator, score=BAD, comment="RATING-COMMENT-SECRET"
    )


def test_an_operator_sees_no_rating_in_the_queue_or_on_the_ticket_page(operator_client, rated):
    queue = operator_client.get(reverse("admin:tickets_ticket_changelist") + "?status=closed")
    page = operator_client.get(reverse("admin:tickets_ticket_change", args=[rated.ticket.pk]))

    assert queue.status_code == 200
    assert page.status_code == 200
    assert f"{rated.ticket.number}" in queue.content.decode()
    for response in (queue, page):
        html = response.content.decode()
        assert "RATING-COMMENT-SECRET" not in html
        assert "How did we do?" not in html
        assert str(TicketRating.Score.BAD.label) not in html
    assert operator_client.get(reverse("tickets_admin:dashboard")).status_code == 403


def test_ratings_have_no_admin_page_of_their_own(client, operator, manager, rated):
    with pytest.raises(NoReverseMatch):
        reverse("admin:tickets_ticketrating_changelist")
    for user in (operator, manager):
        client.force_login(user)
        assert client.get("/admin/tickets/ticketrating/").status_code == 404


# The managers' dashboard ----------------------------------------------------------------------

ROME = ZoneInfo("Europe/Rome")
AT = datetime(2026, 3, 18, 12, 0, tzinfo=ROME)  # a Wednesday
MONDAY = datetime(2026, 3, 16, 9, 0, tzinfo=ROME)


def _rate(*, product, operator, score, rated_at, comment=""):
    return TicketRatingFactory(
        ticket__unit__product=product,
        ticket__assigned_to=operator,
        ticket__closed_at=rated_at - timedelta(hours=1),
        score=score,
        rated_at=rated_at,
        comment=comment,
    )


@pytest.fixture
def ratings(db):
    kess, ktag = ProductFactory(name="KESS test"), ProductFactory(name="KTAG test")
    alice = StaffFactory(first_name="Alice", last_name="Rossi")
    bob = StaffFactory(first_name="Bob", last_name="Bianchi")
    # This week: KESS/Alice good, good, bad; KTAG/Bob neutral. Last week: KESS/Bob good.
    # Thirteen weeks ago, outside the window: KTAG/Alice bad.
    _rate(product=kess, operator=alice, score=GOOD, rated_at=MONDAY, comment="Alice was great.")
    _rate(product=kess, operator=alice, score=GOOD, rated_at=MONDAY + timedelta(hours=1))
    _rate(product=kess, operator=alice, score=BAD, rated_at=MONDAY + timedelta(hours=2))
    _rate(product=ktag, operator=bob, score=NEUTRAL, rated_at=MONDAY + timedelta(hours=3))
    _rate(product=kess, operator=bob, score=GOOD, rated_at=MONDAY - timedelta(days=7))
    _rate(product=ktag, operator=alice, score=BAD, rated_at=MONDAY - timedelta(weeks=13))
    return {"kess": kess, "ktag": ktag, "alice": alice, "bob": bob}


def test_the_dashboard_figures_per_product_and_operator_over_the_weeks(ratings):
    figures = dashboard_figures(at=AT)

    overall = figures.satisfaction
    assert (overall.total, overall.good, overall.neutral, overall.bad) == (5, 3, 1, 1)
    assert overall.weekly_total[-2:] == [1, 4]
    assert overall.weekly_share[-2:] == [100.0, 50.0]
    assert overall.weekly_share[0] is None
    products = {row.name: row for row in figures.satisfaction_products}
    assert set(products) == {"KESS test", "KTAG test"}
    assert (products["KESS test"].total, products["KESS test"].good) == (4, 3)
    assert products["KESS test"].share == 75.0
    assert products["KESS test"].weekly_share[-2:] == [100.0, 66.7]
    assert (products["KTAG test"].total, products["KTAG test"].neutral) == (1, 1)
    operators = {row.name: row for row in figures.satisfaction_operators}
    assert operators["Alice Rossi"].weekly_total[-1] == 3
    assert operators["Alice Rossi"].bad == 1  # the old bad answer is outside the window
    assert operators["Bob Bianchi"].weekly_share[-2:] == [100.0, 0.0]
    [comment] = figures.satisfaction_comments
    assert (comment.comment, comment.operator) == ("Alice was great.", "Alice Rossi")


def test_the_csv_holds_the_satisfaction_figures(ratings):
    rows = list(csv.DictReader(io.StringIO(dashboard_csv(figures=dashboard_figures(at=AT)))))

    def value(section, item, week, metric):
        [found] = [
            r["value"]
            for r in rows
            if (r["section"], r["item"], r["week"], r["metric"]) == (section, item, week, metric)
        ]
        return found

    assert value("satisfaction", "", "", "answers") == "5"
    assert value("satisfaction_products", "KESS test", "2026-03-16", "answers") == "3"
    assert value("satisfaction_products", "KESS test", "2026-03-16", "good") == "2"
    assert value("satisfaction_operators", "Bob Bianchi", "", "good_percent") == "50.0"


def test_the_figures_cost_the_same_queries_with_more_ratings(
    ratings, django_assert_max_num_queries
):
    dashboard_figures(at=AT)  # warm the calendar's cache
    with django_assert_max_num_queries(10):
        dashboard_figures(at=AT)
    for index in range(30):
        _rate(
            product=ProductFactory() if index % 5 == 0 else ratings["ktag"],
            operator=StaffFactory() if index % 3 == 0 else ratings["bob"],
            score=(GOOD, NEUTRAL, BAD)[index % 3],
            rated_at=AT - timedelta(days=index % 40, hours=1),
            comment=f"comment {index}",
        )
    with django_assert_max_num_queries(10):
        figures = dashboard_figures(at=AT)
    assert figures.satisfaction.total == 35
    assert len(figures.satisfaction_comments) == 10


def test_a_manager_sees_the_answers_with_their_charts_on_the_dashboard(manager_client, ratings):
    with time_machine.travel(AT, tick=False):
        response = manager_client.get(reverse("tickets_admin:dashboard"))
        export = manager_client.get(reverse("tickets_admin:dashboard-csv"))

    assert response.status_code == 200
    assert "satisfaction_operators,Alice Rossi,2026-03-16,answers,3" in export.content.decode()
    html = response.content.decode()
    section = html.split('id="satisfaction"')[1].split("</section>")[0]
    assert section.count('<svg class="chart"') == 3
    assert section.count('<svg class="sparkline"') == 4  # two products, two operators
    assert "Alice Rossi" in section
    assert "Alice was great." in section
    assert "75.0" in section  # KESS: three good answers out of four
