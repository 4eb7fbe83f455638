from django.conf import settings
from django.core.checks import Error, register


@register()
def retry_backoff_below_visibility_timeout(app_configs, **kwargs):
    """Refuse a retry back-off that Redis would outlast by redelivering the waiting task."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    if visibility <= settings.NOTIFICATIONS_RETRY_BACKOFF_MAX:
        return [
            Error(
                "NOTIFICATIONS_RETRY_BACKOFF_MAX must be shorter than the broker's "
                "visibility_timeout, or Redis hands retries waiting in a worker to another one.",
                id="notifications.E001",
            )
        ]
    return []
