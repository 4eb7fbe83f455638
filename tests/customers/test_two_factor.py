"""Two-factor log-in for staff (django-otp): set-up, verification, recovery codes, reset."""

import re
from base64 import b32decode
from datetime import timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEntry
from core.roles import MANAGERS
from customers.models import LoginSession, User
from tests.core.factories import staff_with_role

pytestmark = pytest.mark.django_db

PASSWORD = "Staff-pass-2025!"
ADMIN = reverse("admin:index")
QUEUE = reverse("admin:tickets_ticket_changelist")
VERIFY = reverse("two_factor:verify")
SETUP = reverse("two_factor:setup")
CODES = reverse("two_factor:recovery-codes")
STAFF = reverse("admin:customers_staffmember_changelist")


@pytest.fixture(autouse=True)
def _two_factor_required(settings):
    settings.STAFF_REQUIRE_2FA = True
    settings.AXES_IPWARE_PROXY_COUNT = 1


def password_log_in(client, user) -> None:
    user.set_password(PASSWORD)
    user.save()
    response = client.post(
        reverse("admin:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]


def code_now(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = timezone.now().timestamp() + offset_steps * device.step
    return f"{totp.token():06d}"


def set_up(client) -> list[str]:
    """Go through the set-up page as a new staff member does; return the recovery codes."""
    page = client.get(SETUP).content.decode()
    secret = re.search(r'class="two-factor-secret">([A-Z2-7 ]+)<', page).group(1)
    key = b32decode(secret.replace(" ", ""))
    device = TOTPDevice.objects.get(confirmed=False)
    assert device.bin_key == key  # the key shown for manual entry is the device's
    response = client.post(SETUP, {"token": code_now(device), "next": ADMIN})
    assert response.status_code == 200
    return re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())


def test_a_new_operator_sets_up_an_app_at_first_log_in(client, operator):
    password_log_in(client, operator)
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)

    page = client.get(SETUP).content.decode()
    assert "<svg" in page  # the QR code, drawn on the server
    assert "<script" not in page.split('id="content-main"')[1]

    codes = set_up(client)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert client.get(QUEUE).status_code == 200
    # The set-up is in the audit trail with who and where.
    entry = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(TOTPDevice), actor=operator
    ).latest("timestamp")
    assert entry.changes_dict["confirmed"] == ["False", "True"]


def test_the_next_log_in_asks_for_a_code_and_a_wrong_one_is_refused(client, operator):
    password_log_in(client, operator)
    set_up(client)
    client.post(reverse("admin:logout"))

    password_log_in(client, operator)
    response = client.get(QUEUE)
    assert response["Location"].startswith(VERIFY)
    refused = client.post(VERIFY, {"token": "000000", "next": QUEUE})
    assert refused.status_code == 200
    assert "This code is not valid (wrong codes in a row: 1)." in refused.content.decode()
    assert client.get(QUEUE).status_code == 302

    device = TOTPDevice.objects.get(user=operator)
    # A step later: the set-up's code is never accepted twice.
    with time_machine.travel(timezone.now() + timedelta(seconds=35)):
        accepted = client.post(VERIFY, {"token": code_now(device), "next": QUEUE})
        assert accepted.status_code == 302
        assert accepted["Location"] == QUEUE
        assert client.get(QUEUE).status_code == 200


def test_wrong_codes_are_throttled_even_the_right_one_then(client, operator):
    password_log_in(client, operator)
    set_up(client)
    client.post(reverse("admin:logout"))
    password_log_in(client, operator)
    device = TOTPDevice.objects.get(user=operator)

    start = timezone.now() + timedelta(seconds=35)
    # Three wrong codes, each once the pause after the previous one (1 s, then 2 s) is over.
    for at in (0, 1.5, 4):
        with time_machine.travel(start + timedelta(seconds=at), tick=False):
            client.post(VERIFY, {"token": "000000"})
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        page = client.post(VERIFY, {"token": code_now(device)}).content.decode()
    assert "Too many wrong codes in a row (3): wait 4 seconds" in page
    assert client.get(QUEUE).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 3
    # Once the pause is over (4 seconds after the third failure) the right code works.
    with time_machine.travel(start + timedelta(seconds=9), tick=False):
        assert client.post(VERIFY, {"token": code_now(device)}).status_code == 302
    assert client.get(QUEUE).status_code == 200


def test_a_recovery_code_works_once(client, operator):
    password_log_in(client, operator)
    codes = set_up(client)
    client.post(reverse("admin:logout"))

    password_log_in(client, operator)
    response = client.post(VERIFY, {"token": codes[0].upper(), "next": QUEUE}, follow=True)
    assert response.status_code == 200
    assert "You used a recovery code: it no longer works. 9 left" in response.content.decode()
    client.post(reverse("admin:logout"))

    password_log_in(client, operator)
    again = client.post(VERIFY, {"token": codes[0]})
    assert again.status_code == 200
    assert "This code is not valid" in again.content.decode()
    assert client.get(QUEUE).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, operator):
    password_log_in(client, operator)
    old = set_up(client)
    assert f'href="{CODES}"' in client.get(ADMIN).content.decode()  # in every admin page's links
    assert "10 unused recovery codes" in client.get(CODES).content.decode()
    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", client.post(CODES).content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)
    client.post(reverse("admin:logout"))
    password_log_in(client, operator)
    assert client.post(VERIFY, {"token": old[1]}).status_code == 200  # refused: page again
    # After the throttle's pause of one second for that wrong code:
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        assert client.post(VERIFY, {"token": new[1]}).status_code == 302


def test_a_manager_resets_a_lost_phone_and_it_is_audited(client, operator):
    password_log_in(client, operator)
    set_up(client)
    assert LoginSession.objects.filter(user=operator).exists()

    manager = staff_with_role(MANAGERS, "giulia")
    manager_client = Client()
    password_log_in(manager_client, manager)
    set_up(manager_client)
    staff_page = manager_client.get(STAFF)
    assert staff_page.status_code == 200
    assert "reset_two_factor" in staff_page.content.decode()
    response = manager_client.post(
        STAFF,
        {"action": "reset_two_factor", "_selected_action": [operator.pk]},
        HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.7",
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=operator).exists()
    # The operator's sessions ended: the holder of the lost phone is logged out.
    assert not LoginSession.objects.filter(user=operator).exists()
    assert client.get(QUEUE)["Location"].startswith(reverse("admin:login"))

    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(operator.pk)
    )
    assert (entry.actor, entry.remote_addr) == (manager, "198.51.100.7")
    assert entry.changes_dict == {"two-factor devices": ["2", "0"]}
    trail = manager_client.get(reverse("admin:core_auditentry_changelist")).content.decode()
    assert "two-factor devices" in trail

    # At the next log-in the operator sets up a new app.
    password_log_in(client, operator)
    assert client.get(QUEUE)["Location"].startswith(SETUP)


def test_a_manager_cannot_reset_their_own_and_operators_cannot_reset(client, operator):
    manager = staff_with_role(MANAGERS, "giulia")
    password_log_in(client, manager)
    set_up(client)
    client.post(STAFF, {"action": "reset_two_factor", "_selected_action": [manager.pk]})
    assert TOTPDevice.objects.filter(user=manager).exists()

    operator_client = Client()
    password_log_in(operator_client, operator)
    set_up(operator_client)
    assert operator_client.get(STAFF).status_code == 403
    operator_client.post(STAFF, {"action": "reset_two_factor", "_selected_action": [manager.pk]})
    assert TOTPDevice.objects.filter(user=manager).exists()


def test_customers_are_never_asked(client, customer):
    customer.user.set_password(PASSWORD)
    customer.user.save()
    response = client.post(
        reverse("customers:login"), {"username": customer.code, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("tickets:list")).status_code == 200
    assert not TOTPDevice.objects.exists()


def test_with_the_setting_off_staff_are_not_asked(client, operator, settings):
    settings.STAFF_REQUIRE_2FA = False
    password_log_in(client, operator)
    assert client.get(QUEUE).status_code == 200


def test_password_throttling_still_applies_to_staff(client, operator, settings):
    settings.AXES_FAILURE_LIMIT = 2
    operator.set_password(PASSWORD)
    operator.save()
    for _attempt in range(2):
        client.post(reverse("admin:login"), {"username": operator.username, "password": "no"})
    locked = client.post(
        reverse("admin:login"), {"username": operator.username, "password": PASSWORD}
    )
    assert locked.status_code == 429


def test_the_staff_list_makes_the_same_few_queries_whatever_it_holds(
    client, django_assert_num_queries, settings
):
    settings.STAFF_REQUIRE_2FA = False  # force_login: no second factor to count here
    manager = staff_with_role(MANAGERS, "giulia")
    client.force_login(manager)
    client.get(STAFF)  # the service calendar, read once by a running process
    with django_assert_num_queries(6):
        assert client.get(STAFF).status_code == 200
    for number in range(15):
        member = staff_with_role(MANAGERS, f"staff{number}")
        TOTPDevice.objects.create(user=member, name="authenticator", confirmed=True)
    with django_assert_num_queries(6):
        page = client.get(STAFF)
    assert len(page.context["cl"].result_list) == 16
