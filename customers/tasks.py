from celery import shared_task

from customers.imports import customer_import_run
from customers.invitations import invitation_send


@shared_task(name="customers.import_run", ignore_result=True)
def customer_import_run_task(customer_import_id: int) -> None:
    """Import a CSV file a manager uploaded in the admin."""
    customer_import_run(customer_import_id=customer_import_id)


@shared_task(name="customers.invitation_send", ignore_result=True)
def invitation_send_task(invitation_id: int) -> None:
    """E-mail a colleague the owner's invitation to the workshop."""
    invitation_send(invitation_id=invitation_id)
