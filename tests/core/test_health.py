"""/health/ tells a load balancer ok, degraded (Redis away: keep serving) or down (no database)."""

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.urls import reverse

from schedule import snapshot
from tests.notifications.live import wait_until

pytestmark = pytest.mark.django_db

HEALTH = reverse("health")


@pytest.fixture(autouse=True)
def _own_calendar_copies(monkeypatch):
    """This test's outages and calendars stay out of the other tests' process state."""
    monkeypatch.setattr(snapshot, "_memo", {})
    monkeypatch.setattr(snapshot, "_outage", snapshot._Outage())


def test_ok_when_the_database_and_the_cache_answer(client, redis_cache):
    response = client.get(HEALTH)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    # Never kept by a proxy: a stale "ok" would keep a dead process in rotation.
    assert "no-cache" in response["Cache-Control"]


def test_ok_with_the_embedded_cache_which_has_no_server(client):
    assert client.get(HEALTH).json()["status"] == "ok"


def test_degraded_but_serving_while_redis_is_away_then_ok_again(client, redis_cache, terms):
    client.get(HEALTH)
    redis_cache.stop()

    response = client.get(HEALTH)
    page = client.get("/terms/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "unavailable"},
    }
    assert page.status_code == 200  # served, without the cache

    redis_cache.start()
    wait_until(
        lambda: client.get(HEALTH).json()["status"] == "ok", timeout=5, what="health to recover"
    )


def test_down_when_the_database_does_not_answer(client, monkeypatch):
    client.get(HEALTH)  # the calendar is known: the database is not needed for it

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get(HEALTH)

    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "checks": {"database": "unavailable", "cache": "ok"},
    }


def test_down_is_said_even_when_the_calendar_cannot_be_read(client, monkeypatch):
    cache.clear()

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    # Nothing cached, nothing in this process: the calendar needs the database.
    monkeypatch.setattr(snapshot, "_rows_load", refuse)
    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get(HEALTH)

    assert response.status_code == 503
    assert response.json()["status"] == "down"
    # A portal page has nothing to show without the database: it fails as it always did.
    with pytest.raises(OperationalError):
        client.get("/")
