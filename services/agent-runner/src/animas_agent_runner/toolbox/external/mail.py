"""``email``: list and read a mailbox over IMAP, send over SMTP, as one configured account.

config.json ``external_tools.email``: the account's address, user name and the credential holding
its password, the IMAP and SMTP servers and how each is secured. Reading never marks a message
seen (``BODY.PEEK``, the mailbox opened read-only). Sending is limited to ``allowed_recipients``
(addresses or whole ``@domains``); with none listed the tool only reads. The standard library's
imaplib and smtplib run in a worker thread; the shared HTTP client is not used. A cycle
redelivered after a crash may send its mail again.
"""

from __future__ import annotations

import asyncio
import email.policy
import imaplib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Annotated, Literal

import httpx
import msgspec

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.external.http_fetch import html_text
from animas_agent_runner.toolbox.external.plugin import Call, Plugin, api_key, clip
from animas_agent_runner.toolbox.registry import Args
from animas_core.config import AnimaWorksConfig, EmailToolConfig

NAME = "email"
BODY_CHARS = 8_000
MAX_SEND_CHARS = 20_000
_UID = re.compile(rb"UID (\d+)")


class EmailArgs(Args, frozen=True, kw_only=True):
    """Arguments of email."""

    action: Literal["list", "read", "send"]
    uid: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """The message to read (from list)."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10
    to: Annotated[str, msgspec.Meta(pattern=r"^[^@\s,;]+@[^@\s,;]+$")] | None = None
    """One recipient (send)."""
    subject: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    body: str | None = None


def recipient_allowed(address: str, allowed: list[str]) -> bool:
    """Whether ``address`` is listed, or its domain is (``@example.com``)."""
    folded = address.casefold()
    domain = "@" + folded.rsplit("@", 1)[-1]
    return any(entry.casefold() in (folded, domain) for entry in allowed)


def _imap(section: EmailToolConfig) -> imaplib.IMAP4:
    if section.imap_security == "tls":
        return imaplib.IMAP4_SSL(
            section.imap_host,
            section.imap_port,
            ssl_context=ssl.create_default_context(),
            timeout=section.timeout_s,
        )
    client = imaplib.IMAP4(section.imap_host, section.imap_port, timeout=section.timeout_s)
    if section.imap_security == "starttls":
        client.starttls(ssl.create_default_context())
    return client


def _parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _fetched(data: list[object]) -> list[tuple[int, bytes]]:
    """(uid, bytes) of each message in an imaplib FETCH answer."""
    found = []
    for part in data:
        if (
            isinstance(part, tuple)
            and len(part) == 2
            and isinstance(part[0], bytes)
            and isinstance(part[1], bytes)
        ):
            uid = _UID.search(part[0])
            if uid:
                found.append((int(uid.group(1)), part[1]))
    return found


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "(no text part)"
    text = str(part.get_content())
    if part.get_content_type() == "text/html":
        text = html_text(text)
    return text.strip()


def _read_mailbox(section: EmailToolConfig, password: str, args: EmailArgs) -> str:
    with _imap(section) as client:
        try:
            client.login(section.username, password)
        except imaplib.IMAP4.error:
            raise ToolFailed("the IMAP server refused the login") from None
        status, _ = client.select(section.mailbox, readonly=True)
        if status != "OK":
            raise ToolFailed(f"mailbox {section.mailbox!r} cannot be opened")
        if args.action == "list":
            _, found = client.uid("SEARCH", "ALL")
            uids = (found[0] or b"").split()[-args.limit :] if found else []
            if not uids:
                return f"No messages in {section.mailbox}."
            _, data = client.uid("FETCH", b",".join(uids).decode(), "(BODY.PEEK[HEADER])")
            lines = [f"The last {len(uids)} messages in {section.mailbox} (oldest first):"]
            for uid, raw in sorted(_fetched(list(data))):
                header = _parse(raw)
                who, subject = clip(header.get("From"), 120), clip(header.get("Subject"), 200)
                lines.append(
                    f"- uid {uid}: {subject or '(no subject)'} — from {who}, {clip(header.get('Date'), 60)}"
                )
            return "\n".join(lines)
        if args.uid is None:
            raise ToolFailed("read needs the uid of a message (from list)")
        _, data = client.uid("FETCH", str(args.uid), "(BODY.PEEK[])")
        messages = _fetched(list(data))
        if not messages:
            raise ToolFailed(f"there is no message with uid {args.uid}")
        message = _parse(messages[0][1][: section.max_bytes])
        body = _text(message)
        cut = "…" if len(body) > BODY_CHARS else ""
        heads = [f"{name}: {clip(message.get(name), 300)}" for name in ("From", "To", "Date", "Subject")]
        return "\n".join([*heads, "", body[:BODY_CHARS] + cut])


def _send(section: EmailToolConfig, password: str, args: EmailArgs) -> str:
    message = EmailMessage()
    message["From"], message["To"] = section.address, args.to or ""
    message["Subject"] = args.subject or ""
    message.set_content(args.body or "")
    smtp: smtplib.SMTP
    if section.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            section.smtp_host,
            section.smtp_port,
            timeout=section.timeout_s,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(section.smtp_host, section.smtp_port, timeout=section.timeout_s)
    with smtp:
        if section.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if section.smtp_security != "none":
            try:
                smtp.login(section.username, password)
            except smtplib.SMTPAuthenticationError:
                raise ToolFailed("the SMTP server refused the login") from None
        smtp.send_message(message)
    return f"Sent {args.subject!r} to {args.to}."


def configure(config: AnimaWorksConfig) -> Call | str:
    """The configured mailbox, or why there is none."""
    section = config.external_tools.email
    if section is None:
        return "email is not configured (external_tools.email in config.json)"
    password = api_key(config, section.credential)
    if password is None:
        return f"email has no password (credentials.{section.credential}.api_key in config.json)"

    async def call(args: EmailArgs, http: httpx.AsyncClient) -> str:
        if args.action == "send":
            if not args.to or not (args.subject or "").strip() or not (args.body or "").strip():
                raise ToolFailed("send needs to, subject and body")
            if len(args.body or "") > MAX_SEND_CHARS:
                raise ToolFailed(f"a mail may have at most {MAX_SEND_CHARS} characters here")
            if not recipient_allowed(args.to, section.allowed_recipients):
                raise ToolDenied(
                    f"{args.to} is not among the allowed recipients (external_tools.email.allowed_recipients)"
                )
            work = _send
        else:
            work = _read_mailbox
        try:
            async with asyncio.timeout(section.timeout_s + 5):
                return await asyncio.to_thread(work, section, password, args)
        except TimeoutError:
            raise ToolFailed("the mail server did not answer in time") from None
        except (OSError, imaplib.IMAP4.error, smtplib.SMTPException) as exc:
            # The exception's text is the server's or the socket's, never the password.
            raise ToolFailed(f"the mail server could not be used ({type(exc).__name__})") from None

    return call


PLUGIN = Plugin(
    name=NAME,
    permission=NAME,
    description=(
        "Email: action list (the latest messages, with uid), read (uid) or send (to, subject, body; "
        "only to allowed recipients)."
    ),
    guide="read your mailbox and send mail to allowed recipients.",
    origin="email, written by whoever can mail this address",
    args=EmailArgs,
    configure=configure,
)
