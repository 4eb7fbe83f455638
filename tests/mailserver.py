"""A real Dovecot IMAP server for tests: throw-away config and mailbox, a port of its own.

The inbound-mail code talks to a real IMAP server in its tests, not to a mock, because what
matters (UIDs, \\Seen, folders created on the fly, MOVE) is exactly what mocks get wrong.
Everything an instance uses (config, sockets, state, log, mail) lives in one temporary
directory, so instances run side by side (pytest-xdist) and none touches /etc/dovecot or
/var/run/dovecot, nor the system Dovecot that Debian's package may have started on port 143.

Written for Dovecot 2.3 (Debian 12 ships 2.3.19); 2.4 changed the configuration syntax.
"""

import contextlib
import functools
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DOVECOT = Path("/usr/sbin/dovecot")
IMAP_BINARY = Path("/usr/lib/dovecot/imap")  # Debian's path; dovecot-imapd installs it.
INSTALL_HINT = "dovecot-imapd (apt-get install dovecot-imapd)"

# The unprivileged account whose uid owns the mailbox when the tests run as root (CI does).
ROOT_MAIL_ACCOUNT = "nobody"
DEFAULT_USER = "support@example.com"
DEFAULT_PASSWORD = "inbound-secret"


@functools.cache
def dovecot_missing() -> str:
    """What is missing to start an instance here, as a noun phrase ("" when nothing is)."""
    missing = [str(path) for path in (DOVECOT, IMAP_BINARY) if not os.access(path, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} from {INSTALL_HINT}"
    version = subprocess.run(
        [DOVECOT, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.strip()
    if not version.startswith("2.3."):
        return f"Dovecot 2.3 (found {version or 'no version'}; the config written is 2.3's)"
    return ""


@dataclass(frozen=True)
class StoredMessage:
    """One message as the server holds it: what a test asserts after the portal's turn."""

    uid: int
    flags: tuple[str, ...]
    raw: bytes

    @property
    def seen(self) -> bool:
        return "\\Seen" in self.flags


def _free_port() -> int:
    """A port the kernel just gave out and took back (it never hands out 143 or 993)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    """A Dovecot IMAP server with one mailbox user, for the length of a ``with`` block.

    Plain IMAP on 127.0.0.1 (no TLS), cleartext LOGIN allowed: the portal is told where it
    is through ``url``, and the test puts mail in with ``append`` and reads the outcome with
    ``messages``.
    """

    host = "127.0.0.1"
    start_timeout = 10.0
    stop_timeout = 10.0

    def __init__(self, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD):
        for value in (user, password):
            # Both go verbatim into a colon-separated passwd-file line.
            if not value or any(char in value for char in ":\n\r"):
                raise ValueError(f"unusable user or password for a passwd-file: {value!r}")
        self.user = user
        self.password = password
        self.port = 0
        self.directory: Path | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The INBOUND_IMAP_URL form: imap://user:password@host:port/INBOX, quoted."""
        user, password = quote(self.user, safe=""), quote(self.password, safe="")
        return f"imap://{user}:{password}@{self.host}:{self.port}/INBOX"

    # Lifetime ---------------------------------------------------------------------------------

    def __enter__(self) -> "Dovecot":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        missing = dovecot_missing()
        if missing:
            raise RuntimeError(f"cannot start Dovecot here: it needs {missing}")
        self.directory = Path(tempfile.mkdtemp(prefix="dovecot-"))
        try:
            self._prepare_directory()
            # The port is free when chosen but may be taken before Dovecot binds it (the other
            # xdist worker does the same): then Dovecot exits at once, and we take another.
            for _attempt in range(3):
                self.port = _free_port()
                if self._launch():
                    return
            raise RuntimeError(f"Dovecot found no free port after 3 tries\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop Dovecot (SIGTERM, then SIGKILL to its process group) and remove its files.

        A stop takes about 1.1 s: on SIGTERM Dovecot's master stops its children at once, then
        sleeps a fixed second so that the last one (the log process) has closed its listening
        sockets before a restart would bind them again.
        """
        if self.process is not None:
            self._stop_process(self.process)
            self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _stop_process(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=self.stop_timeout)
        # The master stops its children as it exits; this only sweeps up after a crash.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def _launch(self) -> bool:
        """Start Dovecot on self.port; False when that port turned out to be taken."""
        (self.directory / "dovecot.conf").write_text(self._config())
        with open(self.directory / "dovecot.stderr", "wb") as stderr:
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", self.directory / "dovecot.conf"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its own process group, for the last-resort SIGKILL
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "Address already in use" in self.log_tail():
                    self.process = None
                    return False
                raise RuntimeError(
                    f"Dovecot exited with {self.process.returncode} on start\n{self.log_tail()}"
                )
            if self._greets():
                return True
            time.sleep(0.02)
        raise RuntimeError(
            f"Dovecot did not answer on port {self.port} in {self.start_timeout}s\n"
            f"{self.log_tail()}"
        )

    def _greets(self) -> bool:
        """True once imap-login answers with its "* OK" greeting."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                greeted = sock.recv(64).startswith(b"* OK")
                sock.sendall(b"a LOGOUT\r\n")  # leave politely: no "connection reset" logged
                return greeted
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        """The end of Dovecot's log and of its stderr (fatal start-up errors land there)."""
        text = []
        for name in ("dovecot.log", "dovecot.stderr"):
            path = self.directory / name if self.directory else None
            if path and path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                text.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(text) or "(Dovecot wrote no log)"

    # Configuration ----------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        """The passwd-file, and the mail and home directories owned by the mail account."""
        account = self._mail_account()
        for name in ("mail", "home"):
            (self.directory / name).mkdir()
            os.chown(self.directory / name, account.pw_uid, account.pw_gid)
        # mkdtemp made the directory 0700: the mail account must be able to walk through it.
        self.directory.chmod(0o711)
        home = self.directory / "home" / self.user
        # user:password:uid:gid:(gecos):home:(shell), used both as passdb and as userdb.
        line = f"{self.user}:{{PLAIN}}{self.password}:{account.pw_uid}:{account.pw_gid}::{home}::"
        passwd = self.directory / "passwd"
        passwd.write_text(line + "\n")
        passwd.chmod(0o644)  # read by the auth process, which runs as default_internal_user

    @staticmethod
    def _mail_account() -> pwd.struct_passwd:
        """Whose uid reads and writes the mailbox.

        Dovecot 2.3 never accesses mail as root: passwd-file rejects uid 0 ("invalid UID '0'"),
        and even with first_valid_uid = 0, first_valid_gid = 0 and mail_uid = mail_gid = root
        the imap process dies with "Mail access not allowed for root" (a hard-coded check). So
        as root (CI, this machine) the mail belongs to an unprivileged account, and otherwise to
        the user running the tests, who owns the temporary directory.
        """
        if os.geteuid() == 0:
            return pwd.getpwnam(ROOT_MAIL_ACCOUNT)
        return pwd.getpwuid(os.geteuid())

    def _config(self) -> str:
        """dovecot.conf for this instance: every path in the temporary directory."""
        if os.geteuid() == 0:
            # The accounts Debian's package creates: auth runs as dovecot, imap-login as
            # dovenull (chrooted into base_dir/login); only the imap process is the mail account.
            users = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            chroot = ""
        else:
            # Rootless: Dovecot cannot switch users or chroot, so every service runs as us.
            me = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            users = (
                f"default_internal_user = {me}\ndefault_login_user = {me}\n"
                f"default_internal_group = {group}\n"
            )
            chroot = "  chroot =\n"
        account = self._mail_account()
        d = self.directory
        return f"""\
# Written by tests/mailserver.py for one test: nothing here is read from /etc/dovecot.
base_dir = {d}/run
state_dir = {d}/state
instance_name = test-dovecot-{self.port}
log_path = {d}/dovecot.log
protocols = imap
listen = {self.host}
ssl = no
# Dovecot 2.3's name; 2.4 calls it auth_allow_cleartext and would refuse this line.
disable_plaintext_auth = no
auth_mechanisms = plain login
# A refused password is answered within 0.5 s (the auth process checks its failures twice a
# second) instead of after the default 2 s.
auth_failure_delay = 0
{users}# The mail account may be below the default 500 (a laptop user) or in group 0: allow it.
first_valid_uid = {account.pw_uid}
first_valid_gid = {account.pw_gid}
mail_location = maildir:{d}/mail/%u
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{chroot}}}
service anvil {{
  # Without this socket the auth process gives no penalty (up to 15 s) to a client that
  # failed to log in: a test of a wrong password must not slow the next log-in down.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{chroot}}}
"""

    # Mailbox access ---------------------------------------------------------------------------

    def connect(self) -> imaplib.IMAP4:
        """A logged-in imaplib client; the caller logs out."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> None:
        """IMAP APPEND a message, as a mail server delivering it would (unread unless flagged).

        imaplib sends bare LF line ends as CRLF, as IMAP requires: ``messages`` returns CRLF.
        """
        client = self.connect()
        try:
            flag_list = f"({' '.join(flags)})" if flags else None
            status, data = client.append(_quote_mailbox(folder), flag_list, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND to {folder!r} refused: {data!r}")
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> list[StoredMessage]:
        """What the folder holds, oldest first, read without setting \\Seen (BODY.PEEK)."""
        client = self.connect()
        try:
            status, data = client.select(_quote_mailbox(folder), readonly=True)
            if status != "OK":
                raise RuntimeError(f"no folder {folder!r}: {data!r}")
            if int(data[0]) == 0:
                return []
            status, data = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            if status != "OK":
                raise RuntimeError(f"FETCH in {folder!r} failed: {data!r}")
            return _parse_fetch(data)
        finally:
            client.logout()

    def folders(self) -> list[str]:
        """The names of all folders (the portal may create some)."""
        client = self.connect()
        try:
            status, data = client.list()
            if status != "OK":
                raise RuntimeError(f"LIST failed: {data!r}")
            # Each line: (\HasNoChildren) "." Name   (the name quoted when it needs to be).
            names = [re.match(rb'\(.*?\) (?:"[^"]*"|NIL) (.*)', line).group(1) for line in data]
            return sorted(name.decode().strip('"') for name in names)
        finally:
            client.logout()


def _quote_mailbox(name: str) -> str:
    """Quote a folder name, which imaplib sends as it is, so that spaces survive.

    ASCII names only: nothing here encodes them to IMAP's modified UTF-7.
    """
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_fetch(data: list) -> list[StoredMessage]:
    """Turn imaplib's UID FETCH answer into messages.

    imaplib gives each message as a (b'1 (UID 7 FLAGS (\\Seen) BODY[] {123}', raw) pair,
    followed by b')' or by whatever items the server sent after the literal.
    """
    messages = []
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        head, raw = item
        after = data[index + 1] if index + 1 < len(data) else b""
        text = head + (after if isinstance(after, bytes) else b"")
        uid = int(re.search(rb"UID (\d+)", text).group(1))
        # \Recent only says which session saw the message first: nothing the portal sets.
        flags = tuple(flag.decode() for flag in imaplib.ParseFlags(text) if flag != rb"\Recent")
        messages.append(StoredMessage(uid=uid, flags=flags, raw=raw))
    return sorted(messages, key=lambda message: message.uid)
