from customers.models import Customer, Unit


def unit_list_for_customer(*, customer: Customer):
    """Return a customer's units with their products."""
    return Unit.objects.filter(customer=customer).select_related("product")


def unit_get_for_customer(*, customer: Customer, pk: int) -> Unit:
    """Return one of the customer's own units, or raise Unit.DoesNotExist."""
    return unit_list_for_customer(customer=customer).get(pk=pk)
