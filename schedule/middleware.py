import logging
import math
from contextlib import ExitStack
from functools import partial

from django.conf import settings
from django.db import DatabaseError
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from schedule.gate import service_status, under_maintenance
from schedule.snapshot import calendar_pinned

logger = logging.getLogger(__name__)


def keeps_form_during_maintenance(view):
    """Mark a view whose POST still reaches it during maintenance, to give its form back (503).

    On a class-based view, apply it to `dispatch` with `method_decorator`, like `csrf_exempt`.
    """
    view.keeps_form_during_maintenance = True
    return view


class MaintenanceMiddleware:
    """Answer 503 on the portal during extraordinary maintenance; the admin stays reachable.

    A form that was being filled in when the maintenance began is still handed to its view (the
    views marked with `keeps_form_during_maintenance`), which the gate refuses: the customer gets
    the form back, filled in with its files kept, with status 503 and the reason.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with ExitStack() as stack:
            try:
                # One snapshot of the calendar for the whole request: one look-up in the cache.
                stack.enter_context(calendar_pinned())
            except DatabaseError:
                # Neither the cache nor the database could give the calendar. The paths that
                # answer during maintenance (the health check first) still get to say so.
                if not self.is_open_path(request.path_info):
                    raise
                logger.warning(
                    "No service calendar for %s: the database is unavailable.", request.path_info
                )
                request.service_status = None
                return self.get_response(request)
            return self.respond(request)

    @staticmethod
    def is_open_path(path: str) -> bool:
        return path.startswith(tuple(settings.SERVICE_MAINTENANCE_OPEN_PATHS))

    def respond(self, request):
        at = timezone.now()
        # Most requests only need to know there is no maintenance now (one look-up): the full
        # status (next opening, reason in the visitor's language) is worked out for the pages
        # that show it, for this same instant and calendar.
        request.service_status = SimpleLazyObject(partial(service_status, at=at))
        if not under_maintenance(at=at) or self.is_open_path(request.path_info):
            return self.get_response(request)
        status = service_status(at=at)
        if request.method == "POST" and self.is_form_view(request.path_info):
            response = self.get_response(request)
            response.status_code = 503
            return self.retry_after(response, status)
        return self.maintenance_response(request, status)

    @staticmethod
    def is_form_view(path: str) -> bool:
        try:
            match = resolve(path)
        except Resolver404:
            return False
        return getattr(match.func, "keeps_form_during_maintenance", False)

    def maintenance_response(self, request, status):
        response = render(request, "schedule/maintenance.html", {"status": status}, status=503)
        return self.retry_after(response, status)

    @staticmethod
    def retry_after(response, status):
        seconds = 3600
        if status.until is not None:
            seconds = max(math.ceil((status.until - status.at).total_seconds()), 1)
        response["Retry-After"] = str(seconds)
        response["Cache-Control"] = "no-store"
        return response
