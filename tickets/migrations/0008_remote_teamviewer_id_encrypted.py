"""Keep the TeamViewer ID of a remote-access request only as a Fernet token, like the password.

The IDs already stored in clear are encrypted with REMOTE_ACCESS_KEYS (needed only when there are
some), then the clear column is dropped. Updating a row leaves its old version in the database's
files, so the table's files are also rewritten without it: CLUSTER on PostgreSQL (the one rewrite
allowed inside the migration's transaction; it nulls the dropped column in every row version it
copies), secure_delete on SQLite (the old table the column removal drops is zeroed). Going back
decrypts the IDs; one past the time limit cannot be decrypted any more, so that request is erased,
as the sweeper would have done.
"""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def encrypt_ids(apps, schema_editor):
    from tickets.crypto import secret_encrypt

    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    requests = apps.get_model("tickets", "RemoteAccessRequest").objects.using(connection.alias)
    clear = list(requests.exclude(teamviewer_id="").values_list("pk", "teamviewer_id"))
    for pk, teamviewer_id in clear:
        requests.filter(pk=pk).update(
            teamviewer_id="", teamviewer_id_token=secret_encrypt(plaintext=teamviewer_id)
        )


def decrypt_ids(apps, schema_editor):
    from tickets.crypto import SecretExpiredError, secret_decrypt

    requests = apps.get_model("tickets", "RemoteAccessRequest").objects.using(
        schema_editor.connection.alias
    )
    live = requests.filter(erased_at__isnull=True, teamviewer_id_token__isnull=False)
    for pk, token in list(live.values_list("pk", "teamviewer_id_token")):
        try:
            requests.filter(pk=pk).update(
                teamviewer_id=secret_decrypt(token=token), teamviewer_id_token=None
            )
        except SecretExpiredError:
            now = timezone.now()
            requests.filter(pk=pk).update(
                teamviewer_id="",
                teamviewer_id_token=None,
                password_token=None,
                erased_at=now,
                erase_reason="expired",
                updated_at=now,
            )


def rewrite_table(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    table = apps.get_model("tickets", "RemoteAccessRequest")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index"
            " WHERE indrelid = %s::regclass AND indisprimary",
            [table],
        )
        (primary_key,) = cursor.fetchone()
        cursor.execute(f"CLUSTER {connection.ops.quote_name(table)} USING {primary_key}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_dashboard_and_all_statuses_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="remoteaccessrequest",
            name="remote_erased_has_no_secret",
        ),
        migrations.AddField(
            model_name="remoteaccessrequest",
            name="teamviewer_id_token",
            field=models.BinaryField(blank=True, null=True, verbose_name="encrypted TeamViewer ID"),
        ),
        migrations.RunPython(encrypt_ids, decrypt_ids),
        migrations.RemoveField(
            model_name="remoteaccessrequest",
            name="teamviewer_id",
        ),
        migrations.RunPython(rewrite_table, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="remoteaccessrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("erased_at__isnull", True),
                    models.Q(
                        ("password_token__isnull", True), ("teamviewer_id_token__isnull", True)
                    ),
                    _connector="OR",
                ),
                name="remote_erased_has_no_secret",
            ),
        ),
    ]
