from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from core.models import TermsVersion
from core.selectors import terms_current, terms_list


@never_cache
def health(request):
    """Answer 200 while the process and its database answer; used by proxies and probes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
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
