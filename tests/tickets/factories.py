import factory
from django.utils import timezone

from core.selectors import terms_current
from tests.core.factories import TermsVersionFactory
from tests.customers.factories import CustomerFactory, UnitFactory
from tickets.models import Ticket, TicketEvent, TicketRating


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket stored directly, for reading tests; writing tests go through the services."""

    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: 100_000 + n)
    customer = factory.SubFactory(CustomerFactory)
    opened_by = factory.SelfAttribute("customer.user")
    unit = factory.SubFactory(UnitFactory, customer=factory.SelfAttribute("..customer"))
    product = factory.SelfAttribute("unit.product")
    serial_number = factory.SelfAttribute("unit.serial_number")
    subject = factory.Sequence(lambda n: f"Problem {n}")
    description = "It does not work."
    vehicle_description = "Fiat Punto"
    error_message = "Error 42"
    # The terms in force (a new version would make the portal refuse the customer's form).
    terms_version = factory.LazyFunction(lambda: terms_current() or TermsVersionFactory())
    terms_accepted_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def submitted(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            TicketEvent.objects.create(
                ticket=obj, kind=TicketEvent.Kind.SUBMITTED, author=obj.opened_by
            )


class TicketRatingFactory(factory.django.DjangoModelFactory):
    """A customer's answer about a closed ticket, stored directly."""

    class Meta:
        model = TicketRating

    ticket = factory.SubFactory(
        TicketFactory, status=Ticket.Status.CLOSED, closed_at=factory.LazyFunction(timezone.now)
    )
    score = TicketRating.Score.GOOD
    rated_at = factory.LazyFunction(timezone.now)
    changed_at = factory.SelfAttribute("rated_at")
