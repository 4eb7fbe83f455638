"""Sessions that bring their user along: one query reads the session, its user and customer.

Django's database sessions cost a query for the session and another for its user on every page
that reads `request.user`. Here the session row names its user in a column (LoginSession.user),
the store reads the row with that user and customer joined, and the backend's get_user() takes
the user from there instead of asking again. Django's own checks are unchanged: auth.get_user()
still verifies the session's hash against the user's password and asks the backend whether the
user may authenticate. Sessions stay in the database alone (no cached copy can outlive a log-out).

Settings: SESSION_ENGINE = "customers.sessions", and this module's AuthenticationMiddleware in
place of Django's.
"""

from contextvars import ContextVar

from django.contrib import auth
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.functional import SimpleLazyObject

# The session of the request whose user is being worked out, while it is (get_user below).
_session_reading = ContextVar("customers_session_reading", default=None)


class SessionStore(DatabaseSessionStore):
    # The user the row named when it was read, with its customer; None before or without one.
    user = None

    @classmethod
    def get_model_class(cls):
        from customers.models import LoginSession

        return LoginSession

    def load(self):
        row = self._get_session_from_db()
        self.user = row.user if row is not None else None
        return self.decode(row.session_data) if row is not None else {}

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        user_id = data.get(SESSION_KEY)
        row.user_id = row._meta.get_field("user").to_python(user_id) if user_id else None
        return row


def session_user(user_id):
    """The user the current request's session row brought along, if it is the one asked for."""
    session = _session_reading.get()
    user = getattr(session, "user", None)
    if user is not None and str(user.pk) == str(user_id):
        return user
    return None


def get_user(request):
    """django.contrib.auth.middleware.get_user, letting the backend reuse the session's user."""
    if not hasattr(request, "_cached_user"):
        token = _session_reading.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            _session_reading.reset(token)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
