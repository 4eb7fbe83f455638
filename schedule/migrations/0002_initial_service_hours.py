from datetime import time

from django.db import migrations

# The terms (§4, Italian original): Monday to Friday, 08:30-12:30 and 14:00-18:00.
INITIAL_HOURS = [
    (weekday, opens, closes)
    for weekday in range(5)
    for opens, closes in ((time(8, 30), time(12, 30)), (time(14, 0), time(18, 0)))
]


def create_hours(apps, schema_editor):
    ServiceHours = apps.get_model("schedule", "ServiceHours")
    if ServiceHours.objects.exists():
        return
    ServiceHours.objects.bulk_create(
        ServiceHours(weekday=weekday, opens_at=opens, closes_at=closes)
        for weekday, opens, closes in INITIAL_HOURS
    )


def delete_hours(apps, schema_editor):
    ServiceHours = apps.get_model("schedule", "ServiceHours")
    for weekday, opens, closes in INITIAL_HOURS:
        ServiceHours.objects.filter(weekday=weekday, opens_at=opens, closes_at=closes).delete()


class Migration(migrations.Migration):
    dependencies = [("schedule", "0001_service_calendar")]

    operations = [migrations.RunPython(create_hours, delete_hours)]
