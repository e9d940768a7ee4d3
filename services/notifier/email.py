"""The email channel: Bahasa Indonesia templates (plain text and HTML) sent over SMTP.

Templates are Jinja2 with autoescaping for HTML: a case number or a label is data, and
data never becomes markup. Every message is multipart/alternative (text first, HTML
second), marked `Auto-Submitted: auto-generated` (RFC 3834) so that auto-responders stay
quiet.

SMTP failures are sorted by what a retry can change: a 5xx refusal of a recipient is
permanent for that recipient; a lost connection, a timeout, a 4xx answer, a refused login
or sender (the operator's settings, which can be fixed) are temporary and retried later.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.notifier.config import NotifierSettings
from services.notifier.messages import Notice

log = logging.getLogger(__name__)

_env = Environment(
    loader=PackageLoader("services.notifier", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES = {"remind": "sla_notice", "breach": "sla_notice", "escalate": "sla_notice",
             "digest": "digest"}


def render(notice: Notice) -> tuple[str, str]:
    """(plain text, HTML) of a notice."""
    base = TEMPLATES[notice.kind]
    text = _env.get_template(f"{base}.txt").render(**notice.context)
    html = _env.get_template(f"{base}.html").render(**notice.context)
    return text, html


class MailError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Sent:
    message_id: str


def build_message(settings: NotifierSettings, to: str, notice: Notice) -> EmailMessage:
    text, html = render(notice)
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = notice.title
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "simpul.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "id"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class Mailer:
    """Sends notices over one SMTP connection, opened on first use and reused.

    Use as a context manager around a batch (a tick); `close()` ends the session politely.
    Not thread-safe: one mailer per thread.
    """

    def __init__(self, settings: NotifierSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def enabled(self) -> bool:
        return self.settings.email_enabled

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

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, to: str, notice: Notice) -> Sent:
        if not self.enabled:
            raise MailError("SMTP_HOST tidak diatur; email tidak dikirim", permanent=True)
        message = build_message(self.settings, to, notice)
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
