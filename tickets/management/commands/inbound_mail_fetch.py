import imaplib

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from imap_tools.errors import ImapToolsError

from tickets.inbound.mailbox import inbound_mail_fetch


class Command(BaseCommand):
    help = (
        "Read the unread messages of the support mailbox (INBOUND_IMAP_URL) once: each is kept "
        "in the admin's e-mails received, the customers' replies added to their tickets. Celery "
        "beat does this every INBOUND_IMAP_POLL_SECONDS; without Redis (the embedded default, "
        "where there is no beat) run this from cron, every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="read at most this many")
        parser.add_argument("--url", default=None, help="another mailbox than INBOUND_IMAP_URL")

    def handle(self, *args, **options):
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            outcomes = inbound_mail_fetch(limit=options["limit"], url=options["url"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
            raise CommandError(f"The portal cannot read the mailbox: {exc}") from exc
        total = sum(outcomes.values())
        detail = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
        self.stdout.write(f"{total} message(s) read" + (f": {detail}." if detail else "."))
