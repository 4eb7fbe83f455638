from django.conf import settings


def portal(request):
    """Expose what every page template needs: the customer, if any, and the languages."""
    user = getattr(request, "user", None)
    customer = getattr(user, "customer", None) if user and user.is_authenticated else None
    return {"current_customer": customer, "portal_languages": settings.LANGUAGES}
