from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404

from customers.selectors import customer_access


class CustomerRequiredMixin(LoginRequiredMixin):
    """Let in a workshop's owner and members only; staff have the admin, and get a 404 here.

    Sets `self.access` (customers.selectors.Access) and `self.customer`, the workshop.
    """

    owner_only = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        access = customer_access(request.user)
        if access is None or (self.owner_only and not access.is_owner):
            raise Http404("This page is for customers.")
        self.access = access
        self.customer = access.customer
        return super().dispatch(request, *args, **kwargs)


class OwnerRequiredMixin(CustomerRequiredMixin):
    """Pages of the workshop's owner alone (its people, its personal data): 404 for a member."""

    owner_only = True
