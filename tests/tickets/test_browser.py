"""A customer in a real browser: log in, open a ticket with a screenshot, see the upload bar.

Also takes screenshots of the main pages at desktop and phone widths into var/screenshots/pages/.
"""

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("service_open")]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "pages"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# Remember, across the page change, that the progress bar was shown while the form was sent,
# and every value it took.
WATCH_PROGRESS = """
() => {
  const box = document.querySelector("form[data-upload-progress] .progress");
  const bar = box.querySelector("progress");
  sessionStorage.setItem("progressValues", "");
  new MutationObserver(() => {
    if (!box.hidden && box.getClientRects().length) sessionStorage.setItem("progressShown", "1");
  }).observe(box, {attributes: true});
  new MutationObserver(() => {
    const seen = sessionStorage.getItem("progressValues");
    sessionStorage.setItem("progressValues", seen + " " + bar.getAttribute("value"));
  }).observe(bar, {attributes: true, attributeFilter: ["value"]});
}
"""


def progress_values(page) -> list[int]:
    return [int(v) for v in page.evaluate("sessionStorage.getItem('progressValues')").split()]


@pytest.fixture
def browser(chromium):
    """The run's one Chromium (tests/conftest.py): Playwright allows one sync driver per process."""
    return chromium


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
    # A slow uplink, so the bar has time to move in steps rather than jump to the end.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 20,
            "downloadThroughput": -1,
            "uploadThroughput": 512 * 1024,
        },
    )
    page.get_by_role("button", name="Submit the ticket").click()
    page.wait_for_url(re.compile(r".*/tickets/\d+/$"), timeout=30000)
    cdp.send("Network.emulateNetworkConditions", _NO_THROTTLE)

    assert page.evaluate("sessionStorage.getItem('progressShown')") == "1"
    values = progress_values(page)
    print("\nprogress bar values seen:", values)
    assert values[-1] == 100, values
    assert any(0 < v < 100 for v in values), values  # it moved, not only 0 then 100
    assert values == sorted(values), values
    number = customer.tickets.get().number
    assert f"#{number}" in page.locator("h1").inner_text()
    # The confirmation survives the upload script's trip (it must not be eaten by the XHR).
    assert f"Ticket #{number} received." in page.locator(".messages").inner_text()
    thumbnail = page.locator("ul.files img")
    thumbnail.wait_for()
    assert page.evaluate("(img) => img.naturalWidth", thumbnail.element_handle()) > 0

    _reply_refused_then_accepted_then_close(page, screenshot_file, number, customer)
    _take_screenshots(browser, live_server, customer, number)
    context.close()


_NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def _reply_refused_then_accepted_then_close(page, screenshot_file, number, customer):
    """Detail page: a refused file comes back with a clear error, a good one lands on #latest."""
    bad = screenshot_file.with_name("tool.exe")
    bad.write_bytes(b"MZ not a log")
    page.fill("#id_body", "Here is the tool.")
    page.set_input_files("#id_files", str(bad))
    page.get_by_role("button", name="Send").click()
    summary = page.locator("#form-errors")
    summary.wait_for()
    assert "this type of file is not accepted" in summary.inner_text()
    # The summary takes the focus, for keyboard and screen-reader users.
    assert page.evaluate("document.activeElement.id") == "form-errors"
    assert page.input_value("#id_body") == "Here is the tool."
    assert customer.tickets.get().events.count() == 1

    # The page written from the refused answer still sends files through the bar.
    page.evaluate(WATCH_PROGRESS)
    page.set_input_files("#id_files", str(screenshot_file))
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(rf".*/tickets/{number}/#latest$"), timeout=30000)
    page.locator("#latest ul.files img").wait_for()
    assert "Your message has been added to the ticket." in page.locator(".messages").inner_text()
    assert "Here is the tool." in page.locator("#latest").inner_text()
    assert page.evaluate("sessionStorage.getItem('progressShown')") == "1"
    assert page.locator("ul.files img").count() == 2

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Close the ticket: my problem is solved").click()
    page.wait_for_selector(".status-closed")
    assert f"Ticket #{number} is closed." in page.locator(".messages").inner_text()
    assert page.locator("#id_body").count() == 0


def _take_screenshots(browser, live_server, customer, number):
    SHOTS.mkdir(parents=True, exist_ok=True)
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


def test_on_a_phone_the_open_tickets_show_at_once_and_a_loss_is_told_once(
    live_server, browser, terms, transactional_db
):
    from tests.products.factories import ProductFactory
    from tests.tickets.factories import TicketFactory

    customer = CustomerFactory(language="en")
    busy = UnitFactory(customer=customer, serial_number="KM-100123")
    TicketFactory(customer=customer, unit=busy, subject="Write fails at 87%")
    stolen = UnitFactory(
        customer=customer,
        product=ProductFactory(name="KESSv2 Slave Master Edition"),
        serial_number="KS-900321-0042-ABCDEFGH",
    )
    context = browser.new_context(viewport=SIZES["phone"], locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/account/login/")
    page.get_by_label("Customer code or e-mail").fill(customer.code)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

    # Choosing the unit shows its open tickets at once, before anything is sent.
    page.goto(f"{live_server.url}/tickets/new/")
    box = page.locator("[data-open-tickets]")
    assert not box.is_visible()
    assert not page.get_by_role("button", name="Show this unit's open tickets").is_visible()
    page.select_option("#id_target", f"unit:{busy.pk}")
    assert box.is_visible()
    assert "Write fails at 87%" in box.inner_text()
    page.select_option("#id_target", f"unit:{stolen.pk}")
    assert not box.is_visible()

    # The circumstances are written once, in the report; the loss ticket starts from them.
    page.goto(f"{live_server.url}/account/units/{stolen.pk}/report-lost/")
    page.get_by_label("Stolen").check()
    page.get_by_label("Circumstances").fill("Stolen from the van on 2 May; report 123.")
    page.locator("#id_confirm").check()
    page.get_by_role("button", name="Report").click()
    page.wait_for_url("**/tickets/new/?unit=*")
    assert page.input_value("#id_description") == "Stolen from the van on 2 May; report 123."
    name = page.locator(".fixed-value").first
    assert "KESSv2 Slave Master Edition · KS-900321-0042-ABCDEFGH" in name.inner_text()
    # The whole name is on the screen: wrapped, neither cut off nor pushing the page sideways.
    assert page.evaluate("(el) => el.scrollWidth <= el.clientWidth", name.element_handle())
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["width"]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "loss-report-phone.png", full_page=True)
    page.check("#id_accept_terms")
    page.get_by_role("button", name="Submit the ticket").click()
    page.wait_for_url(re.compile(r".*/tickets/\d+/$"))
    ticket = customer.tickets.get(unit=stolen)
    assert (ticket.kind, ticket.description) == (
        "loss",
        "Stolen from the van on 2 May; report 123.",
    )
    context.close()
