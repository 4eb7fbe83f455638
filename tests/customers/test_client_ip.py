"""The client's address behind the reverse proxies: what log-in throttling counts against."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from customers.ip import client_ip_address
from tests.customers.factories import PASSWORD

LOGIN = reverse("customers:login")


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "expected"),
    [
        # No proxy: the peer is the client, and a header from it is just a claim.
        (0, "198.51.100.7", None, "198.51.100.7"),
        (0, "198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # One proxy (nginx) appends the peer it saw: the rightmost entry.
        (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "203.0.113.9, 198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "1.1.1.1,2.2.2.2 ,  198.51.100.7", "198.51.100.7"),
        # A client that sent an empty header still ends up as nginx's entry.
        (1, "10.0.0.2", ", 198.51.100.7", "198.51.100.7"),
        # Two proxies (a TLS load balancer, then nginx): the second entry from the right.
        (2, "10.0.0.2", "203.0.113.9, 198.51.100.7, 10.0.0.1", "198.51.100.7"),
        # Fewer entries than proxies: all were written by ours, the leftmost is the farthest peer.
        (2, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        # Not through the proxies at all (a probe on the private network): the peer.
        (1, "10.0.0.2", None, "10.0.0.2"),
        (1, "10.0.0.2", "   ", "10.0.0.2"),
        # Not an address where ours would be: never store what a client wrote.
        (1, "10.0.0.2", "198.51.100.7, not-an-address", "10.0.0.2"),
        (1, "10.0.0.2", "198.51.100.7, 198.51.100.7:4431", "10.0.0.2"),
        # IPv6, written the way nginx writes it, comes back normalised.
        (1, "10.0.0.2", "2001:DB8:0:0::1", "2001:db8::1"),
    ],
)
def test_client_address_comes_from_the_configured_proxies(
    settings, proxies, remote_addr, forwarded_for, expected
):
    settings.AXES_IPWARE_PROXY_COUNT = proxies
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    request = RequestFactory().post(LOGIN, **meta)

    assert client_ip_address(request) == expected


@pytest.mark.django_db
@pytest.mark.usefixtures("service_open")
def test_failed_log_ins_are_recorded_and_locked_at_the_forwarded_address(
    client, settings, customer
):
    settings.AXES_IPWARE_PROXY_COUNT = 1

    def log_in(password, forwarded_for):
        return client.post(
            LOGIN,
            {"username": customer.code, "password": password},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The client varies its own claim each time; only nginx's entry counts.
        log_in("wrong-password", f"203.0.113.{attempt}, 198.51.100.7")

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.7"]
    assert log_in(PASSWORD, "203.0.113.99, 198.51.100.7").status_code == 429
    # The same customer from another client behind the same proxy logs in.
    assert log_in(PASSWORD, "198.51.100.8").status_code == 302
