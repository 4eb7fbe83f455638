"""Label the files added to messages by their type, not as screenshots of the error.

A reply's or an operator's file used to be stored as a "screenshot" when it was an image and as
"other" otherwise; the files sent with the new-ticket form keep the kind chosen there.
"""

from django.db import migrations, models

IMAGE, DOCUMENT, LOG = "image", "document", "log"


def kind_by_type(content_type: str, name: str) -> str:
    if content_type.startswith("image/"):
        return IMAGE
    if content_type == "text/plain" and "log" in name.lower():
        return LOG
    return DOCUMENT


def label_by_type(apps, schema_editor):
    Attachment = apps.get_model("tickets", "Attachment")
    added_to_messages = (
        Attachment.objects.filter(kind__in=["screenshot", "other"], event__isnull=False)
        .exclude(event__kind="submitted")
        .only("pk", "content_type", "original_name")
    )
    for attachment in added_to_messages.iterator():
        Attachment.objects.filter(pk=attachment.pk).update(
            kind=kind_by_type(attachment.content_type, attachment.original_name)
        )


def label_as_before(apps, schema_editor):
    Attachment = apps.get_model("tickets", "Attachment")
    Attachment.objects.filter(kind=IMAGE).update(kind="screenshot")
    Attachment.objects.filter(kind=DOCUMENT).update(kind="other")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0009_attachment_form_token")]

    operations = [
        migrations.AlterField(
            model_name="attachment",
            name="kind",
            field=models.CharField(
                choices=[
                    ("screenshot", "Screenshot of the error"),
                    ("ecu_photo", "Photo of the ECU"),
                    ("connection_photo", "Photo of the connections"),
                    ("log", "Tool LOG file"),
                    ("other", "Other file"),
                    ("image", "Image"),
                    ("document", "Document"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(label_by_type, label_as_before),
    ]
