from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Unit
from products.models import Product
from tickets.models import Attachment, Ticket
from tickets.selectors import attachment_list_staged
from tickets.uploads import ALLOWED_SUFFIXES, IMAGE_FORMATS, check_upload_size, clean_upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class UploadField(forms.FileField):
    """Several files in one input; each is checked and cleaned by `tickets.uploads`."""

    def __init__(self, *args, images_only=False, **kwargs):
        self.images_only = images_only
        suffixes = sorted(IMAGE_FORMATS) if images_only else ALLOWED_SUFFIXES
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ",".join(suffixes), "multiple": True})
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned, errors = [], []
        for upload in uploads:
            super().clean(upload, initial)
            try:
                cleaned.append(clean_upload(upload, images_only=self.images_only))
            except ValidationError as exc:
                errors.extend(exc.error_list)
        if errors:
            raise ValidationError(errors)
        return cleaned


class StagedFilesField(forms.ModelMultipleChoiceField):
    """Files kept from an earlier attempt at the same form; unticking one drops it."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.original_name


UPLOAD_FIELDS = {
    "screenshots": Attachment.Kind.SCREENSHOT,
    "ecu_photos": Attachment.Kind.ECU_PHOTO,
    "connection_photos": Attachment.Kind.CONNECTION_PHOTO,
    "log_files": Attachment.Kind.LOG,
    "other_files": Attachment.Kind.OTHER,
}


class UploadFormMixin:
    """Shared by the forms that carry files: counting, and the files to keep on a retry.

    The number of files and their sizes are checked on the raw uploads before any file is read:
    when either is refused, no file of the batch is decoded, and `uploads_refused` tells the
    view that none may be kept for the retry.
    """

    uploads_refused = False

    def init_staged(self, user):
        self.fields["staged"] = StagedFilesField(
            queryset=attachment_list_staged(user=user),
            required=False,
            label=_("Files already uploaded"),
            help_text=_("Kept from your previous attempt. Untick a file to leave it out."),
        )

    def full_clean(self):
        refusals = self._uploads_precheck() if self.is_bound else []
        if refusals:
            self.uploads_refused = True
            self.files = MultiValueDict(
                {k: v for k, v in self.files.lists() if k not in self._upload_keys()}
            )
        super().full_clean()
        for field, error in refusals:
            self.add_error(field, error)

    def _upload_keys(self) -> set[str]:
        return {self.add_prefix(field) for field in self.upload_fields}

    def _raw_value(self, field: str):
        widget = self.fields[field].widget
        return widget.value_from_datadict(self.data, self.files, self.add_prefix(field))

    def _uploads_precheck(self) -> list[tuple[str | None, ValidationError]]:
        refusals: list[tuple[str | None, ValidationError]] = []
        count = 0
        for field in self.upload_fields:
            uploads = self._raw_value(field) or []
            if not isinstance(uploads, list | tuple):
                uploads = [uploads]
            count += len(uploads)
            for upload in uploads:
                try:
                    check_upload_size(upload)
                except ValidationError as exc:
                    refusals.append((field, exc))
        count += len(set(self._raw_value("staged") or []))
        if count > settings.ATTACHMENT_MAX_COUNT:
            refusals.append(
                (
                    None,
                    ValidationError(
                        _("Too many files: at most %(limit)s per message."),
                        params={"limit": settings.ATTACHMENT_MAX_COUNT},
                        code="too_many",
                    ),
                )
            )
        return refusals

    def new_files(self):
        """(kind, clean file) pairs from the fields that passed validation."""
        data = getattr(self, "cleaned_data", {})
        pairs = []
        for field, kind in self.upload_fields.items():
            pairs.extend((kind, clean) for clean in data.get(field, []))
        return pairs

    def staged_files(self):
        return list(getattr(self, "cleaned_data", {}).get("staged") or [])


def _target_choices(customer: Customer, products):
    units = [
        (
            f"unit:{unit.pk}",
            f"{unit.product} · {unit.serial_number}"
            + (f" ({unit.get_status_display()})" if unit.is_lost_or_stolen else ""),
        )
        for unit in customer.units.select_related("product").order_by(
            "product__position", "serial_number"
        )
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
        self.fields["target"].choices = _target_choices(customer, self.products)
        self.fields["language"].initial = (
            customer.language if customer.language in ("it", "en") else "en"
        )
        if terms_version is not None:
            self.fields["terms_version"].initial = terms_version.pk
        self.init_staged(customer.user)

    def clean_target(self):
        value = self.cleaned_data["target"]
        kind, _sep, pk = value.partition(":")
        if not pk.isdigit():
            raise ValidationError(_("Choose the product concerned."))
        if kind == "unit":
            try:
                unit = self.customer.units.select_related("product").get(pk=int(pk))
            except Unit.DoesNotExist as exc:
                raise ValidationError(_("Choose one of your units.")) from exc
            return unit.product, unit
        product = next((p for p in self.products if p.pk == int(pk)), None)
        if product is None or product.has_serial_number:
            raise ValidationError(_("Choose the product concerned."))
        return product, None

    @property
    def unit(self):
        target = getattr(self, "cleaned_data", {}).get("target")
        return target[1] if target else None

    def software_warning(self):
        """The product's latest version when the one given is older, for the form to show."""
        data = getattr(self, "cleaned_data", {})
        target, version = data.get("target"), data.get("software_version")
        if target and version and target[0].is_version_outdated(version):
            return target[0].latest_version
        return None


class TicketReplyForm(UploadFormMixin, forms.Form):
    upload_fields = {"files": Attachment.Kind.OTHER}

    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    files = UploadField(label=_("Attach files"), help_text=_("Screenshots, photos, LOG files."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.init_staged(user)

    def new_files(self):
        data = getattr(self, "cleaned_data", {})
        pairs = []
        for clean in data.get("files", []):
            kind = (
                Attachment.Kind.SCREENSHOT
                if clean.content_type.startswith("image/")
                else (
                    Attachment.Kind.LOG
                    if clean.content_type == "text/plain"
                    else Attachment.Kind.OTHER
                )
            )
            pairs.append((kind, clean))
        return pairs


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
