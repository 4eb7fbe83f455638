"""A workshop's people through the portal: the owner's invitations and their signed links, what a
member sees, who opened and wrote what, whom the e-mails reach, removal and suspension, the
staff's view of the members, and the people page in the reader's language."""

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from customers.invitations import INVITATION_SALT
from customers.models import Invitation, Member, User
from customers.services import customer_suspend
from tests.conftest import make_image, ticket_post_data, ticket_submit
from tests.customers.factories import (
    PASSWORD,
    CustomerFactory,
    MemberFactory,
    StaffFactory,
)
from tickets import services as tickets_services
from tickets.models import Ticket, TicketEvent
from tickets.uploads import clean_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

BASE = "https://support.example.test"
TEAM = reverse("customers:team")
LOGIN = reverse("customers:login")
NEW_PASSWORD = "Gearbox-Tuesday-1987"
LINK = re.compile(re.escape(BASE) + r"/account/invitation/([^/\s\"'<]+)/")


@pytest.fixture(autouse=True)
def _portal_url(settings):
    settings.PORTAL_BASE_URL = BASE


@pytest.fixture
def owner(client, customer):
    """The workshop's owner, logged in on the default test client."""
    client.force_login(customer.user)
    return client


def logged_in(user) -> Client:
    """A client of its own (a browser of its own) logged in as `user`."""
    other = Client()
    other.force_login(user)
    return other


def text(response) -> str:
    """The page's words as a reader sees them: tags gone, white space folded."""
    words = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(words).split())


def invite(client, on_commit, email, scope="own", **extra):
    with on_commit():
        return client.post(TEAM, {"email": email, "scope": scope}, **extra)


def token_of(message) -> str:
    [token] = set(LINK.findall(message.body))
    return token


def link_path(token: str) -> str:
    return reverse("customers:invitation", args=[token])


def accept(client, token, *, first="Marco", last="Bianchi", password=NEW_PASSWORD):
    return client.post(
        link_path(token),
        {"first_name": first, "last_name": last, "password1": password, "password2": password},
    )


@pytest.fixture
def invited(owner, on_commit):
    """An invitation the owner sent from the people page, and the token of its e-mail."""
    response = invite(owner, on_commit, "marco@officina.example")
    assert response.status_code == 302
    [message] = mail.outbox
    mail.outbox.clear()
    return Invitation.objects.get(), token_of(message)


# Only the owner manages the people -----------------------------------------------------------


@pytest.mark.parametrize("scope", [Member.Scope.OWN, Member.Scope.ALL])
def test_a_member_gets_404_on_every_people_page_and_changes_nothing(customer, on_commit, scope):
    member = MemberFactory(customer=customer, scope=scope)
    colleague = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    waiting = Invitation.objects.create(
        customer=customer,
        email="waiting@officina.example",
        invited_by=customer.user,
        expires_at=timezone.now() + timedelta(days=3),
    )
    client = logged_in(member.user)

    assert client.get(TEAM).status_code == 404
    assert invite(client, on_commit, "someone@officina.example", "all").status_code == 404
    for target in (colleague, member):
        url = reverse("customers:team-member", args=[target.pk])
        assert client.post(url, {"remove": "1"}).status_code == 404
        assert client.post(url, {f"{target.pk}-scope": "all"}).status_code == 404
    url = reverse("customers:team-invitation", args=[waiting.pk])
    assert client.post(url, {"withdraw": "1"}).status_code == 404
    assert client.post(url, {"resend": "1"}).status_code == 404

    assert list(Invitation.objects.values_list("email", "status")) == [
        ("waiting@officina.example", "pending")
    ]
    assert Member.objects.filter(removed_at__isnull=True).count() == 2
    colleague.refresh_from_db()
    assert colleague.scope == Member.Scope.OWN
    assert mail.outbox == []


def test_a_member_of_another_workshop_cannot_touch_this_one(customer):
    member = MemberFactory(customer=customer)
    stranger_owner = CustomerFactory()
    client = logged_in(stranger_owner.user)

    url = reverse("customers:team-member", args=[member.pk])
    assert client.post(url, {"remove": "1"}).status_code == 404
    member.refresh_from_db()
    assert member.is_active


# The invitation and its link ------------------------------------------------------------------


def test_the_invitation_email_carries_a_signed_link(owner, customer, on_commit):
    response = invite(owner, on_commit, "  Marco@Officina.example ", "all", follow=True)

    assert "The invitation is on its way to marco@officina.example." in text(response)
    invitation = Invitation.objects.get()
    assert invitation.email == "marco@officina.example"
    assert invitation.scope == Member.Scope.ALL
    assert invitation.invited_by == customer.user
    assert invitation.status == Invitation.Status.PENDING
    [message] = mail.outbox
    assert message.to == ["marco@officina.example"]
    assert customer.company in message.subject
    token = token_of(message)
    [(body, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f"{BASE}{link_path(token)}" in html.unescape(body)
    # Signed with the secret key for this purpose alone: it names the invitation.
    assert signing.loads(token, salt=INVITATION_SALT) == invitation.pk
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="customers.something-else")
    # The waiting invitation is listed on the owner's page.
    assert "marco@officina.example" in text(owner.get(TEAM))


def test_the_link_opens_a_page_naming_the_workshop_and_the_scope(client, invited, customer):
    _, token = invited
    anonymous = Client()

    response = anonymous.get(link_path(token))

    assert response.status_code == 200
    page = text(response)
    assert customer.company in page
    assert "marco@officina.example" in page
    assert "Only the tickets you open" in page
    assert 'name="password1"' in response.content.decode()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="signature changed"),
        pytest.param(lambda t: "x" + t, id="payload changed"),
        pytest.param(lambda t: t.split(":")[0], id="signature cut off"),
        pytest.param(
            lambda t: signing.dumps(signing.loads(t, salt=INVITATION_SALT), salt="other"),
            id="signed for something else",
        ),
    ],
)
def test_a_tampered_link_is_refused_with_a_page_that_says_so(invited, tamper):
    _, token = invited
    anonymous = Client()

    response = anonymous.get(link_path(tamper(token)))

    assert response.status_code == 410
    assert "This link is not valid: copy the whole address from the e-mail." in text(response)
    assert 'name="password1"' not in response.content.decode()
    response = accept(anonymous, tamper(token))
    assert response.status_code == 410
    assert not Member.objects.exists()
    assert not User.objects.filter(email="marco@officina.example").exists()


def test_an_expired_link_is_refused_with_a_page_that_says_so(settings, owner, on_commit):
    settings.WORKSHOP_INVITATION_DAYS = 3
    invite(owner, on_commit, "marco@officina.example")
    token = token_of(mail.outbox[0])
    sent = timezone.now()
    anonymous = Client()

    with time_machine.travel(sent + timedelta(days=3) - timedelta(minutes=5)):
        assert anonymous.get(link_path(token)).status_code == 200
    with time_machine.travel(sent + timedelta(days=3, minutes=1)):
        response = anonymous.get(link_path(token))
        assert response.status_code == 410
        assert "This invitation has expired: ask your colleague to invite you again." in text(
            response
        )
        assert accept(anonymous, token).status_code == 410
        # The owner's page says so too.
        assert "expired" in text(owner.get(TEAM))

    assert not Member.objects.exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_accepting_sets_the_password_and_logs_in(invited, customer):
    invitation, token = invited
    anonymous = Client()

    response = accept(anonymous, token, first=" Marco ", last="Bianchi")

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:home")
    member = Member.objects.select_related("user").get()
    assert member.customer == customer
    assert member.scope == Member.Scope.OWN
    assert member.invited_by == customer.user
    assert (member.user.first_name, member.user.last_name) == ("Marco", "Bianchi")
    assert member.user.email == "marco@officina.example"
    assert member.user.check_password(NEW_PASSWORD)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.member == member
    # Logged in at once: the portal's home is theirs.
    home = anonymous.get(reverse("tickets:home"))
    assert home.status_code == 200
    assert "Welcome to" in text(home)
    # And from any other browser with the address and the password chosen.
    fresh = Client()
    response = fresh.post(LOGIN, {"username": "MARCO@officina.example", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert fresh.get(reverse("tickets:list")).status_code == 200


def test_the_link_works_once(invited):
    _, token = invited
    assert accept(Client(), token).status_code == 302

    other = Client()
    response = other.get(link_path(token))
    assert response.status_code == 410
    assert "This invitation has already been accepted: log in with your e-mail address." in text(
        response
    )
    response = accept(other, token, password="Another-Password-1234")
    assert response.status_code == 410
    user = User.objects.get(email="marco@officina.example")
    assert user.check_password(NEW_PASSWORD)
    assert Member.objects.count() == 1


def test_a_logged_in_visitor_is_asked_to_log_out_first(invited, owner):
    _, token = invited

    response = owner.get(link_path(token))

    assert response.status_code == 409
    assert "Log out, then open the invitation's link again to accept it." in text(response)
    assert not Member.objects.exists()


def test_a_withdrawn_invitation_link_no_longer_works(invited, owner):
    invitation, token = invited

    response = owner.post(
        reverse("customers:team-invitation", args=[invitation.pk]), {"withdraw": "1"}
    )

    assert response.status_code == 302
    response = Client().get(link_path(token))
    assert response.status_code == 410
    assert "This invitation has been withdrawn." in text(response)


def test_passwords_that_differ_or_are_weak_are_refused_and_nothing_is_written(invited):
    _, token = invited
    anonymous = Client()

    response = anonymous.post(
        link_path(token),
        {
            "first_name": "Marco",
            "last_name": "",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD + "x",
        },
    )
    assert response.status_code == 400
    assert "The two passwords differ." in text(response)
    response = accept(anonymous, token, password="12345678")
    assert response.status_code == 400
    assert "This password is entirely numeric." in text(response)

    assert not Member.objects.exists()
    assert not User.objects.filter(email="marco@officina.example").exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


# Addresses that cannot be invited ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("the customer code itself", "This is the address of the customer code itself."),
        ("another workshop's code", "This address already has a log-in on the portal"),
        ("a member of another workshop", "This address already has a log-in on the portal"),
        ("a staff member", "This address already has a log-in on the portal"),
        ("a member already here", "This colleague is already in your workshop."),
    ],
)
def test_an_address_with_a_log_in_is_refused_with_a_form_error(
    owner, customer, on_commit, who, error
):
    address = {
        "the customer code itself": lambda: customer.user.email,
        "another workshop's code": lambda: CustomerFactory().user.email,
        "a member of another workshop": lambda: MemberFactory().user.email,
        "a staff member": lambda: StaffFactory(email="luca@vendor.example").email,
        "a member already here": lambda: MemberFactory(customer=customer).user.email,
    }[who]()

    response = invite(owner, on_commit, address.upper())

    assert response.status_code == 400
    assert error in text(response)
    # Under the e-mail field, and the address typed is kept for correcting it.
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_an_address_already_invited_gets_the_same_invitation_again(owner, on_commit):
    invite(owner, on_commit, "marco@officina.example", "own")
    first = Invitation.objects.get()
    first_token = token_of(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        response = invite(owner, on_commit, "MARCO@officina.example", "all", follow=True)

    # No second invitation for the same address: the one waiting is sent again, with a fresh
    # expiry and the scope now chosen (customers.services.invitation_create).
    assert response.status_code == 200
    [again] = Invitation.objects.all()
    assert again.pk == first.pk
    assert again.scope == Member.Scope.ALL
    assert again.expires_at > first.expires_at
    assert [m.to for m in mail.outbox] == [["marco@officina.example"]] * 2
    assert token_of(mail.outbox[1]) != first_token


def test_the_workshop_cap_is_a_form_error(settings, owner, customer, on_commit):
    settings.WORKSHOP_MEMBERS_MAX = 2
    MemberFactory(customer=customer)
    invite(owner, on_commit, "first@officina.example")
    mail.outbox.clear()

    response = invite(owner, on_commit, "second@officina.example")

    assert response.status_code == 400
    assert "A workshop has at most 2 colleagues and invitations" in text(response)
    assert list(Invitation.objects.values_list("email", flat=True)) == ["first@officina.example"]
    assert mail.outbox == []


# Removing a member --------------------------------------------------------------------------------


def test_removing_a_member_ends_their_session_and_their_log_in(owner, customer, terms, unit):
    member = MemberFactory(customer=customer, user__first_name="Marco", user__last_name="Bianchi")
    theirs = ticket_submit(customer=customer, unit=unit, terms=terms, opened_by=member.user)
    browser = Client()
    response = browser.post(LOGIN, {"username": member.user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert browser.get(reverse("tickets:list")).status_code == 200

    response = owner.post(
        reverse("customers:team-member", args=[member.pk]), {"remove": "1"}, follow=True
    )

    assert "Marco Bianchi is no longer in your workshop" in text(response)
    # Their next request finds them logged out...
    response = browser.get(reverse("tickets:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert browser.get(reverse("tickets:detail", args=[theirs.number])).status_code == 302
    # ... and their password no longer opens the portal.
    response = Client().post(LOGIN, {"username": member.user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in response.wsgi_request.session
    # Their name stays on what they did; the owner's page no longer lists them.
    page = text(owner.get(reverse("tickets:detail", args=[theirs.number])))
    assert "Marco Bianchi" in page
    assert member.user.email not in text(owner.get(TEAM))


def test_a_removed_member_invited_again_gets_their_log_in_back(owner, customer, on_commit):
    member = MemberFactory(customer=customer, scope=Member.Scope.ALL)
    owner.post(reverse("customers:team-member", args=[member.pk]), {"remove": "1"})

    response = invite(owner, on_commit, member.user.email, "own")
    assert response.status_code == 302
    assert accept(Client(), token_of(mail.outbox[0])).status_code == 302

    member.refresh_from_db()
    assert member.removed_at is None
    assert member.scope == Member.Scope.OWN
    assert member.user.is_active
    assert User.objects.filter(email=member.user.email).count() == 1


# What a member sees -------------------------------------------------------------------------------


@pytest.fixture
def colleagues_ticket(customer, unit, terms):
    """A ticket with a screenshot, opened by a colleague of the members under test."""
    colleague = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    return ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        opened_by=colleague.user,
        subject="Colleague's checksum error",
        files=[("screenshot", clean_upload(make_image("theirs.png")))],
    )


def scope_seen(client, ticket) -> dict:
    """What a person is shown of a ticket: in the list, its page, its file."""
    attachment = ticket.attachments.get()
    return {
        "list": ticket.subject in text(client.get(reverse("tickets:list") + "?state=all")),
        "detail": client.get(reverse("tickets:detail", args=[ticket.number])).status_code,
        "file": client.get(reverse("tickets:attachment", args=[attachment.pk])).status_code,
        "thumbnail": client.get(
            reverse("tickets:attachment-thumbnail", args=[attachment.pk])
        ).status_code,
    }


HIDDEN = {"list": False, "detail": 404, "file": 404, "thumbnail": 404}
SHOWN = {"list": True, "detail": 200, "file": 200, "thumbnail": 200}


def test_an_own_scope_member_sees_only_their_tickets(customer, unit, terms, colleagues_ticket):
    member = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    mine = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        opened_by=member.user,
        subject="My own write failure",
        files=[("screenshot", clean_upload(make_image("mine.png")))],
    )
    client = logged_in(member.user)

    assert scope_seen(client, colleagues_ticket) == HIDDEN
    assert scope_seen(client, mine) == SHOWN
    # The owner's tickets are not theirs either.
    owners = ticket_submit(customer=customer, unit=unit, terms=terms, subject="Owner's ticket")
    assert client.get(reverse("tickets:detail", args=[owners.number])).status_code == 404


def test_an_all_scope_member_and_the_owner_see_every_ticket(customer, colleagues_ticket):
    member = MemberFactory(customer=customer, scope=Member.Scope.ALL)

    assert scope_seen(logged_in(member.user), colleagues_ticket) == SHOWN
    assert scope_seen(logged_in(customer.user), colleagues_ticket) == SHOWN


def test_the_owners_scope_change_applies_at_the_members_next_request(
    owner, customer, colleagues_ticket
):
    member = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    client = logged_in(member.user)
    assert scope_seen(client, colleagues_ticket) == HIDDEN
    url = reverse("customers:team-member", args=[member.pk])

    owner.post(url, {f"{member.pk}-scope": "all"})
    assert scope_seen(client, colleagues_ticket) == SHOWN

    owner.post(url, {f"{member.pk}-scope": "own"})
    assert scope_seen(client, colleagues_ticket) == HIDDEN


# Who opened a ticket, who wrote each message ----------------------------------------------------


def event_authors(response) -> list[str]:
    """Who each event of a ticket page's history is credited to, oldest first."""
    heads = re.findall(
        r'<p class="event-head">\s*<strong>(.*?)</strong>', response.content.decode()
    )
    return [html.unescape(head) for head in heads]


def test_a_ticket_records_who_opened_it_and_who_wrote_each_reply(owner, customer, unit, terms):
    member = MemberFactory(
        customer=customer,
        scope=Member.Scope.OWN,
        user__first_name="Marco",
        user__last_name="Bianchi",
    )
    browser = logged_in(member.user)

    response = browser.post(reverse("tickets:create"), ticket_post_data(unit, terms))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.opened_by == member.user
    browser.post(reverse("tickets:reply", args=[ticket.number]), {"body": "Member adds a log."})
    owner.post(reverse("tickets:reply", args=[ticket.number]), {"body": "Owner confirms."})

    authors = list(
        ticket.events.filter(kind__in=["submitted", "message"])
        .order_by("pk")
        .values_list("kind", "author__email")
    )
    assert authors == [
        ("submitted", member.user.email),
        ("message", member.user.email),
        ("message", customer.user.email),
    ]
    # The owner's page names the colleague where the colleague's own page says "You".
    url = reverse("tickets:detail", args=[ticket.number])
    owners_page = owner.get(url)
    assert "Opened by Marco Bianchi" in text(owners_page)
    assert event_authors(owners_page) == ["Marco Bianchi", "Marco Bianchi", "You"]
    members_page = browser.get(url)
    assert "Opened by You" in text(members_page)
    assert event_authors(members_page) == ["You", "You", customer.user.email]


# Whom the e-mails reach (§2) ---------------------------------------------------------------------


def recipients() -> list[list[str]]:
    return sorted(message.to for message in mail.outbox)


def test_updates_reach_the_code_address_and_the_member_who_opened_the_ticket(
    customer, unit, terms, operator, on_commit
):
    member = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    browser = logged_in(member.user)

    with on_commit():
        browser.post(reverse("tickets:create"), ticket_post_data(unit, terms))
    ticket = Ticket.objects.get()
    # The receipt goes to both, each once.
    assert recipients() == sorted([[customer.user.email], [member.user.email]])
    mail.outbox.clear()

    with on_commit():
        tickets_services.ticket_take(ticket=ticket, operator=operator)
    mail.outbox.clear()
    with on_commit():
        tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Try 3.300.")
    assert recipients() == sorted([[customer.user.email], [member.user.email]])
    assert all("Try 3.300." in message.body for message in mail.outbox)
    mail.outbox.clear()

    # The member's own reply is not sent back to them; the code's address and the operator hear.
    with on_commit():
        browser.post(reverse("tickets:reply", args=[ticket.number]), {"body": "Did not help."})
    assert recipients() == sorted([[customer.user.email], [operator.email]])


def test_updates_of_the_owners_ticket_are_sent_once(customer, unit, terms, operator, on_commit):
    MemberFactory(customer=customer, scope=Member.Scope.ALL)
    owner = logged_in(customer.user)

    with on_commit():
        owner.post(reverse("tickets:create"), ticket_post_data(unit, terms))
    ticket = Ticket.objects.get()
    assert ticket.opened_by == customer.user
    assert recipients() == [[customer.user.email]]
    mail.outbox.clear()

    with on_commit():
        tickets_services.ticket_take(ticket=ticket, operator=operator)
        tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Try 3.300.")
    assert recipients() == [[customer.user.email], [customer.user.email]]
    assert [("taken in charge" in m.subject) for m in mail.outbox] == [True, False]


def test_a_removed_opener_no_longer_receives_the_updates(
    customer, unit, terms, operator, on_commit
):
    member = MemberFactory(customer=customer)
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms, opened_by=member.user)
    logged_in(customer.user).post(
        reverse("customers:team-member", args=[member.pk]), {"remove": "1"}
    )

    with on_commit():
        tickets_services.ticket_take(ticket=ticket, operator=operator)

    assert recipients() == [[customer.user.email]]


# The staff's view: the customer's admin page ----------------------------------------------------


def change_url(customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


def admin_form(customer, members, **changes) -> dict:
    """The customer's admin form as the browser sends it, with its member rows."""
    data = {
        "company": customer.company,
        "contact_name": customer.contact_name,
        "language": customer.language,
        "country": customer.country,
        "phone": customer.phone,
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": str(len(members)),
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "0",
    }
    for prefix in ("units", "invitations"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    for index, member in enumerate(members):
        data[f"members-{index}-id"] = str(member.pk)
        data[f"members-{index}-customer"] = str(customer.pk)
        data[f"members-{index}-scope"] = member.scope
    data.update(changes)
    return data


@pytest.fixture
def staffed(customer):
    """A workshop with two members and an invitation waiting, as staff find it."""
    first = MemberFactory(customer=customer, user__first_name="Marco", user__last_name="Bianchi")
    second = MemberFactory(customer=customer, user__first_name="Sara", user__last_name="Neri")
    Invitation.objects.create(
        customer=customer,
        email="waiting@officina.example",
        invited_by=customer.user,
        expires_at=timezone.now() + timedelta(days=3),
    )
    return first, second


@pytest.mark.parametrize("who", ["operator_client", "manager_client"])
def test_the_customers_admin_page_lists_its_members_and_invitations(
    request, customer, staffed, who
):
    client = request.getfixturevalue(who)
    first, second = staffed

    page = text(client.get(change_url(customer)))

    for member in (first, second):
        assert member.user.get_full_name() in page
        assert member.user.email in page
    assert "waiting@officina.example" in page


def test_a_manager_changes_a_members_scope_and_removes_another(manager_client, customer, staffed):
    first, second = staffed
    browser = logged_in(second.user)

    response = manager_client.post(
        change_url(customer),
        admin_form(
            customer, [first, second], **{"members-0-scope": "all", "members-1-remove": "on"}
        ),
    )

    assert response.status_code == 302, text(response)[:3000]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.scope == Member.Scope.ALL
    assert second.removed_at is not None
    assert not second.user.is_active
    assert browser.get(reverse("tickets:list")).status_code == 302
    assert second.user.email not in text(manager_client.get(change_url(customer)))


def test_an_operator_reads_the_members_but_cannot_change_them(operator_client, customer, staffed):
    first, second = staffed

    response = operator_client.post(
        change_url(customer),
        admin_form(
            customer, [first, second], **{"members-0-scope": "all", "members-1-remove": "on"}
        ),
    )

    assert response.status_code == 403
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.scope == Member.Scope.OWN
    assert second.removed_at is None


# A suspended customer code suspends its members -------------------------------------------------


def test_a_suspended_workshops_members_read_but_cannot_write(
    owner, customer, unit, terms, on_commit
):
    member = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    mine = ticket_submit(customer=customer, unit=unit, terms=terms, opened_by=member.user)
    invite(owner, on_commit, "marco@officina.example")
    token = token_of(mail.outbox[0])
    mail.outbox.clear()
    browser = logged_in(member.user)

    customer_suspend(customer=customer, reason="Contratto scaduto.")

    # Reading still works, as for the owner (terms, §5), and the reason is shown.
    response = browser.get(reverse("tickets:detail", args=[mine.number]))
    assert response.status_code == 200
    assert "Contratto scaduto." in text(browser.get(reverse("tickets:home")))
    # Writing does not: no new ticket, no reply.
    with on_commit():
        browser.post(reverse("tickets:create"), ticket_post_data(unit, terms, subject="New one"))
        browser.post(reverse("tickets:reply", args=[mine.number]), {"body": "Still there?"})
    assert list(Ticket.objects.values_list("pk", flat=True)) == [mine.pk]
    assert not mine.events.filter(kind=TicketEvent.Kind.MESSAGE).exists()
    # Nobody joins a suspended workshop, and its owner invites nobody.
    response = Client().get(link_path(token))
    assert response.status_code == 410
    assert "The workshop's account is suspended" in text(response)
    assert accept(Client(), token).status_code == 410
    response = invite(owner, on_commit, "sara@officina.example")
    assert response.status_code == 400
    assert "Invite a colleague" not in text(response)
    assert list(Invitation.objects.values_list("email", flat=True)) == ["marco@officina.example"]
    assert not Member.objects.exclude(pk=member.pk).exists()
    assert mail.outbox == []


def test_a_suspended_workshops_member_still_logs_in_to_read(customer):
    member = MemberFactory(customer=customer)
    customer_suspend(customer=customer, reason="Contratto scaduto.")

    browser = Client()
    response = browser.post(LOGIN, {"username": member.user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert "Contratto scaduto." in text(browser.get(reverse("tickets:home")))


# The people page in the reader's language ------------------------------------------------------


HELP_TEXT = "They receive a link to choose their password; it works once, for %(days)s days."


@pytest.mark.parametrize("language", ["it", "fr", "en"])
def test_the_invitation_forms_help_text_is_in_the_readers_language(settings, owner, language):
    # Regression (9f2b5e7): the help text was formatted at import, so always in English.
    settings.WORKSHOP_INVITATION_DAYS = 5
    with translation.override(language):
        expected = gettext(HELP_TEXT) % {"days": 5}
    if language != "en":
        assert expected != HELP_TEXT % {"days": 5}, "the catalogue lacks the help text"

    page = text(owner.get(TEAM, HTTP_ACCEPT_LANGUAGE=language))

    assert expected in page


def test_the_people_page_reads_in_italian(owner, customer, on_commit):
    MemberFactory(customer=customer, user__first_name="Marco", user__last_name="Bianchi")

    page = text(owner.get(TEAM, HTTP_ACCEPT_LANGUAGE="it"))

    for italian in (
        "Le persone della tua officina",
        "Invita un collega",
        "Invia l'invito",
        "E-mail del collega",
        "Riceverà un link per scegliere la password",
    ):
        assert italian in page
    for english in (
        "Your workshop's people",
        "Invite a colleague",
        "Send the invitation",
        "They receive a link",
        "Tickets they see",
        "Only the tickets they opened",
        "Every ticket of the workshop",
        "Remove",
    ):
        assert english not in page

    # A refusal reads in Italian too.
    response = invite(owner, on_commit, customer.user.email, HTTP_ACCEPT_LANGUAGE="it")
    with translation.override("it"):
        refusal = gettext("This is the address of the customer code itself.")
    assert refusal != "This is the address of the customer code itself."
    assert refusal in text(response)


def test_the_invitation_page_reads_in_italian(invited):
    _, token = invited

    page = text(Client().get(link_path(token), HTTP_ACCEPT_LANGUAGE="it"))

    with translation.override("it"):
        expected = [gettext("Join your workshop's support"), gettext("Join and log in")]
    for italian in expected:
        assert italian in page
    for english in ("Join your workshop's support", "Join and log in", "Password again"):
        assert english not in page


# The people page's cost does not grow with the people --------------------------------------------


def test_the_people_pages_queries_do_not_grow_with_its_members(
    owner, customer, django_assert_num_queries
):
    MemberFactory(customer=customer)
    Invitation.objects.create(
        customer=customer,
        email="waiting0@officina.example",
        invited_by=customer.user,
        expires_at=timezone.now() + timedelta(days=3),
    )
    owner.get(TEAM)  # the session and the calendar read once, as for any page
    with CaptureQueriesContext(connection) as one:
        assert owner.get(TEAM).status_code == 200
    # Counted now: the next request empties the connection's query log.
    queries = len(one)
    assert queries <= 5, [q["sql"] for q in one.captured_queries]

    MemberFactory.create_batch(9, customer=customer)
    for n in range(1, 4):
        Invitation.objects.create(
            customer=customer,
            email=f"waiting{n}@officina.example",
            invited_by=customer.user,
            expires_at=timezone.now() + timedelta(days=3),
        )
    owner.get(TEAM)
    with django_assert_num_queries(queries):
        response = owner.get(TEAM)
    assert text(response).count("@example.com") >= 10


# An address that got a log-in elsewhere after its invitation -----------------------------------


def test_an_address_that_joined_another_workshop_is_told_so_above_the_form(on_commit):
    first, second = CustomerFactory(), CustomerFactory()
    for workshop in (first, second):
        invite(logged_in(workshop.user), on_commit, "marco@officina.example")
    first_token, second_token = (token_of(message) for message in mail.outbox)
    assert accept(Client(), first_token).status_code == 302

    response = accept(Client(), second_token, password="Another-Password-1234")

    assert response.status_code == 400
    page = response.content.decode()
    refusal = "This address already has a log-in on the portal."
    summary = page.split('id="form-errors"', 1)[1].split("</div>", 1)[0]
    assert refusal in summary
    # Not blamed on the password they typed: nothing under that field, no "Password: …" link.
    assert "Password: " not in text(response)
    assert 'class="field field-error required"' not in page
    assert Member.objects.get().customer == first
    assert User.objects.get(email="marco@officina.example").check_password(NEW_PASSWORD)


# What the colleague is told they will see, in their own person ------------------------------------


@pytest.mark.parametrize("language", ["en", "it", "fr"])
def test_the_colleague_reads_their_scope_as_you_not_they(
    settings, customer, owner, on_commit, language
):
    # The scope's labels speak of the colleague to the owner ("Only the tickets they opened");
    # the invitation's e-mail, its page and the member's profile speak to the colleague.
    customer.language = language
    customer.save(update_fields=["language"])
    with translation.override(language):
        theirs = gettext("Only the tickets they opened")
        yours = gettext("Only the tickets you open")
    if language != "en":
        assert yours != "Only the tickets you open", "the catalogue lacks the text"

    invite(owner, on_commit, "marco@officina.example", "own")
    [message] = mail.outbox
    [(body, _mimetype)] = message.alternatives
    for part in (message.body, html.unescape(body)):
        assert yours in part
        assert theirs not in part
    token = token_of(message)
    page = text(Client().get(link_path(token), HTTP_ACCEPT_LANGUAGE=language))
    assert yours in page
    assert theirs not in page

    member = MemberFactory(customer=customer, scope=Member.Scope.OWN)
    profile = logged_in(member.user).get(
        reverse("customers:profile"), HTTP_ACCEPT_LANGUAGE=language
    )
    assert yours in text(profile)
    assert theirs not in text(profile)
