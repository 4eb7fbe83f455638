"""The ticket page's read-only fieldsets, written in one pass: `{% readonly_fieldsets adminform %}`.

Every field of the admin's ticket page is read-only (changes go through the action forms), and
Django's admin/includes/fieldset.html spent more on its two dozen nested template blocks a field
than the fields' own contents cost. This tag writes the same markup from the same objects
(`AdminReadonlyField.label_tag` and `contents`), and hands a fieldset holding anything else
(an editable field, a checkbox) back to Django's template. tests/tickets/test_ticket_page_fields.py
compares the two.
"""

from django import template
from django.contrib.admin.helpers import AdminReadonlyField
from django.template.loader import render_to_string
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _field(field: AdminReadonlyField, *, multi: bool) -> str:
    name = field.field["name"]
    hidden = " hidden" if field.field["is_hidden"] else ""
    box = ""
    if multi:
        box = " fieldBox" + (f" field-{escape(name)}" if name else "") + hidden
    help_text = field.field["help_text"]
    helps = f'<div class="help{hidden}"><div>{help_text}</div></div>' if help_text else ""
    return (
        f'<div><div class="flex-container{box}">{field.label_tag()}'
        f'<div class="readonly">{conditional_escape(field.contents())}</div></div>{helps}</div>'
    )


def _fieldset(fieldset, index: int) -> str | None:
    """The fieldset's markup, or None if it holds anything but read-only fields."""
    lines = []
    for line in fieldset:
        fields = list(line)
        if not all(isinstance(field, AdminReadonlyField) for field in fields):
            return None
        multi = len(fields) != 1
        names = "".join(
            f" field-{escape(field.field['name'])}" for field in fields if field.field["name"]
        )
        hidden = "" if line.has_visible_field else " hidden"
        cells = "".join(_field(field, multi=multi) for field in fields)
        if multi:
            cells = f'<div class="flex-container form-multiline">{cells}</div>'
        lines.append(f'<div class="form-row{hidden}{names}">{cells}</div>')
    heading_id = f"fieldset-0-{index}-heading"
    head = labelled = ""
    if fieldset.name:
        labelled = f' aria-labelledby="{heading_id}"'
        name = conditional_escape(fieldset.name)
        head = f'<h2 id="{heading_id}" class="fieldset-heading">{name}</h2>'
        if fieldset.is_collapsible:
            head = f"<details><summary>{head}</summary>"
    description = (
        f'<div class="description">{fieldset.description}</div>' if fieldset.description else ""
    )
    tail = "</details>" if fieldset.name and fieldset.is_collapsible else ""
    return (
        f'<fieldset class="module aligned {conditional_escape(fieldset.classes)}"{labelled}>'
        f"{head}{description}{''.join(lines)}{tail}</fieldset>"
    )


@register.simple_tag(takes_context=True)
def readonly_fieldsets(context, adminform) -> SafeString:
    """Every fieldset of the form, as `change_form.html`'s field_sets block includes them."""
    parts = []
    for index, fieldset in enumerate(adminform):
        written = _fieldset(fieldset, index)
        if written is None:
            written = render_to_string(
                "admin/includes/fieldset.html",
                {
                    **context.flatten(),
                    "fieldset": fieldset,
                    "heading_level": 2,
                    "prefix": "fieldset",
                    "id_prefix": 0,
                    "id_suffix": index,
                },
            )
        parts.append(written)
    return mark_safe("".join(parts))  # noqa: S308 - names escaped, contents escaped by Django
