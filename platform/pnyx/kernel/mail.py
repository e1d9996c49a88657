"""Outgoing mail: SMTP when ``SMTP_URL`` is set, else an outbox folder of ``.eml`` files.

``SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (add ``?starttls=1`` to upgrade the
connection) or ``smtps://…`` (TLS from the first byte). Without it — the embedded default — each
message is written to ``var/mail/<time>-<id>.eml`` and its path logged, so a developer can open
the reset link of a demo account without any mail server.

Every message is multipart (plain text + HTML), from ``MAIL_SENDER``'s address; a tenant's name
may replace the sender's display name so that citizens see who writes to them.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from .config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    """One message to one recipient, before it becomes MIME."""

    to: str
    subject: str
    text: str
    html: str | None = None
    sender_name: str | None = None  # the tenant's name, shown as the sender
    reply_to: str | None = None


class Mailer(Protocol):
    def send(self, mail: Mail) -> str:
        """Send one message; returns where it went (Message-ID, or the .eml path)."""
        ...


_BREAKING_SPACES = re.compile(r"[^\S\u00a0\u202f\u2007]+")  # whitespace but the no-break ones


def single_line(value: str) -> str:
    """A header's value on one line: runs of spaces, tabs and line breaks become one space (no
    header injection); the no-break spaces of French typography (U+00A0 before a colon, U+202F
    in numbers) stay."""
    return _BREAKING_SPACES.sub(" ", str(value)).strip(" ")


def to_mime(mail: Mail, sender: str) -> EmailMessage:
    """The MIME message: From the platform's address, under the tenant's name when given."""
    default_name, address = parseaddr(sender)
    if "@" not in address:
        raise ValueError(f"MAIL_SENDER has no address: {sender!r}")
    local, _, domain = address.rpartition("@")
    message = EmailMessage()
    name = single_line(mail.sender_name or default_name)
    message["From"] = Address(display_name=name, username=local, domain=domain)
    message["To"] = single_line(mail.to)
    if mail.reply_to:
        message["Reply-To"] = single_line(mail.reply_to)
    message["Subject"] = single_line(mail.subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL is smtp://[user:password@]host[:port] or smtps://…")
        query = parse_qs(parts.query)
        starttls = (query.get("starttls", ["0"])[0].lower()) in {"1", "true", "yes", "on"}
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=starttls and not implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer:
    """One SMTP connection per message: simple, and fine for the mail queue's worker."""

    def __init__(self, url: str, sender: str, timeout: float = 20.0) -> None:
        self.settings = SmtpSettings.parse(url)
        self.sender = sender
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.implicit_tls:
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(s.host, s.port, timeout=self.timeout)

    def send(self, mail: Mail) -> str:
        message = to_mime(mail, self.sender)
        with self._connect() as smtp:
            if self.settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.settings.username:
                smtp.login(self.settings.username, self.settings.password or "")
            smtp.send_message(message)
        log.info("mail %s sent to %s via %s", message["Message-ID"], mail.to, self.settings.host)
        return str(message["Message-ID"])


class OutboxMailer:
    """Embedded default: every message becomes an ``.eml`` file in a folder."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = Path(folder)
        self.sender = sender

    def send(self, mail: Mail) -> str:
        message = to_mime(mail, self.sender)
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(message.as_bytes())
        tmp.replace(path)
        log.info("mail to %s written to %s (no SMTP_URL)", mail.to, path)
        return str(path)


def make_mailer(config: Config) -> Mailer:
    if config.smtp_url:
        return SmtpMailer(config.smtp_url, config.mail_sender)
    return OutboxMailer(config.var_dir / "mail", config.mail_sender)
