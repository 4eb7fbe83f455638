from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from tickets.attachments import attachments_staged_sweep


class Command(BaseCommand):
    help = (
        "Delete the files kept for forms never sent (staged attachments) older than "
        "ATTACHMENT_STAGED_MAX_AGE_HOURS, each row after its files. Celery beat does this every "
        "ATTACHMENT_STAGED_SWEEP_SECONDS; without Redis (the embedded default, where there is no "
        "beat) run this from cron, every hour."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=float,
            default=None,
            help="age in hours past which a staged file goes (default: "
            "ATTACHMENT_STAGED_MAX_AGE_HOURS)",
        )
        parser.add_argument(
            "--batch-size", type=int, default=200, help="rows locked and deleted per transaction"
        )

    def handle(self, *args, **options):
        hours, batch_size = options["hours"], options["batch_size"]
        if hours is not None and hours < 0:
            raise CommandError("--hours cannot be negative.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        count = attachments_staged_sweep(
            max_age=None if hours is None else timedelta(hours=hours), batch_size=batch_size
        )
        self.stdout.write(f"{count} staged attachments deleted.")
