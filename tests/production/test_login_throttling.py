"""Log-in throttling behind the real nginx sees the real client, and only the real client.

Each client connects from its own loopback address (all of 127/8 is local on Linux), so nginx's
$remote_addr really differs between them, as it would between customers on the Internet.
gunicorn runs the production settings with AXES_PROXY_COUNT=1: one nginx in front.
"""

import pytest
from axes.models import AccessAttempt, AccessLog

from tests.customers.factories import PASSWORD, CustomerFactory
from tests.production.proxy import client_from

pytestmark = pytest.mark.django_db(transaction=True)

A, B, C = "127.0.0.2", "127.0.0.3", "127.0.0.4"
FAILURE_LIMIT = 5  # AXES_FAILURE_LIMIT's default, which the production settings keep


@pytest.fixture
def portal(start_gunicorn, start_nginx):
    """The base URL of nginx in front of gunicorn."""
    gunicorn = start_gunicorn(AXES_PROXY_COUNT="1")
    return start_nginx(gunicorn.url.removeprefix("http://")).url


def logged_in(response) -> bool:
    """Whether a log-in POST (redirects followed) ended on the home page with a session."""
    return (
        response.status_code == 200
        and bool(response.history)
        and response.history[0].status_code == 302
        and "sessionid" in response.history[0].cookies
    )


def locked_out(response) -> bool:
    return response.status_code == 429 and "Too many failed attempts" in response.text


def fail(client, username, times=FAILURE_LIMIT):
    for _ in range(times):
        response = client.log_in(username, "wrong-password")
        assert response.status_code in (200, 429)
        assert not logged_in(response)


def test_failures_lock_the_customer_out_at_that_address_only(portal):
    customer = CustomerFactory()
    from_a = client_from(A, portal, headers={"Accept-Language": "en"})
    from_b = client_from(B, portal, headers={"Accept-Language": "en"})

    fail(from_a, customer.code)

    assert locked_out(from_a.log_in(customer.code, PASSWORD))
    # The same customer, from another address, with the right password: in.
    assert logged_in(from_b.log_in(customer.code, PASSWORD))
    # Axes counted the real client, not nginx's 127.0.0.1.
    assert set(AccessAttempt.objects.values_list("username", "ip_address")) == {(customer.code, A)}
    assert set(AccessLog.objects.values_list("username", "ip_address")) == {(customer.code, B)}


def test_a_spoofed_forwarded_for_changes_nothing(portal):
    customer, other = CustomerFactory(), CustomerFactory()
    from_a = client_from(A, portal, headers={"Accept-Language": "en"})
    fail(from_a, customer.code)

    # A locked-out client cannot claim to be someone else to escape its own lock ...
    for claim in ("203.0.113.9", B, f"{B}, 203.0.113.9"):
        from_a.session.headers["X-Forwarded-For"] = claim
        assert locked_out(from_a.log_in(customer.code, PASSWORD)), claim

    # ... nor lock someone else out by failing in their name.
    attacker = client_from(C, portal, headers={"Accept-Language": "en", "X-Forwarded-For": B})
    fail(attacker, other.code)
    assert locked_out(attacker.log_in(other.code, PASSWORD))
    victim = client_from(B, portal, headers={"Accept-Language": "en"})
    assert logged_in(victim.log_in(other.code, PASSWORD))

    assert set(AccessAttempt.objects.values_list("username", "ip_address")) == {
        (customer.code, A),
        (other.code, C),
    }
