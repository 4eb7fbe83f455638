from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Unit
from products.models import Product
from tickets.forms import UPLOAD_FIELDS, UploadField, UploadFormMixin, attachment_kind_by_type
from tickets.models import Attachment, Ticket


def target_value(unit: Unit) -> str:
    return f"unit:{unit.pk}"


def loss_report_subject(unit: Unit) -> str:
    name = f"{unit.product} {unit.serial_number}"
    if unit.status == Unit.Status.STOLEN:
        return (_("Theft of %(unit)s") % {"unit": name})[:150]
    return (_("Loss of %(unit)s") % {"unit": name})[:150]


def _target_choices(units, products):
    units = [
        (
            target_value(unit),
            f"{unit.product} · {unit.serial_number}"
            + (f" ({unit.get_status_display()})" if unit.is_lost_or_stolen else ""),
        )
        for unit in units
    ]
    services = [(f"product:{p.pk}", p.name) for p in products if not p.has_serial_number]
    choices = [("", _("Choose…"))]
    if units:
        choices.append((_("Your units"), units))
    if services:
        choices.append((_("Services"), services))
    return choices


class TicketCreateForm(UploadFormMixin, forms.Form):
    upload_fields = UPLOAD_FIELDS

    target = forms.ChoiceField(
        label=_("Product concerned"),
        help_text=_(
            "The unit by its serial number, or the Databank. Register a unit under “My units” "
            "if it is missing."
        ),
    )
    kind = forms.ChoiceField(
        label=_("Type of request"),
        choices=Ticket.Kind.choices,
        initial=Ticket.Kind.PROBLEM,
        # The page hides the diagnostic fields, which a loss report does not need.
        widget=forms.Select(attrs={"data-loss-value": Ticket.Kind.LOSS_REPORT}),
    )
    language = forms.ChoiceField(
        label=_("Language of the support"),
        choices=settings.TICKET_LANGUAGES,
        help_text=_("Support is given in Italian and English only."),
    )
    subject = forms.CharField(
        label=_("Subject"), max_length=150, help_text=_("A short title for the problem.")
    )
    vehicle_description = forms.CharField(
        label=_("Vehicle"),
        max_length=200,
        required=False,
        help_text=_("Make, model, engine and year, e.g. “Fiat Punto 1.3 Multijet 2012”."),
    )
    vehicle_identification = forms.CharField(
        label=_("Vehicle identification"),
        max_length=100,
        required=False,
        help_text=_("VIN (chassis number) or registration plate."),
    )
    ecu_description = forms.CharField(
        label=_("ECU"),
        max_length=200,
        required=False,
        help_text=_("Manufacturer and model of the control unit, e.g. “Bosch EDC17C49”."),
    )
    ecu_identification = forms.CharField(
        label=_("ECU identification"),
        max_length=100,
        required=False,
        help_text=_("Hardware and software numbers printed on the ECU label."),
    )
    software_version = forms.CharField(
        label=_("Software version in use"),
        max_length=40,
        required=False,
        help_text=_("As shown in the tool's software, e.g. “2.41”."),
    )
    description = forms.CharField(
        label=_("Description of the problem"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Brief but detailed: what happened, at which step, how often."),
    )
    error_message = forms.CharField(
        label=_("Text of the error message"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Required if you cannot attach a screenshot of the error."),
    )
    operations = forms.CharField(
        label=_("Operations performed"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_(
            "A detailed list of the steps taken before the problem, and of what you tried "
            "to solve it."
        ),
    )
    screenshots = UploadField(
        label=_("Screenshot of the error"),
        images_only=True,
        help_text=_("PNG or JPEG. The quickest way for us to see the problem."),
    )
    ecu_photos = UploadField(
        label=_("Photos of the ECU"), images_only=True, help_text=_("Where relevant.")
    )
    connection_photos = UploadField(
        label=_("Photos of the connections"), images_only=True, help_text=_("Where relevant.")
    )
    log_files = UploadField(
        label=_("Tool LOG file"), help_text=_("Where relevant: .log, .txt or .zip.")
    )
    other_files = UploadField(label=_("Other files"), help_text=_("PDF, ZIP, text or images."))
    confirm_new_problem = forms.BooleanField(
        label=_("This is a new problem, not one of the open tickets listed above."),
        required=False,
    )
    accept_terms = forms.BooleanField(
        label=_("I have read and accept the terms of the technical support service."),
        error_messages={"required": _("You must accept the terms to submit a ticket.")},
    )
    terms_version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("The terms have changed: read and accept the current version."),
            "invalid": _("The terms have changed: read and accept the current version."),
        },
    )

    def __init__(self, *args, customer: Customer, terms_version=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.products = list(Product.objects.filter(is_active=True).order_by("position"))
        self.units = list(
            customer.units.select_related("product").order_by("product__position", "serial_number")
        )
        self.fields["target"].choices = _target_choices(self.units, self.products)
        self.fields["language"].initial = (
            customer.language if customer.language in ("it", "en") else "en"
        )
        if terms_version is not None:
            self.fields["terms_version"].initial = terms_version.pk
        self.init_staged(customer.user)
        unit = self.chosen_unit()
        if unit is not None and unit.is_lost_or_stolen:
            # The unit accepts only the report of its loss or theft, whose circumstances the
            # customer has just given: the form is that report, filled in, asking nothing twice.
            description = self.fields["description"]
            description.label = _("Circumstances of the loss or theft")
            description.help_text = _(
                "As you gave them when you reported the unit: add anything we should know."
            )
            if not self.is_bound:
                self.initial.setdefault("kind", Ticket.Kind.LOSS_REPORT)
                self.initial.setdefault("subject", loss_report_subject(unit))
                self.initial.setdefault("description", unit.loss_details)

    def clean_target(self):
        value = self.cleaned_data["target"]
        kind, _sep, pk = value.partition(":")
        if not pk.isdigit():
            raise ValidationError(_("Choose the product concerned."))
        if kind == "unit":
            # The customer's units, read for the choices a moment ago.
            unit = next((unit for unit in self.units if unit.pk == int(pk)), None)
            if unit is None:
                raise ValidationError(_("Choose one of your units."))
            return unit.product, unit
        product = next((p for p in self.products if p.pk == int(pk)), None)
        if product is None or product.has_serial_number:
            raise ValidationError(_("Choose the product concerned."))
        return product, None

    @property
    def unit(self):
        target = getattr(self, "cleaned_data", {}).get("target")
        return target[1] if target else None

    def chosen_unit(self) -> Unit | None:
        """The customer's unit chosen in the form, as sent or as pre-selected, or None."""
        value = str(self["target"].value() or "")
        return next((unit for unit in self.units if target_value(unit) == value), None)

    def software_warning(self):
        """The product's latest version when the one given is older, for the form to show."""
        data = getattr(self, "cleaned_data", {})
        target, version = data.get("target"), data.get("software_version")
        if target and version and target[0].is_version_outdated(version):
            return target[0].latest_version
        return None


class TicketReplyForm(UploadFormMixin, forms.Form):
    upload_fields = {"files": Attachment.Kind.DOCUMENT}

    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    files = UploadField(label=_("Attach files"), help_text=_("Screenshots, photos, LOG files."))
    # tickets.collisions.seen_token of the page; a post without one (an old page) is not checked.
    seen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=80)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.init_staged(user)

    def clean_seen(self) -> str | None:
        return self.cleaned_data["seen"] or None

    def upload_kind(self, field, clean):
        # A reply has one field for every file: say what each one is, not what it might show.
        return attachment_kind_by_type(clean)
