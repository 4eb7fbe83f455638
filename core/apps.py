from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from core.middleware import staff_session_shorten_on_login
from core.roles import MANAGERS, roles_sync_after_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Portal")

    roles = {
        # The audit trail names who did what from where: the managers' to read, nobody's to edit.
        MANAGERS: (("termsversion", ("add", "change")), ("auditentry", ("view",))),
    }

    def ready(self):
        # Once per migrate or flush; roles_sync creates the permissions of apps listed after core.
        post_migrate.connect(roles_sync_after_migrate, sender=self, dispatch_uid="core.roles")
        user_logged_in.connect(staff_session_shorten_on_login, dispatch_uid="core.staff_session")
