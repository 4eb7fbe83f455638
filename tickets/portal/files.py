"""Files on the portal: an attachment handed to its owner only, and the page of a refused upload."""

import logging

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views import View, defaults

from core.storage import stored_file_response
from tickets.models import Attachment
from tickets.selectors import (
    attachment_get_for_user,
)

PAGE_SIZE = 20
# The name of the new-ticket form's button that asks for the chosen unit's open tickets.
CHECK_UNIT = "check_unit"

logger = logging.getLogger(__name__)


class AttachmentDownloadView(View):
    """Serve a private file to its ticket's customer or to staff; 404 for anyone else."""

    thumbnail = False

    def get(self, request, pk):
        if not request.user.is_authenticated:
            raise Http404
        try:
            attachment = attachment_get_for_user(user=request.user, pk=pk)
        except Attachment.DoesNotExist as exc:
            raise Http404 from exc
        field = attachment.thumbnail if self.thumbnail else attachment.file
        if not field.name:
            raise Http404
        # Streamed from the storage, disk or bucket, after the check above: never a redirect to
        # the bucket, whose response headers would not be ours (README, "Attachments in object
        # storage"). A file the storage lost is a 404, not an error page.
        if self.thumbnail:
            response = stored_file_response(field, content_type="image/jpeg")
        else:
            response = stored_file_response(
                field,
                as_attachment=True,
                filename=attachment.original_name,
                content_type=attachment.content_type,
            )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response


def request_refused(request, exception=None):
    """Answer a request Django refused before any view could read it, saying what and why.

    Django raises these limits lazily, wherever the form is first read (the CSRF check in
    production, the view in tests), and turns them into a 400 through this handler; a body too
    large, or with too many files, is answered 413 (content too large), the rest 400.
    """
    message, status = None, 400
    if isinstance(exception, TooManyFilesSent):
        status = 413
        message = _(
            "Nothing was sent: the form carried more than %(limit)s files, and a message takes "
            "at most %(count)s. Choose fewer files and send it again."
        ) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES, "count": settings.ATTACHMENT_MAX_COUNT}
    elif isinstance(exception, RequestDataTooBig):
        status = 413
        message = _(
            "Nothing was sent: the text of the form is larger than %(limit)s. Shorten it, or "
            "attach long texts (a LOG, for one) as files of up to %(file_limit)s each."
        ) % {
            "limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
            "file_limit": filesizeformat(settings.ATTACHMENT_MAX_SIZE),
        }
    elif isinstance(exception, TooManyFieldsSent):
        message = _(
            "Nothing was sent: the form carried more than %(limit)s fields. Reload the page and "
            "send it again."
        ) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    context = {
        "message": message,
        "form_url": request.get_full_path() if message and request.method == "POST" else None,
    }
    try:
        return render(request, f"{status}.html", context, status=status)
    except Exception:
        # The site's layout failed too: Django's bare page still answers with the right status.
        logger.exception("Could not render the %s page", status)
        response = defaults.bad_request(request, exception)
        response.status_code = status
        return response
