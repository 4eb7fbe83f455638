"""The staff roles: which permissions the Operators and Managers groups hold, in one place.

`roles_sync()` makes both groups hold exactly these permissions. The roles migration calls it with
the historical apps; `manage.py sync_roles` calls it again after other apps' models land (an entry
on a whole app, such as "schedule", then picks up every model the app has by then).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

OPERATORS = "Operators"
MANAGERS = "Managers"

ALL_MODELS = "*"
CRUD = ("add", "change", "delete", "view")

# (app label, model name or ALL_MODELS, actions); an action with "_" is a whole codename.
OPERATOR_PERMISSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tickets", "ticket", ("view", "change")),
    ("tickets", "ticketevent", ("view", "add")),
    ("tickets", "attachment", ("view",)),
    ("customers", "customer", ("view",)),
    ("customers", "unit", ("view",)),
    ("products", "product", ("view",)),
    # The e-mail log, to tell a customer that a message bounced; resending is the managers'.
    ("notifications", "notification", ("view",)),
)

MANAGER_PERMISSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    *OPERATOR_PERMISSIONS,
    ("tickets", "ticket", ("view_dashboard",)),
    # Customers are never deleted (their tickets protect them): suspend them instead.
    ("customers", "customer", ("add", "change")),
    ("customers", "unit", ("add", "change")),
    ("products", "product", ("add", "change")),
    ("core", "termsversion", ("add", "change")),
    # The service calendar (hours, closures, maintenance, notices) is the managers' own.
    ("schedule", ALL_MODELS, CRUD),
    # The e-mail outbox: managers see what was sent and may retry what failed.
    ("notifications", ALL_MODELS, ("view", "change")),
)

ROLES = {OPERATORS: OPERATOR_PERMISSIONS, MANAGERS: MANAGER_PERMISSIONS}


def _codenames(*, apps, entries) -> set[tuple[str, str]]:
    wanted: set[tuple[str, str]] = set()
    for app_label, model_name, actions in entries:
        if model_name == ALL_MODELS:
            try:
                models = apps.get_app_config(app_label).get_models()
            except LookupError:  # the app has no models (or no migrations) yet
                continue
            names = [model._meta.model_name for model in models]
        else:
            names = [model_name]
        for name in names:
            for action in actions:
                codename = action if "_" in action else f"{action}_{name}"
                wanted.add((app_label, codename))
    return wanted


def roles_sync(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Create the staff groups and give each exactly its permissions; return how many each has."""
    labels = {app_label for entries in ROLES.values() for app_label, _m, _a in entries}
    for label in sorted(labels):
        try:
            app_config = global_apps.get_app_config(label)
        except LookupError:
            continue
        # post_migrate has not run inside a migration: make the permissions exist first.
        create_permissions(app_config, verbosity=0, using=using, apps=apps)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    report = {}
    for group_name, entries in ROLES.items():
        wanted = _codenames(apps=apps, entries=entries)
        permissions = [
            permission
            for permission in permission_model.objects.using(using)
            .filter(content_type__app_label__in=labels)
            .select_related("content_type")
            if (permission.content_type.app_label, permission.codename) in wanted
        ]
        group, _created = group_model.objects.using(using).get_or_create(name=group_name)
        group.permissions.set(permissions)
        report[group_name] = len(permissions)
    return report


def roles_remove(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete the staff groups (the roles migration's way back)."""
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=list(ROLES)).delete()
