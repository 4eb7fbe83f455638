"""What customers and visitors see: maintenance, refused forms, banners, the week view."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import make_image, ticket_post_data, ticket_submit
from tests.customers.factories import StaffFactory
from tests.schedule.conftest import rome
from tests.schedule.factories import ClosureFactory, MaintenanceFactory, NoticeFactory
from tests.tickets.factories import TicketFactory
from tests.tickets.pages import form_token
from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db

WINDOW = (rome(2025, 11, 26, 10, 0), rome(2025, 11, 26, 11, 0))


@pytest.fixture
def maintenance():
    return MaintenanceFactory(starts_at=WINDOW[0], ends_at=WINDOW[1])


@pytest.mark.parametrize(
    "url",
    ["/", "/tickets/", "/terms/", "/account/login/", "/tickets/new/", "/does-not-exist/"],
)
def test_maintenance_answers_503_everywhere_on_the_portal(client, maintenance, url):
    with time_machine.travel(rome(2025, 11, 26, 10, 15), tick=False):
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == str(45 * 60)
    page = response.content.decode()
    assert "The portal is under extraordinary maintenance" in page
    assert "Server upgrade." in page
    assert "Wednesday 26 November 2025, 11:00" in page


def test_maintenance_leaves_admin_health_static_and_feeds_reachable(client, maintenance):
    staff = StaffFactory(is_superuser=True)
    with time_machine.travel(rome(2025, 11, 26, 10, 15), tick=False):
        assert client.get("/health/").status_code == 200
        assert client.get("/static/css/portal.css").status_code == 200
        assert client.get(reverse("schedule:notices-feed")).status_code == 200
        assert client.get(reverse("admin:login")).status_code == 200
        client.force_login(staff)
        assert client.get(reverse("admin:index")).status_code == 200
        assert client.get(reverse("tickets:home")).status_code == 503


def test_maintenance_is_translated(client, maintenance):
    with time_machine.travel(rome(2025, 11, 26, 10, 15), tick=False):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 503
    assert "Aggiornamento del server." in response.content.decode()


def test_form_refused_when_maintenance_starts_while_filling_it_comes_back_filled(
    client, unit, terms, maintenance
):
    client.force_login(unit.customer.user)
    with time_machine.travel(rome(2025, 11, 26, 9, 50), tick=False):
        assert client.get(reverse("tickets:create")).status_code == 200
    data = ticket_post_data(unit, terms, subject="Gearbox ECU stays silent")
    data["screenshots"] = make_image("dialog.png")
    with time_machine.travel(rome(2025, 11, 26, 10, 5), tick=False):
        response = client.post(reverse("tickets:create"), data)
    assert response.status_code == 503
    assert response["Retry-After"] == str(55 * 60)
    page = response.content.decode()
    assert "The service is closed right now." in page
    assert "Gearbox ECU stays silent" in page
    assert "Nothing you entered is lost" in page
    assert "It opens again on Wednesday 26 November 2025, 11:00." in page
    staged = Attachment.objects.get()
    assert staged.ticket_id is None
    assert staged.original_name == "dialog.png"
    assert "dialog.png" in page
    assert not Ticket.objects.exists()

    # After the maintenance the same form goes through, with the staged file.
    data = ticket_post_data(unit, terms, subject="Gearbox ECU stays silent")
    data["staged"] = [staged.pk]
    data["form_token"] = form_token(page)  # the kept file belongs to this form
    with time_machine.travel(rome(2025, 11, 26, 11, 1), tick=False):
        response = client.post(reverse("tickets:create"), data)
    assert response.status_code == 302
    assert Ticket.objects.get().attachments.get() == staged


def test_reply_sent_when_maintenance_has_begun_comes_back_with_its_text_and_file(
    client, terms, maintenance
):
    ticket = TicketFactory()
    client.force_login(ticket.customer.user)
    url = reverse("tickets:reply", args=[ticket.number])
    with time_machine.travel(rome(2025, 11, 26, 10, 30), tick=False):
        # Reading is closed during maintenance; a reply written before it began is not lost.
        assert client.get(reverse("tickets:detail", args=[ticket.number])).status_code == 503
        response = client.post(url, {"body": "Log after the crash.", "files": make_image("a.png")})
    assert response.status_code == 503
    assert response["Retry-After"] == str(30 * 60)
    page = response.content.decode()
    assert "Log after the crash." in page
    assert "a.png" in page
    assert "It opens again on Wednesday 26 November 2025, 11:00." in page
    staged = Attachment.objects.get(ticket__isnull=True)
    assert not ticket.events.filter(kind="message").exists()

    with time_machine.travel(rome(2025, 11, 26, 11, 0), tick=False):
        response = client.post(
            url,
            {"body": "Log after the crash.", "staged": [staged.pk], "form_token": form_token(page)},
        )
    assert response.status_code == 302
    assert ticket.events.get(kind="message").body == "Log after the crash."
    staged.refresh_from_db()
    assert staged.ticket_id == ticket.pk


def test_reply_refused_on_a_holiday_keeps_text_and_files(client, terms):
    ticket = TicketFactory()
    client.force_login(ticket.customer.user)
    with time_machine.travel(rome(2025, 12, 25, 10, 0), tick=False):
        page = client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
        assert "Replies are closed right now." in page
        response = client.post(
            reverse("tickets:reply", args=[ticket.number]),
            {"body": "Here is the log.", "files": make_image("log.png")},
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Here is the log." in page
    assert "It opens again on Monday 29 December 2025, 08:30." in page
    assert Attachment.objects.get(ticket__isnull=True).original_name == "log.png"
    assert ticket.events.count() == 1


def test_reply_refused_during_a_closure_keeps_good_files_for_the_retry(
    client, customer, unit, terms
):
    ClosureFactory(
        title_en="Stocktaking", first_day=date(2025, 11, 26), last_day=date(2025, 11, 26)
    )
    with time_machine.travel(rome(2025, 11, 25, 10, 0), tick=False):
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    client.force_login(customer.user)
    url = reverse("tickets:reply", args=[ticket.number])

    with time_machine.travel(rome(2025, 11, 26, 17, 0), tick=False):
        response = client.post(
            url, {"body": "x", "files": [make_image("a.png"), make_image("b.png", color="blue")]}
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The company is closed (Stocktaking): there is no support service." in page
    assert "It opens again on Thursday 27 November 2025, 08:30." in page
    staged = list(Attachment.objects.filter(ticket__isnull=True).order_by("original_name"))
    assert [a.original_name for a in staged] == ["a.png", "b.png"]
    assert not ticket.events.filter(kind="message").exists()

    with time_machine.travel(rome(2025, 11, 27, 8, 30), tick=False):
        response = client.post(
            url, {"body": "x", "staged": [staged[0].pk], "form_token": form_token(page)}
        )
    assert response.status_code == 302
    assert list(ticket.attachments.values_list("original_name", flat=True)) == ["a.png"]


def test_notices_are_banners_on_every_page_for_visitors_and_customers(client, customer):
    NoticeFactory(severity="critical", text_en="Databank servers are being moved.")
    NoticeFactory(
        text_en="Expired notice.",
        publish_from=rome(2020, 1, 1, 0, 0),
        publish_until=rome(2020, 1, 2, 0, 0),
    )
    for url in ("/", "/terms/", "/account/login/"):
        page = client.get(url).content.decode()
        assert 'class="notice notice-critical"' in page
        assert "Databank servers are being moved." in page
        assert "Expired notice." not in page
    client.force_login(customer.user)
    assert "Databank servers are being moved." in client.get("/tickets/").content.decode()


def test_holiday_is_announced_a_configured_number_of_days_ahead(client, settings):
    settings.SERVICE_HOLIDAY_NOTICE_DAYS = 10
    with time_machine.travel(rome(2025, 12, 14, 12, 0), tick=False):
        assert "No support service on" not in client.get("/").content.decode()
    with time_machine.travel(rome(2025, 12, 15, 12, 0), tick=False):
        page = client.get("/").content.decode()
    assert "No support service on Thursday 25 December 2025: national holiday (Christmas" in page


def test_home_page_shows_the_week_and_upcoming_days_off(client):
    ClosureFactory(first_day=date(2025, 12, 29), last_day=date(2026, 1, 2), title_en="Winter")
    MaintenanceFactory(starts_at=rome(2025, 12, 27, 9, 0), ends_at=rome(2025, 12, 27, 12, 0))
    with time_machine.travel(rome(2025, 12, 23, 15, 0), tick=False):
        page = client.get("/").content.decode()
    assert "The support service is open." in page
    assert "Open until 18:00 today." in page
    assert "Service hours this week" in page
    assert page.count('class="week-bar-open"') == 3 * 2  # Monday 22 to Wednesday 24
    dash = "\N{EN DASH}"
    hours = (
        f'<span class="week-interval"><time>08:30</time>{dash}<time>12:30</time></span>, '
        f'<span class="week-interval"><time>14:00</time>{dash}<time>18:00</time></span>'
    )
    assert hours in page
    assert "Closed: national holiday (Christmas Day)" in page
    assert "From Monday 29 December 2025 to Friday 2 January 2026" in page
    assert "company closure (Winter)" in page
    # Soonest first: the maintenance of Saturday 27 comes between Christmas and the closure.
    christmas = page.index("Thursday 25 December 2025</time>:")
    maintenance = page.index("Extraordinary maintenance from Saturday 27 December 2025, 09:00")
    assert christmas < maintenance < page.index("From Monday 29 December 2025")


def test_home_page_with_the_service_closed_disables_the_open_button(client, customer):
    client.force_login(customer.user)
    with time_machine.travel(rome(2025, 11, 29, 10, 0), tick=False):
        page = client.get("/").content.decode()
    assert '<button class="button" type="button" disabled' in page
    assert "We are outside service hours" in page
    assert "Monday 1 December 2025, 08:30" in page
    with time_machine.travel(rome(2025, 11, 29, 10, 0) + timedelta(days=2), tick=False):
        page = client.get("/").content.decode()
    assert f'href="{reverse("tickets:create")}"' in page


def test_reply_and_create_buttons_are_disabled_with_the_reason_while_closed(client, unit, terms):
    ticket = TicketFactory(customer=unit.customer, unit=unit, product=unit.product)
    client.force_login(unit.customer.user)
    saturday = rome(2025, 11, 29, 10, 0)
    with time_machine.travel(saturday, tick=False):
        detail = client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
        create = client.get(reverse("tickets:create")).content.decode()
        units = client.get(reverse("customers:units")).content.decode()
    for page in (detail, create):
        assert "We are outside service hours" in page
        assert "It opens again on Monday 1 December 2025, 08:30." in page
    assert 'disabled aria-describedby="reply-closed-reason"' in detail
    assert 'disabled aria-describedby="create-closed-reason"' in create
    assert f'href="{reverse("tickets:create")}?unit={unit.pk}"' not in units
    assert 'aria-disabled="true"' in units

    with time_machine.travel(saturday + timedelta(days=2), tick=False):
        detail = client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
        create = client.get(reverse("tickets:create")).content.decode()
        units = client.get(reverse("customers:units")).content.decode()
    assert "reply-closed-reason" not in detail
    assert "create-closed-reason" not in create
    assert f'href="{reverse("tickets:create")}?unit={unit.pk}"' in units
