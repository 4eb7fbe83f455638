from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_remote_teamviewer_id_encrypted"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="attachment",
            name="attachment_staged_idx",
        ),
        migrations.AddField(
            model_name="attachment",
            name="form_token",
            field=models.CharField(
                blank=True, editable=False, max_length=32, verbose_name="form it was sent with"
            ),
        ),
        migrations.AddIndex(
            model_name="attachment",
            index=models.Index(
                condition=models.Q(("ticket__isnull", True)),
                fields=["uploaded_by", "form_token", "created_at"],
                name="attachment_staged_form_idx",
            ),
        ),
    ]
