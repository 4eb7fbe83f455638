from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.models import TicketRating


class TicketRatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your answer"),
        choices=TicketRating.Score.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of the answers.")},
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the support managers read it."),
    )
