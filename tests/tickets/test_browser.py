"""A customer in a real browser: log in, open a ticket with a screenshot, see the upload bar.

Also takes screenshots of the main pages at desktop and phone widths into screenshots/.
"""

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import require_service
from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("service_open")]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# Remember, across the page change, that the progress bar was shown while the form was sent.
WATCH_PROGRESS = """
() => {
  const box = document.querySelector("form[data-upload-progress] .progress");
  new MutationObserver(() => {
    if (!box.hidden && box.getClientRects().length) sessionStorage.setItem("progressShown", "1");
  }).observe(box, {attributes: true});
}
"""


@pytest.fixture
def browser():
    require_service(os.path.exists(CHROMIUM), "Chromium at /usr/bin/chromium")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_file(tmp_path):
    path = tmp_path / "errore-schermata.png"
    image = Image.effect_noise((900, 600), 60).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_customer_opens_a_ticket_with_a_screenshot(
    live_server, browser, terms, screenshot_file, transactional_db
):
    customer = CustomerFactory(company="Officina Rossi Srl", language="en")
    unit = UnitFactory(customer=customer, serial_number="KS-000123")
    context = browser.new_context(viewport=SIZES["desktop"], locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/account/login/")
    page.get_by_label("Customer code or e-mail").fill(customer.code.lower())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert "Welcome, Officina Rossi Srl" in page.content()

    page.get_by_role("link", name="Open a new ticket").first.click()
    page.wait_for_url("**/tickets/new/")
    page.select_option("#id_target", f"unit:{unit.pk}")
    page.fill("#id_subject", "Write fails at 87%")
    page.fill("#id_vehicle_description", "Fiat Punto 1.3 Multijet 2012")
    page.fill("#id_description", "Writing stops at 87% every time.")
    page.set_input_files("#id_screenshots", str(screenshot_file))
    page.check("#id_accept_terms")
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Submit the ticket").click()
    page.wait_for_url(re.compile(r".*/tickets/\d+/$"), timeout=15000)

    assert page.evaluate("sessionStorage.getItem('progressShown')") == "1"
    number = customer.tickets.get().number
    assert f"#{number}" in page.locator("h1").inner_text()
    thumbnail = page.locator("ul.files img")
    thumbnail.wait_for()
    assert page.evaluate("(img) => img.naturalWidth", thumbnail.element_handle()) > 0

    _take_screenshots(browser, live_server, customer, number)
    context.close()


def _take_screenshots(browser, live_server, customer, number):
    SHOTS.mkdir(exist_ok=True)
    for size_name, viewport in SIZES.items():
        anonymous = browser.new_context(viewport=viewport, locale="en-GB")
        page = anonymous.new_page()
        for name, path in (("login", "/account/login/"), ("visitor-home", "/")):
            page.goto(live_server.url + path)
            page.screenshot(path=SHOTS / f"{name}-{size_name}.png", full_page=True)
        anonymous.close()

        context = browser.new_context(viewport=viewport, locale="en-GB")
        page = context.new_page()
        page.goto(f"{live_server.url}/account/login/")
        page.get_by_label("Customer code or e-mail").fill(customer.code)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        for name, path in (
            ("home", "/"),
            ("ticket-list", "/tickets/?state=all"),
            ("ticket-detail", f"/tickets/{number}/"),
            ("units", "/account/units/"),
            ("profile", "/account/profile/"),
        ):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=SHOTS / f"{name}-{size_name}.png", full_page=True)
        page.goto(f"{live_server.url}/tickets/new/")
        page.get_by_role("button", name="Submit the ticket").click()
        page.wait_for_selector("#form-errors")
        page.screenshot(path=SHOTS / f"create-errors-{size_name}.png", full_page=True)
        context.close()
