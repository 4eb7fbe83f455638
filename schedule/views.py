import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from schedule.calendar import pick_language
from schedule.selectors import notice_list_active
from schedule.snapshot import LANGUAGES, calendar_current

FEED_KEY = "schedule:feed:{name}:{version}:{language}:{bucket}"


def _feed_language(request) -> str:
    wanted = request.GET.get("lang", "")
    return wanted if wanted in LANGUAGES else (get_language() or "it")[:2]


def _cached_feed(*, name: str, language: str, bucket: str, build) -> bytes:
    """Return a feed body from the cache; the calendar's version in the key drops it on saves."""
    key = FEED_KEY.format(
        name=name, version=calendar_current().version, language=language, bucket=bucket
    )
    body = cache.get(key)
    if body is None:
        with translation.override(language):
            body = build()
        cache.set(key, body, settings.SERVICE_FEED_MAX_AGE)
    return body


def _public(request, body: bytes, *, content_type: str, vary: bool = False) -> HttpResponse:
    """Answer a feed body that anyone may cache, or 304 when the client already has it."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.SERVICE_FEED_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    if vary:
        # Without ?lang= the language comes from the browser.
        patch_vary_headers(response, ["Accept-Language"])
    return response


@require_GET
def calendar_feed(request):
    """Publish closures, holidays and maintenance as an iCalendar feed (RFC 5545)."""
    language = _feed_language(request)
    today = timezone.localdate()
    body = _cached_feed(
        name="ics",
        language=language,
        bucket=today.isoformat(),
        build=lambda: _ical_build(language=language, today=today),
    )
    response = _public(
        request,
        body,
        content_type="text/calendar; charset=utf-8",
        vary="lang" not in request.GET,
    )
    response["Content-Disposition"] = 'inline; filename="service-calendar.ics"'
    # The language the texts are in, not the one the request was served in (LocaleMiddleware).
    response["Content-Language"] = language
    return response


def _ical_build(*, language: str, today: date) -> bytes:
    calendar = calendar_current()
    domain = urlsplit(settings.PORTAL_BASE_URL).hostname or "portal.invalid"
    # DTSTAMP of a published calendar is when the data was last revised (RFC 5545 3.8.7.2):
    # stable values keep the body, and so its ETag, the same until something changes.
    holidays_stamp = datetime(today.year, 1, 1, tzinfo=UTC)

    def stamp_of(revised: datetime | None) -> datetime:
        return (revised or holidays_stamp).astimezone(UTC).replace(microsecond=0)

    feed = icalendar.Calendar()
    feed.add("prodid", "-//Technical support portal//Service calendar//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    in_language = {"LANGUAGE": language}
    feed.add("x-wr-calname", _("Technical support service calendar"), parameters=in_language)
    feed.add("x-wr-timezone", settings.SERVICE_TIME_ZONE)
    feed.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})

    def all_day(
        uid: str, summary: str, first: date, last: date, revised: datetime | None = None
    ) -> icalendar.Event:
        event = icalendar.Event()
        event.add("uid", f"{uid}@{domain}")
        event.add("dtstamp", stamp_of(revised))
        event.add("dtstart", first)
        event.add("dtend", last + timedelta(days=1))
        event.add("summary", summary, parameters=in_language)
        event.add("transp", "TRANSPARENT")
        return event

    for rule in calendar.closures:
        title = pick_language(rule.titles, language)
        event = all_day(
            f"closure-{rule.pk}",
            _("Support closed: %(title)s") % {"title": title},
            rule.first_day,
            rule.last_day,
            rule.revised,
        )
        if rule.recurs_yearly:
            event.add("rrule", {"freq": "yearly"})
        feed.add_component(event)
    for year in (today.year, today.year + 1):
        for day in sorted(
            d
            for d in (date(year, 1, 1) + timedelta(days=n) for n in range(366))
            if d.year == year and calendar.holiday_names(d)
        ):
            name = pick_language(calendar.holiday_names(day), language)
            feed.add_component(
                all_day(
                    f"holiday-{day.isoformat()}",
                    _("Support closed: national holiday (%(name)s)") % {"name": name},
                    day,
                    day,
                )
            )
    recent = timezone.now() - timedelta(days=30)
    for window in calendar.maintenance:
        if window.ends_at < recent:
            continue
        event = icalendar.Event()
        event.add("uid", f"maintenance-{window.pk}@{domain}")
        event.add("dtstamp", stamp_of(window.revised))
        event.add("dtstart", window.starts_at.astimezone(UTC))
        event.add("dtend", window.ends_at.astimezone(UTC))
        event.add(
            "summary", _("Portal unreachable: extraordinary maintenance"), parameters=in_language
        )
        description = pick_language(window.texts, language)
        if description:
            event.add("description", description, parameters=in_language)
        feed.add_component(event)
    return feed.to_ical()


@require_GET
def notices_feed(request):
    """Publish the active notices as JSON, in every language, for the Databank."""
    now = timezone.now()
    body = _cached_feed(
        name="notices",
        language="all",
        bucket=now.strftime("%Y%m%d%H%M"),
        build=lambda: _notices_build(at=now),
    )
    response = _public(request, body, content_type="application/json")
    response["Content-Language"] = ", ".join(LANGUAGES)  # every text in every language
    return response


def _notices_build(*, at: datetime) -> bytes:
    notices = notice_list_active(at=at)
    # No generation time in the body: an unchanged list keeps its ETag and earns a 304.
    data = {
        "notices": [
            {
                "id": notice.key,
                "severity": notice.severity,
                "source": notice.source,
                "starts": notice.publish_from.astimezone(UTC).isoformat(),
                "ends": notice.publish_until.astimezone(UTC).isoformat(),
                "text": {code: pick_language(notice.texts, code) for code in LANGUAGES},
            }
            for notice in notices
        ],
    }
    return json.dumps(data, ensure_ascii=False).encode()
