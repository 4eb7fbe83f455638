from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.roles import ALL_MODELS, MANAGERS, OPERATORS


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    roles = {
        # The e-mail log, to tell a customer that a message bounced; resending is the managers'.
        OPERATORS: (("notification", ("view",)),),
        # The e-mail outbox: managers see what was sent and may retry what failed.
        MANAGERS: ((ALL_MODELS, ("view", "change")),),
    }

    def ready(self):
        from notifications import checks  # noqa: F401  (registers the system checks)
