from django.conf import settings


def portal(request):
    """Expose what every page template needs: the languages (customers adds whom a user is)."""
    return {"portal_languages": settings.LANGUAGES}
