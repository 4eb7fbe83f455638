"""Who has a ticket's page open right now, kept in the cache only.

One cache entry per ticket holds its viewers, {user id: [name, last seen (epoch seconds), visit]}:
reading it is O(operators on that ticket), never a scan of keys. Each viewer is dropped
PRESENCE_TTL seconds after the page last said it was there (on render, then by presence.js every
PRESENCE_PING seconds while the tab is visible); the whole entry expires with its last viewer.
`visit` names one rendering of the page, so that the goodbye of a page being left (sent after
the next one has already said hello) cannot remove the next one's entry.

Two pages writing the entry at the same instant may lose one of the two writes: that viewer is
missing until its next ping. A cache that cannot answer (core.cache) shows nobody; presence is
a courtesy and never costs a page its answer.
"""

import logging
import time
import uuid

from django.core.cache import cache

from core.cache import UNREACHABLE

logger = logging.getLogger(__name__)

PRESENCE_TTL = 75  # seconds without news before a viewer is no longer shown
PRESENCE_PING = 25  # seconds between two pings of an open, visible page


def _key(ticket_id: int) -> str:
    return f"tickets:presence:{ticket_id}"


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _read(ticket_id: int, now: float) -> dict:
    try:
        viewers = cache.get(_key(ticket_id)) or {}
    except UNREACHABLE:  # a cache backend that, unlike core.cache's, lets the failure through
        logger.warning("Presence unavailable: the cache cannot be read.")
        return {}
    if not isinstance(viewers, dict):
        return {}
    return {
        user_id: entry
        for user_id, entry in viewers.items()
        if isinstance(entry, list) and len(entry) == 3 and now - entry[1] < PRESENCE_TTL
    }


def _write(ticket_id: int, viewers: dict) -> None:
    try:
        if viewers:
            cache.set(_key(ticket_id), viewers, timeout=PRESENCE_TTL)
        else:
            cache.delete(_key(ticket_id))
    except UNREACHABLE:
        logger.warning("Presence unavailable: the cache cannot be written.")


def presence_visit_new() -> str:
    """Name one rendering of a ticket page."""
    return uuid.uuid4().hex


def ticket_presence_record(*, ticket_id: int, user, visit: str) -> list[str]:
    """Note that the user has the ticket open now; return the others who have, by name."""
    now = time.time()
    viewers = _read(ticket_id, now)
    viewers[user.pk] = [_name(user), now, visit]
    _write(ticket_id, viewers)
    return sorted(entry[0] for user_id, entry in viewers.items() if user_id != user.pk)


def ticket_presence_leave(*, ticket_id: int, user, visit: str) -> None:
    """Forget the user on the ticket, if the page that leaves is the one last recorded."""
    now = time.time()
    viewers = _read(ticket_id, now)
    entry = viewers.get(user.pk)
    if entry is None or entry[2] != visit:
        return
    del viewers[user.pk]
    _write(ticket_id, viewers)
