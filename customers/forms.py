from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Member, Unit
from customers.selectors import customer_access
from products.models import Product


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Customer code or e-mail"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The customer code, e-mail or password is wrong. Passwords are case-sensitive."
        ),
    }

    def clean_username(self):
        # django-axes counts failures per submitted name: use the account's own user name
        # whatever the case and whether the code or the e-mail was typed, so that variants
        # cannot dodge the limit and a successful log-in resets the right counter.
        login = self.cleaned_data["username"].strip()
        names = list(
            get_user_model()
            ._default_manager.filter(Q(username__iexact=login) | Q(email__iexact=login))
            .values_list("username", flat=True)[:2]
        )
        return names[0] if len(names) == 1 else login.casefold()


class CustomerPasswordResetForm(PasswordResetForm):
    """Also let customers imported without a password choose their first one."""

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (
            user
            for user in users.select_related("customer", "membership__customer")
            if user.email.casefold() == email.casefold()
            and (user.has_usable_password() or hasattr(user, "customer"))
        )

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        """Write the e-mail in the account's language, not in the language of the page."""
        access = customer_access(context["user"])
        language = access.customer.language if access is not None else translation.get_language()
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        help_text=_("The language of the portal and of new tickets' e-mails."),
    )

    class Meta:
        model = Customer
        fields = ["contact_name", "phone", "language"]


class MemberProfileForm(forms.Form):
    """A member's own name: the workshop's details are its owner's."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Your colleague's e-mail"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        label=_("Tickets they see"),
        choices=Member.Scope.choices,
        initial=Member.Scope.OWN,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per form, not at import: a lazy text formatted at import is frozen in the
        # language of the process, English, whatever the reader's language.
        self.fields["email"].help_text = _(
            "They receive a link to choose their password; it works once, for %(days)s days."
        ) % {"days": settings.WORKSHOP_INVITATION_DAYS}


class MemberScopeForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Tickets they see"), choices=Member.Scope.choices, widget=forms.RadioSelect
    )


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, neither only digits nor a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class UnitRegisterForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.filter(is_active=True, has_serial_number=True),
        empty_label=_("Choose…"),
    )
    serial_number = forms.CharField(
        label=_("Serial number"),
        max_length=64,
        help_text=_("As printed on the tool's label or shown by its software."),
    )


class UnitReportLostForm(forms.Form):
    status = forms.ChoiceField(
        label=_("What happened"),
        choices=[(Unit.Status.LOST, _("Lost")), (Unit.Status.STOLEN, _("Stolen"))],
        widget=forms.RadioSelect,
    )
    details = forms.CharField(
        label=_("Circumstances"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("When and where; the police report number if there is one."),
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand that from now on this unit only accepts the report of its loss or theft."
        )
    )


class TwoFactorTokenForm(forms.Form):
    """A code from the staff member's authenticator app (or, to log in, a recovery code)."""

    token = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
