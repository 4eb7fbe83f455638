"""The customer's "How did we do?": the page a closing e-mail's link opens, and the portal form.

Why the link's page records nothing on GET: mail scanners and link previews fetch every link
of a message before the reader sees it, so an answer recorded on GET would be the scanner's
(always the first link). The GET shows the answer clicked, preselected, with the optional
comment and one button; only the POST records. A person clicks twice, a scanner never posts.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from notifications.satisfaction import (
    RatingLinkExpiredError,
    RatingLinkInvalidError,
    rating_token_read,
)
from tickets.forms import refusals_shown
from tickets.models import Ticket, TicketRating
from tickets.portal.forms import TicketReplyForm
from tickets.portal.views import TicketDetailView
from tickets.satisfaction.forms import TicketRatingForm
from tickets.satisfaction.selectors import rating_get, rating_is_open, rating_open_until
from tickets.satisfaction.services import ticket_rating_record


@method_decorator(never_cache, name="dispatch")
class TicketRatingLinkView(View):
    """The page of a signed link: works without logging in, for the ticket it names only."""

    def dispatch(self, request, token):
        try:
            number, self.score = rating_token_read(token)
        except RatingLinkExpiredError:
            return self.refuse(
                request,
                _("This link has expired: answers are taken for %(days)s days after closing.")
                % {"days": TicketRating.CHANGEABLE_FOR.days},
                status=410,
            )
        except RatingLinkInvalidError:
            return self.refuse(
                request,
                _(
                    "This link is not valid: copy the whole address from the e-mail, or log in "
                    "and rate the ticket from its page."
                ),
                status=400,
            )
        self.ticket = Ticket.objects.filter(number=number).first()
        if self.ticket is None:
            return self.refuse(request, _("This ticket does not exist any more."), status=410)
        if self.ticket.is_open:
            return self.refuse(
                request,
                _("This ticket is not closed: you can rate it once it closes."),
                status=410,
            )
        if not rating_is_open(ticket=self.ticket):
            return self.refuse(
                request,
                _("The time to rate this ticket is over: answers are taken for %(days)s days.")
                % {"days": TicketRating.CHANGEABLE_FOR.days},
                status=410,
            )
        self.rating = rating_get(ticket=self.ticket)
        return super().dispatch(request, token)

    def get(self, request, token):
        initial = {"score": self.score}
        if self.rating is not None:
            initial["comment"] = self.rating.comment
        return self.render(request, TicketRatingForm(initial=initial))

    def post(self, request, token):
        form = TicketRatingForm(request.POST)
        if form.is_valid():
            with refusals_shown(form) as refusal:
                ticket_rating_record(
                    ticket=self.ticket,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            if not refusal.refused:
                messages.success(request, _("Thank you: your answer has been recorded."))
                return redirect(request.path)
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        return render(
            request,
            "tickets/rating_link.html",
            {
                "ticket": self.ticket,
                "rating": self.rating,
                "form": form,
                "open_until": rating_open_until(ticket=self.ticket),
            },
            status=status,
        )

    @staticmethod
    def refuse(request, message, *, status):
        return render(request, "tickets/rating_refused.html", {"message": message}, status=status)


class TicketRatingView(TicketDetailView):
    """The same answer, and its comment, from the closed ticket's page in the portal."""

    def get(self, request, number):
        return redirect(reverse("tickets:detail", args=[number]) + "#rating")

    def post(self, request, number):
        ticket = self.get_ticket(number)
        form = TicketRatingForm(request.POST)
        if form.is_valid():
            with refusals_shown(form) as refusal:
                ticket_rating_record(
                    ticket=ticket,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            if not refusal.refused:
                messages.success(request, _("Thank you: your answer has been recorded."))
                return redirect(reverse("tickets:detail", args=[ticket.number]) + "#rating")
            if not rating_is_open(ticket=ticket):
                # Open, or past its window: the page has no form to show the refusal on.
                messages.error(request, " ".join(refusal.messages))
                return redirect(reverse("tickets:detail", args=[ticket.number]))
        return self.render(
            request, ticket, TicketReplyForm(user=request.user), status=400, rating_form=form
        )
