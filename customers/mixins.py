from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404


class CustomerRequiredMixin(LoginRequiredMixin):
    """Let in logged-in customers only; staff have the admin, and get a 404 here."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        customer = getattr(request.user, "customer", None)
        if customer is None:
            raise Http404("This page is for customers.")
        self.customer = customer
        return super().dispatch(request, *args, **kwargs)
