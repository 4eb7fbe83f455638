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
