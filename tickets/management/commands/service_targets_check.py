from django.core.management.base import BaseCommand

from tickets.targets import service_targets_check


class Command(BaseCommand):
    help = (
        "Move the due instants of open tickets after a change of the calendar or of the service "
        "targets, record the targets missed, and warn the operators of the tickets that fall due "
        "soon (only while the service is open). Celery beat does this every "
        "SERVICE_TARGET_CHECK_SECONDS; without Redis (the embedded default, where there is no "
        "beat) run this from cron, every minute."
    )

    def handle(self, *args, **options):
        result = service_targets_check()
        recomputed = "not needed" if result.recomputed is None else result.recomputed
        self.stdout.write(
            f"Due instants recomputed: {recomputed}; targets missed: {result.missed}; "
            f"operators warned: {result.warned}."
        )
