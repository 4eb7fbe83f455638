"""What every app's forms share: a service's ValidationError shown on the form it came from."""

from django.core.exceptions import ValidationError


def form_errors_add(form, exc: ValidationError, *, field_map: dict[str, str] | None = None) -> None:
    """Put a service's errors beside the fields they name (renamed by field_map), others on top."""
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        target = field_map.get(field, field)
        form.add_error(target if target in form.fields else None, errors)
