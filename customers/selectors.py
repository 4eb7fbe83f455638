from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from customers.models import Customer, CustomerImport, Invitation, Member, Unit


@dataclass(frozen=True)
class Access:
    """Whom a person on the portal acts for: their workshop, and whether they are its owner.

    The owner is the customer code's own user; a member is a colleague the owner invited
    (customers.Member). Which tickets each sees is decided in one place, on top of this:
    tickets.selectors.ticket_scope.
    """

    user: object
    customer: Customer
    member: Member | None = None

    @property
    def is_owner(self) -> bool:
        return self.member is None

    @property
    def sees_all(self) -> bool:
        return self.member is None or self.member.sees_all


def customer_access(user) -> Access | None:
    """The workshop a logged-in user acts for, or None for staff, strangers and removed members.

    Costs no query for a user read with its session (customers.sessions brings the customer and
    the membership along).
    """
    if user is None or not user.is_authenticated or user.is_staff or not user.is_active:
        return None
    customer = getattr(user, "customer", None)
    if customer is not None:
        return Access(user=user, customer=customer)
    member = getattr(user, "membership", None)
    if member is not None and member.removed_at is None:
        return Access(user=user, customer=member.customer, member=member)
    return None


def member_list_for_customer(*, customer: Customer) -> QuerySet[Member]:
    """The workshop's members still in it, first invited first."""
    return (
        Member.objects.filter(customer=customer, removed_at__isnull=True)
        .select_related("user")
        .order_by("created_at", "pk")[: settings.WORKSHOP_MEMBERS_MAX]
    )


def member_get_for_customer(*, customer: Customer, pk: int) -> Member:
    """One of the workshop's members still in it, or raise Member.DoesNotExist."""
    return Member.objects.select_related("user").get(
        customer=customer, removed_at__isnull=True, pk=pk
    )


def invitation_list_pending(*, customer: Customer) -> QuerySet[Invitation]:
    """The invitations still waiting for an answer (expired ones included, marked so)."""
    return Invitation.objects.filter(customer=customer, status=Invitation.Status.PENDING).order_by(
        "-created_at", "-pk"
    )[: settings.WORKSHOP_MEMBERS_MAX]


def unit_list_for_customer(*, customer: Customer):
    """Return a customer's units with their products."""
    return Unit.objects.filter(customer=customer).select_related("product")


def unit_get_for_customer(*, customer: Customer, pk: int) -> Unit:
    """Return one of the customer's own units, or raise Unit.DoesNotExist."""
    return unit_list_for_customer(customer=customer).get(pk=pk)


def customer_import_progress(*, customer_import: CustomerImport) -> dict:
    """Return an import's status and, while it runs, how many of its rows are done."""
    from customers.imports import PROGRESS_KEY

    progress = {"status": customer_import.status, "finished": customer_import.is_finished}
    if customer_import.is_finished:
        total = customer_import.report.get("rows_total", 0)
        progress.update(done=total, total=total)
    else:
        counted = cache.get(PROGRESS_KEY.format(pk=customer_import.pk)) or {}
        progress.update(done=counted.get("done", 0), total=counted.get("total", 0))
    progress["percent"] = (
        100 if progress["finished"] else progress["done"] * 100 // max(progress["total"], 1)
    )
    return progress


def customer_import_list_recent(*, limit: int = 10):
    """Return the latest imports, newest first, with who uploaded them."""
    return CustomerImport.objects.select_related("uploaded_by")[:limit]
