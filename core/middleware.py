from django.conf import settings


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
