"""The audit trail's actor and address; staff's second factor, asked before any other page."""

from urllib.parse import urlencode

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from customers.ip import client_ip_address
from customers.services import staff_two_factor_is_set_up


class AuditlogMiddleware(BaseAuditlogMiddleware):
    """Auditlog's middleware, with the address our proxies saw (customers.ip), not the leftmost
    X-Forwarded-For entry, which the client writes; and the user left lazy, loaded only when an
    audited change is saved."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip_address(request)

    @staticmethod
    def _get_remote_port(request):
        return None

    @staticmethod
    def _get_actor(request):
        # auditlog keeps only a user model instance: the anonymous user is left out then.
        return getattr(request, "user", None)


class StaffTwoFactorMiddleware:
    """Send staff who have not confirmed this session with a second factor to do so.

    With STAFF_REQUIRE_2FA on, an operator or manager logged in with a password alone reaches
    nothing but the two-factor pages (verify, or set up at the first log-in), the log-outs and
    the static files; customers are never asked. Installed after django_otp's OTPMiddleware.
    """

    open_prefixes = ("/health/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.STAFF_REQUIRE_2FA and not self._is_open(request.path_info):
            user = request.user
            if user.is_authenticated and user.is_staff and not user.is_verified():
                page = "two_factor:verify"
                if not staff_two_factor_is_set_up(user=user):
                    page = "two_factor:setup"
                return redirect(f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _is_open(self, path: str) -> bool:
        two_factor = reverse("two_factor:verify")
        return path.startswith(
            (
                two_factor,
                reverse("admin:logout"),
                reverse("admin:jsi18n"),
                reverse("customers:logout"),
                settings.STATIC_URL,
                *self.open_prefixes,
            )
        )
