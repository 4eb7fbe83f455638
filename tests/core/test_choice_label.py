"""choice_label() says what get_FOO_display() says, in every language, for every value."""

import pytest
from django.utils import translation

from tickets.models import Attachment, Ticket, TicketEvent


@pytest.mark.parametrize("language", ["it", "en", "fr"])
@pytest.mark.parametrize(
    ("model", "field", "label"),
    [
        (Ticket, "status", "status_label"),
        (Ticket, "kind", "kind_label"),
        (TicketEvent, "kind", "kind_label"),
        (Attachment, "kind", "kind_label"),
    ],
)
def test_the_label_is_get_display_s(language, model, field, label):
    values = [value for value, _ in model._meta.get_field(field).choices] + ["retired"]
    with translation.override(language):
        for value in values:
            row = model(**{field: value})
            display = getattr(row, f"get_{field}_display")()
            assert getattr(row, label) == display, (value, display)
            assert isinstance(getattr(row, label), str)
