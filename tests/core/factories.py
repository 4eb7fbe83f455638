from datetime import timedelta

import factory
from django.utils import timezone

from core.models import TermsVersion


class TermsVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TermsVersion
        django_get_or_create = ["version"]

    version = factory.Sequence(lambda n: f"T-{n}")
    effective_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    text_it = "Termini di prova."
    text_en = "Test terms."
    text_fr = "Conditions de test."


def staff_with_role(role: str, username: str):
    """Create a staff user (not a superuser) in one of the groups of core.roles."""
    from django.contrib.auth.models import Group

    from core.roles import roles_sync
    from tests.customers.factories import StaffFactory

    roles_sync()
    user = StaffFactory(username=username, first_name=username.title())
    user.groups.add(Group.objects.get(name=role))
    return user
