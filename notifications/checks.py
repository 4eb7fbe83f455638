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


@register()
def reply_address_needs_the_mailbox(app_configs, **kwargs):
    """Refuse a Reply-To that sends customers' answers to a mailbox nobody reads."""
    if settings.INBOUND_REPLY_ADDRESS and not settings.INBOUND_IMAP_URL:
        return [
            Error(
                "INBOUND_REPLY_ADDRESS is set but INBOUND_IMAP_URL is not: customers' replies "
                "would go to a mailbox the portal does not read.",
                id="notifications.E002",
            )
        ]
    if "+" in settings.INBOUND_REPLY_ADDRESS.partition("@")[0]:
        return [
            Error(
                "INBOUND_REPLY_ADDRESS must be the plain address (support@example.com): the "
                "portal adds the +tag of each ticket.",
                id="notifications.E003",
            )
        ]
    return []
