"""Give the Managers the service calendar and the e-mail outbox (core.roles) on a fresh database.

0003_roles runs before the schedule and notifications apps have tables, so on `migrate` alone the
Managers group lacked their permissions; synchronising again once both exist fixes that.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from core.roles import roles_sync

    roles_sync(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_roles"),
        ("schedule", "0002_initial_service_hours"),
        ("notifications", "0001_create_notification_outbox"),
        ("tickets", "0006_queue_indexes"),
    ]

    # Going back leaves the groups as they are: 0003_roles removes them.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
