from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.core.factories import TermsVersionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


def test_health_answers_ok(client):
    response = client.get(reverse("health"))
    assert response.json() == {"status": "ok"}


def test_terms_page_shows_the_current_version_and_older_ones(client, db):
    old = TermsVersionFactory(
        version="2024-01", effective_from=timezone.now() - timedelta(days=400), text_en="Old text."
    )
    current = TermsVersionFactory(
        version="2025-06", effective_from=timezone.now() - timedelta(days=10), text_en="New text."
    )
    TermsVersionFactory(
        version="2099-01", effective_from=timezone.now() + timedelta(days=10), text_en="Future."
    )
    page = client.get(reverse("core:terms")).content.decode()
    assert "Version 2025-06" in page
    assert "New text." in page
    assert reverse("core:terms-version", args=[old.version]) in page
    assert "Future." not in page
    old_page = client.get(reverse("core:terms-version", args=[old.version])).content.decode()
    assert "Old text." in old_page
    assert current.version in old_page


def test_terms_page_follows_the_language(client, db):
    TermsVersionFactory(text_it="Testo italiano.", text_en="English text.", text_fr="")
    client.cookies["django_language"] = "it"
    assert "Testo italiano." in client.get(reverse("core:terms")).content.decode()
    client.cookies["django_language"] = "fr"
    assert "Testo italiano." in client.get(reverse("core:terms")).content.decode()
    client.cookies["django_language"] = "en"
    assert "English text." in client.get(reverse("core:terms")).content.decode()


def test_terms_page_without_terms_is_404_and_unknown_version_too(client, db):
    assert client.get(reverse("core:terms")).status_code == 404
    assert client.get(reverse("core:terms-version", args=["nope"])).status_code == 404
