import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tickets.services import ticket_search_rebuild


class Command(BaseCommand):
    help = (
        "Write the full-text search row of every ticket (PostgreSQL), one committed batch at a "
        "time. Migration 0014 does it for up to 200,000 tickets; run this after it on a bigger "
        "database, or after a bulk load made with the search triggers disabled. Safe while the "
        "site runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=5_000, help="ticket ids per transaction"
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if connection.vendor != "postgresql":
            self.stdout.write("Not PostgreSQL: the simple search needs no index. Nothing to do.")
            return
        started = time.monotonic()

        def progress(written: int, last_id: int) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"  {written:,} tickets written (ids up to {last_id:,})")

        count = ticket_search_rebuild(batch_size=options["batch_size"], progress=progress)
        self.stdout.write(
            f"{count:,} tickets indexed for search in {time.monotonic() - started:.1f} s."
        )
