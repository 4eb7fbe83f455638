from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.roles import MANAGERS, OPERATORS


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    roles = {
        OPERATORS: (
            ("customer", ("view",)),
            ("unit", ("view",)),
            ("member", ("view",)),
            ("invitation", ("view",)),
        ),
        # Customers are never deleted (their tickets protect them): suspend them instead.
        # A lost phone: a manager removes another staff member's two-factor devices (audited).
        MANAGERS: (
            ("customer", ("add", "change")),
            ("unit", ("add", "change")),
            # A workshop's people: what a member sees, and removing one (the customer page).
            ("member", ("change",)),
            ("staffmember", ("view", "reset_two_factor")),
            # Erasure requests (§11): confirmed or refused through the admin's actions.
            ("erasurerequest", ("view", "change")),
        ),
    }
