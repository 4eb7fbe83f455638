"""The terms versions in the admin, published and corrected through core.services only; the
audit trail, read-only."""

from auditlog.mixins import LogEntryAdminMixin
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_pagination import NoCountPaginationMixin
from core.forms import form_errors_add
from core.models import AuditEntry, TermsVersion
from core.services import (
    terms_version_check,
    terms_version_correct,
    terms_version_publish,
    terms_version_withdraw,
)


def adopt(obj, saved) -> None:
    """Make the admin's instance the row a service wrote, for the admin's log and redirect."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


class ServiceWriteAdminMixin:
    """Turn a service's refusal at save time into a message, with nothing saved.

    The form runs the services' checks first, so this only happens when someone else wrote in
    between; the admin's own transaction (changeform_view) rolls back the whole request.
    """

    def _refused(self, request, exc: ValidationError, *, then: str):
        self.message_user(
            request,
            gettext("Nothing was saved: %(reason)s") % {"reason": " ".join(exc.messages)},
            messages.ERROR,
        )
        return HttpResponseRedirect(then)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc, then=request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            opts = self.opts
            return self._refused(
                request,
                exc,
                then=reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_changelist",
                    current_app=self.admin_site.name,
                ),
            )


class TermsVersionForm(forms.ModelForm):
    class Meta:
        model = TermsVersion
        fields = ["version", "effective_from", "text_it", "text_en", "text_fr"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "effective_from" in self.fields:
            field = self.fields["effective_from"]
            field.required = False
            field.help_text = _(
                "Leave empty to publish now. A version never takes effect in the past, and once "
                "in force it can no longer change."
            )

    def clean(self):
        cleaned = super().clean()
        # A field that failed its own validation has been reported already.
        if not {"version", "text_it", "effective_from"} & set(self.errors):
            try:
                cleaned["version"] = terms_version_check(
                    version=cleaned.get("version", ""),
                    text_it=cleaned.get("text_it", ""),
                    effective_from=cleaned.get("effective_from"),
                    terms_version=self.instance if self.instance.pk else None,
                )
            except ValidationError as exc:
                form_errors_add(self, exc)
        return cleaned


@admin.register(TermsVersion)
class TermsVersionAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    """Versions in force or past are shown read-only: customers accepted them."""

    form = TermsVersionForm
    list_display = ["version", "effective_from", "created_by", "created_at"]
    list_select_related = ["created_by"]
    search_fields = ["version"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    @staticmethod
    def _is_scheduled(obj) -> bool:
        return obj.effective_from > timezone.now()

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self._is_scheduled(obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self._is_scheduled(obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The bulk delete would skip the withdrawal's rule; withdraw from each version's page.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data.get(name)
            for name in ("version", "effective_from", "text_it", "text_en", "text_fr")
        }
        if change:
            terms_version_correct(terms_version=obj, **data)
        else:
            adopt(obj, terms_version_publish(**data, created_by=request.user))

    def delete_model(self, request, obj):
        terms_version_withdraw(terms_version=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            terms_version_withdraw(terms_version=obj)


# The audit trail ----------------------------------------------------------------------------------

# auditlog's own admin lists every content type in its filter (a DISTINCT over the whole log)
# and lets a superuser reach its delete page: the trail is shown once, through AuditEntryAdmin.
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)


class AuditActorFilter(admin.SimpleListFilter):
    """Filter by the staff member who acted (customers never change what is audited)."""

    title = _("who")
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("username")
        return [(str(pk), username) for pk, username in staff.values_list("pk", "username")]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset


class AuditObjectTypeFilter(admin.SimpleListFilter):
    """Filter by the kind of object: the audited models, named without reading the log."""

    title = _("kind of object")
    parameter_name = "content_type"

    def lookups(self, request, model_admin):
        models = [*auditlog.get_models(), get_user_model()]
        types = ContentType.objects.get_for_models(*models)
        choices = [(str(types[model].pk), str(model._meta.verbose_name)) for model in models]
        return sorted(choices, key=lambda choice: choice[1].lower())

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(content_type_id=int(value))
        return queryset


CHANGES_SHOWN = 240


# auditlog names its actions in English only; the trail speaks the reader's language.
ACTION_LABELS = {
    LogEntry.Action.CREATE: _("created"),
    LogEntry.Action.UPDATE: _("changed"),
    LogEntry.Action.DELETE: _("deleted"),
    LogEntry.Action.ACCESS: _("read"),
}


class AuditActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action__exact"

    def lookups(self, request, model_admin):
        return [(str(value), label) for value, label in ACTION_LABELS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(action=int(value))
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(NoCountPaginationMixin, LogEntryAdminMixin, admin.ModelAdmin):
    """Who changed what, when, from which address: readable by managers, editable by nobody."""

    list_display = ["created", "who", "action_label", "resource", "changes_short", "address"]
    list_filter = [
        AuditActorFilter,
        AuditObjectTypeFilter,
        AuditActionFilter,
        ("timestamp", admin.DateFieldListFilter),
    ]
    list_select_related = ["content_type", "actor"]
    # Counts beside the filters would count the whole trail, and "show all" would load it.
    show_facets = admin.ShowFacets.NEVER
    list_max_show_all = 0
    search_fields = ["=object_pk"]
    search_help_text = _("The object's identifier, as in the address of its page in the admin.")
    fieldsets = [
        (None, {"fields": ["created", "who", "address", "resource"]}),
        (_("Changes"), {"fields": ["action_label", "msg", "additional_data"]}),
    ]
    readonly_fields = ["created", "who", "address", "resource", "action_label", "msg"]
    readonly_fields += ["additional_data"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}

    def get_queryset(self, request):
        self.request = request
        return super().get_queryset(request)

    @admin.display(description=_("who"), ordering="actor__username")
    def who(self, obj):
        if obj.actor_id:
            return obj.actor.get_username()
        return obj.actor_email or gettext("the system")

    @admin.display(description=_("when"), ordering="timestamp")
    def created(self, obj):
        return super().created(obj)

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj):
        return ACTION_LABELS.get(obj.action, obj.action)

    @admin.display(description=_("from the address"))
    def address(self, obj):
        return obj.remote_addr or "-"

    @admin.display(description=_("object"))
    def resource(self, obj):
        return f"{obj.content_type.name} · {obj.object_repr}"

    @admin.display(description=_("changes"))
    def changes_short(self, obj):
        changes = obj.changes_display_dict
        text = "; ".join(
            f"{field}: {' → '.join(str(value) for value in values)}"
            if isinstance(values, list | tuple)
            else f"{field}: {values}"
            for field, values in changes.items()
        )
        # The whole of a long text (the terms) is on the entry's own page.
        return text if len(text) <= CHANGES_SHOWN else f"{text[: CHANGES_SHOWN - 1]}…"
