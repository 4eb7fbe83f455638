"""An invitation's link and e-mail: signed, in the workshop's language, sent by a worker."""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from customers.models import Invitation

INVITATION_SALT = "customers.invitation"


def invitation_token(*, invitation: Invitation) -> str:
    """The signed part of an invitation's link: names the invitation, and its time of sending."""
    return signing.dumps(invitation.pk, salt=INVITATION_SALT, compress=True)


def invitation_link(*, invitation: Invitation) -> str:
    path = reverse("customers:invitation", args=[invitation_token(invitation=invitation)])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def invitation_send(*, invitation_id: int) -> bool:
    """E-mail an invitation still waiting, in the workshop's language; False if there is none."""
    invitation = (
        Invitation.objects.select_related("customer__user", "invited_by")
        .filter(pk=invitation_id, status=Invitation.Status.PENDING)
        .first()
    )
    if invitation is None:
        return False
    customer = invitation.customer
    context = {
        "invitation": invitation,
        "customer": customer,
        "inviter": invitation.invited_by.get_full_name() or customer.contact_name or customer.code,
        "link": invitation_link(invitation=invitation),
        "days": settings.WORKSHOP_INVITATION_DAYS,
    }
    with translation.override(customer.language):
        subject = render_to_string("customers/email/invitation_subject.txt", context).strip()
        text = render_to_string("customers/email/invitation.txt", context)
        html = render_to_string("customers/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return True
