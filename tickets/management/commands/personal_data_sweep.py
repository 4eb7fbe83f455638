from django.core.management.base import BaseCommand

from tickets.personal_data_archive import personal_data_exports_sweep


class Command(BaseCommand):
    help = (
        "Delete the personal-data archives older than PERSONAL_DATA_EXPORT_HOURS. Celery beat does "
        "this every PERSONAL_DATA_EXPORT_SWEEP_SECONDS; without Redis (no beat) run it from cron."
    )

    def handle(self, *args, **options):
        expired = personal_data_exports_sweep()
        self.stdout.write(f"{expired} archives deleted.")
