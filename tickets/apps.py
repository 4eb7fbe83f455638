from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.roles import MANAGERS, OPERATORS


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    roles = {
        OPERATORS: (
            ("ticket", ("view", "change")),
            ("ticketevent", ("view", "add")),
            ("attachment", ("view",)),
            ("inboundmail", ("view",)),
            ("cannedanswer", ("view",)),
            ("servicetarget", ("view",)),
        ),
        MANAGERS: (
            ("ticket", ("view_dashboard",)),
            ("cannedanswer", ("add", "change")),
            ("servicetarget", ("add", "change", "delete")),
        ),
    }
