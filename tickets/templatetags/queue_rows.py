"""The operators' queue rows, written in one pass: `{% queue_result_list cl %}`.

Django's `result_list` builds each of the 450 cells of a queue page through `items_for_result`
(a field look-up, a display function and a `format_html` a cell), which cost more than the rest
of the page. This tag gives `change_list_results.html` the same context, each row written as one
string from the same values (the admin's display methods, `display_for_field`): the markup is
Django's, cell for cell (tests/tickets/test_queue_rows.py compares the two). Columns it does not
know how to write (relations, properties) send the page back to Django's own rows.
"""

from html import escape

from django.contrib.admin.templatetags.admin_list import (
    result_headers,
    result_hidden_fields,
    results,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import display_for_field, quote
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import EMPTY_VALUES
from django.db import models
from django.template import Library
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = Library()

# Stands for the primary key in the change link, reversed once a page.
_PK = "pk-987654321"


def _columns(cl) -> list[tuple] | None:
    """How to write each column: (css class, link?, model field or display method), or None."""
    links = cl.list_display_links or ()
    columns = []
    for name in cl.list_display:
        if not isinstance(name, str):
            return None
        try:
            field = cl.opts.get_field(name)
        except FieldDoesNotExist:
            method = getattr(cl.model_admin, name, None)
            if not callable(method) or getattr(method, "boolean", False):
                return None
            empty = getattr(method, "empty_value_display", None)
            columns.append((f"field-{name}", name in links, None, method, empty))
            continue
        if field.is_relation or field.choices or isinstance(field, models.BooleanField):
            return None
        css = f"field-{name}"
        if isinstance(field, (models.DateField, models.TimeField)):
            css += " nowrap"
        columns.append((css, name in links, field, None, None))
    return columns


def _shown(value, empty) -> str:
    """What `display_for_value` and `format_html` make of a display method's value."""
    if isinstance(value, str) and value.strip() == "":
        value = ""
    if value in EMPTY_VALUES:
        return conditional_escape(empty)
    return conditional_escape(value if isinstance(value, str) else str(value))


def queue_rows(cl, columns) -> list[list[str]]:
    """Each object of the page as the cells of one `<tr>`, in one string."""
    admin = cl.model_admin
    empty = admin.get_empty_value_display()
    link = add_preserved_filters(
        {"preserved_filters": cl.preserved_filters, "opts": cl.opts},
        reverse(
            f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
            args=(_PK,),
            current_app=admin.admin_site.name,
        ),
    )
    before, after = escape(link).split(_PK, 1)
    rows = []
    for obj in cl.result_list:
        cells = []
        first = True
        for css, is_link, field, method, own_empty in columns:
            if field is not None:
                value = getattr(obj, field.attname)
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                shown = conditional_escape(display_for_field(value, field, empty))
            else:
                shown = _shown(method(obj), empty if own_empty is None else own_empty)
            if is_link:
                tag = "th" if first else "td"
                first = False
                href = f"{before}{escape(str(quote(obj.pk)))}{after}"
                cells.append(f'<{tag} class="{css}"><a href="{href}">{shown}</a></{tag}>')
            else:
                cells.append(f'<td class="{css}">{shown}</td>')
        rows.append([mark_safe("".join(cells))])  # noqa: S308 - every value escaped above
    return rows


def queue_result_list(cl) -> dict:
    """`result_list`'s context, its rows from `queue_rows` when it can write every column."""
    headers = list(result_headers(cl))
    columns = _columns(cl)
    fast = columns is not None and not cl.formset and not cl.is_popup
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": queue_rows(cl, columns) if fast else list(results(cl)),
    }


@register.tag(name="queue_result_list")
def queue_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=queue_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
