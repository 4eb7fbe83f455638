"""Once gave the Managers the calendar and the outbox; core.roles' post_migrate sync does it now.

Kept, empty, so that databases that applied it keep a consistent history.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0003_roles")]

    operations = []
