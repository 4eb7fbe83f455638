from django.conf import settings


class StaffSessionMiddleware:
    """Give staff a shorter session than customers: operators work from shared PCs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        is_staff = user is not None and user.is_authenticated and user.is_staff
        if is_staff and request.session.get_expiry_age() > settings.STAFF_SESSION_AGE:
            request.session.set_expiry(settings.STAFF_SESSION_AGE)
        return self.get_response(request)


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
