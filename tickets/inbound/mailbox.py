"""The support mailbox, read over IMAP (imap-tools): unread messages in, each marked read once kept.

INBOUND_IMAP_URL names the mailbox: `imaps://user:password@host:993/INBOX` (TLS),
`imap+starttls://...:143/INBOX`, or `imap://...` (plain, for a local server only); the user and
password are URL-encoded (`support%40example.com`). A message is marked \\Seen only after
tickets.inbound.services kept it and committed: a fetch that dies in between reads it again, and
its Message-ID makes the second reading a no-op.
"""

import imaplib
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags
from imap_tools.errors import ImapToolsError

from tickets.inbound.services import inbound_mail_receive
from tickets.models import InboundMailbox

logger = logging.getLogger(__name__)
# What an unreachable or refusing server raises: a reason to back off, not a bug.
MAILBOX_ERRORS = (OSError, imaplib.IMAP4.error, ImapToolsError)

_SCHEMES = {"imaps": MailBox, "imap+starttls": MailBoxStartTls, "imap": MailBoxUnencrypted}
_DEFAULT_PORTS = {"imaps": 993, "imap+starttls": 143, "imap": 143}
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")
_SIZE_BATCH = 200  # UIDs a FETCH of sizes names: well within any server's command length


@dataclass(frozen=True)
class MailboxConfig:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str


def mailbox_config(url: str | None = None) -> MailboxConfig:
    """INBOUND_IMAP_URL, read; ImproperlyConfigured saying what is wrong with it."""
    url = settings.INBOUND_IMAP_URL if url is None else url
    if not url:
        raise ImproperlyConfigured("INBOUND_IMAP_URL is not set: no mailbox to read.")
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ImproperlyConfigured(
            f"INBOUND_IMAP_URL: the scheme must be one of {', '.join(_SCHEMES)}."
        )
    if not (parts.hostname and parts.username and parts.password):
        raise ImproperlyConfigured("INBOUND_IMAP_URL needs a user, a password and a host.")
    return MailboxConfig(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or _DEFAULT_PORTS[parts.scheme],
        user=unquote(parts.username),
        password=unquote(parts.password),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def _fetch(box, uid: str, *, header_only: bool) -> bytes:
    part = "BODY.PEEK[HEADER]" if header_only else "BODY.PEEK[]"
    status, data = box.client.uid("FETCH", uid, f"({part})")
    if status != "OK":
        raise OSError(f"IMAP FETCH {uid} answered {status}")
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    raise OSError(f"IMAP FETCH {uid} returned no message")


def _sizes(box, uids: list[str]) -> dict[str, int]:
    """The size of each message, asked for a batch at a time rather than one by one."""
    sizes = {}
    for start in range(0, len(uids), _SIZE_BATCH):
        batch = ",".join(uids[start : start + _SIZE_BATCH])
        status, data = box.client.uid("FETCH", batch, "(RFC822.SIZE)")
        if status != "OK":
            raise OSError(f"IMAP FETCH {batch} answered {status}")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            uid, size = _UID.search(line or b""), _SIZE.search(line or b"")
            if uid and size:
                sizes[uid.group(1).decode()] = int(size.group(1))
    return sizes


def inbound_mail_fetch(*, limit: int | None = None, url: str | None = None) -> Counter:
    """Read the unread messages of the mailbox, oldest first; return how many had each outcome."""
    config = mailbox_config(url)
    outcomes: Counter = Counter()
    box_class = _SCHEMES[config.scheme]
    timeout = settings.INBOUND_IMAP_TIMEOUT
    with box_class(config.host, config.port, timeout=timeout).login(
        config.user, config.password, initial_folder=config.folder
    ) as box:
        uids = box.uids(AND(seen=False))
        uids = uids[:limit] if limit else uids
        sizes = _sizes(box, uids)
        for uid in uids:
            size = sizes.get(uid, 0)
            too_large = size > settings.INBOUND_MAIL_MAX_SIZE
            raw = _fetch(box, uid, header_only=too_large)
            kept = inbound_mail_receive(raw=raw, too_large=too_large, size=size or len(raw))
            box.flag(uid, MailMessageFlags.SEEN, True)
            outcomes[kept.outcome] += 1
    return outcomes


def inbound_mail_poll(*, now: datetime | None = None, limit: int | None = None) -> Counter | None:
    """Read the mailbox unless it failed lately; None while backing off or after a failure.

    The beat's task and the cron command call this: a failure is recorded (InboundMailbox, shown
    to staff above the e-mails received) and the next attempt waits INBOUND_IMAP_POLL_SECONDS,
    doubled at each failure in a row, at most INBOUND_IMAP_BACKOFF_MAX_SECONDS.
    """
    now = now or timezone.now()
    state, _created = InboundMailbox.objects.get_or_create(pk=1)
    if state.next_attempt_at and now < state.next_attempt_at:
        return None
    lease = now + timedelta(seconds=settings.INBOUND_IMAP_READING_LEASE_SECONDS)
    free = Q(reading_until__isnull=True) | Q(reading_until__lt=now)
    if not InboundMailbox.objects.filter(free, pk=1).update(reading_until=lease):
        logger.info("The support mailbox is being read by another process; skipped.")
        return None
    try:
        outcomes = inbound_mail_fetch(limit=limit)
    except MAILBOX_ERRORS as exc:
        with transaction.atomic():
            state = InboundMailbox.objects.select_for_update().get(pk=1)
            state.failures += 1
            state.failing_since = state.failing_since or now
            state.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            delay = min(
                settings.INBOUND_IMAP_POLL_SECONDS * 2 ** (state.failures - 1),
                settings.INBOUND_IMAP_BACKOFF_MAX_SECONDS,
            )
            state.next_attempt_at = now + timedelta(seconds=delay)
            state.reading_until = None
            state.save()
        logger.warning(
            "The support mailbox could not be read (%s in a row): %s; next attempt at %s.",
            state.failures,
            state.last_error,
            state.next_attempt_at.isoformat(),
        )
        return None
    except BaseException:
        InboundMailbox.objects.filter(pk=1).update(reading_until=None)
        raise
    InboundMailbox.objects.filter(pk=1).update(
        failures=0,
        failing_since=None,
        last_error="",
        next_attempt_at=None,
        last_read_at=now,
        reading_until=None,
    )
    return outcomes
