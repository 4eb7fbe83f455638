import logging

from django.db import DatabaseError, connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from core.cache import cache_ping
from core.models import TermsVersion
from core.selectors import terms_current, terms_list

logger = logging.getLogger(__name__)


@never_cache
def health(request):
    """Tell a load balancer whether this process can serve: ok, degraded (still serving), down.

    200 {"status": "ok"}: the database and Redis answer. 200 {"status": "degraded", "checks":
    {...}}: Redis does not (pages are served without the cache, e-mails wait in the outbox): keep
    the process in rotation, since every other one is in the same state. 503 {"status": "down",
    "checks": {...}}: the database does not answer, and nothing can be served. Cheap enough to
    poll every few seconds: one SELECT 1 and one Redis PING with a short timeout, not even that
    while Redis is known down.
    """
    checks = {"database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("Health check: the database does not answer.", exc_info=True)
        checks["database"] = "unavailable"
    if cache_ping() is False:
        checks["cache"] = "unavailable"
    if checks["database"] != "ok":
        return JsonResponse({"status": "down", "checks": checks}, status=503)
    if checks["cache"] != "ok":
        return JsonResponse({"status": "degraded", "checks": checks})
    return JsonResponse({"status": "ok"})


def terms_detail(request, version=None):
    if version is None:
        terms = terms_current()
        if terms is None:
            raise Http404("No terms have been published yet.")
    else:
        terms = get_object_or_404(TermsVersion, version=version)
    return render(
        request,
        "core/terms_detail.html",
        {
            "terms": terms,
            "terms_text": terms.text_for(get_language() or "it"),
            "versions": terms_list().only("version", "effective_from")[:50],
        },
    )
