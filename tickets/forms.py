"""What every room's forms share: upload fields, kept files, and one way to say no.

A ticket service says no in three ways: the service calendar is closed (ServiceClosedError: the
page shows the reason and the next opening), the user may not do this (PermissionDenied: the
account is suspended, the ticket is not theirs), or the data is wrong (ValidationError, per field).
`refusals_shown` turns each into what the user sees, the same way on the portal and in the admin.
"""

import hashlib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from core.forms import form_errors_add
from schedule.gate import ServiceClosedError, ServiceStatus
from tickets.models import Attachment
from tickets.selectors import attachment_list_staged
from tickets.uploads import (
    ALLOWED_SUFFIXES,
    IMAGE_FORMATS,
    CleanFile,
    check_upload_size,
    clean_upload,
)


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

FORM_TOKEN = re.compile(r"[0-9a-f]{32}")


def attachment_kind_by_type(clean: CleanFile) -> str:
    """The kind of a file added to a message, which no field names: image, LOG or document."""
    if clean.content_type.startswith("image/"):
        return Attachment.Kind.IMAGE
    if clean.content_type == "text/plain" and "log" in clean.original_name.lower():
        return Attachment.Kind.LOG
    return Attachment.Kind.DOCUMENT


def _digest(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _stored_digest(attachment: Attachment) -> str | None:
    try:
        with attachment.file.open("rb") as stored:
            return _digest(stored.chunks())
    except OSError:
        # Gone (swept): it matches nothing, and the service says it is no longer there.
        return None


class UploadFormMixin:
    """Shared by the forms that carry files: counting, and the files to keep on a retry.

    The number of files and their sizes are checked on the raw uploads before any file is read:
    when either is refused, no file of the batch is decoded, and `uploads_refused` tells the
    view that none may be kept for the retry.

    Each form carries a token of its own (a hidden field, new each time the page is opened):
    the files kept for its retry are stored under it, and only the same form offers them again.
    A file chosen again that the form already keeps is not sent twice: the kept one is ticked.
    """

    uploads_refused = False

    def init_staged(self, user):
        self.form_token = self._form_token()
        self.fields["form_token"] = forms.CharField(
            widget=forms.HiddenInput, required=False, initial=self.form_token
        )
        self.fields["staged"] = StagedFilesField(
            queryset=attachment_list_staged(user=user, form_token=self.form_token),
            required=False,
            label=_("Files already uploaded"),
            help_text=_("Kept from your previous attempt. Untick a file to leave it out."),
        )

    def _form_token(self) -> str:
        key = self.add_prefix("form_token")
        sent = self.data.get(key, "") if self.is_bound else self.initial.get("form_token", "")
        if isinstance(sent, str) and FORM_TOKEN.fullmatch(sent):
            return sent
        token = uuid.uuid4().hex
        if self.is_bound:
            # A form sent without its token (an old page) starts afresh, with nothing kept.
            self.data = self.data.copy()
            self.data[key] = token
        return token

    def upload_kind(self, field: str, clean: CleanFile) -> str:
        """The kind a file sent in `field` is stored as."""
        return self.upload_fields[field]

    def full_clean(self):
        self._sorted_uploads = None
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

    def _sort_uploads(self) -> tuple[list, list[Attachment]]:
        """This attempt's new files, and the kept files it sends (ticked, or chosen again)."""
        if getattr(self, "_sorted_uploads", None) is not None:
            return self._sorted_uploads
        data = getattr(self, "cleaned_data", {})
        staged = list(data.get("staged") or [])
        uploaded = any(data.get(field) for field in self.upload_fields)
        # A copy: the field's own queryset is read again when the form is shown. Only new files
        # are compared with the kept ones: without any, they need not be read.
        kept = (
            list(self.fields["staged"].queryset.all())
            if uploaded and "staged" in self.fields
            else []
        )
        stored: dict[int, str | None] = {}
        seen: set[tuple[str, int, str]] = set()
        new: list = []
        for field in self.upload_fields:
            for clean in data.get(field, []):
                # The same file as the same kind is a duplicate; the same photo given as the
                # ECU's and as the connections' is the customer's choice.
                kind = self.upload_kind(field, clean)
                key = (kind, clean.size, _digest(clean.content.chunks()))
                if key in seen:
                    continue
                seen.add(key)
                twin = None
                for attachment in kept:
                    if (attachment.kind, attachment.size) != key[:2]:
                        continue
                    if attachment.pk not in stored:
                        stored[attachment.pk] = _stored_digest(attachment)
                    if stored[attachment.pk] == key[2]:
                        twin = attachment
                        break
                if twin is None:
                    new.append((kind, clean))
                elif twin not in staged:
                    staged.append(twin)
        self._sorted_uploads = (new, staged)
        return self._sorted_uploads

    def new_files(self):
        """(kind, clean file) pairs from the fields that passed validation, each file once."""
        return list(self._sort_uploads()[0])

    def staged_files(self):
        """The kept files this attempt sends: those ticked, and those chosen again."""
        return list(self._sort_uploads()[1])


@dataclass
class Refusal:
    """How a service call went: `refused` if it said no, and in which way."""

    refused: bool = False
    # The calendar is closed: the page shows why, and when the service opens again.
    closed: ServiceStatus | None = None
    # The user may not (suspended, not theirs): keep none of the files just sent.
    denied: bool = False
    # What to tell the user, when there is no form to put it on.
    messages: list[str] = dataclass_field(default_factory=list)


@contextmanager
def refusals_shown(form=None, *, field_map: dict[str, str] | None = None) -> Iterator[Refusal]:
    """Run a service call; turn its refusal into the form's errors (or `messages`), not a 500."""
    refusal = Refusal()
    try:
        yield refusal
    except ServiceClosedError as exc:
        refusal.refused, refusal.closed = True, exc.status
        refusal.messages.append(str(exc))
    except PermissionDenied as exc:
        refusal.refused, refusal.denied = True, True
        refusal.messages.append(str(exc))
        if form is not None:
            form.add_error(None, str(exc))
    except ValidationError as exc:
        refusal.refused = True
        refusal.messages.extend(exc.messages)
        if form is not None:
            form_errors_add(form, exc, field_map=field_map)
