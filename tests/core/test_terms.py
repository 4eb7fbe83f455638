import html
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.models import TermsVersion
from core.selectors import terms_current
from core.services import terms_version_correct, terms_version_publish, terms_version_withdraw
from tests.core.factories import TermsVersionFactory
from tests.customers.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


def test_health_answers_ok(client):
    # The full answer (with each dependency's check) is tested in tests/core/test_core.py.
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


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


# Publishing through the admin (core.services) ----------------------------------------------------

TERMS_ADMIN = reverse("admin:core_termsversion_changelist")
TERMS_ADD = reverse("admin:core_termsversion_add")


def terms_form(*, effective_from=None, **overrides) -> dict:
    """The terms admin's form; effective_from=None leaves the date empty (publish now)."""
    data = {
        "version": "2025-06",
        "text_it": "Termini nuovi.",
        "text_en": "New terms.",
        "text_fr": "",
        "effective_from_0": "",
        "effective_from_1": "",
    }
    if effective_from is not None:
        local = timezone.localtime(effective_from)
        data["effective_from_0"] = local.strftime("%Y-%m-%d")
        data["effective_from_1"] = local.strftime("%H:%M:%S")
    data.update(overrides)
    return data


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_a_manager_publishes_a_version_now_and_customers_see_it(manager_client, manager, client):
    old = TermsVersionFactory(version="2024-01")
    before = timezone.now()

    response = manager_client.post(TERMS_ADD, terms_form(version=" 2025-06 "))

    assert response.status_code == 302, page_text(response)[:2000]
    published = TermsVersion.objects.get(version="2025-06")
    assert before <= published.effective_from <= timezone.now()
    assert published.created_by == manager
    assert published.text_it == "Termini nuovi."
    assert LogEntry.objects.filter(object_id=str(published.pk)).exists()
    assert terms_current() == published
    assert terms_current(at=before) == old
    client.cookies["django_language"] = "en"
    assert "New terms." in client.get(reverse("core:terms")).content.decode()


def test_a_manager_schedules_a_version(manager_client):
    TermsVersionFactory(version="2024-01")
    later = (timezone.now() + timedelta(days=7)).replace(microsecond=0)

    response = manager_client.post(TERMS_ADD, terms_form(effective_from=later))

    assert response.status_code == 302
    assert TermsVersion.objects.get(version="2025-06").effective_from == later
    assert terms_current().version == "2024-01"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"version": "t-1"}, "Version t-1 already exists."),
        ({"version": "2025/06"}, "the label is part of the terms page's address"),
        ({"version": "2025 06"}, "the label is part of the terms page's address"),
        ({"text_it": "  "}, "This field is required."),
        ({"past": True}, "A version cannot take effect in the past"),
        ({"same_start": True}, "Version T-1 already takes effect at"),
    ],
)
def test_bad_versions_are_refused_with_a_message_and_nothing_is_saved(
    manager_client, overrides, message
):
    scheduled = TermsVersionFactory(
        version="T-1", effective_from=(timezone.now() + timedelta(days=3)).replace(microsecond=0)
    )
    effective_from = None
    if overrides.pop("past", False):
        effective_from = timezone.now() - timedelta(hours=1)
    if overrides.pop("same_start", False):
        effective_from = scheduled.effective_from
    count = TermsVersion.objects.count()

    response = manager_client.post(
        TERMS_ADD, terms_form(effective_from=effective_from, **overrides)
    )

    assert response.status_code == 200
    assert message in page_text(response)
    assert TermsVersion.objects.count() == count


def test_a_version_in_force_is_read_only_even_for_a_superuser(manager_client, client):
    terms = TermsVersionFactory(text_it="Testo accettato.")
    url = reverse("admin:core_termsversion_change", args=[terms.pk])
    page = page_text(manager_client.get(url))
    assert "Testo accettato." in page
    assert 'name="text_it"' not in page

    refused = manager_client.post(url, terms_form(version=terms.version, text_it="Riscritto."))

    assert refused.status_code == 403
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.post(url, terms_form(text_it="Riscritto.")).status_code == 403
    delete = reverse("admin:core_termsversion_delete", args=[terms.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    terms.refresh_from_db()
    assert terms.text_it == "Testo accettato."


def test_a_scheduled_version_is_corrected_but_never_moved_into_the_past(manager_client):
    later = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    terms = TermsVersionFactory(version="2025-06", effective_from=later, text_it="Tyop.")
    url = reverse("admin:core_termsversion_change", args=[terms.pk])
    assert 'name="text_it"' in page_text(manager_client.get(url))

    back_dated = manager_client.post(
        url, terms_form(effective_from=timezone.now() - timedelta(days=1), text_it="Refuso.")
    )
    assert back_dated.status_code == 200
    assert "A version cannot take effect in the past" in page_text(back_dated)
    terms.refresh_from_db()
    assert (terms.text_it, terms.effective_from) == ("Tyop.", later)

    corrected = manager_client.post(url, terms_form(effective_from=later, text_it=" Corretto. "))
    assert corrected.status_code == 302
    terms.refresh_from_db()
    assert (terms.text_it, terms.effective_from) == ("Corretto.", later)


def test_a_scheduled_version_can_be_withdrawn(client):
    terms = TermsVersionFactory(effective_from=timezone.now() + timedelta(days=7))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:core_termsversion_delete", args=[terms.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not TermsVersion.objects.filter(pk=terms.pk).exists()
    actions = client.get(TERMS_ADMIN).content.decode()
    assert 'value="delete_selected"' not in actions


def test_the_services_refuse_to_touch_a_version_once_in_force():
    """The rule binds the shell too, and a page opened just before the version took effect."""
    start = timezone.now() + timedelta(minutes=5)
    terms = terms_version_publish(version="2025-06", text_it="Testo.", effective_from=start)
    after = start + timedelta(seconds=1)

    with pytest.raises(ValidationError, match="can no longer change"):
        terms_version_correct(terms_version=terms, version="2025-06", text_it="Altro.", at=after)
    with pytest.raises(ValidationError, match="can no longer change"):
        terms_version_withdraw(terms_version=terms, at=after)
    terms.refresh_from_db()
    assert terms.text_it == "Testo."
