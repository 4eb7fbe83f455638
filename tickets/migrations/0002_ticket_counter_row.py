from django.db import migrations


def create_counter(apps, schema_editor):
    TicketCounter = apps.get_model("tickets", "TicketCounter")
    TicketCounter.objects.get_or_create(name="ticket", defaults={"last_number": 0})


def remove_counter(apps, schema_editor):
    apps.get_model("tickets", "TicketCounter").objects.filter(name="ticket").delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_ticket_event_attachment")]

    operations = [migrations.RunPython(create_counter, remove_counter)]
