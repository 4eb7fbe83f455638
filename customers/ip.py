"""The client's address as the reverse proxies in front of the portal saw it."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip_address(request: HttpRequest) -> str | None:
    """Return the client's address: the entry our own proxies appended to X-Forwarded-For.

    Each of the AXES_IPWARE_PROXY_COUNT proxies in front of gunicorn appends the address of the
    peer it saw, so the client is the entry that many places from the right; whatever the client
    wrote to the left of it is not ours and is ignored. Without proxies, or when the request did
    not come through them (no header, or not an address where ours would be), the peer is
    REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.AXES_IPWARE_PROXY_COUNT or 0
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not header.strip():
        return remote
    hops = [hop.strip() for hop in header.split(",")]
    # A shorter chain than configured: every entry was written by one of our proxies (the nearest
    # always appends), so the leftmost is the farthest peer any of them saw.
    return _address(hops[max(len(hops) - proxies, 0)]) or remote
