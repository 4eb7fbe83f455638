"""Who hears of ticket events.

Every event is recorded by `tickets.services`; apps further down the dependency line (the
notifications outbox) subscribe here from their AppConfig.ready(), and are called *inside* the
transaction that records the event, so that what they write commits or rolls back with it.
"""

from collections.abc import Callable

_listeners: list[Callable] = []


def subscribe(listener: Callable) -> Callable:
    """Register a callable taking `event=`; called inside the recording transaction."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def publish(*, event) -> None:
    """Hand a freshly recorded event to every subscriber."""
    for listener in _listeners:
        listener(event=event)
