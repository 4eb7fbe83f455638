"""Once created the staff groups here; they are now synchronised after every migrate.

core.roles collects what each app declares in its AppConfig and a post_migrate handler applies it,
so this migration no longer needs (nor depends on) the apps above core. Going back still removes
the groups.
"""

from django.db import migrations


def backwards(apps, schema_editor):
    from core.roles import roles_remove

    roles_remove(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0002_terms_version_created_by"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, backwards)]
