"""Forms of the operators' ticket page; each one feeds a staff service of tickets.services."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tickets.forms import UploadField, attachment_kind_by_type
from tickets.models import CannedAnswer, Ticket

KEEP_STATUS = ""


class TicketActionForm(forms.Form):
    """An action of the ticket page, carrying the marker of what the page showed."""

    # tickets.collisions.seen_token of the page; a post without one (an old page) is not checked.
    seen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=80)

    def clean_seen(self) -> str | None:
        return self.cleaned_data["seen"] or None


class StaffReplyForm(TicketActionForm):
    VISIBILITY_PUBLIC = "public"
    VISIBILITY_NOTE = "note"

    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), required=False
    )
    visibility = forms.ChoiceField(
        label=_("Send as"),
        choices=[
            (VISIBILITY_PUBLIC, _("Public reply (the customer reads it and is e-mailed)")),
            (VISIBILITY_NOTE, _("Internal note (staff only, never e-mailed)")),
        ],
        initial=VISIBILITY_PUBLIC,
        widget=forms.RadioSelect,
    )
    new_status = forms.ChoiceField(
        label=_("Status after a public reply"),
        choices=[
            (Ticket.Status.ANSWERED, Ticket.Status.ANSWERED.label),
            (Ticket.Status.WAITING_CUSTOMER, Ticket.Status.WAITING_CUSTOMER.label),
            (KEEP_STATUS, _("Keep the current status")),
        ],
        initial=Ticket.Status.ANSWERED,
        required=False,
    )
    files = UploadField(
        label=_("Attach files"),
        help_text=_("Public replies only: screenshots, PDF manuals, LOG files."),
    )
    # The canned answer the text started from, counted once the reply is sent.
    canned = forms.ModelChoiceField(
        queryset=CannedAnswer.objects.all(), required=False, widget=forms.HiddenInput
    )

    @property
    def is_public(self) -> bool:
        return self.cleaned_data["visibility"] == self.VISIBILITY_PUBLIC

    def clean(self):
        data = super().clean()
        if data.get("visibility") == self.VISIBILITY_NOTE and data.get("files"):
            self.add_error("files", _("Internal notes carry no files: send them as a reply."))
        return data

    def new_files(self):
        """(kind, clean file) pairs for tickets.services, each labelled by its type."""
        return [
            (attachment_kind_by_type(clean), clean) for clean in self.cleaned_data.get("files", [])
        ]


class StatusChangeForm(TicketActionForm):
    status = forms.ChoiceField(
        label=_("New status"),
        choices=[(status.value, status.label) for status in Ticket.OPEN_STATUSES],
    )


class DuplicateForm(TicketActionForm):
    original = forms.CharField(
        label=_("Duplicate of ticket number"),
        max_length=20,
        help_text=_("The ticket that stays open; this one is closed with a link to it."),
    )

    def clean_original(self):
        value = self.cleaned_data["original"].strip().lstrip("#")
        ticket = None
        if value.isdigit() and len(value) < 19:
            ticket = Ticket.objects.filter(number=int(value)).first()
        if ticket is None:
            raise ValidationError(_("There is no ticket with this number."))
        return ticket


class CloseForm(TicketActionForm):
    body = forms.CharField(
        label=_("Closing remark"),
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        required=False,
        help_text=_("Optional; the customer reads it."),
    )
