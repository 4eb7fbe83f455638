"""The customers' pages: home, their tickets, the new-ticket form, replies, remote access."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from core.models import TermsVersion
from core.selectors import terms_current
from customers.mixins import CustomerRequiredMixin
from customers.selectors import customer_access
from schedule.gate import ServiceState
from schedule.middleware import keeps_form_during_maintenance
from schedule.selectors import notice_list_active
from tickets.attachments import attachments_stage, attachments_staged_discard
from tickets.collisions import CHANGED_CODE, changes_since, seen_token_of_page
from tickets.forms import Refusal, refusals_shown
from tickets.models import Ticket, TicketEvent
from tickets.portal.forms import TicketCreateForm, TicketReplyForm, target_value
from tickets.remote.forms import RemoteAccessForm
from tickets.remote.services import (
    remote_access_current,
    remote_access_expires_at,
    remote_access_submit,
)
from tickets.satisfaction.forms import TicketRatingForm
from tickets.satisfaction.selectors import rating_get, rating_is_open, rating_open_until
from tickets.selectors import (
    ticket_get_for_user,
    ticket_list_for_user,
    ticket_open_list_by_unit,
    ticket_timeline,
)
from tickets.services import (
    ticket_close_by_customer,
    ticket_create,
    ticket_reply_customer,
)

PAGE_SIZE = 20
# The name of the new-ticket form's button that asks for the chosen unit's open tickets.
CHECK_UNIT = "check_unit"


def _keep_files_for_retry(request, form, *, keep_new: bool = True) -> None:
    """Store the files that passed validation, so the form shown again does not lose them.

    Nothing new is kept when the files were refused by number or size, when the service refused
    the customer (suspended, not theirs), or beyond the customer's quota of waiting files.
    """
    kept = [str(a.pk) for a in form.staged_files()]
    new = form.new_files()
    if new and keep_new and not form.uploads_refused:
        with refusals_shown(form):
            staged = attachments_stage(user=request.user, files=new, form_token=form.form_token)
            kept += [str(a.pk) for a in staged]
    form.data = form.data.copy()
    form.data.setlist(form.add_prefix("staged"), kept)


def _form_again(form, **kwargs):
    """The same form, unbound, showing what was sent in it (its kept files ticked)."""
    initial = {
        name: field.widget.value_from_datadict(form.data, {}, form.add_prefix(name))
        for name, field in form.fields.items()
        if name not in form.upload_fields
    }
    return type(form)(initial=initial, **kwargs)


def _service_status(request):
    return request.service_status


def _redirect_after_post(request, url: str):
    """Redirect, or tell the upload script where to go.

    The script sends forms with files through XMLHttpRequest, which would follow a redirect by
    itself and consume the flash message on the way; it asks for the address instead.
    """
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return JsonResponse({"redirect": url})
    return redirect(url)


def _timeline_for_customer(ticket):
    """The public events, with their statuses as the customer reads them, not as stored."""
    labels = dict(Ticket.Status.choices)
    events = list(ticket_timeline(ticket=ticket))
    for event in events:
        event.old_status_label = labels.get(event.old_status, event.old_status)
        event.new_status_label = labels.get(event.new_status, event.new_status)
    return events


class HomeView(View):
    def get(self, request):
        access = customer_access(request.user)
        status = _service_status(request)
        context = {"service": status, "notices": self.notices_not_in_the_status(status)}
        if access is not None:
            tickets = ticket_list_for_user(user=request.user, state="open")
            context["open_tickets"] = list(tickets[:5])
            context["recent_closed"] = list(
                ticket_list_for_user(user=request.user, state="closed")[:3]
            )
        return render(request, "tickets/home.html", context)

    @staticmethod
    def notices_not_in_the_status(status):
        """The banners, less the holiday or closure the status box already tells of today.

        Their announcement ends before the service opens again; a closure still to come after
        that opening keeps its banner.
        """
        notices = notice_list_active(at=status.at if status else None)
        if status is None or status.state not in (ServiceState.HOLIDAY, ServiceState.CLOSURE):
            return notices
        reopens = status.next_opening
        return [
            notice
            for notice in notices
            if notice.source not in ("holiday", "closure")
            or (reopens is not None and notice.publish_until > reopens)
        ]


def _first_page_or_counted(tickets, number):
    """The page asked for; the first one without counting when it holds every ticket.

    Most customers' lists fit on one page: reading one row more than a page tells whether
    there are others, and only then does the paginator count them (reusing the rows read).
    """
    if number not in (None, "", "1"):
        return Paginator(tickets, PAGE_SIZE, allow_empty_first_page=True).get_page(number)
    rows = list(tickets[: PAGE_SIZE + 1])
    if len(rows) <= PAGE_SIZE:
        return Paginator(rows, PAGE_SIZE, allow_empty_first_page=True).page(1)
    page = Paginator(tickets, PAGE_SIZE, allow_empty_first_page=True).page(1)
    page.object_list = rows[:PAGE_SIZE]
    return page


class TicketListView(CustomerRequiredMixin, View):
    def get(self, request):
        state = request.GET.get("state", "open")
        if state not in ("open", "closed", "all"):
            state = "open"
        query = request.GET.get("q", "")[:40]
        tickets = ticket_list_for_user(user=request.user, state=state, query=query)
        page = _first_page_or_counted(tickets, request.GET.get("page"))
        return render(
            request,
            "tickets/ticket_list.html",
            {"page": page, "tickets": page.object_list, "state": state, "query": query},
        )


@method_decorator(keeps_form_during_maintenance, name="dispatch")
class TicketCreateView(CustomerRequiredMixin, View):
    def get(self, request):
        terms = terms_current()
        initial = {}
        unit_pk = request.GET.get("unit", "")
        if unit_pk.isdigit():
            initial["target"] = f"unit:{unit_pk}"
        if request.GET.get("kind") == Ticket.Kind.LOSS_REPORT:
            initial["kind"] = Ticket.Kind.LOSS_REPORT
        form = TicketCreateForm(customer=self.customer, terms_version=terms, initial=initial)
        return self.render(request, form, terms)

    def post(self, request):
        terms = terms_current()
        form = TicketCreateForm(
            request.POST, request.FILES, customer=self.customer, terms_version=terms
        )
        if CHECK_UNIT in request.POST:
            # Without the script, the customer asks which tickets the unit chosen has open: the
            # form comes back as it was sent, without errors, its files kept, the list shown.
            form.is_valid()
            _keep_files_for_retry(request, form, keep_new=not self.customer.is_suspended)
            again = _form_again(form, customer=self.customer, terms_version=terms)
            return self.render(request, again, terms, unit_checked=True)
        refusal = Refusal()
        if form.is_valid():
            data = form.cleaned_data
            product, unit = data["target"]
            with refusals_shown(form, field_map={"unit": "target"}) as refusal:
                ticket = ticket_create(
                    customer=self.customer,
                    product=product,
                    unit=unit,
                    kind=data["kind"],
                    language=data["language"],
                    subject=data["subject"],
                    description=data["description"],
                    terms_version=TermsVersion.objects.filter(pk=data["terms_version"]).first()
                    or TermsVersion(pk=0),
                    vehicle_description=data["vehicle_description"],
                    vehicle_identification=data["vehicle_identification"],
                    ecu_description=data["ecu_description"],
                    ecu_identification=data["ecu_identification"],
                    software_version=data["software_version"],
                    error_message=data["error_message"],
                    operations=data["operations"],
                    files=form.new_files(),
                    staged=form.staged_files(),
                    confirmed_new_problem=data["confirm_new_problem"],
                    opened_by=request.user,
                )
            if not refusal.refused:
                attachments_staged_discard(user=request.user, form_token=form.form_token)
                messages.success(
                    request,
                    _("Ticket #%(number)s received. We will e-mail you at every update.")
                    % {"number": ticket.number},
                )
                return _redirect_after_post(
                    request, reverse("tickets:detail", args=[ticket.number])
                )
        _keep_files_for_retry(request, form, keep_new=not refusal.denied)
        if terms is not None and form.data.get("terms_version") != str(terms.pk):
            # The form shown again asks to accept the version now in force, not the stale one.
            form.data["terms_version"] = str(terms.pk)
            form.data.pop("accept_terms", None)
        return self.render(request, form, terms, closed=refusal.closed, status=400)

    def render(self, request, form, terms, closed=None, status=200, unit_checked=False):
        unit = form.chosen_unit()
        # Every unit's open tickets are in the page: the one chosen shows at once (on a form
        # opened from the unit too), and the script shows another's when the choice changes.
        open_by_unit = ticket_open_list_by_unit(user=request.user, units=form.units)
        return render(
            request,
            "tickets/ticket_form.html",
            {
                "form": form,
                "terms": terms,
                "closed": closed,
                "chosen_unit": unit,
                "open_tickets": open_by_unit.get(unit.pk, []) if unit else [],
                "open_by_unit": [
                    (target_value(each), open_by_unit[each.pk])
                    for each in form.units
                    if each.pk in open_by_unit
                ],
                # A unit reported lost or stolen accepts only that report: no choice to make.
                "fixed_unit": unit if unit is not None and unit.is_lost_or_stolen else None,
                "loss_kind_label": Ticket.Kind.LOSS_REPORT.label,
                "unit_checked": unit_checked,
                "check_unit": CHECK_UNIT,
                "software_warning": form.software_warning() if form.is_bound else None,
            },
            status=status,
        )


class TicketDetailView(CustomerRequiredMixin, View):
    def get_ticket(self, number):
        try:
            return ticket_get_for_user(user=self.request.user, number=number)
        except Ticket.DoesNotExist as exc:
            # 404, not 403: numbers are sequential and easy to guess.
            raise Http404("No such ticket.") from exc

    def get(self, request, number):
        ticket = self.get_ticket(number)
        form = TicketReplyForm(user=request.user)
        return self.render(request, ticket, form)

    def render(
        self, request, ticket, form, closed=None, status=200, remote_form=None, rating_form=None
    ):
        events = _timeline_for_customer(ticket)
        seen = seen_token_of_page(ticket=ticket, events=events, staff=False)
        changes = None
        if form.is_bound:
            sent = form.data.get(form.add_prefix("seen"), "")
            if sent and sent != seen:
                # What the customer did not see when writing: operators' replies, a status.
                changes = changes_since(events=events, token=sent)
                if form.has_error(NON_FIELD_ERRORS, code=CHANGED_CODE):
                    # Sent again as it is now, the message confirms what the page now shows.
                    form.data = form.data.copy()
                    form.data[form.add_prefix("seen")] = seen
        else:
            form.initial["seen"] = seen
        # Every remote-access request is recorded with a public event of its own (remote.
        # services): a history without one has no request to show, and costs no query for it.
        asked = any(event.kind == TicketEvent.Kind.REMOTE_REQUEST for event in events)
        remote_access = remote_access_current(ticket=ticket) if asked else None
        return render(
            request,
            "tickets/ticket_detail.html",
            {
                "ticket": ticket,
                "events": events,
                "form": form,
                "closed": closed,
                "changes": changes,
                **_remote_access_context(remote_access=remote_access, form=remote_form),
                **_rating_context(ticket=ticket, form=rating_form),
            },
            status=status,
        )


@method_decorator(keeps_form_during_maintenance, name="dispatch")
class TicketReplyView(TicketDetailView):
    def get(self, request, number):
        return redirect("tickets:detail", number=number)

    def post(self, request, number):
        ticket = self.get_ticket(number)
        form = TicketReplyForm(request.POST, request.FILES, user=request.user)
        refusal = Refusal()
        if form.is_valid():
            with refusals_shown(form) as refusal:
                ticket_reply_customer(
                    ticket=ticket,
                    customer=self.customer,
                    body=form.cleaned_data["body"],
                    files=form.new_files(),
                    staged=form.staged_files(),
                    seen=form.cleaned_data["seen"],
                    author=request.user,
                )
            if not refusal.refused:
                attachments_staged_discard(user=request.user, form_token=form.form_token)
                messages.success(request, _("Your message has been added to the ticket."))
                return _redirect_after_post(
                    request, reverse("tickets:detail", args=[ticket.number]) + "#latest"
                )
        _keep_files_for_retry(request, form, keep_new=not refusal.denied)
        return self.render(request, ticket, form, closed=refusal.closed, status=400)


class TicketCloseView(TicketDetailView):
    def get(self, request, number):
        return redirect("tickets:detail", number=number)

    def post(self, request, number):
        ticket = self.get_ticket(number)
        with refusals_shown() as refusal:
            ticket_close_by_customer(ticket=ticket, customer=self.customer, by=request.user)
        if refusal.refused:
            messages.error(request, " ".join(refusal.messages))
        else:
            messages.success(
                request, _("Ticket #%(number)s is closed.") % {"number": ticket.number}
            )
        return redirect("tickets:detail", number=ticket.number)


def _rating_context(*, ticket, form=None) -> dict:
    """ "How did we do?" on a closed ticket's page: the answer given, and the form while open."""
    if ticket.is_open:
        return {}
    rating = rating_get(ticket=ticket)
    if not rating_is_open(ticket=ticket):
        return {"rating": rating}
    if form is None:
        initial = {"score": rating.score, "comment": rating.comment} if rating else {}
        form = TicketRatingForm(initial=initial)
    return {
        "rating": rating,
        "rating_form": form,
        "rating_open_until": rating_open_until(ticket=ticket),
    }


def _remote_access_context(*, remote_access, form=None) -> dict:
    if remote_access is None:
        return {"remote_access": None}
    return {
        "remote_access": remote_access,
        "remote_expires_at": remote_access_expires_at(remote_access=remote_access),
        "remote_form": form or RemoteAccessForm(ttl_minutes=settings.REMOTE_ACCESS_TTL_MINUTES),
        "teamviewer_download_url": settings.TEAMVIEWER_DOWNLOAD_URL,
    }


@method_decorator(sensitive_post_parameters("password", "teamviewer_id"), name="dispatch")
class TicketRemoteAccessView(TicketDetailView):
    """The customer confirms terms §5 and §6 and sends the TeamViewer ID and password."""

    def get(self, request, number):
        return redirect(reverse("tickets:detail", args=[number]) + "#remote-access")

    @method_decorator(sensitive_variables("form", "password"))
    def post(self, request, number):
        ticket = self.get_ticket(number)
        remote_access = remote_access_current(ticket=ticket)
        if remote_access is None or remote_access.is_erased or not ticket.is_open:
            messages.error(request, _("There is no remote-assistance request to answer."))
            return redirect("tickets:detail", number=ticket.number)
        form = RemoteAccessForm(request.POST, ttl_minutes=settings.REMOTE_ACCESS_TTL_MINUTES)
        refusal = Refusal()
        if form.is_valid():
            data = form.cleaned_data
            with refusals_shown(form) as refusal:
                remote_access_submit(
                    remote_access=remote_access,
                    customer=self.customer,
                    teamviewer_id=data["teamviewer_id"],
                    password=data["password"],
                    authorisation_confirmed=data["confirm_authorisation"],
                    backup_confirmed=data["confirm_backup"],
                    by=request.user,
                )
            if not refusal.refused:
                messages.success(
                    request,
                    _("Thank you: the operator who took your ticket can now connect to you."),
                )
                return redirect(reverse("tickets:detail", args=[ticket.number]) + "#remote-access")
        return self.render(
            request,
            ticket,
            TicketReplyForm(user=request.user),
            closed=refusal.closed,
            status=400,
            remote_form=form,
        )
