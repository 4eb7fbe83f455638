"""Give the audit trail (django-auditlog) the acting user and the client's real address."""

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware

from customers.ip import client_ip_address


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
