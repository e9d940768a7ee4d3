"""Outgoing mail over SMTP, for every service (the notifier's notices, a citizen's new token).

Every service reads the same `SMTP_*` settings (`services.common.settings`): host, port,
sender, STARTTLS or implicit TLS, an optional login, a timeout. Without `SMTP_HOST` mail is
off and `send` fails permanently with a clear reason.

Messages are built here (`compose`) so they all look alike: plain text first, HTML as an
alternative when given, UTF-8 throughout and 7-bit clean on the wire (an Indonesian subject
or display name as RFC 2047 words, bodies with any non-ASCII character as quoted-printable),
a Message-ID in the sender's domain, `Content-Language: id`, and
`Auto-Submitted: auto-generated` (RFC 3834) so that auto-responders stay quiet.

SMTP failures are sorted by what a retry can change: a 5xx refusal of a recipient is
permanent for that recipient; a lost connection, a timeout, a 4xx answer, a refused login
or sender (the operator's settings, which can be fixed) are temporary.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Protocol


class SmtpConfig(Protocol):
    """The settings attributes the mailer reads (every service's settings have them)."""

    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_ssl: bool
    smtp_from: str | None
    smtp_timeout_seconds: int


class MailError(Exception):
    """A message was not sent. `permanent`: sending it again cannot succeed."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Sent:
    message_id: str


def compose(
    config: SmtpConfig, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """One message from the configured sender to `to`: plain text, and HTML when given."""
    message = EmailMessage()
    message["From"] = config.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(config.smtp_from or "")[1].rpartition("@")[2] or "simpul.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, cte=_transfer_encoding(text))
    if html is not None:
        message.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
    # After the content: setting it removes every Content-* header set before.
    message["Content-Language"] = "id"
    return message


def _transfer_encoding(body: str) -> str:
    # Quoted-printable keeps a message 7-bit clean for any relay on the way (the standard
    # library would send raw 8-bit text), and mostly-ASCII Indonesian stays readable in it.
    return "7bit" if body.isascii() else "quoted-printable"


class Mailer:
    """Sends messages over one SMTP connection, opened on first use and reused.

    Use as a context manager around a batch; `close()` ends the session politely. Not
    thread-safe: one mailer per thread.
    """

    def __init__(self, settings: SmtpConfig):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def compose(self, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
        return compose(self.settings, to, subject, text, html)

    def send_message(self, message: EmailMessage) -> Sent:
        """Send one message, reusing the open connection; raise `MailError` on failure."""
        if not self.enabled:
            raise MailError("SMTP_HOST tidak diatur; email tidak dikirim", permanent=True)
        for attempt in (1, 2):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.send_message(message)
                return Sent(message_id=str(message["Message-ID"]))
            except smtplib.SMTPRecipientsRefused as exc:
                code, reason = next(iter(exc.recipients.values()), (550, b""))
                raise MailError(
                    f"penerima ditolak server: {code} {_text(reason)}", permanent=code >= 500
                ) from exc
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused) as exc:
                self.close()
                raise MailError(
                    f"server SMTP menolak pengirim atau login: {exc.smtp_code} {_text(exc.smtp_error)}",
                    permanent=False,
                ) from exc
            except smtplib.SMTPResponseException as exc:
                self.close()
                raise MailError(
                    f"server SMTP menjawab {exc.smtp_code} {_text(exc.smtp_error)}",
                    permanent=exc.smtp_code >= 500,
                ) from exc
            except (smtplib.SMTPException, OSError) as exc:
                # A connection reused from an earlier send may have been closed by the
                # server in between: one fresh connection is worth a try.
                self._drop()
                if attempt == 2:
                    raise MailError(f"server SMTP tidak terjangkau: {exc!r}", permanent=False) from exc
        raise AssertionError("unreachable")

    def send_all(self, messages: Iterable[EmailMessage]) -> list[Sent | MailError]:
        """Send several messages over one connection; one failure does not stop the rest.

        The result lists, in order, what became of each message.
        """
        outcomes: list[Sent | MailError] = []
        with self:
            for message in messages:
                try:
                    outcomes.append(self.send_message(message))
                except MailError as exc:
                    outcomes.append(exc)
        return outcomes

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
