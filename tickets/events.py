"""Who hears of ticket updates.

Every update (tickets.updates.Update: a ticket and the events one service recorded) is handed
over by `tickets.services`; apps further down the dependency line (the notifications outbox)
subscribe here from their AppConfig.ready(), and are called *inside* the transaction that records
the update, so that what they write commits or rolls back with it.
"""

from collections.abc import Callable

_listeners: list[Callable] = []


def subscribe(listener: Callable) -> Callable:
    """Register a callable taking `update=`; called inside the recording transaction."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def publish(*, update) -> None:
    """Hand a freshly recorded update to every subscriber."""
    for listener in _listeners:
        listener(update=update)
