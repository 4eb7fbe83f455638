"""The portal's LocaleMiddleware picks the language and writes the headers Django's does."""

import pytest
from django.http import HttpResponse, HttpResponseNotFound
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

from core.middleware import LocaleMiddleware

REQUESTS = [
    pytest.param({}, id="nothing said"),
    pytest.param({"HTTP_ACCEPT_LANGUAGE": "fr-CA,fr;q=0.9"}, id="a French variant"),
    pytest.param({"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}, id="German, then English"),
    pytest.param({"HTTP_ACCEPT_LANGUAGE": "de"}, id="only unsupported"),
    pytest.param({"HTTP_ACCEPT_LANGUAGE": "*"}, id="any"),
    pytest.param({"HTTP_COOKIE": "django_language=en", "HTTP_ACCEPT_LANGUAGE": "fr"}, id="cookie"),
    pytest.param({"HTTP_COOKIE": "django_language=xx"}, id="a cookie of no language"),
]


def answer(middleware_class, rf, headers, path, status):
    seen = {}

    def view(request):
        seen["active"] = translation.get_language()
        seen["code"] = request.LANGUAGE_CODE
        return (HttpResponseNotFound if status == 404 else HttpResponse)("page")

    with translation.override(None):
        response = middleware_class(view)(rf.get(path, **headers))
    return seen, response.get("Vary"), response.get("Content-Language"), response.status_code


@pytest.mark.parametrize("headers", REQUESTS)
@pytest.mark.parametrize(("path", "status"), [("/tickets/", 200), ("/fr/tickets/", 404)])
def test_the_same_language_and_headers_as_django_s(rf, settings, headers, path, status):
    settings.LANGUAGE_COOKIE_NAME = "django_language"

    ours = answer(LocaleMiddleware, rf, headers, path, status)

    assert ours == answer(DjangoLocaleMiddleware, rf, headers, path, status)
    assert ours[0]["active"] in {code for code, _ in settings.LANGUAGES}
