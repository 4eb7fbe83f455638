from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tickets.inbound.mailbox import MAILBOX_ERRORS, inbound_mail_fetch, inbound_mail_poll
from tickets.models import InboundMailbox


class Command(BaseCommand):
    help = (
        "Read the unread messages of the support mailbox (INBOUND_IMAP_URL) once: each is kept "
        "in the admin's e-mails received, the customers' replies added to their tickets. Celery "
        "beat does this every INBOUND_IMAP_POLL_SECONDS; without Redis (the embedded default, "
        "where there is no beat) run this from cron, every minute. After a failure the mailbox "
        "is left alone a while (the back-off the beat follows too); --url reads another mailbox "
        "at once, outside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="read at most this many")
        parser.add_argument("--url", default=None, help="another mailbox than INBOUND_IMAP_URL")

    def handle(self, *args, **options):
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            if options["url"]:
                outcomes = inbound_mail_fetch(limit=limit, url=options["url"])
            else:
                failures = self.failures()
                outcomes = inbound_mail_poll(limit=limit)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        except MAILBOX_ERRORS as exc:
            raise CommandError(f"The portal cannot read the mailbox: {exc}") from exc
        if outcomes is None:
            state = InboundMailbox.objects.get(pk=1)
            if state.failures > failures:
                raise CommandError(f"The portal cannot read the mailbox: {state.last_error}")
            if state.next_attempt_at is not None:
                self.stdout.write(
                    f"Not read: backing off after {state.failures} failure(s) until "
                    f"{state.next_attempt_at.isoformat()} ({state.last_error})."
                )
            else:
                self.stdout.write("Not read: another process is reading the mailbox.")
            return
        total = sum(outcomes.values())
        detail = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
        self.stdout.write(f"{total} message(s) read" + (f": {detail}." if detail else "."))

    @staticmethod
    def failures() -> int:
        state = InboundMailbox.objects.filter(pk=1).first()
        return state.failures if state else 0
