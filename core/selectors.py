from django.utils import timezone

from core.models import TermsVersion


def terms_current(*, at=None) -> TermsVersion | None:
    """Return the terms version in force at an instant (now by default)."""
    at = at or timezone.now()
    return TermsVersion.objects.filter(effective_from__lte=at).order_by("-effective_from").first()


def terms_list():
    """Return every terms version, newest first."""
    return TermsVersion.objects.order_by("-effective_from")
