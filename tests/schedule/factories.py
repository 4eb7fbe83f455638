from datetime import date, time, timedelta

import factory
from django.utils import timezone

from schedule.models import Closure, Maintenance, Notice, ServiceHours
from schedule.services import calendar_cache_invalidate


class CalendarFactory(factory.django.DjangoModelFactory):
    """Rows stored directly for reading tests; the cache is told, as the services would."""

    class Meta:
        abstract = True

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        super()._after_postgeneration(instance, create, results)
        if create:
            calendar_cache_invalidate()


class ServiceHoursFactory(CalendarFactory):
    class Meta:
        model = ServiceHours

    weekday = 5
    opens_at = time(9, 0)
    closes_at = time(12, 0)


class ClosureFactory(CalendarFactory):
    class Meta:
        model = Closure

    title_it = "Ferie estive"
    title_en = "Summer holidays"
    title_fr = "Congés d'été"
    first_day = date(2025, 8, 11)
    last_day = date(2025, 8, 22)
    recurs_yearly = False


class MaintenanceFactory(CalendarFactory):
    class Meta:
        model = Maintenance

    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))
    text_it = "Aggiornamento del server."
    text_en = "Server upgrade."
    text_fr = "Mise à jour du serveur."


class NoticeFactory(CalendarFactory):
    class Meta:
        model = Notice

    severity = Notice.Severity.INFO
    text_it = "Nuova versione del software disponibile."
    text_en = "A new software version is available."
    text_fr = "Une nouvelle version du logiciel est disponible."
    publish_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    publish_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
