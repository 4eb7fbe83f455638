from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from customers.sessions import session_user


class CodeOrEmailBackend(ModelBackend):
    """Authenticate with the customer code (the user name) or the e-mail address."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user_model = get_user_model()
        login = username.strip()
        users = list(
            user_model._default_manager.filter(Q(username__iexact=login) | Q(email__iexact=login))[
                :2
            ]
        )
        if len(users) != 1:
            # Run the hasher anyway so that timing does not tell which logins exist.
            user_model().set_password(password)
            return None
        user = users[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The user of a session, with its customer: every portal page asks for both.

        The session row brought them along when it was read (customers.sessions); otherwise
        they come in one query.
        """
        user = session_user(user_id)
        if user is None:
            user_model = get_user_model()
            user = (
                user_model._default_manager.select_related("customer", "membership__customer")
                .filter(pk=user_id)
                .first()
            )
        if user is None or not self.user_can_authenticate(user):
            return None
        return user
