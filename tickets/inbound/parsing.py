"""What the portal needs of one e-mail: who sent it, what it answers, its text and its files.

Parsing never raises: a message that cannot be read (malformed MIME, an unknown charset, no
body) comes back with `problem` saying why, and is kept for staff with that reason.
"""

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from mailparser_reply import EmailReplyParser

# RFC 3834 and the headers autoresponders and list servers add in practice.
_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_AUTOMATIC_HEADERS = ("X-Autoreply", "X-Autorespond", "List-Id")
_SYSTEM_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|noreply)@", re.IGNORECASE)
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_REPLY_LANGUAGES = ["it", "en", "fr"]


@dataclass
class MailFile:
    name: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str = ""
    subject: str = ""
    recipients: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    automatic: str = ""  # why the message is automatic, or ""
    unauthenticated: str = ""  # what the receiving server found forged, or ""
    text: str = ""  # the whole text
    reply: str = ""  # the text without quoted history and signature
    files: list[MailFile] = field(default_factory=list)
    problem: str = ""  # why the message cannot be read, or ""


def _header(message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot even decode
        return ""
    return _text(str(value or "")).strip()


def _text(value: str) -> str:
    """Text as the database keeps it: PostgreSQL refuses NUL characters."""
    return value.replace("\x00", "")


def _automatic(message, sender: str) -> str:
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _AUTOMATIC_HEADERS:
        if _header(message, name):
            return name
    if message.get_content_type() == "multipart/report":
        return "multipart/report"
    if not sender or _SYSTEM_SENDERS.match(sender):
        return f"From: {sender or '(none)'}"
    if _header(message, "Return-Path") == "<>":
        return "Return-Path: <>"
    return ""


def _unauthenticated(message) -> str:
    """A failure the receiving server recorded (RFC 8601), which says the sender was forged.

    Only the topmost Authentication-Results counts: it is the one our own mail server added;
    those below came with the message and prove nothing.
    """
    results = _header(message, "Authentication-Results").lower()
    if re.search(r"\bdmarc=fail\b", results):
        return "dmarc=fail"
    if re.search(r"\bspf=fail\b", results) and not re.search(r"\bdkim=pass\b", results):
        return "spf=fail"
    return ""


def _text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if body.get_content_subtype() == "html":
        content = strip_tags(re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content))
    return _text(content).replace("\r\n", "\n").strip()


def _files_of(message: EmailMessage) -> list[MailFile]:
    files = []
    for part in message.iter_attachments():
        name = part.get_filename() or ""
        if not name and part.get_content_maintype() != "image":
            continue  # an unnamed part is the body's alternative or a signature, not a file
        content = part.get_content()
        data = content.encode() if isinstance(content, str) else bytes(content)
        if isinstance(content, EmailMessage):  # a forwarded message
            data = content.as_bytes()
            name = name or "message.eml"
        files.append(
            MailFile(name=_text(name or "image"), content_type=part.get_content_type(), data=data)
        )
    return files


def _without_quoted_tail(text: str) -> str:
    """The text less the "> " lines at its end: quoted history whose "On … wrote:" line the
    mail program left out, which the reply parser does not recognise alone."""
    lines = text.rstrip().splitlines()
    kept = list(lines)
    while kept and (kept[-1].startswith(">") or not kept[-1].strip()):
        kept.pop()
    return "\n".join(kept if kept else lines).strip()


def mail_parse(raw: bytes) -> ParsedMail:
    """Read one raw message (RFC 5322 bytes)."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        message = message_from_bytes(raw, policy=policy.default)
        message_id = _header(message, "Message-ID")[:998]
    except Exception:  # the parser gave up on the headers themselves
        return ParsedMail(message_id=f"<sha256.{digest}@inbound>", problem=_("Unreadable message."))
    sender = parseaddr(_header(message, "From"))[1].lower()
    parsed = ParsedMail(
        message_id=message_id or f"<sha256.{digest}@inbound>",
        sender=sender[:254],
        subject=_header(message, "Subject")[:998],
        recipients=[
            address.lower()
            for _name, address in getaddresses(
                [_header(message, name) for name in _RECIPIENT_HEADERS]
            )
            if address
        ],
        references=[_header(message, "In-Reply-To"), _header(message, "References")],
    )
    parsed.automatic = _automatic(message, sender)
    parsed.unauthenticated = _unauthenticated(message)
    try:
        parsed.text = _text_of(message)
        parsed.files = _files_of(message)
    except LookupError as exc:
        parsed.problem = _("The message uses a character set the portal cannot read (%s).") % exc
        return parsed
    except Exception as exc:  # malformed MIME: kept for staff, never a crash
        parsed.problem = _("The message is malformed (%s).") % type(exc).__name__
        return parsed
    reply = EmailReplyParser(languages=_REPLY_LANGUAGES).parse_reply(parsed.text)
    parsed.reply = _without_quoted_tail(reply)
    if not parsed.reply and parsed.text and not parsed.files:
        parsed.reply = parsed.text  # all of it looked quoted: better the whole than nothing
    return parsed
