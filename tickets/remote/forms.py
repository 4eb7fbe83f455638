from django import forms
from django.utils.translation import gettext_lazy as _


class RemoteAccessForm(forms.Form):
    """The customer's answer to a remote-assistance request (terms §5, §6)."""

    confirm_authorisation = forms.BooleanField(
        label=_(
            "I authorise technical support to access and control my computer with TeamViewer "
            "to work on this ticket (terms, section 5)."
        ),
        error_messages={"required": _("Confirm that you authorise the remote access.")},
    )
    confirm_backup = forms.BooleanField(
        label=_(
            "I have backed up the programs, files and data on my computer before the session, "
            "and I accept the risk of losing data that were not backed up (terms, section 6)."
        ),
        error_messages={"required": _("Confirm that you have backed up your computer.")},
    )
    teamviewer_id = forms.CharField(
        label=_("TeamViewer ID"),
        max_length=20,
        help_text=_("The ID shown by TeamViewer under “Allow remote control”."),
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label=_("TeamViewer password"),
        max_length=64,
        # Never rendered back into the page, not even after an error.
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, ttl_minutes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _(
            "The password shown next to the ID. It is stored encrypted, shown only to the "
            "operator who took your ticket, and erased when the ticket closes or after "
            "%(minutes)s minutes."
        ) % {"minutes": ttl_minutes}
