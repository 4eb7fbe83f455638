from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers


def staff_session_shorten(request, user) -> None:
    """Give staff a shorter session than customers: operators work from shared PCs.

    Once per session: the age set is kept in the session, and later calls find it short already.
    """
    if user.is_staff and request.session.get_expiry_age() > settings.STAFF_SESSION_AGE:
        request.session.set_expiry(settings.STAFF_SESSION_AGE)


def staff_session_shorten_on_login(sender, request, user, **kwargs) -> None:
    """Receiver of `user_logged_in`: a staff session is short from its first page."""
    if request is not None and hasattr(request, "session"):
        staff_session_shorten(request, user)


class StaffSessionMiddleware:
    """Keep staff sessions short (a session that became staff's after its log-in too).

    Checked after the view and only if the view read the user (AuthenticationMiddleware keeps
    it in `request._cached_user`): a page that never needs the user, like a file served or a
    trivial view, does not load it for this.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if hasattr(request, "_cached_user"):
            user = request.user  # after a log-out, the anonymous user
            if user.is_authenticated:
                staff_session_shorten(request, user)
        return response


class ContentSecurityPolicyMiddleware:
    """Send a strict CSP: every asset is the portal's own, nothing inline runs."""

    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, without looking for a language in an address that cannot hold one.

    Without `i18n_patterns` (the portal has none), Django still parses the path for a language
    code twice a request, to no effect: the language comes from the cookie or Accept-Language,
    and the response gets the same Vary and Content-Language headers. With them, Django's own.
    """

    def process_request(self, request):
        if self._language_in_path(request):
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request, response):
        if self._language_in_path(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    @staticmethod
    def _language_in_path(request) -> bool:
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        return is_language_prefix_patterns_used(urlconf)[0]
