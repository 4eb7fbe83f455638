from datetime import datetime, timedelta


def service_time_between(*, start: datetime, end: datetime) -> timedelta:
    """Return the service time (inside service hours, outside closures) between two instants.

    Placeholder until the calendar exists: plain elapsed time.
    """
    return max(end - start, timedelta(0))
