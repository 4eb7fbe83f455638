"""Let the Operators read the e-mail log (core.roles), so they can tell a customer a mail bounced.

Resending stays the Managers': it needs the change permission, which Operators do not hold.
"""

from django.db import migrations

OPERATORS = "Operators"


def forwards(apps, schema_editor):
    from core.roles import roles_sync

    roles_sync(apps=apps, using=schema_editor.connection.alias)


def backwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(alias).filter(name=OPERATORS).first()
    if group is None:
        return
    permissions = (
        apps.get_model("auth", "Permission")
        .objects.using(alias)
        .filter(content_type__app_label="notifications", codename="view_notification")
    )
    group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_roles_calendar_and_outbox")]

    operations = [migrations.RunPython(forwards, backwards)]
