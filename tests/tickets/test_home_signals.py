"""The home page says each thing once, and the most important first."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from customers.services import customer_suspend
from schedule.models import Closure
from schedule.services import closure_save
from tests.schedule.conftest import rome

pytestmark = pytest.mark.django_db

HOME = reverse("tickets:home")
OPEN_DAY = rome(2025, 11, 26, 10, 0)  # a Wednesday, inside service hours


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_a_suspended_customer_reads_the_suspension_first_and_no_cheerful_open_box(client, customer):
    customer_suspend(customer=customer, reason="Counterfeit software found.")
    client.force_login(customer.user)
    with time_machine.travel(OPEN_DAY, tick=False):
        page = client.get(HOME).content.decode()
    suspension = page.index("Your account is suspended.")
    status_box = page.index('class="service-status')
    assert suspension < status_box
    box = page[status_box : page.index("</section>", status_box)]
    assert "service-muted" in box
    assert 'class="dot"' not in box  # no green light
    assert "<strong>" not in box
    assert "The support service is open." in box  # still said, plainly
    assert 'href="/tickets/new/"' not in page


def test_an_active_customer_keeps_the_green_open_box_and_the_button(client, customer):
    client.force_login(customer.user)
    with time_machine.travel(OPEN_DAY, tick=False):
        page = client.get(HOME).content.decode()
    box = page[page.index('class="service-status') :]
    assert 'class="dot"' in box
    assert "<strong>The support service is open.</strong>" in box
    assert 'href="/tickets/new/"' in page


def _closure(first, last, title="Stock count"):
    closure_save(
        closure=Closure(),
        data={
            "title_it": "Inventario",
            "title_en": title,
            "title_fr": "Inventaire",
            "first_day": first,
            "last_day": last,
            "recurs_yearly": False,
        },
        at=rome(2025, 11, 1, 9, 0),
    )


@pytest.mark.parametrize("who", ["visitor", "customer"])
def test_a_closure_under_way_is_told_once_in_the_status_box(
    client, customer, django_capture_on_commit_callbacks, who
):
    with django_capture_on_commit_callbacks(execute=True):
        _closure(date(2025, 11, 26), date(2025, 11, 28))
        _closure(date(2025, 12, 29), date(2025, 12, 31), title="Winter break")
    if who == "customer":
        client.force_login(customer.user)
    with time_machine.travel(OPEN_DAY, tick=False):
        page = client.get(HOME).content.decode()
        other_page = client.get(reverse("core:terms")).content.decode()
    # The status box tells it, with the reopening.
    assert "The company is closed (Stock count): there is no support service." in page
    assert "The service opens again on Monday 1 December 2025, 08:30." in page
    # Not a second time in a banner, nor a third in the list of what is to come.
    assert "The support service is closed from Wednesday 26 November 2025" not in page
    assert "company closure (Stock count)" not in page
    # The closure still to come keeps its banner and its line; other pages keep every banner.
    assert "The support service is closed from Monday 29 December 2025" in page
    assert "company closure (Winter break)" in page
    assert "The support service is closed from Wednesday 26 November 2025" in other_page
    if who == "customer":
        # The disabled button points to the box instead of repeating the reason.
        assert 'disabled aria-describedby="service-status-reason"' in page
        assert page.count("there is no support service") == 1


def test_before_a_closure_its_banner_and_its_line_in_the_calendar_both_stay(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _closure(date(2025, 11, 26), date(2025, 11, 28))
    with time_machine.travel(rome(2025, 11, 25, 10, 0), tick=False):
        page = client.get(HOME).content.decode()
    assert "The support service is open." in page
    assert "The support service is closed from Wednesday 26 November 2025" in page
    assert "company closure (Stock count)" in page


def test_a_national_holiday_is_told_once_on_the_day(client):
    with time_machine.travel(rome(2025, 12, 8, 10, 0), tick=False):
        page = client.get(HOME).content.decode()
        other_page = client.get(reverse("core:terms")).content.decode()
    assert "Today is a national holiday (Immaculate Conception)" in page
    assert "No support service on Monday 8 December 2025" not in page
    assert "Monday 8 December 2025</time>:" not in page
    assert "No support service on Monday 8 December 2025" in other_page
    # Christmas is still to come: its banner and its line stay.
    assert "Thursday 25 December 2025</time>:" in page
