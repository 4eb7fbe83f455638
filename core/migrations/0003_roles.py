"""Create the Operators and Managers groups with their permissions (core.roles)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from core.roles import roles_sync

    roles_sync(apps=apps, using=schema_editor.connection.alias)


def backwards(apps, schema_editor):
    from core.roles import roles_remove

    roles_remove(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0002_terms_version_created_by"),
        ("customers", "0001_user_customer_unit"),
        ("products", "0002_seed_supported_products"),
        ("tickets", "0006_queue_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
