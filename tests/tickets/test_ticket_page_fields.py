"""The admin's ticket page writes its read-only fieldsets in one pass (readonly_fieldsets): the
markup must be what Django's admin/includes/fieldset.html writes for the same fieldsets."""

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import TicketFactory
from tickets.models import Ticket
from tickets.templatetags import readonly_fieldsets

pytestmark = pytest.mark.django_db


def squeezed(html: str) -> str:
    """The markup without the whitespace between tags, which the template's indentation adds."""
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


@pytest.mark.parametrize("language", ["it", "en", "fr"])
@pytest.mark.parametrize(
    "ticket_data",
    [
        {},
        {"subject": '<b>Flash</b> & "boot"', "description": "Line one\nLine <two>"},
        {"software_version": "1.0", "software_outdated": True, "status": Ticket.Status.CLOSED},
    ],
    ids=["plain", "markup in the text", "closed, old version"],
)
def test_the_fieldsets_are_django_s(operator_client, operator, language, ticket_data, monkeypatch):
    if ticket_data.get("status") == Ticket.Status.CLOSED:
        ticket_data = {
            **ticket_data,
            "assigned_to": operator,
            "taken_at": timezone.now(),
            "closed_at": timezone.now(),
        }
    ticket = TicketFactory(**ticket_data)
    fallbacks = []
    monkeypatch.setattr(
        readonly_fieldsets, "render_to_string", lambda *args, **kwargs: fallbacks.append(args)
    )

    response = operator_client.get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 200
    assert fallbacks == []  # every fieldset written by the tag, or the comparison proves nothing
    context = response.context
    expected = "".join(
        render_to_string(
            "admin/includes/fieldset.html",
            {
                "fieldset": fieldset,
                "heading_level": 2,
                "prefix": "fieldset",
                "id_prefix": 0,
                "id_suffix": index,
            },
        )
        for index, fieldset in enumerate(context["adminform"])
    )
    assert expected.count("<fieldset") == len(list(context["adminform"])) > 2
    assert squeezed(expected) in squeezed(response.content.decode())
