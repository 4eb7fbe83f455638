from django.core.cache import cache

from customers.models import Customer, CustomerImport, Unit


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
