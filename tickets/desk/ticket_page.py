"""The page a ticket is worked from: its details, timeline and e-mails, and the operator's actions.

Each action is a small form posted to the ticket's change page and handed to one ticket service;
a refusal comes back as the form's errors, with the operator's text kept. Each form carries the
marker of what the page showed (tickets.collisions): a post made against a ticket that changed
since is refused, and the page comes back with the changes listed beside the form, the text kept
and the marker renewed, so that sending it again confirms. The page also says which other
operators have it open (tickets.desk.presence, kept live by tickets/presence.js).
"""

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.dates import datetime_short
from tickets.collisions import CHANGED_CODE, changes_since, seen_token_of_page
from tickets.desk.forms import (
    KEEP_STATUS,
    CloseForm,
    DuplicateForm,
    StaffReplyForm,
    StatusChangeForm,
)
from tickets.desk.presence import (
    PRESENCE_PING,
    presence_visit_new,
    ticket_presence_leave,
    ticket_presence_record,
)
from tickets.forms import refusals_shown
from tickets.models import CannedAnswer, CannedAnswerUse, Ticket
from tickets.selectors import ticket_timeline
from tickets.services import (
    ticket_close,
    ticket_mark_duplicate,
    ticket_reply_staff,
    ticket_status_change,
    ticket_take,
)


def staff_name(user) -> str:
    """Name a member of staff as colleagues know them: the full name, else the log-in name."""
    return user.get_full_name() or user.get_username()


# The ticket page's actions: name → (form class, what to do with the cleaned form).
def _do_reply(request, ticket, form):
    status = form.cleaned_data.get("new_status")
    event = ticket_reply_staff(
        ticket=ticket,
        operator=request.user,
        body=form.cleaned_data["body"],
        is_public=form.is_public,
        new_status=None if status == KEEP_STATUS else status,
        files=form.new_files() if form.is_public else (),
        seen=form.cleaned_data["seen"],
    )
    if form.cleaned_data.get("canned"):
        CannedAnswerUse.objects.create(
            answer=form.cleaned_data["canned"], event=event, used_by=request.user
        )
    if form.is_public:
        return gettext("Your reply has been added to ticket #%(number)s.")
    return gettext("Your internal note has been added to ticket #%(number)s.")


def _do_status(request, ticket, form):
    ticket_status_change(
        ticket=ticket,
        operator=request.user,
        status=form.cleaned_data["status"],
        seen=form.cleaned_data["seen"],
    )
    return gettext("The status of ticket #%(number)s has been changed.")


def _do_duplicate(request, ticket, form):
    ticket_mark_duplicate(
        ticket=ticket,
        original=form.cleaned_data["original"],
        operator=request.user,
        seen=form.cleaned_data["seen"],
    )
    return gettext("Ticket #%(number)s is closed as a duplicate.")


def _do_close(request, ticket, form):
    ticket_close(
        ticket=ticket,
        user=request.user,
        body=form.cleaned_data["body"],
        seen=form.cleaned_data["seen"],
    )
    return gettext("Ticket #%(number)s is closed.")


def _do_take(request, ticket, form):
    ticket_take(ticket=ticket, operator=request.user)
    return gettext("You have taken ticket #%(number)s in charge.")


TICKET_ACTIONS = {
    "reply": (StaffReplyForm, _do_reply),
    "status": (StatusChangeForm, _do_status),
    "duplicate": (DuplicateForm, _do_duplicate),
    "close": (CloseForm, _do_close),
    "take": (forms.Form, _do_take),
}
ACTION_FIELD = "_ticket_action"
# The forms whose text must survive a refusal, even when the ticket was closed meanwhile.
TEXT_FIELDS = {"reply": "body", "close": "body"}


class TicketPageMixin:
    """The ticket's change page as operators use it: read-only details and action forms."""

    @admin.display(description=_("waiting (service time)"))
    def waiting_detail(self, obj):
        return self.waiting(obj)

    @admin.display(description=_("service target"))
    def due_detail(self, obj):
        if not obj.is_open:
            return "—"
        badge = self.due(obj)
        if obj.due_at is None:
            return badge
        return format_html(
            "{} {}",
            badge,
            gettext("%(target)s due at %(due)s")
            % {"target": Ticket.Target(obj.due_target).label, "due": datetime_short(obj.due_at)},
        )

    @admin.display(description=_("operator"))
    def operator_detail(self, obj):
        if obj.assigned_to is None:
            return gettext("nobody yet")
        return staff_name(obj.assigned_to)

    @admin.display(description=_("customer"))
    def customer_detail(self, obj):
        customer = obj.customer
        url = reverse("admin:customers_customer_change", args=[customer.pk])
        shown = format_html('<a href="{}">{} · {}</a>', url, customer.code, customer.company)
        if obj.opened_by_id and obj.opened_by_id != customer.user_id:
            # Opened by a member of the workshop, not by the customer code's own log-in.
            opener = obj.opened_by
            shown = format_html(
                "{} · {}",
                shown,
                gettext("opened by %(name)s (%(email)s)")
                % {"name": opener.get_full_name() or opener.username, "email": opener.email},
            )
        if customer.is_suspended:
            return format_html(
                '{} <span class="ticket-warning">{}</span>', shown, gettext("suspended")
            )
        return shown

    @admin.display(description=_("duplicates"))
    def duplicates_detail(self, obj):
        links = []
        if obj.duplicate_of_id:
            links.append(
                format_html(
                    '{} <a href="{}">#{}</a>',
                    gettext("Duplicate of"),
                    reverse("admin:tickets_ticket_change", args=[obj.duplicate_of_id]),
                    obj.duplicate_of.number,
                )
            )
        for duplicate in obj.duplicates.only("pk", "number").order_by("number"):
            links.append(
                format_html(
                    '{} <a href="{}">#{}</a>',
                    gettext("Duplicated by"),
                    reverse("admin:tickets_ticket_change", args=[duplicate.pk]),
                    duplicate.number,
                )
            )
        if not links:
            return "—"
        return format_html_join(" · ", "{}", ((link,) for link in links))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        # Whoever answers the customer sees whether the e-mails reached them (a bounce, a
        # retry); the log itself is the notifications app's, reached through its admin URLs.
        if obj is not None and request.user.has_perm("notifications.view_notification"):
            fieldsets = [*fieldsets, (_("E-mails"), {"fields": ["emails_detail"]})]
        return fieldsets

    @admin.display(description=_("e-mails about this ticket"))
    def emails_detail(self, obj):
        # One query whatever the number of e-mails: the newest rows and their updates' kinds.
        rows = list(
            obj.notifications.select_related("event").order_by("-created_at", "-pk")[
                : self.EMAILS_SHOWN + 1
            ]
        )
        log_url = reverse("admin:notifications_notification_changelist") + f"?q={obj.number}"
        if not rows:
            return gettext("No e-mail has been sent about this ticket.")
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
            '<td><span class="email-status email-status-{}">{}</span></td><td>{}</td>'
            '<td class="email-error" title="{}">{}</td></tr>',
            (
                (
                    reverse("admin:notifications_notification_change", args=[row.pk]),
                    datetime_short(row.created_at),
                    row.recipient,
                    row.event.kind_label,
                    row.status,
                    row.get_status_display(),
                    row.attempts,
                    row.last_error,
                    Truncator(row.last_error).chars(160) or "—",
                )
                for row in rows[: self.EMAILS_SHOWN]
            ),
        )
        more = (
            gettext("Only the latest %(count)d are shown.") % {"count": self.EMAILS_SHOWN}
            if len(rows) > self.EMAILS_SHOWN
            else ""
        )
        return format_html(
            '<table class="ticket-emails"><thead><tr><th scope="col">{}</th><th scope="col">{}'
            '</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>'
            '<p>{} <a href="{}">{}</a></p>',
            gettext("Created"),
            gettext("Recipient"),
            gettext("Update"),
            gettext("Status"),
            gettext("Attempts"),
            gettext("Last error"),
            body,
            more,
            log_url,
            gettext("Open these e-mails in the log"),
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<int:ticket_id>/presence/",
                self.admin_site.admin_view(self.presence_view),
                name="{}_{}_presence".format(*info),
            ),
            *super().get_urls(),
        ]

    def presence_view(self, request, ticket_id):
        return require_POST(self._presence)(request, ticket_id)

    def _presence(self, request, ticket_id):
        """Say the operator is still on the ticket (or leaves it); answer who else is there.

        The cache alone answers: a ping every half minute from every open page costs the
        database nothing but the session's own query.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        visit = request.POST.get("visit", "")[:32]
        if request.POST.get("leave"):
            ticket_presence_leave(ticket_id=ticket_id, user=request.user, visit=visit)
            return HttpResponse(status=204)
        others = ticket_presence_record(ticket_id=ticket_id, user=request.user, visit=visit)
        return render(request, "admin/tickets/ticket/_presence.html", {"others": others})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            return self._work_post(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _work_post(self, request, object_id):
        ticket = self.get_object(request, unquote(object_id))
        if ticket is None:
            raise Http404
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        name = request.POST.get(ACTION_FIELD, "")
        if name not in TICKET_ACTIONS:
            return HttpResponseBadRequest(gettext("Unknown action."))
        form_class, do = TICKET_ACTIONS[name]
        form = form_class(request.POST, request.FILES, prefix=name)
        if form.is_valid():
            with refusals_shown(form) as refusal:
                message = do(request, ticket, form)
            if not refusal.refused:
                self.message_user(request, message % {"number": ticket.number}, messages.SUCCESS)
                url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
                return HttpResponseRedirect(url + ("#timeline-end" if name == "reply" else ""))
        # Show the page again with the operator's text kept and the errors beside it.
        request.ticket_bound_forms = {name: form}
        get_request = copy.copy(request)
        get_request.method = "GET"
        response = super().change_view(get_request, object_id)
        response.status_code = 400
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._work_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _canned_answers(self, request, ticket, initial) -> dict:
        """The names to pick from, and the one picked (?canned=name) put in the reply form."""
        names = list(CannedAnswer.objects.filter(is_active=True).values_list("name", flat=True))
        picked = request.GET.get("canned", "").strip()
        if picked:
            answer = CannedAnswer.objects.filter(is_active=True, name=picked).first()
            if answer is None:
                messages.warning(
                    request, gettext("No canned answer is named “%(name)s”.") % {"name": picked}
                )
            else:
                initial["reply"] = {"body": answer.text_for(ticket), "canned": answer.pk}
        return {"canned_answers": names, "canned_picked": picked}

    def _work_context(self, request, ticket):
        bound = getattr(request, "ticket_bound_forms", {})
        initial = {"status": {"status": ticket.status}}
        canned = self._canned_answers(request, ticket, initial)
        forms = {
            name: bound.get(name) or form_class(prefix=name, initial=initial.get(name))
            for name, (form_class, _do) in TICKET_ACTIONS.items()
        }
        labels = dict(Ticket.Status.choices)
        events = list(ticket_timeline(ticket=ticket, include_internal=True))
        timeline = [
            {
                "event": event,
                "old_status": labels.get(event.old_status, ""),
                "new_status": labels.get(event.new_status, ""),
                "by_staff": bool(event.author and event.author.is_staff),
            }
            for event in events
        ]
        seen = seen_token_of_page(ticket=ticket, events=events, staff=True)
        for name, form in forms.items():
            if name in bound:
                self._stale_form_renew(form, timeline=timeline, seen=seen)
            elif "seen" in form.fields:
                form.initial["seen"] = seen
        can_work = ticket.is_open and self.has_change_permission(request, ticket)
        visit = presence_visit_new()
        return {
            "title": gettext("Ticket #%(number)s") % {"number": ticket.number},
            "ticket": ticket,
            "timeline": timeline,
            "work_forms": forms,
            "action_field": ACTION_FIELD,
            "can_work": can_work,
            "is_mine": ticket.assigned_to_id == request.user.pk,
            "waiting_display": self.waiting(ticket),
            "kept_text": self._kept_text(bound) if not can_work else "",
            "closed_changes": [] if can_work else self._changes_of(bound),
            "presence_others": ticket_presence_record(
                ticket_id=ticket.pk, user=request.user, visit=visit
            ),
            "presence_visit": visit,
            "presence_ping": PRESENCE_PING,
            **canned,
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }

    @staticmethod
    def _stale_form_renew(form, *, timeline, seen) -> None:
        """Beside a form refused for a stale page: what changed since, and the page's marker now.

        Only that refusal renews the marker: a form refused for another reason keeps the one it
        was sent with, so that a change made meanwhile is still caught when it is sent again.
        """
        sent = form.data.get(form.add_prefix("seen"), "")
        if not sent or sent == seen:
            return
        events = [entry["event"] for entry in timeline]
        new = {event.pk for event in changes_since(events=events, token=sent)}
        form.ticket_changes = [entry for entry in timeline if entry["event"].pk in new]
        form.ticket_changed = True
        if form.has_error(NON_FIELD_ERRORS, code=CHANGED_CODE):
            form.data = form.data.copy()
            form.data[form.add_prefix("seen")] = seen

    @staticmethod
    def _kept_text(bound) -> str:
        """The text of a reply or closing remark refused because the ticket closed meanwhile."""
        for name, form in bound.items():
            field = TEXT_FIELDS.get(name)
            if field:
                return form.data.get(form.add_prefix(field), "")
        return ""

    @staticmethod
    def _changes_of(bound) -> list:
        for form in bound.values():
            if getattr(form, "ticket_changed", False):
                return form.ticket_changes
        return []
