from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.roles import ALL_MODELS, CRUD, MANAGERS


class ScheduleConfig(AppConfig):
    name = "schedule"
    verbose_name = _("Service calendar")

    # The service calendar (hours, closures, maintenance, notices) is the managers' own.
    roles = {MANAGERS: ((ALL_MODELS, CRUD),)}
