from celery import shared_task

from customers.imports import customer_import_run


@shared_task(name="customers.import_run", ignore_result=True)
def customer_import_run_task(customer_import_id: int) -> None:
    """Import a CSV file a manager uploaded in the admin."""
    customer_import_run(customer_import_id=customer_import_id)
