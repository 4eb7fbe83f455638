"""On the production settings, as shipped, an operator's password alone opens nothing.

gunicorn runs config.settings.production with STAFF_REQUIRE_2FA left to its default (on), behind
the shipped nginx: the operator sets up an authenticator app at the first log-in, then each new
session asks for its code; the set-up is in the audit trail with the operator's real address.
"""

import re
import time
from base64 import b32decode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEntry
from core.roles import OPERATORS
from tests.core.factories import staff_with_role
from tests.customers.factories import PASSWORD
from tests.production.proxy import client_from

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "127.0.0.5"


def code_for(secret: str, *, step_offset: int = 0) -> str:
    totp = TOTP(b32decode(secret), 30, 0, 6, 0)
    totp.time = timezone.now().timestamp() + step_offset * 30
    return f"{totp.token():06d}"


def test_an_operator_needs_the_code_on_the_production_settings(start_gunicorn, start_nginx):
    # STAFF_REQUIRE_2FA unset: the production default, on.
    gunicorn = start_gunicorn(AXES_PROXY_COUNT="1", STAFF_REQUIRE_2FA=None)
    portal = start_nginx(gunicorn.url.removeprefix("http://")).url
    operator = staff_with_role(OPERATORS, "luca")
    operator.set_password(PASSWORD)
    operator.save()

    first = client_from(ADDRESS, portal, headers={"Accept-Language": "en"})
    answer = first.log_in(operator.username, PASSWORD, path="/admin/login/?next=/admin/")
    # The password was right, yet the admin is not reached: the set-up page is.
    assert answer.status_code == 200
    assert "/admin/two-factor/set-up/" in answer.url
    assert first.get("/admin/tickets/ticket/").url.split("?")[0].endswith("/two-factor/set-up/")
    page = first.get("/admin/two-factor/set-up/")
    secret = re.search(r'class="two-factor-secret">([A-Z2-7 ]+)<', page.text).group(1)
    secret = secret.replace(" ", "")
    done = first.submit("/admin/two-factor/set-up/", {"token": code_for(secret)})
    assert "Your recovery codes" in done.text
    queue = first.get("/admin/tickets/ticket/")
    assert queue.status_code == 200
    assert queue.url.endswith("/admin/tickets/ticket/")

    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(TOTPDevice), action=AuditEntry.Action.UPDATE
    )
    assert (entry.actor_id, entry.remote_addr) == (operator.pk, ADDRESS)

    # A new session (another browser): the password, then a wrong code, then the right one.
    second = client_from(ADDRESS, portal, headers={"Accept-Language": "en"})
    answer = second.log_in(operator.username, PASSWORD, path="/admin/login/?next=/admin/")
    assert "/admin/two-factor/" in answer.url
    refused = second.submit("/admin/two-factor/", {"token": "000000"})
    assert "This code is not valid" in refused.text
    assert "/two-factor/" in second.get("/admin/tickets/ticket/").url
    # The next step's code (the set-up's own is never taken twice), after the throttle's second.
    time.sleep(1.2)
    accepted = second.submit("/admin/two-factor/", {"token": code_for(secret, step_offset=1)})
    assert accepted.url.endswith("/admin/")
    assert second.get("/admin/tickets/ticket/").url.endswith("/admin/tickets/ticket/")
