"""The admin's own frame speaks the staff's language."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "header"),
    [("it", "Supporto Tecnico"), ("fr", "Assistance technique"), ("en", "Technical support")],
)
def test_the_admin_header_is_translated(client, language, header):
    client.cookies["django_language"] = language
    response = client.get("/admin/login/")
    assert f">{header}<" in response.content.decode()
