"""The staff roles, Operators and Managers: each app declares what they may do with its models.

An app's AppConfig lists, in `roles`, the permissions each role holds on that app's models; core
collects them and knows no app above it. Managers hold everything Operators hold, plus their own.
`roles_sync()` makes both groups hold exactly the declared permissions: it runs after every
`migrate` (post_migrate, like Django's own permissions), and `manage.py sync_roles` runs it by hand.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

OPERATORS = "Operators"
MANAGERS = "Managers"
ROLE_NAMES = (OPERATORS, MANAGERS)

ALL_MODELS = "*"
CRUD = ("add", "change", "delete", "view")

# An app's declaration: {role: ((model name or ALL_MODELS, actions), ...)}; an action with "_" is
# a whole codename (a custom permission such as tickets.view_dashboard).
Declaration = dict[str, tuple[tuple[str, tuple[str, ...]], ...]]
Entry = tuple[str, str, tuple[str, ...]]


def roles_declared() -> dict[str, tuple[Entry, ...]]:
    """Return, per role, the (app label, model, actions) every installed app declares."""
    declared: dict[str, list[Entry]] = {name: [] for name in ROLE_NAMES}
    for app_config in global_apps.get_app_configs():
        roles: Declaration = getattr(app_config, "roles", {})
        for role, entries in roles.items():
            declared[role].extend((app_config.label, model, actions) for model, actions in entries)
    # Managers run the service: whatever operators may do, they may too.
    declared[MANAGERS] = [*declared[OPERATORS], *declared[MANAGERS]]
    return {role: tuple(entries) for role, entries in declared.items()}


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
    roles = roles_declared()
    labels = {app_label for entries in roles.values() for app_label, _m, _a in entries}
    for label in sorted(labels):
        try:
            app_config = global_apps.get_app_config(label)
        except LookupError:
            continue
        # Django's own post_migrate handler may not have reached this app yet.
        create_permissions(app_config, verbosity=0, using=using, apps=apps)

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    report = {}
    for group_name, entries in roles.items():
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
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=ROLE_NAMES).delete()


def roles_sync_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Synchronise the roles once `migrate` (or a test database flush) is done."""
    roles_sync(using=using)
