"""Once let the Operators read the e-mail log; core.roles' post_migrate sync does it now.

Kept, empty, so that databases that applied it keep a consistent history.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0004_roles_calendar_and_outbox")]

    operations = []
