"""Publishing the terms of the technical support service (terms §1).

Every ticket records the version its customer accepted (tickets.Ticket.terms_version), so a version
is evidence of what was agreed: once in force it never changes and never goes away. The rules:

- a version is published for now or for a later instant, never for the past: a back-dated version
  would say that other terms were in force when customers accepted the ones they were shown;
- no two versions take effect at the same instant, so the version in force is never ambiguous;
- a version not yet in force (so accepted by nobody) may still be corrected or withdrawn;
- the label is unique, whatever its case, and fits in the address of the terms page;
- the Italian text is the original and is required; English and French fall back to it.
"""

import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core.models import TermsVersion

# The label is one segment of the terms page's address (core.urls).
VERSION_LABEL_RE = re.compile(r"^[\w.-]+$")
VERSION_LABEL_MAX = TermsVersion._meta.get_field("version").max_length


def _when(instant: datetime) -> str:
    return formats.date_format(timezone.localtime(instant), "DATETIME_FORMAT")


def terms_version_check(
    *,
    version: str,
    text_it: str,
    effective_from: datetime | None = None,
    terms_version: TermsVersion | None = None,
    at: datetime | None = None,
) -> str:
    """Check a version about to be published or corrected; return its label, normalised."""
    at = at or timezone.now()
    effective_from = effective_from or at
    errors: dict[str, list[str]] = {}
    label = (version or "").strip()
    others = TermsVersion.objects.all()
    if terms_version is not None and terms_version.pk is not None:
        others = others.exclude(pk=terms_version.pk)
    if not label:
        errors["version"] = [_("Give the version a label, for example 2025-06.")]
    elif len(label) > VERSION_LABEL_MAX or not VERSION_LABEL_RE.match(label):
        errors["version"] = [
            _(
                "Use at most %(max)s letters, digits, dots, dashes and underscores: "
                "the label is part of the terms page's address."
            )
            % {"max": VERSION_LABEL_MAX}
        ]
    elif others.filter(version__iexact=label).exists():
        errors["version"] = [_("Version %(version)s already exists.") % {"version": label}]
    if not (text_it or "").strip():
        errors["text_it"] = [_("The Italian text is the original: it is required.")]
    if effective_from < at:
        errors["effective_from"] = [
            _(
                "A version cannot take effect in the past: customers accepted the terms that "
                "were in force then. Leave the date empty to publish now."
            )
        ]
    else:
        same_start = others.filter(effective_from=effective_from).first()
        if same_start is not None:
            errors["effective_from"] = [
                _("Version %(version)s already takes effect at %(when)s.")
                % {"version": same_start.version, "when": _when(effective_from)}
            ]
    if errors:
        raise ValidationError(errors)
    return label


def _check_still_scheduled(*, terms_version: TermsVersion, at: datetime) -> None:
    if terms_version.effective_from <= at:
        raise ValidationError(
            _(
                "Version %(version)s has been in force since %(when)s: customers may have "
                "accepted it, so it can no longer change. Publish a new version instead."
            )
            % {"version": terms_version.version, "when": _when(terms_version.effective_from)}
        )


def _save(*, terms_version: TermsVersion, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            terms_version.save(update_fields=update_fields)
    except IntegrityError as exc:  # the same label published at the same moment
        message = _("Version %(version)s already exists.") % {"version": terms_version.version}
        raise ValidationError({"version": [message]}) from exc


def terms_version_publish(
    *,
    version: str,
    text_it: str,
    text_en: str = "",
    text_fr: str = "",
    effective_from: datetime | None = None,
    created_by=None,
    at: datetime | None = None,
) -> TermsVersion:
    """Publish a new version of the terms, in force from effective_from (now when omitted)."""
    at = at or timezone.now()
    effective_from = effective_from or at
    label = terms_version_check(
        version=version, text_it=text_it, effective_from=effective_from, at=at
    )
    terms_version = TermsVersion(
        version=label,
        effective_from=effective_from,
        text_it=text_it.strip(),
        text_en=(text_en or "").strip(),
        text_fr=(text_fr or "").strip(),
        created_by=created_by,
    )
    terms_version.full_clean(exclude=["created_by"], validate_unique=False)
    _save(terms_version=terms_version)
    return terms_version


def terms_version_correct(
    *,
    terms_version: TermsVersion,
    version: str,
    text_it: str,
    text_en: str = "",
    text_fr: str = "",
    effective_from: datetime | None = None,
    at: datetime | None = None,
) -> TermsVersion:
    """Correct a version that is not in force yet; one in force or past never changes."""
    at = at or timezone.now()
    effective_from = effective_from or at
    with transaction.atomic():
        # Read the stored start under a lock: the one in the caller's hands may be edited.
        stored = TermsVersion.objects.select_for_update().get(pk=terms_version.pk)
        _check_still_scheduled(terms_version=stored, at=at)
        label = terms_version_check(
            version=version,
            text_it=text_it,
            effective_from=effective_from,
            terms_version=stored,
            at=at,
        )
        terms_version.version = label
        terms_version.effective_from = effective_from
        terms_version.text_it = text_it.strip()
        terms_version.text_en = (text_en or "").strip()
        terms_version.text_fr = (text_fr or "").strip()
        terms_version.full_clean(exclude=["created_by"], validate_unique=False)
        _save(
            terms_version=terms_version,
            update_fields=[
                "version",
                "effective_from",
                "text_it",
                "text_en",
                "text_fr",
                "updated_at",
            ],
        )
    return terms_version


def terms_version_withdraw(*, terms_version: TermsVersion, at: datetime | None = None) -> None:
    """Withdraw a version that is not in force yet (nobody can have accepted it)."""
    at = at or timezone.now()
    with transaction.atomic():
        stored = TermsVersion.objects.select_for_update().get(pk=terms_version.pk)
        _check_still_scheduled(terms_version=stored, at=at)
        stored.delete()
