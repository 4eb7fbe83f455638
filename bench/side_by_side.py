"""Measure the portal against a bare Django floor, on the same machine, in the same run, over HTTP.

    .venv/bin/python bench/side_by_side.py [--rounds 3] [--duration 10] [--tickets 100000]
                                           [--reuse] [--database portal_bench_side]
                                           [--only ROW ...]

Prepares a PostgreSQL database (portal_bench_side by default on postgres://postgres@127.0.0.1:5432,
dropped and seeded with `manage.py seed_volume` unless --reuse finds one seeded), then adds through
the project's services: service hours 00:00-23:59 every day (in that database only), a customer
with 25 tickets, one of them with 10 messages and 3 files, a second customer who opens the tickets
of the creation row, and an operator. It starts two gunicorn servers with the same options
(2 sync workers, --timeout 30, bound to 127.0.0.1, no access log):

  the floor   Django as `startproject` leaves it (bench/floor/), one view returning 20 KB of HTML;
  the portal  config.settings.production (bench/portal_settings.py adds the same view at
              /bench/trivial/, and the layout alone at /bench/layout/), Redis cache and broker
              on --redis (emptied before and after).

wrk (Debian's package: `make bench-deps` or `apt-get install wrk`) drives each page with
`wrk -t1 -c8 -d<duration>s --latency --timeout 30s` and the session cookie of a user who logged in
over HTTP (the floor and the trivial row send the reader's: the floor ignores it, and the portal
reads a session and its user only for a page that asks, as the layout row and every customer's
page do: the layout row is the least a logged-in customer's page costs); the creation
row is `wrk -t1 -c20` with a Lua script that POSTs the new-ticket form
until exactly 500 answers have come back, then checks in SQL that 500 tickets were created with
distinct, contiguous numbers. Rounds interleave the rows (floor, every page, floor, ...); the
table gives each row's median req/s and p50 over the rounds, the queries one request runs (counted
once with Django's test Client on the same settings and database), and the median of the ratio
req/s / floor req/s of the same round. A page answered with anything but 2xx/3xx is a failure,
not a speed. Rows: floor, trivial, layout, list, detail, queue, staff-ticket, create.
"""

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "portal_bench_side"
REDIS_URL = "redis://127.0.0.1:6379/8"
PORTAL_SETTINGS = "bench.portal_settings"
FLOOR_SETTINGS = "bench.floor.settings"
TRIVIAL_PATH = "/bench/trivial/"

READER = "BENCHSIDE-READER"  # reads: the ticket list and the ticket page
WRITER = "BENCHSIDE-WRITER"  # opens the tickets of the creation row
OPERATOR = "bench-side-operator"
PASSWORD = "bench-side-password-2026"  # noqa: S105 - a throwaway database's users
READER_TICKETS = 25
DETAIL_SUBJECT = "Bench: the ticket with ten messages"
CREATE_POSTS = 500
CREATE_CLIENTS = 20
CREATE_CAP_SECONDS = 300  # wrk's -d for the creation row: it stops itself after 500 answers
CONNECTIONS = 8
WORKERS = 2


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    server: str  # "floor" or "portal"
    path: str
    who: str  # whose session cookie is sent: reader, operator or writer


# The queue's default order is the oldest first (TicketAdmin.ordering: received_at, number), so
# its first page needs no ordering parameter. The ticket pages are the one with 10 messages.
ROWS = [
    Row("floor", "bare Django 20 KB view (the floor)", "floor", TRIVIAL_PATH, "reader"),
    Row("trivial", "trivial 20 KB view, portal middleware", "portal", TRIVIAL_PATH, "reader"),
    Row("layout", "customer: the layout alone, logged in", "portal", "/bench/layout/", "reader"),
    Row("list", "customer: ticket list ?state=all (20 rows)", "portal", "/tickets/?state=all",
        "reader"),
    Row("detail", "customer: ticket page (10 messages, 3 files)", "portal", "/tickets/{number}/",
        "reader"),
    Row("queue", "staff: queue, page 1, oldest first", "portal", "/admin/tickets/ticket/",
        "operator"),
    Row("staff-ticket", "staff: ticket page (admin change view)", "portal",
        "/admin/tickets/ticket/{pk}/change/", "operator"),
    Row("create", f"new ticket: {CREATE_CLIENTS} clients, {CREATE_POSTS} POSTs", "portal",
        "/tickets/new/", "writer"),
]  # fmt: skip
ROW_KEYS = [row.key for row in ROWS]


def fail(message: str, code: int = 2) -> None:
    print(f"side_by_side: {message}", file=sys.stderr)
    sys.exit(code)


# Inside Django: the data the rows need, and the queries of one request --------------------------


def _new_ticket_fields(info: dict, *, subject: str, form_token: str) -> dict:
    """The new-ticket form as a browser fills it in (no file: the error message is copied)."""
    return {
        "target": f"unit:{info['writer_unit']}",
        "kind": "problem",
        "language": "en",
        "subject": subject,
        "vehicle_description": "Fiat Punto 1.3 Multijet 2012",
        "vehicle_identification": "",
        "ecu_description": "Bosch EDC16C39",
        "ecu_identification": "",
        "software_version": "3.2",
        "description": "The tool stops while writing the ECU at 87%, every time.",
        "error_message": "ERR 0x2A: write failed",
        "operations": "Disconnected the battery charger, tried again with a new cable.",
        "confirm_new_problem": "on",
        "accept_terms": "on",
        "terms_version": str(info["terms_version"]),
        "form_token": form_token,
    }


def inside_setup() -> dict:
    """Make sure the bench database holds the users and tickets the rows read (idempotent)."""
    import django

    django.setup()
    import io
    import itertools
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone, translation

    translation.activate("en")

    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from core.roles import OPERATORS
    from core.selectors import terms_current
    from customers.models import Customer, User
    from customers.services import customer_create, unit_register
    from products.models import Product
    from schedule.gate import service_status
    from schedule.models import ServiceHours
    from schedule.services import service_hours_delete, service_hours_save
    from tickets.forms import attachment_kind_by_type
    from tickets.models import Attachment, Ticket, TicketEvent
    from tickets.services import ticket_create, ticket_reply_customer, ticket_reply_staff
    from tickets.uploads import clean_upload

    # Open at every hour of every day: the gate counts in minutes, so 00:00-23:59 is the most a
    # day can hold (the minute 23:59-00:00, Rome time, stays closed).
    for hours in ServiceHours.objects.all():
        service_hours_delete(hours=hours)
    for weekday in range(7):
        service_hours_save(hours=ServiceHours(weekday=weekday, opens_at="00:00", closes_at="23:59"))

    operator, _created = User.objects.get_or_create(
        username=OPERATOR, defaults={"is_staff": True, "first_name": "Bench"}
    )
    operator.is_staff = operator.is_active = True
    operator.set_password(PASSWORD)
    operator.save()
    operator.groups.add(Group.objects.get(name=OPERATORS))

    product = Product.objects.filter(has_serial_number=True, is_active=True).order_by("position")[0]

    def customer_with_unit(code: str) -> tuple[Customer, int]:
        customer = Customer.objects.filter(code=code).first() or customer_create(
            code=code,
            company=f"Workshop {code}",
            email=f"{code.lower()}@bench.example.com",
            password=PASSWORD,
            contact_name="Bench",
            language="en",
            country="IT",
        )
        customer.user.set_password(PASSWORD)
        customer.user.save(update_fields=["password"])
        unit = customer.units.order_by("pk").first() or unit_register(
            customer=customer, product=product, serial_number=f"{code}-{uuid.uuid4().hex[:8]}"
        )
        return customer, unit.pk

    reader, reader_unit = customer_with_unit(READER)
    writer, writer_unit = customer_with_unit(WRITER)
    terms = terms_current()
    status = service_status()
    # On a holiday (or in the minute 23:59) the reader's tickets are written at noon of the last
    # day the service was open: the pages read them the same. The creation row will be refused.
    clock = None
    if not status.accepts_tickets:
        zone = ZoneInfo(settings.SERVICE_TIME_ZONE)
        noon = timezone.now().astimezone(zone).replace(hour=12, minute=0, second=0, microsecond=0)
        days = (noon - timedelta(days=n) for n in range(1, 60))
        clock = next(day for day in days if service_status(at=day).accepts_tickets)
    steps = itertools.count()

    def at():
        return None if clock is None else clock + timedelta(minutes=next(steps))

    def upload(name: str, data: bytes):
        clean = clean_upload(SimpleUploadedFile(name, data), images_only=False)
        return (attachment_kind_by_type(clean), clean)

    def png() -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (320, 200), (200, 40, 40)).save(buffer, "PNG")
        return buffer.getvalue()

    def open_ticket(subject: str, files=()):
        return ticket_create(
            customer=reader,
            product=product,
            unit=reader.units.get(pk=reader_unit),
            kind=Ticket.Kind.PROBLEM,
            language="en",
            subject=subject,
            description="The tool stops while writing; details in the screenshot.",
            terms_version=terms,
            vehicle_description="VW Golf 2.0 TDI",
            ecu_description="Bosch EDC17C46",
            software_version="3.2",
            error_message="ERR 0x2A",
            files=files,
            confirmed_new_problem=True,
            at=at(),
        )

    detail = reader.tickets.filter(subject=DETAIL_SUBJECT).first()
    if detail is None:
        detail = open_ticket(
            DETAIL_SUBJECT, files=[(Attachment.Kind.SCREENSHOT, upload("error.png", png())[1])]
        )
        for n in range(5):
            detail.refresh_from_db()
            staff_files = [upload("procedure.pdf", b"%PDF-1.4\n% bench\n")] if n == 2 else ()
            ticket_reply_staff(
                ticket=detail,
                operator=operator,
                body=f"Answer {n + 1}: please try again with the latest version and tell us.",
                files=staff_files,
                at=at(),
            )
            detail.refresh_from_db()
            log = [upload("tool.log", b"12:00:01 write start\n12:00:09 ERR 0x2A\n" * 40)]
            ticket_reply_customer(
                ticket=detail,
                customer=reader,
                body=f"Reply {n + 1}: it still stops at 87%, same error.",
                files=log if n == 1 else (),
                at=at(),
            )
    for n in range(max(READER_TICKETS - reader.tickets.count(), 0)):
        open_ticket(f"Bench: reader's ticket {n + 1}")

    return {
        "reader_unit": reader_unit,
        "writer_unit": writer_unit,
        "writer_customer": writer.pk,
        "terms_version": terms.pk,
        "detail_number": detail.number,
        "detail_pk": detail.pk,
        "detail_messages": TicketEvent.objects.filter(
            ticket=detail, kind=TicketEvent.Kind.MESSAGE
        ).count(),
        "detail_files": Attachment.objects.filter(ticket=detail).count(),
        "reader_tickets": reader.tickets.count(),
        "tickets": Ticket.objects.count(),
        "service": f"{status.get_state_display()}"
        + (f" ({status.reason})" if status.reason else ""),
    }


def inside_queries(info: dict, *, floor: bool) -> dict:
    """Count the queries of one request of each row (test Client, logged in the same way)."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def client(login_path: str | None = None, username: str = "") -> Client:
        browser = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
        if login_path:
            answer = browser.post(login_path, {"username": username, "password": PASSWORD})
            if answer.status_code != 302:
                raise SystemExit(f"{username} cannot log in at {login_path} ({answer.status_code})")
        return browser

    # What each page must show, or the row would not measure what its label says.
    shows = {
        "list": (r'href="/tickets/(\d+)/"', 20, "ticket rows"),
        "detail": (r'href="/files/(\d+)/"', 3, "files"),
        "staff-ticket": (r'href="/files/(\d+)/"', 3, "files"),
    }

    def counted(send, expect: int, key: str = "") -> int:
        send()  # once to warm the caches, as a server that has run a while has them
        with CaptureQueriesContext(connection) as captured:
            answer = send()
        if answer.status_code != expect:
            raise SystemExit(f"{key}: expected {expect}, got {answer.status_code}")
        if key in shows:
            pattern, wanted, what = shows[key]
            found = len(set(re.findall(pattern, answer.content.decode())))
            if found != wanted:
                raise SystemExit(f"{key}: the page shows {found} {what}, not {wanted}")
        return len(captured.captured_queries)

    if floor:
        return {"floor": counted(lambda: client().get(TRIVIAL_PATH), 200)}
    reader = client("/account/login/", READER)
    operator = client("/admin/login/", OPERATOR)
    writer = client("/account/login/", WRITER)
    counts = {}
    for row in ROWS:
        if row.key in ("floor", "create"):
            continue
        who = reader if row.who == "reader" else operator
        path = row.path.format(number=info["detail_number"], pk=info["detail_pk"])
        counts[row.key] = counted(lambda who=who, path=path: who.get(path), 200, row.key)

    def create():
        fields = _new_ticket_fields(
            info, subject=f"Bench: counted {uuid.uuid4().hex[:8]}", form_token=uuid.uuid4().hex
        )
        return writer.post("/tickets/new/", fields)

    counts["create"] = counted(create, 302)
    return counts


def run_inside(step: str, *, env: dict, info: dict | None = None) -> dict:
    """Run a step in a Python subprocess on the given settings; return what it printed (JSON)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--inside", step]
    if info is not None:
        command += ["--info", json.dumps(info)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        fail(f"the {step} step failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# Outside: servers, log-ins, wrk ------------------------------------------------------------------

WRK_LATENCY = re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
WRK_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
WRK_TOTAL = re.compile(
    r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read", re.M
)
WRK_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
WRK_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}  # wrk: base 1024


@dataclass
class Run:
    rps: float
    p50_ms: float
    requests: int
    kb_per_response: float
    refused: int  # answers other than 2xx/3xx
    socket_errors: int
    problem: str = ""  # why this run is a failure, not a speed
    extra: list[str] = field(default_factory=list)


def wrk_parse(output: str) -> Run:
    rate, latency, total = (p.search(output) for p in (WRK_RATE, WRK_LATENCY, WRK_TOTAL))
    if not (rate and latency and total):
        return Run(0, 0, 0, 0, 0, 0, problem=f"cannot read wrk's output:\n{output}")
    requests = int(total.group(1))
    size = float(total.group(4)) * SIZE_UNITS[total.group(5)]
    refused = WRK_NON_2XX_3XX.search(output)
    errors = WRK_SOCKET_ERRORS.search(output)
    return Run(
        rps=float(rate.group(1)),
        p50_ms=float(latency.group(1)) * TIME_UNITS[latency.group(2)],
        requests=requests,
        kb_per_response=size / max(requests, 1) / 1024,
        refused=int(refused.group(1)) if refused else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk(
    url: str,
    *,
    headers: dict,
    connections: int,
    duration: int,
    script: Path | None = None,
    marker: Path | None = None,
):
    """Run wrk; with a marker, interrupt it (SIGINT: it then reports) once the file appears."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    with subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            if marker is not None:
                deadline = time.monotonic() + duration + 60
                while process.poll() is None and time.monotonic() < deadline:
                    if marker.exists():
                        process.send_signal(signal.SIGINT)
                        break
                    time.sleep(0.02)
            stdout, stderr = process.communicate(timeout=duration + 120)
        except BaseException:
            process.kill()
            raise
    if process.returncode != 0:
        return Run(0, 0, 0, 0, 0, 0, problem=f"wrk failed: {stderr.strip()}"), stdout
    run = wrk_parse(stdout)
    if run.refused:
        run.problem = f"{run.refused} of {run.requests} answers were not 2xx/3xx"
    elif run.requests == 0:
        run.problem = "no request completed"
    return run, stdout


CREATE_LUA = Template(r"""-- Written by bench/side_by_side.py: POST the new-ticket form, multipart
-- as a browser sends it, a new subject and form token per request; $total requests, then stop.
-- wrk's main thread sleeps out -d whatever its threads do: the marker file tells the benchmark
-- to interrupt it, and the rate is counted here from the first request to the last answer.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now()  -- CLOCK_MONOTONIC, seconds
  ffi.C.clock_gettime(1, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local total = $total
local reserved, received = 0, 0
sent, to_ticket, first_sent_at, last_answer_at = 0, 0, 0, 0
statuses, refusals = {}, {}
local boundary = "----BenchSideBoundary$tag"
local headers = {
  ["Cookie"] = $cookie,
  ["X-Forwarded-Proto"] = "https",
  ["Referer"] = $referer,
  ["Origin"] = $origin,
  ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
}
local fields = {
$fields
}
local files = {"screenshots", "ecu_photos", "connection_photos", "log_files", "other_files"}

local function part(name, value)
  return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name
    .. "\"\r\n\r\n" .. value .. "\r\n"
end

-- Called before every request: once 500 are on their way, the connections wait (an hour).
function delay()
  if reserved >= total then return 3600000 end
  reserved = reserved + 1
  return 0
end

function request()
  if sent == 0 then first_sent_at = now() end
  sent = sent + 1
  local body = {}
  for _, f in ipairs(fields) do body[#body + 1] = part(f[1], f[2]) end
  body[#body + 1] = part("subject", string.format("Bench $tag: ticket %d", sent))
  body[#body + 1] = part("form_token", string.format("$token_prefix%08x", sent))
  for _, name in ipairs(files) do
    body[#body + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name
      .. "\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n"
  end
  body[#body + 1] = "--" .. boundary .. "--\r\n"
  return wrk.format("POST", "$path", headers, table.concat(body))
end

function response(status, headers, body)
  received = received + 1
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  local location = headers["Location"] or headers["location"] or ""
  if status == 302 and location:match("^/tickets/%d+/$$") then
    to_ticket = to_ticket + 1
  elseif #refusals < 3 then
    -- The page's first alert says why (service closed, form errors), as the customer reads it.
    local why = (body:match('role="alert"[^>]*>(.-)</div>') or ""):gsub("<[^>]+>", " ")
    refusals[#refusals + 1] = status .. " " .. location .. " " .. why:sub(1, 300)
  end
  if received >= total then
    last_answer_at = now()
    wrk.thread:stop()
    io.open($marker, "w"):close()
  end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %s %d\n", status, count))
    end
    io.write(string.format("TO_TICKET %d\n", thread:get("to_ticket")))
    io.write(string.format("SENT %d\n", thread:get("sent")))
    local window = thread:get("last_answer_at") - thread:get("first_sent_at")
    io.write(string.format("WINDOW %.6f\n", window))
    for _, refusal in ipairs(thread:get("refusals")) do
      io.write("REFUSAL " .. refusal:gsub("%s+", " ") .. "\n")
    end
  end
end
""")


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def create_script(
    path: Path, *, info: dict, cookie: str, csrf: str, base: str, tag: str, marker: Path
) -> None:
    fields = _new_ticket_fields(info, subject="", form_token="")
    fields = {k: v for k, v in fields.items() if k not in ("subject", "form_token")}
    fields["csrfmiddlewaretoken"] = csrf
    https = base.replace("http://", "https://")
    path.write_text(
        CREATE_LUA.substitute(
            total=CREATE_POSTS,
            tag=tag,
            cookie=lua_string(cookie),
            referer=lua_string(f"{https}/tickets/new/"),
            origin=lua_string(https),
            marker=lua_string(str(marker)),
            path="/tickets/new/",
            token_prefix=secrets.token_hex(12),
            fields="\n".join(f"  {{{lua_string(k)}, {lua_string(v)}}}," for k, v in fields.items()),
        )
    )


def tickets_created(*, database: str, after_id: int, counter_before: int, customer: int) -> dict:
    """What SQL says of the tickets created since a row id: how many, numbers, subjects."""
    import psycopg

    with psycopg.connect(f"{SERVER}/{database}") as conn:
        row = conn.execute(
            """SELECT count(*), count(DISTINCT number), min(number), max(number),
                      count(DISTINCT subject), count(*) FILTER (WHERE customer_id = %s)
               FROM tickets_ticket WHERE id > %s""",
            [customer, after_id],
        ).fetchone()
    count, distinct, low, high, subjects, theirs = row
    contiguous = count > 0 and high - low + 1 == count and low == counter_before + 1
    return {
        "count": count,
        "distinct": distinct,
        "low": low,
        "high": high,
        "subjects": subjects,
        "theirs": theirs,
        "ok": count == CREATE_POSTS == distinct == subjects == theirs and contiguous,
        "contiguous": contiguous,
    }


def ticket_marks(database: str) -> tuple[int, int]:
    """The highest ticket row id and the counter's last number, before a creation run."""
    import psycopg

    with psycopg.connect(f"{SERVER}/{database}") as conn:
        last_id = conn.execute("SELECT COALESCE(max(id), 0) FROM tickets_ticket").fetchone()[0]
        number = conn.execute(
            "SELECT last_number FROM tickets_ticketcounter WHERE name = 'ticket'"
        ).fetchone()
    return last_id, number[0] if number else 0


def run_create(*, portal, session, info, options, workdir: Path, round_no: int) -> Run:
    """POST the new-ticket form 500 times from 20 clients; check the tickets in SQL."""
    from tests.production.stack import PortalClient

    writer: PortalClient = session["writer"]
    page = writer.get("/tickets/new/")
    if page.status_code != 200:
        return Run(0, 0, 0, 0, 0, 0, problem=f"the form answers {page.status_code}")
    tag = f"r{round_no}-{secrets.token_hex(3)}"
    script = workdir / f"create-{tag}.lua"
    marker = workdir / f"create-{tag}.done"
    create_script(
        script,
        info=info,
        cookie=cookie_header(writer),
        csrf=writer.csrf_token(page),
        base=portal.url,
        tag=tag,
        marker=marker,
    )
    after_id, counter_before = ticket_marks(options.database)
    run, output = wrk(
        f"{portal.url}/tickets/new/",
        headers={},
        connections=CREATE_CLIENTS,
        duration=CREATE_CAP_SECONDS,
        script=script,
        marker=marker,
    )
    window = re.search(r"^WINDOW ([\d.]+)$", output, re.M)
    if window and float(window.group(1)) > 0 and run.requests == CREATE_POSTS:
        # wrk divides by the time until it was interrupted; this is first request to last answer.
        run.rps = CREATE_POSTS / float(window.group(1))
    statuses = dict(re.findall(r"^STATUS (\d+) (\d+)$", output, re.M))
    to_ticket = re.search(r"^TO_TICKET (\d+)$", output, re.M)
    to_ticket = int(to_ticket.group(1)) if to_ticket else 0
    check = tickets_created(
        database=options.database,
        after_id=after_id,
        counter_before=counter_before,
        customer=info["writer_customer"],
    )
    run.extra.append(
        f"round {round_no}: answers {', '.join(f'{n} x {s}' for s, n in sorted(statuses.items()))}"
        f"; redirects to a ticket {to_ticket}; SQL: {check['count']} new tickets, "
        f"{check['distinct']} distinct numbers {check['low']}-{check['high']}, "
        f"{'contiguous' if check['contiguous'] else 'NOT contiguous'} after {counter_before}, "
        f"{check['subjects']} distinct subjects -> {'OK' if check['ok'] else 'FAILED'}"
    )
    run.extra += [f"  refused: {line}" for line in re.findall(r"^REFUSAL (.*)$", output, re.M)]
    if not run.problem and (to_ticket != CREATE_POSTS or run.requests != CREATE_POSTS):
        run.problem = f"{to_ticket} of {run.requests} answers were redirects to a new ticket"
    if not run.problem and not check["ok"]:
        run.problem = "the SQL check of the new tickets failed"
    return run


def start_server(*, app: str, env: dict, log_path: Path):
    """gunicorn on a free port, the same options for both servers; wait until the page answers."""
    import requests

    from tests.notifications.live import ManagedProcess, free_port

    port = free_port()
    server = ManagedProcess(log_path=log_path)
    server.url = f"http://127.0.0.1:{port}"
    server.spawn(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--timeout",
            "30",
        ],
        env=env,
    )

    def answering():
        try:
            return requests.get(server.url + TRIVIAL_PATH, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        server.wait_ready(answering, timeout=60, what=f"gunicorn {app}")
    except AssertionError as exc:
        server.stop()
        fail(str(exc))
    return server


def log_in(base: str, username: str, path: str):
    from tests.production.stack import PortalClient

    client = PortalClient(base, timeout=60)
    answer = client.log_in(username, PASSWORD, path=path)
    if "sessionid" not in client.session.cookies:
        fail(f"{username} could not log in at {path} ({answer.status_code} {answer.url})")
    return client


def cookie_header(client) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.session.cookies)


def check_page(url: str, headers: dict) -> str:
    """GET a page a few times (both workers warm): '' when it answers 200, else what it did."""
    import requests

    for _ in range(4):
        answer = requests.get(url, headers=headers, allow_redirects=False, timeout=60)
        if answer.status_code != 200:
            return f"{answer.status_code} {answer.headers.get('Location', '')}".strip()
    return ""


# The run ------------------------------------------------------------------------------------------


def check_tools(redis_url: str) -> None:
    if shutil.which("wrk") is None:
        fail(
            "wrk is missing: it comes from Debian's packages. Install it with "
            "`make bench-deps` (as root) or `sudo apt-get install wrk`, then run again."
        )
    import psycopg
    import redis

    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        fail(f"PostgreSQL is not reachable at {SERVER} ({exc}). Start it, then run again.")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        fail(f"Redis is not reachable at {redis_url} ({exc}). Start it, then run again.")


def redis_empty(redis_url: str) -> None:
    import redis

    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).flushdb()


def table(selected, results, queries) -> list[str]:
    lines = [
        f"{'row':46} {'req/s':>8} {'p50 ms':>8} {'queries':>8} {'÷ floor':>8} {'KB/resp':>8}",
        "-" * 91,
    ]
    floor_runs = results["floor"]
    for row in selected:
        runs = results[row.key]
        failed = [run for run in runs if run.problem]
        if failed:
            lines.append(f"{row.label:46} FAILED in {len(failed)} of {len(runs)} rounds")
            lines += [f"{'':46} {run.problem}" for run in failed]
            continue
        ratios = [
            run.rps / floor.rps
            for run, floor in zip(runs, floor_runs, strict=True)
            if floor.rps and not floor.problem
        ]
        ratio = f"{statistics.median(ratios):8.3f}" if ratios else f"{'—':>8}"
        lines.append(
            f"{row.label:46} {statistics.median(r.rps for r in runs):8.1f} "
            f"{statistics.median(r.p50_ms for r in runs):8.1f} "
            f"{queries.get(row.key, '?'):>8} {ratio} "
            f"{statistics.median(r.kb_per_response for r in runs):8.1f}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per page and round")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets seed_volume writes")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--database", default=DB_NAME, help="throwaway database (dropped!)")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis database (emptied!)")
    parser.add_argument(
        "--only", action="append", choices=ROW_KEYS, help="these rows (and the floor) only"
    )
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.inside:
        info = json.loads(options.info) if options.info else {}
        if options.inside == "setup":
            result = inside_setup()
        else:
            result = inside_queries(info, floor=options.inside == "queries-floor")
        print(json.dumps(result))
        return 0

    if "bench" not in options.database or not re.fullmatch(r"[a-z_][a-z0-9_]*", options.database):
        fail("--database must name a throwaway database with 'bench' in its name: it is dropped.")
    check_tools(options.redis)
    selected = [row for row in ROWS if row.key == "floor" or row.key in (options.only or ROW_KEYS)]

    # SIGTERM (a CI timeout, kill) stops the servers as Ctrl-C does.
    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    # Ctrl-C too, even when the shell started us with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="bench-side-"))
    servers, static_root, keep_logs = [], None, False
    try:
        from bench.bench_queue import prepare
        from tests.production.stack import collected_static, production_env

        media_root = ROOT / "var" / "bench-side" / options.database / "private"
        media_root.mkdir(parents=True, exist_ok=True)
        print("Collecting the static files (as the image does)...", flush=True)
        env = production_env(
            database_url=f"{SERVER}/{options.database}",
            redis_url=options.redis,
            email_url="consolemail://",
            media_root=media_root,
            DJANGO_SETTINGS_MODULE=PORTAL_SETTINGS,
            DATABASE_CONN_MAX_AGE="60",  # production's default (the tests' environment says 0)
        )
        static_root = collected_static()
        floor_env = {**env, "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS}
        redis_empty(options.redis)
        prepare(tickets=options.tickets, reuse=options.reuse, database=options.database, env=env)
        info = run_inside("setup", env=env)
        print(
            f"Database {options.database}: {info['tickets']:,} tickets; {READER} has "
            f"{info['reader_tickets']}, #{info['detail_number']} has {info['detail_messages']} "
            f"messages and {info['detail_files']} files. Service now: {info['service']}."
        )
        queries = run_inside("queries", env=env, info=info)
        queries.update(run_inside("queries-floor", env=floor_env, info=info))

        floor = start_server(
            app="bench.floor.wsgi:application", env=floor_env, log_path=workdir / "floor.log"
        )
        servers.append(floor)
        portal = start_server(
            app="config.wsgi:application", env=env, log_path=workdir / "portal.log"
        )
        servers.append(portal)

        reader = log_in(portal.url, READER, "/account/login/")
        operator = log_in(portal.url, OPERATOR, "/admin/login/?next=/admin/")
        writer = log_in(portal.url, WRITER, "/account/login/")
        session = {
            "writer": writer,
            "cookies": {
                "reader": cookie_header(reader),
                "operator": cookie_header(operator),
                "writer": cookie_header(writer),
            },
        }

        def url_of(row: Row) -> str:
            base = floor.url if row.server == "floor" else portal.url
            return base + row.path.format(number=info["detail_number"], pk=info["detail_pk"])

        def headers_of(row: Row) -> dict:
            return {"Cookie": session["cookies"][row.who], "X-Forwarded-Proto": "https"}

        for row in selected:
            if row.key != "create":
                problem = check_page(url_of(row), headers_of(row))
                if problem:
                    keep_logs = True
                    fail(f"{row.label}: {url_of(row)} answers {problem}, not 200 (logs: {workdir})")

        cpus = os.cpu_count()
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
        load_before = os.getloadavg()
        print(
            f"\nCPUs: {cpus} ({usable} usable by this process); load average before: "
            + " ".join(f"{x:.2f}" for x in load_before)
        )
        print(
            f"gunicorn: {WORKERS} sync workers each, --timeout 30, 127.0.0.1, no access log; "
            f"wrk -t1 -c{CONNECTIONS} -d{options.duration}s --latency --timeout 30s; "
            f"{options.rounds} round(s), rows interleaved.\n"
        )
        results = {row.key: [] for row in selected}
        for round_no in range(1, options.rounds + 1):
            for row in selected:
                if row.key == "create":
                    run = run_create(
                        portal=portal,
                        session=session,
                        info=info,
                        options=options,
                        workdir=workdir,
                        round_no=round_no,
                    )
                else:
                    run, _output = wrk(
                        url_of(row),
                        headers=headers_of(row),
                        connections=CONNECTIONS,
                        duration=options.duration,
                    )
                results[row.key].append(run)
                state = f"FAILED: {run.problem}" if run.problem else "ok"
                if run.socket_errors:
                    state += f" ({run.socket_errors} socket errors: connect, read, write, timeout)"
                print(
                    f"  round {round_no} {row.key:13} {run.rps:8.1f} req/s  p50 "
                    f"{run.p50_ms:7.1f} ms  {run.requests:6d} requests  {state}",
                    flush=True,
                )
                for line in run.extra:
                    print(f"    {line}")
        load_after = os.getloadavg()
        print(
            f"\nMedians of {options.rounds} round(s); queries: one request, Django's test Client "
            "on the same settings and database (the connection's health check not counted).\n"
        )
        lines = table(selected, results, queries)
        print("\n".join(lines))
        print(
            f"\nCPUs: {cpus}; load average before: "
            + " ".join(f"{x:.2f}" for x in load_before)
            + "; after: "
            + " ".join(f"{x:.2f}" for x in load_after)
        )
        failed = any(run.problem for runs in results.values() for run in runs)
        if failed:
            keep_logs = True
            print(f"Some rows FAILED: gunicorn's logs are kept in {workdir}")
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("\nInterrupted: stopping the servers.", file=sys.stderr)
        return 130
    finally:
        for server in reversed(servers):
            server.stop(timeout=10)
        redis_empty(options.redis)
        if static_root is not None:
            shutil.rmtree(static_root, ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
