"""DEMO_SERVICE_ALWAYS_OPEN opens the demo at all hours; production never honours it."""

import pytest
import time_machine
from django.urls import reverse

from schedule.gate import ServiceState, service_status
from tests.conftest import ticket_post_data
from tests.schedule.conftest import rome
from tests.schedule.factories import MaintenanceFactory
from tests.test_deploy import PRODUCTION_ENV, run_python
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SATURDAY = rome(2025, 11, 29, 10, 0)
CHRISTMAS = rome(2025, 12, 25, 10, 0)


@pytest.fixture
def demo_switch(settings):
    settings.DEBUG = True
    settings.SERVICE_DEMO_ALWAYS_OPEN = True
    return settings


@pytest.mark.parametrize("at", [SATURDAY, CHRISTMAS], ids=["saturday", "christmas"])
def test_with_the_switch_a_customer_opens_a_ticket_at_any_hour(
    demo_switch, client, customer, unit, terms, at
):
    client.force_login(customer.user)
    with time_machine.travel(at, tick=False):
        home = client.get(reverse("tickets:home")).content.decode()
        response = client.post(
            reverse("tickets:create"), ticket_post_data(unit, terms, confirm_new_problem="on")
        )
    assert response.status_code == 302
    assert Ticket.objects.count() == 1
    assert "Demo: the service is open at all hours (DEMO_SERVICE_ALWAYS_OPEN)" in home


def test_maintenance_still_closes_the_portal_with_the_switch(demo_switch, client):
    MaintenanceFactory(starts_at=rome(2025, 11, 29, 9, 0), ends_at=rome(2025, 11, 29, 12, 0))
    with time_machine.travel(SATURDAY, tick=False):
        assert service_status().state == ServiceState.MAINTENANCE
        assert client.get("/").status_code == 503


def test_without_debug_the_switch_is_ignored(settings, client, customer, unit, terms):
    settings.DEBUG = False
    settings.SERVICE_DEMO_ALWAYS_OPEN = True
    client.force_login(customer.user)
    with time_machine.travel(SATURDAY, tick=False):
        assert service_status().state == ServiceState.OUTSIDE_HOURS
        response = client.post(
            reverse("tickets:create"), ticket_post_data(unit, terms, confirm_new_problem="on")
        )
    assert response.status_code == 400
    assert not Ticket.objects.exists()


SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "from schedule.gate import demo_always_open; "
    "print(demo_always_open(), settings.EMAIL_BACKEND, getattr(settings, 'EMAIL_FILE_PATH', ''))"
)


def test_the_production_settings_never_honour_the_switch():
    env = {**PRODUCTION_ENV, "DEMO_SERVICE_ALWAYS_OPEN": "1", "DJANGO_DEBUG": "true"}
    result = run_python("-c", SHOW, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


@pytest.mark.parametrize(("value", "expected"), [("1", "True"), ("0", "False"), (None, "False")])
def test_the_local_settings_read_the_switch(value, expected):
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.local"}
    if value is not None:
        env["DEMO_SERVICE_ALWAYS_OPEN"] = value
    result = run_python("-c", SHOW, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == expected


def test_the_local_settings_write_e_mails_to_var_mail_unless_email_url_says_otherwise():
    from django.conf import settings

    local = {"DJANGO_SETTINGS_MODULE": "config.settings.local"}
    files = run_python("-c", SHOW, env=local).stdout.split()
    assert files[1:] == [
        "django.core.mail.backends.filebased.EmailBackend",
        str(settings.BASE_DIR / "var" / "mail"),
    ]
    console = run_python("-c", SHOW, env={**local, "EMAIL_URL": "consolemail://"}).stdout.split()
    assert console[1] == "django.core.mail.backends.console.EmailBackend"
