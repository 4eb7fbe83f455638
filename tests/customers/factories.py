import factory

from customers.models import Customer, Member, Unit, User
from tests.products.factories import ProductFactory

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"USER{n:04d}")
    email = factory.LazyAttribute(lambda o: f"{o.username.lower()}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"operator{n}")
    is_staff = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"C{n:05d}")
    user = factory.SubFactory(UserFactory, username=factory.SelfAttribute("..code"))
    company = factory.Sequence(lambda n: f"Workshop {n}")
    contact_name = "Anna Test"
    language = "en"
    country = "IT"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    serial_number = factory.Sequence(lambda n: f"SN{n:06d}")


class MemberFactory(factory.django.DjangoModelFactory):
    """A colleague of the workshop's owner, with a log-in of their own."""

    class Meta:
        model = Member

    customer = factory.SubFactory(CustomerFactory)
    user = factory.SubFactory(
        UserFactory,
        username=factory.Sequence(lambda n: f"member{n}@example.com"),
        email=factory.SelfAttribute("username"),
        first_name="Marco",
        last_name=factory.Sequence(lambda n: f"Member{n}"),
    )
    scope = Member.Scope.OWN
