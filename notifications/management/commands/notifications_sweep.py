from datetime import timedelta

from django.core.management.base import BaseCommand

from notifications.tasks import notifications_sweep


class Command(BaseCommand):
    help = (
        "Enqueue again the pending e-mail notifications that are overdue. Celery beat does this "
        "every NOTIFICATIONS_SWEEP_INTERVAL seconds; without Redis (the embedded default, where "
        "there is no beat) run this from cron to send what a temporary SMTP failure left pending."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace",
            type=float,
            default=None,
            help="seconds a pending row must be overdue (default: NOTIFICATIONS_SWEEP_GRACE)",
        )

    def handle(self, *args, **options):
        grace = None if options["grace"] is None else timedelta(seconds=options["grace"])
        count = notifications_sweep(grace=grace)
        self.stdout.write(f"{count} notifications enqueued again.")
