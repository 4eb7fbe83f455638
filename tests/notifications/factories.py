import factory

from notifications.models import Notification
from tests.tickets.factories import TicketFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    """An outbox row about a ticket's submission, stored directly (no e-mail sent)."""

    class Meta:
        model = Notification
        skip_postgeneration_save = True

    ticket = factory.SubFactory(TicketFactory)
    event = factory.LazyAttribute(lambda o: o.ticket.events.get(kind="submitted"))
    recipient = factory.LazyAttribute(lambda o: o.ticket.customer.user.email)
    recipient_kind = Notification.RecipientKind.CUSTOMER
    language = factory.SelfAttribute("ticket.language")

    @factory.post_generation
    def with_event(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.events.add(obj.event)
