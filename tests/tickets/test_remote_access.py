import io
import logging
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from schedule import gate
from schedule.gate import ServiceState
from tests.customers.factories import CustomerFactory, StaffFactory, UserFactory
from tests.schedule.conftest import rome
from tests.schedule.factories import ClosureFactory
from tests.tickets.factories import TicketFactory
from tickets import crypto
from tickets.models import RemoteAccessRequest, RemoteAccessReveal, Ticket, TicketEvent
from tickets.remote.services import (
    remote_access_current,
    remote_access_request,
    remote_access_reveal,
    remote_access_submit,
)
from tickets.services import ticket_close, ticket_close_by_customer, ticket_mark_duplicate
from tickets.tasks import remote_access_erase_expired

pytestmark = pytest.mark.django_db

PASSWORD = "Zq7#kP2m"  # what TeamViewer shows the customer
TV_ID = "123 456 789"


@pytest.fixture
def taken_ticket(operator):
    return TicketFactory(status=Ticket.Status.TAKEN, assigned_to=operator, taken_at=timezone.now())


@pytest.fixture
def requested(taken_ticket, operator):
    return remote_access_request(ticket=taken_ticket, operator=operator)


def submit(remote_access, **overrides):
    kwargs = {
        "remote_access": remote_access,
        "customer": remote_access.ticket.customer,
        "teamviewer_id": TV_ID,
        "password": PASSWORD,
        "authorisation_confirmed": True,
        "backup_confirmed": True,
    }
    kwargs.update(overrides)
    return remote_access_submit(**kwargs)


@pytest.fixture
def submitted(requested, service_open):
    return submit(requested)


def database_dump() -> bytes:
    """Every row of every table, as the database stores it."""
    if connection.vendor == "sqlite":
        return connection.connection.serialize()
    assert connection.vendor == "postgresql"
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            with cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                chunks.extend(bytes(chunk) for chunk in copy)
    return b"".join(chunks)


def stored_row(remote_access) -> dict:
    """The request's row as the database returns it, column by column."""
    table = connection.ops.quote_name(RemoteAccessRequest._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [remote_access.pk])  # noqa: S608
        columns = [column[0] for column in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def as_bytes(value) -> bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()


def postgres_files() -> bytes:
    """Every file of the test database on PostgreSQL, after writing every changed page."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        files = Path(data_directory) / "base" / str(cursor.fetchone()[0])
        if not os.access(files, os.R_OK):
            pytest.skip(f"{files} is not readable by this user")
        cursor.execute("CHECKPOINT")  # write every changed page, uncommitted rows included
    return b"".join(path.read_bytes() for path in files.iterdir() if path.is_file())


# Requesting -------------------------------------------------------------------------------------


def test_assigned_operator_requests_a_session_with_a_public_event(taken_ticket, operator):
    remote_access = remote_access_request(ticket=taken_ticket, operator=operator)

    assert remote_access.is_pending
    assert remote_access.requested_by == operator
    event = taken_ticket.events.get(kind=TicketEvent.Kind.REMOTE_REQUEST)
    assert event.is_public
    assert event.author == operator
    assert event.body == ""  # the ticket page and the e-mail word it for their reader


def test_only_the_operator_who_took_the_ticket_can_request(taken_ticket):
    other = StaffFactory()
    manager = UserFactory(is_staff=True, is_superuser=True)
    for user in (other, manager, taken_ticket.customer.user):
        with pytest.raises(PermissionDenied):
            remote_access_request(ticket=taken_ticket, operator=user)
    unassigned = TicketFactory()
    with pytest.raises(PermissionDenied):
        remote_access_request(ticket=unassigned, operator=other)
    assert not RemoteAccessRequest.objects.exists()


def test_asking_twice_while_pending_keeps_one_request(requested, taken_ticket, operator):
    again = remote_access_request(ticket=taken_ticket, operator=operator)

    assert again.pk == requested.pk
    assert taken_ticket.events.filter(kind=TicketEvent.Kind.REMOTE_REQUEST).count() == 1


def test_asking_again_after_submission_erases_the_old_details(submitted, taken_ticket, operator):
    new = remote_access_request(ticket=taken_ticket, operator=operator)

    submitted.refresh_from_db()
    assert submitted.is_erased
    assert submitted.erase_reason == RemoteAccessRequest.EraseReason.REPLACED
    assert submitted.password_token is None
    assert submitted.teamviewer_id_token is None
    assert new.is_pending


def test_a_closed_ticket_cannot_get_a_request(taken_ticket, operator):
    ticket_close(ticket=taken_ticket, user=operator)
    with pytest.raises(ValidationError):
        remote_access_request(ticket=taken_ticket, operator=operator)


# The customer's side ----------------------------------------------------------------------------


def test_customer_sees_the_request_the_download_link_and_both_confirmations(
    client, requested, service_open, settings
):
    settings.TEAMVIEWER_DOWNLOAD_URL = "https://databank.example.org/software/tv"
    ticket = requested.ticket
    client.force_login(ticket.customer.user)

    page = client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()

    assert 'id="remote-access"' in page
    assert 'href="https://databank.example.org/software/tv"' in page
    assert page.count("teamviewer.com") == 0
    assert 'name="confirm_authorisation"' in page
    assert "section 5" in page
    assert 'name="confirm_backup"' in page
    assert "section 6" in page
    assert 'name="teamviewer_id"' in page
    assert 'type="password" name="password"' in page
    assert reverse("tickets:remote-access", args=[ticket.number]) in page


def test_no_box_without_a_request(client, taken_ticket, service_open):
    client.force_login(taken_ticket.customer.user)
    page = client.get(reverse("tickets:detail", args=[taken_ticket.number])).content.decode()
    assert 'id="remote-access"' not in page


def test_customer_sends_the_details_through_the_portal(client, requested, service_open, caplog):
    caplog.set_level(logging.DEBUG)
    ticket = requested.ticket
    client.force_login(ticket.customer.user)
    data = {
        "confirm_authorisation": "on",
        "confirm_backup": "on",
        "teamviewer_id": TV_ID,
        "password": PASSWORD,
    }

    response = client.post(reverse("tickets:remote-access", args=[ticket.number]), data)

    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.is_submitted
    assert crypto.secret_decrypt(token=requested.teamviewer_id_token) == "123456789"
    assert b"123456789" not in bytes(requested.teamviewer_id_token)
    assert requested.authorisation_confirmed_at is not None
    assert requested.backup_confirmed_at is not None
    assert bytes(requested.password_token) != PASSWORD.encode()
    assert crypto.secret_decrypt(token=requested.password_token) == PASSWORD
    event = ticket.events.get(kind=TicketEvent.Kind.REMOTE_SUBMITTED)
    assert not event.is_public
    assert event.body == ""
    page = client.get(response["Location"]).content.decode()
    assert PASSWORD not in page
    assert "You sent your TeamViewer ID and password" in page
    assert PASSWORD not in caplog.text


def test_both_confirmations_are_required_and_the_password_is_not_sent_back(
    client, requested, service_open
):
    ticket = requested.ticket
    client.force_login(ticket.customer.user)
    data = {"confirm_authorisation": "on", "teamviewer_id": TV_ID, "password": PASSWORD}

    response = client.post(reverse("tickets:remote-access", args=[ticket.number]), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Confirm that you have backed up your computer." in page
    assert PASSWORD not in page
    requested.refresh_from_db()
    assert requested.is_pending
    with pytest.raises(ValidationError) as exc:
        submit(requested, authorisation_confirmed=False)
    assert "confirm_authorisation" in exc.value.error_dict


@pytest.mark.parametrize(
    ("teamviewer_id", "password", "field"),
    [("12ab", PASSWORD, "teamviewer_id"), (TV_ID, "abc", "password"), (TV_ID, "", "password")],
)
def test_details_are_checked(requested, service_open, teamviewer_id, password, field):
    with pytest.raises(ValidationError) as exc:
        submit(requested, teamviewer_id=teamviewer_id, password=password)
    assert field in exc.value.error_dict


def test_another_customer_gets_a_404_and_cannot_submit(client, requested, service_open):
    stranger = CustomerFactory()
    client.force_login(stranger.user)
    response = client.post(
        reverse("tickets:remote-access", args=[requested.ticket.number]),
        {"confirm_authorisation": "on", "confirm_backup": "on", "teamviewer_id": TV_ID},
    )
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        submit(requested, customer=stranger)


def test_a_suspended_customer_cannot_submit(client, requested, service_open):
    customer = requested.ticket.customer
    customer.is_suspended = True
    customer.suspension_reason = "Counterfeit software found."
    customer.save()
    with pytest.raises(PermissionDenied):
        submit(requested)
    client.force_login(customer.user)
    page = client.get(reverse("tickets:detail", args=[requested.ticket.number])).content.decode()
    assert "you cannot send access details" in page
    assert 'name="password"' not in page


# Friday 7 to Monday 10 November 2025: a company closure; the service opens again on Tuesday.
CLOSED_MOMENTS = [
    pytest.param(
        rome(2025, 11, 7, 10, 0), ServiceState.CLOSURE, rome(2025, 11, 11, 8, 30), id="closure"
    ),
    pytest.param(
        rome(2025, 12, 25, 10, 0), ServiceState.HOLIDAY, rome(2025, 12, 29, 8, 30), id="Christmas"
    ),
    pytest.param(
        rome(2025, 11, 29, 10, 0),
        ServiceState.OUTSIDE_HOURS,
        rome(2025, 12, 1, 8, 30),
        id="Saturday",
    ),
]


@pytest.mark.parametrize(("at", "state", "opens"), CLOSED_MOMENTS)
def test_the_calendar_gate_binds_the_submission(requested, at, state, opens):
    ClosureFactory(title_en="Bridge", first_day=date(2025, 11, 7), last_day=date(2025, 11, 10))

    with pytest.raises(gate.ServiceClosedError) as refused:
        submit(requested, at=at)

    assert (refused.value.status.state, refused.value.status.next_opening) == (state, opens)
    requested.refresh_from_db()
    assert requested.is_pending
    # The same submission goes through once the calendar opens again.
    submit(requested, at=opens)
    requested.refresh_from_db()
    assert requested.is_submitted


# Revealing --------------------------------------------------------------------------------------


def test_the_assigned_operator_reveals_the_details_with_an_audit_row(client, submitted, operator):
    ticket = submitted.ticket
    client.force_login(operator)
    state = client.get(reverse("tickets_admin:remote-access", args=[ticket.pk]))
    assert state.status_code == 200
    assert PASSWORD not in state.content.decode()

    response = client.post(reverse("tickets_admin:remote-access-reveal", args=[ticket.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert PASSWORD in page
    assert "123456789" in page
    assert "no-store" in response["Cache-Control"]
    reveal = RemoteAccessReveal.objects.get()
    assert reveal.operator == operator
    assert reveal.request == submitted
    client.post(reverse("tickets_admin:remote-access-reveal", args=[ticket.pk]))
    assert RemoteAccessReveal.objects.count() == 2


def test_the_reveal_is_post_only(client, submitted, operator):
    client.force_login(operator)
    response = client.get(reverse("tickets_admin:remote-access-reveal", args=[submitted.ticket.pk]))
    assert response.status_code == 302
    assert not RemoteAccessReveal.objects.exists()


def test_other_staff_and_managers_cannot_reveal(client, submitted):
    other = StaffFactory()
    manager = UserFactory(is_staff=True, is_superuser=True)
    for user in (other, manager):
        with pytest.raises(PermissionDenied):
            remote_access_reveal(remote_access=submitted, operator=user)
        client.force_login(user)
        url = reverse("tickets_admin:remote-access-reveal", args=[submitted.ticket.pk])
        response = client.post(url)
        assert response.status_code == 403
        assert PASSWORD not in response.content.decode()
    assert not RemoteAccessReveal.objects.exists()


def test_customers_cannot_reach_the_admin_pages(client, submitted):
    client.force_login(submitted.ticket.customer.user)
    url = reverse("tickets_admin:remote-access-reveal", args=[submitted.ticket.pk])
    response = client.post(url)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_operator_asks_from_the_admin(client, taken_ticket, operator):
    client.force_login(operator)
    url = reverse("tickets_admin:remote-access", args=[taken_ticket.pk])
    page = client.get(url).content.decode()
    assert "Ask for remote access" in page

    response = client.post(url, {"message": "Please connect at three."})

    assert response.status_code == 302
    assert remote_access_current(ticket=taken_ticket).is_pending
    assert (
        taken_ticket.events.get(kind=TicketEvent.Kind.REMOTE_REQUEST).body
        == "Please connect at three."
    )


def test_another_operator_cannot_ask_from_the_admin(client, taken_ticket):
    client.force_login(StaffFactory(is_superuser=True))
    client.post(reverse("tickets_admin:remote-access", args=[taken_ticket.pk]))
    assert not RemoteAccessRequest.objects.exists()


# Where the password must never be ----------------------------------------------------------------


def test_the_plaintext_is_nowhere_but_the_reveal_page(
    client, taken_ticket, operator, service_open, caplog
):
    caplog.set_level(logging.DEBUG)
    remote_access = remote_access_request(ticket=taken_ticket, operator=operator)
    client.force_login(taken_ticket.customer.user)
    client.post(
        reverse("tickets:remote-access", args=[taken_ticket.number]),
        {
            "confirm_authorisation": "on",
            "confirm_backup": "on",
            "teamviewer_id": TV_ID,
            "password": PASSWORD,
        },
    )
    remote_access.refresh_from_db()
    assert remote_access.is_submitted
    client.force_login(operator)
    client.post(reverse("tickets_admin:remote-access-reveal", args=[taken_ticket.pk]))

    dump = database_dump()
    assert PASSWORD.encode() not in dump
    assert PASSWORD.encode().hex().encode() not in dump
    assert bytes(remote_access.password_token) in dump or connection.vendor == "postgresql"
    assert not any(PASSWORD in event.body for event in TicketEvent.objects.all())
    for message in mail.outbox:
        assert PASSWORD not in message.subject + message.body
        assert all(PASSWORD not in str(content) for content, _type in message.alternatives)
    assert PASSWORD not in caplog.text

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    for url in (
        reverse("admin:tickets_remoteaccessrequest_changelist"),
        reverse("admin:tickets_remoteaccessrequest_change", args=[remote_access.pk]),
        reverse("admin:tickets_ticket_changelist"),
        reverse("admin:tickets_ticket_change", args=[taken_ticket.pk]),
        reverse("tickets_admin:remote-access", args=[taken_ticket.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert PASSWORD not in page, url
        assert "123456789" not in page, url
    assert PASSWORD not in caplog.text


def test_the_teamviewer_id_is_stored_only_encrypted(client, requested, operator, service_open):
    ticket = requested.ticket
    client.force_login(ticket.customer.user)
    client.post(
        reverse("tickets:remote-access", args=[ticket.number]),
        {
            "confirm_authorisation": "on",
            "confirm_backup": "on",
            "teamviewer_id": TV_ID,
            "password": PASSWORD,
        },
    )

    row = stored_row(requested)
    assert row["submitted_at"] is not None
    assert row["teamviewer_id_token"] is not None
    for column, value in row.items():
        assert b"123456789" not in as_bytes(value), column
    dump = database_dump()
    assert b"123456789" not in dump
    assert b"123456789".hex().encode() not in dump
    # The operator still reads it on the reveal page, and that is audited as before.
    client.force_login(operator)
    page = client.post(reverse("tickets_admin:remote-access-reveal", args=[ticket.pk]))
    assert "123456789" in page.content.decode()
    assert RemoteAccessReveal.objects.get().operator == operator


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_ids_stored_in_clear(operator, service_open, settings):
    settings.REMOTE_ACCESS_TTL_MINUTES = 60
    keys = settings.REMOTE_ACCESS_KEYS
    # IDs no other test uses, so that an old row elsewhere in the files cannot match.
    clear_id, stale_id = "4455667788", "5566778899"

    def taken():
        return TicketFactory(status=Ticket.Status.TAKEN, assigned_to=operator)

    live = submit(remote_access_request(ticket=taken(), operator=operator), teamviewer_id=clear_id)
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        stale = submit(
            remote_access_request(ticket=taken(), operator=operator), teamviewer_id=stale_id
        )
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    table = connection.ops.quote_name(RemoteAccessRequest._meta.db_table)
    try:
        # Back to the clear column: the live ID is decrypted, the one past the limit erased.
        executor.migrate([("tickets", "0007_dashboard_and_all_statuses_indexes")])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, teamviewer_id, password_token IS NULL, erase_reason FROM {table}"  # noqa: S608
            )
            rows = {pk: rest for pk, *rest in cursor.fetchall()}
        assert rows[live.pk] == [clear_id, False, ""]
        assert rows[stale.pk] == ["", True, RemoteAccessRequest.EraseReason.EXPIRED]
        assert clear_id.encode() in database_dump()  # what the migration has to encrypt

        # Without keys the IDs cannot be encrypted: the migration stops and changes nothing.
        settings.REMOTE_ACCESS_KEYS = []
        with pytest.raises(ImproperlyConfigured, match="REMOTE_ACCESS_KEYS"):
            MigrationExecutor(connection).migrate(leaves)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT teamviewer_id FROM {table} WHERE id = %s", [live.pk])  # noqa: S608
            assert cursor.fetchone() == (clear_id,)
    finally:
        settings.REMOTE_ACCESS_KEYS = keys
        MigrationExecutor(connection).migrate(leaves)

    for column, value in stored_row(live).items():
        assert clear_id.encode() not in as_bytes(value), column
    live.refresh_from_db()
    assert crypto.secret_decrypt(token=live.teamviewer_id_token) == clear_id
    revealed = remote_access_reveal(remote_access=live, operator=operator)
    assert (revealed.teamviewer_id, revealed.password) == (clear_id, PASSWORD)
    stale.refresh_from_db()
    assert stale.is_erased
    assert stale.teamviewer_id_token is None
    # The rows' old versions, which held the ID in clear, are gone from the files too.
    assert clear_id.encode() not in database_dump()
    if connection.vendor == "postgresql":
        content = postgres_files()
        assert bytes(live.teamviewer_id_token) in content
        assert clear_id.encode() not in content


def test_error_reports_hide_the_posted_credentials(client, requested, service_open):
    from django.views.debug import SafeExceptionReporterFilter

    client.force_login(requested.ticket.customer.user)
    response = client.post(
        reverse("tickets:remote-access", args=[requested.ticket.number]),
        {"teamviewer_id": TV_ID, "password": PASSWORD},
    )

    request = response.wsgi_request
    assert request.sensitive_post_parameters == ("password", "teamviewer_id")
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed["password"] != PASSWORD
    assert cleansed["teamviewer_id"] != TV_ID


# Erasing -----------------------------------------------------------------------------------------


def test_closing_the_ticket_erases_the_details(submitted, operator):
    ticket_close(ticket=submitted.ticket, user=operator)

    submitted.refresh_from_db()
    assert submitted.is_erased
    assert submitted.erase_reason == RemoteAccessRequest.EraseReason.CLOSED
    assert submitted.password_token is None
    assert submitted.teamviewer_id_token is None
    with pytest.raises(ValidationError):
        remote_access_reveal(remote_access=submitted, operator=operator)


def test_the_customer_closing_or_a_duplicate_erases_too(submitted, operator):
    ticket = submitted.ticket
    ticket_close_by_customer(ticket=ticket, customer=ticket.customer)
    submitted.refresh_from_db()
    assert submitted.is_erased

    other = TicketFactory(
        customer=ticket.customer, status=Ticket.Status.TAKEN, assigned_to=operator
    )
    remote_access = submit(remote_access_request(ticket=other, operator=operator))
    original = TicketFactory(customer=ticket.customer)
    ticket_mark_duplicate(ticket=other, original=original, operator=operator)
    remote_access.refresh_from_db()
    assert remote_access.is_erased


def test_the_periodic_task_erases_details_past_the_time_limit(submitted, settings):
    settings.REMOTE_ACCESS_TTL_MINUTES = 30
    assert remote_access_erase_expired() == 0

    with time_machine.travel(timezone.now() + timedelta(minutes=29)):
        assert remote_access_erase_expired() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert remote_access_erase_expired() == 1

    submitted.refresh_from_db()
    assert submitted.is_erased
    assert submitted.erase_reason == RemoteAccessRequest.EraseReason.EXPIRED
    assert submitted.password_token is None
    assert submitted.teamviewer_id_token is None


def test_the_periodic_task_is_scheduled_and_takes_no_arguments():
    entry = settings.CELERY_BEAT_SCHEDULE["remote-access-erase-expired"]
    assert entry["task"] == remote_access_erase_expired.name
    assert not entry.get("args")
    assert not entry.get("kwargs")


def test_the_ttl_refuses_an_old_token_even_before_the_sweeper(submitted, operator, settings):
    settings.REMOTE_ACCESS_TTL_MINUTES = 30
    later = timezone.now() + timedelta(minutes=31)
    with time_machine.travel(later), pytest.raises(ValidationError):
        remote_access_reveal(remote_access=submitted, operator=operator)
    submitted.refresh_from_db()
    assert submitted.is_erased
    assert not RemoteAccessReveal.objects.exists()


def test_the_ttl_alone_refuses_a_token(settings):
    settings.REMOTE_ACCESS_TTL_MINUTES = 1
    token = crypto.secret_encrypt(plaintext=PASSWORD)
    assert crypto.secret_decrypt(token=token) == PASSWORD
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=2)),
        pytest.raises(crypto.SecretExpiredError),
    ):
        crypto.secret_decrypt(token=token)


# Keys ---------------------------------------------------------------------------------------------


def test_keys_rotate_and_secret_key_is_not_one_of_them(settings):
    old = Fernet.generate_key().decode()
    settings.REMOTE_ACCESS_KEYS = [old]
    token = crypto.secret_encrypt(plaintext=PASSWORD)
    new = Fernet.generate_key().decode()
    settings.REMOTE_ACCESS_KEYS = [new, old]
    assert crypto.secret_decrypt(token=token) == PASSWORD
    rotated = crypto.secret_rotate(token=token)
    settings.REMOTE_ACCESS_KEYS = [new]
    assert crypto.secret_decrypt(token=rotated) == PASSWORD
    with pytest.raises(crypto.SecretExpiredError):
        crypto.secret_decrypt(token=token)
    assert settings.SECRET_KEY not in settings.REMOTE_ACCESS_KEYS


def test_the_rotate_command_moves_every_credential_to_the_newest_key(settings, submitted, operator):
    from django.core.management import call_command

    old = settings.REMOTE_ACCESS_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.REMOTE_ACCESS_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_remote_access_keys", batch_size=1, stdout=out)
    assert "credentials of 1 remote-access requests" in out.getvalue()

    settings.REMOTE_ACCESS_KEYS = [new]  # the old key is gone: only rotated tokens still open
    submitted.refresh_from_db()
    revealed = remote_access_reveal(remote_access=submitted, operator=operator)
    assert (revealed.teamviewer_id, revealed.password) == (TV_ID.replace(" ", ""), PASSWORD)


@pytest.mark.postgres
def test_the_plaintext_is_not_in_the_database_files(
    require_postgres,
    client,
    taken_ticket,
    operator,
    service_open,
    django_capture_on_commit_callbacks,
):
    # A password no other test uses, so that an old row elsewhere in the files cannot match.
    password = "Pg-" + Fernet.generate_key().decode()[:20]
    postgres_files()  # skips here, before any work, when the files cannot be read

    with django_capture_on_commit_callbacks(execute=True):
        remote_access_request(ticket=taken_ticket, operator=operator)
        client.force_login(taken_ticket.customer.user)
        client.post(
            reverse("tickets:remote-access", args=[taken_ticket.number]),
            {
                "confirm_authorisation": "on",
                "confirm_backup": "on",
                "teamviewer_id": "555 444 333",
                "password": password,
            },
        )
        client.force_login(operator)
        revealed = client.post(
            reverse("tickets_admin:remote-access-reveal", args=[taken_ticket.pk])
        )
    assert password in revealed.content.decode()
    assert "555444333" in revealed.content.decode()
    content = postgres_files()

    # The tokens, stored as they are, show that the scan reads the row just written.
    stored = RemoteAccessRequest.objects.get(ticket=taken_ticket)
    assert bytes(stored.password_token) in content
    assert bytes(stored.teamviewer_id_token) in content
    assert password.encode() not in content
    assert b"555444333" not in content
    assert remote_access_current(ticket=taken_ticket).is_submitted
    # The e-mail asking for the session went out; none carries the password.
    assert any(f"#{taken_ticket.number}" in message.subject for message in mail.outbox)
    assert all(password not in message.body for message in mail.outbox)
