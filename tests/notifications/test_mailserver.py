"""The real Dovecot that the inbound-mail tests read from: tests of tests/mailserver.py itself.

No database: these only start Dovecot and talk IMAP to it.
"""

import socket
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import pytest
from imap_tools import MailboxLoginError, MailBoxUnencrypted

from tests import mailserver
from tests.mailserver import Dovecot


def customer_mail(subject: str = "Pump P-200 leaking", body: str = "Cara assistenza, perde.\n"):
    """A customer's e-mail with non-ASCII in the subject and the body, as bytes on the wire."""
    message = EmailMessage()
    message["From"] = "Mario Rossi <mario@customer.example>"
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message["Message-ID"] = "<leak-1@customer.example>"
    message.set_content(body)
    return message.as_bytes()


def mailbox(server: Dovecot) -> MailBoxUnencrypted:
    # Plain IMAP: imap_tools' MailBox is the IMAP-over-TLS one, MailBoxUnencrypted the plain one.
    return MailBoxUnencrypted(server.host, server.port).login(server.user, server.password)


def test_appended_message_is_fetched_back_unread_and_intact(dovecot):
    raw = customer_mail(subject="Pompa P-200: perdita d'acqua è urgente", body="Perde già.\n")
    dovecot.append(raw)

    with mailbox(dovecot) as box:
        (message,) = box.fetch(mark_seen=False)
    assert message.subject == "Pompa P-200: perdita d'acqua è urgente"
    assert message.text == "Perde già.\r\n"  # IMAP's line ends
    assert message.from_ == "mario@customer.example"
    assert "\\Seen" not in message.flags

    (stored,) = dovecot.messages()
    assert not stored.seen
    assert stored.raw == raw.replace(b"\n", b"\r\n")  # IMAP stores CRLF line ends


def test_seen_and_moved_messages_show_in_messages(dovecot):
    dovecot.append(customer_mail(subject="first"))
    dovecot.append(customer_mail(subject="second"))
    dovecot.append(customer_mail(subject="already read"), flags=("\\Seen",))

    # What the portal will do: mark one seen, move another to a folder it creates.
    with mailbox(dovecot) as box:
        uids = {message.subject: message.uid for message in box.fetch(mark_seen=False)}
        box.flag(uids["first"], "\\Seen", True)
        box.folder.create("Processed")
        box.move(uids["second"], "Processed")

    inbox = dovecot.messages()
    assert [(b"Subject: first" in m.raw, m.seen) for m in inbox] == [(True, True), (False, True)]
    (moved,) = dovecot.messages("Processed")
    assert b"Subject: second" in moved.raw
    assert not moved.seen
    assert dovecot.folders() == ["INBOX", "Processed"]


def test_two_instances_run_side_by_side(dovecot):
    with Dovecot(user="other@example.com", password="other-secret") as other:
        assert other.port != dovecot.port
        assert other.directory != dovecot.directory
        assert {dovecot.port, other.port}.isdisjoint({143, 993})
        dovecot.append(customer_mail(subject="for the first"))
        other.append(customer_mail(subject="for the second"))

        with mailbox(other) as box:
            assert [m.subject for m in box.fetch(mark_seen=False)] == ["for the second"]
        with mailbox(dovecot) as box:
            assert [m.subject for m in box.fetch(mark_seen=False)] == ["for the first"]


def test_wrong_password_is_refused(dovecot):
    with pytest.raises(MailboxLoginError):
        MailBoxUnencrypted(dovecot.host, dovecot.port).login(dovecot.user, "not-the-password")
    with mailbox(dovecot) as box:  # the right one still works
        assert box.folder.get() == "INBOX"


def test_url_is_what_the_portal_reads(dovecot):
    url = urlsplit(dovecot.url)
    assert url.scheme == "imap"
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", dovecot.port, "/INBOX")
    assert (unquote(url.username), unquote(url.password)) == (dovecot.user, dovecot.password)
    assert "%40" in dovecot.url  # the @ of the address is quoted


def test_exit_stops_the_server_and_removes_its_files(dovecot_installed):
    with Dovecot() as server:
        directory, port, process = server.directory, server.port, server.process
        assert (directory / "dovecot.log").exists()
    assert process.poll() is not None
    assert not directory.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_port_taken_before_dovecot_binds_it_is_swapped_for_another(
    dovecot_installed, monkeypatch
):
    # What the other xdist worker may do between our choice of a port and Dovecot's bind.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        choices = iter([taken])
        free_port = mailserver._free_port
        monkeypatch.setattr(mailserver, "_free_port", lambda: next(choices, None) or free_port())

        with Dovecot() as server:
            assert server.port != taken
            assert server.messages() == []


def test_a_failed_start_shows_dovecot_log(dovecot_installed):
    class Broken(Dovecot):
        def _config(self) -> str:
            return super()._config() + "no_such_setting = 1\n"

    server = Broken()
    with pytest.raises(RuntimeError, match="no_such_setting"):
        server.start()
    assert server.directory is None  # cleaned up all the same
