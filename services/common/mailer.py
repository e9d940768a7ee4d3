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

Mail that reports a state change goes through the service's own queue (`mail_queue_table`,
`queue_mail`, `MailQueue`): written in the transaction of the change, sent by the worker.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common.db import UtcDateTime


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
    """A message was not sent. `permanent`: sending it again cannot succeed.

    `server_down`: the server could not be reached or refused the sender or login, so the
    next message would fail the same way (a refused recipient says nothing of the next one).
    """

    def __init__(self, message: str, *, permanent: bool, server_down: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.server_down = server_down


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
                    permanent=False, server_down=True,
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
                    raise MailError(
                        f"server SMTP tidak terjangkau: {exc!r}", permanent=False, server_down=True
                    ) from exc
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


# -- a service's own mail queue ----------------------------------------------------------------
#
# Mail that reports a state change (a citizen's receipt, a decision) is written to the
# service's `mail_queue` table in the transaction of that change, and the worker sends it:
# a change that rolls back sends nothing, and a committed one is never forgotten. Rows are
# claimed for a lease before sending and marked one by one right after, so a crash between
# a send and its mark sends that one message again when the lease runs out (at least once,
# never lost). The address and the parameters (which may hold a secret, such as a new access
# token) are erased once the row is sent or given up; logs name the row, its kind and its
# case, never an address.

_QUEUE_ID = BigInteger().with_variant(Integer, "sqlite")
# Pauses after the 1st, 2nd, … temporary failure: 1, 2, 4, … minutes, at most an hour, so a
# mail server down for an afternoon delays mail without losing it.
RETRY_FIRST = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 12  # about seven hours of trying
CLAIM_LEASE = timedelta(minutes=10)
QUEUE_RETENTION = timedelta(days=7)
QUEUE_POLL_SECONDS = 10.0
log = logging.getLogger("simpul.mail")


def mail_queue_table(metadata: MetaData, name: str = "mail_queue") -> Table:
    """The queue of a service's outgoing mail, added to its metadata (and migrations).

    `kind` names what the service renders (its template); `case_id` the row of the case it
    is about (filled by a numbered write's `ChildRow` when the case is new); `params` a JSON
    object of what only the moment of queueing knows.
    """
    table = Table(
        name,
        metadata,
        Column("id", _QUEUE_ID, primary_key=True, autoincrement=True),
        Column("kind", String(64), nullable=False),
        Column("case_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True),
        Column("recipient", String(320), nullable=True),
        Column("params", Text, nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("next_attempt_at", UtcDateTime(), nullable=False),
        Column("claimed_until", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("sent_at", UtcDateTime(), nullable=True),
        Column("failed_at", UtcDateTime(), nullable=True),
        # The verdict only ("permanent", "temporary", "nothing to send"): a server's own text
        # may quote the address.
        Column("last_error", String(100), nullable=True),
    )
    Index(
        f"ix_{name}_pending",
        table.c.next_attempt_at,
        postgresql_where=and_(table.c.sent_at.is_(None), table.c.failed_at.is_(None)),
        sqlite_where=and_(table.c.sent_at.is_(None), table.c.failed_at.is_(None)),
    )
    return table


def queued_mail_row(
    kind: str, to: str, *, at: datetime, params: Mapping[str, Any] | None = None,
    case_id: int | None = None,
) -> dict[str, Any]:
    """The row `queue_mail` inserts; without `case_id` it fits a numbered write's `ChildRow`
    (`ChildRow(table, row, "case_id")`)."""
    if at.tzinfo is None:
        raise ValueError("a queued mail needs an aware instant")
    row = {
        "kind": kind,
        "recipient": to,
        "params": json.dumps(dict(params or {}), ensure_ascii=False, default=str),
        "created_at": at,
        "next_attempt_at": at,
        "attempts": 0,
    }
    if case_id is not None:
        row["case_id"] = case_id
    return row


def queue_mail(
    session: Session, table: Table, kind: str, to: str, *, at: datetime,
    params: Mapping[str, Any] | None = None, case_id: int | None = None,
) -> None:
    """Queue one mail in the session's transaction: it is sent only if that commits."""
    session.execute(insert(table), [queued_mail_row(kind, to, at=at, params=params, case_id=case_id)])


def mail_templates(package: str) -> Environment:
    """The Jinja environment of a service's mail templates (`<package>/templates/`): HTML
    escaped, text as written, and a missing value an error rather than a blank in a letter."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class MailContent:
    """What a service's renderer makes of a queued row (Bahasa Indonesia)."""

    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class QueuedMail:
    """A claimed row, as the renderer sees it."""

    id: int
    kind: str
    case_id: int | None
    params: dict[str, Any]
    created_at: datetime
    attempts: int  # this one included


@dataclass
class MailRound:
    """What one round of sending did, for logs and tests."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0


def retry_delay(attempts: int) -> timedelta:
    """The pause after the `attempts`-th failed attempt."""
    return min(RETRY_FIRST * 2 ** max(0, attempts - 1), RETRY_CAP)


class MailQueue:
    """Sends a service's queued mail; `render(session, mail)` turns a row into its content
    (None: nothing to send any more), reading the service's own tables.

    Several workers may send from one queue: rows are claimed with `FOR UPDATE SKIP LOCKED`
    on PostgreSQL (SQLite's BEGIN IMMEDIATE serialises the claim) and held for a lease.
    """

    def __init__(
        self,
        table: Table,
        render: Callable[[Session, QueuedMail], MailContent | None],
        *,
        batch_size: int = 50,
        lease: timedelta = CLAIM_LEASE,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.table = table
        self.render = render
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self._off_logged = False

    def row(self, kind: str, to: str, *, at: datetime, params: Mapping[str, Any] | None = None,
            case_id: int | None = None) -> dict[str, Any]:
        return queued_mail_row(kind, to, at=at, params=params, case_id=case_id)

    def queue(self, session: Session, kind: str, to: str, *, at: datetime,
              params: Mapping[str, Any] | None = None, case_id: int | None = None) -> None:
        queue_mail(session, self.table, kind, to, at=at, params=params, case_id=case_id)

    def send_due(self, rt: Any, *, now: datetime | None = None, mailer: Mailer | None = None) -> MailRound:
        """Send what is due at `now` (the runtime's clock), over one SMTP connection."""
        now = now or rt.clock()
        mailer = mailer or Mailer(rt.settings)
        result = MailRound()
        if not mailer.enabled:
            if not self._off_logged:
                log.warning("queued mail waits: mail is off (SMTP_HOST unset)")
                self._off_logged = True
            return result
        claimed = self._claim(rt.engine, now)
        if not claimed:
            return result
        prepared = self._render(rt.engine, rt.session_factory, claimed, now, result)
        with mailer:
            for index, (mail, recipient, content) in enumerate(prepared):
                try:
                    sent = mailer.send_message(mailer.compose(recipient, content.subject, content.text, content.html))
                except MailError as exc:
                    self._failed(rt.engine, mail, exc.permanent, now, result)
                    if exc.server_down:
                        rest = [m.id for m, _, _ in prepared[index + 1:]]
                        self._release(rt.engine, rest)
                        result.released += len(rest)
                        break
                    continue
                self._mark_sent(rt.engine, mail, now)
                result.sent += 1
                log.info("mail sent", extra={"mail_id": mail.id, "kind": mail.kind,
                                             "case_id": mail.case_id, "message_id": sent.message_id})
        return result

    def purge(self, engine: Engine, before: datetime) -> int:
        """Delete rows sent or given up before `before`; returns how many."""
        t = self.table
        with engine.begin() as conn:
            done = or_(t.c.sent_at < before, t.c.failed_at < before)
            return conn.execute(delete(t).where(done)).rowcount

    def timers(self, rt: Any, interval: float = QUEUE_POLL_SECONDS) -> list:
        """The worker's two timers: send what is due, and forget what is long done."""
        from services.common.worker import Timer  # the worker imports the broker plumbing

        name = self.table.name.replace("_", "-")
        return [
            Timer(f"{name}-send", interval, lambda: self.send_due(rt)),
            Timer(f"{name}-retention", 3600, lambda: self.purge(rt.engine, rt.clock() - QUEUE_RETENTION)),
        ]

    # -- steps -------------------------------------------------------------------------------

    def _claim(self, engine: Engine, now: datetime) -> list[tuple[QueuedMail, str]]:
        t = self.table
        statement = (
            select(t.c.id, t.c.kind, t.c.case_id, t.c.recipient, t.c.params, t.c.created_at, t.c.attempts)
            .where(
                t.c.sent_at.is_(None),
                t.c.failed_at.is_(None),
                t.c.next_attempt_at <= now,
                or_(t.c.claimed_until.is_(None), t.c.claimed_until < now),
            )
            .order_by(t.c.id)
            .limit(self.batch_size)
        )
        if engine.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        with engine.begin() as conn:
            rows = conn.execute(statement).all()
            if not rows:
                return []
            conn.execute(
                update(t).where(t.c.id.in_([r.id for r in rows]))
                .values(claimed_until=now + self.lease, attempts=t.c.attempts + 1)
            )
        claimed = []
        for r in rows:
            try:
                params = json.loads(r.params) if r.params else {}
            except ValueError:
                params = {}
            mail = QueuedMail(r.id, r.kind, r.case_id, params, r.created_at, r.attempts + 1)
            claimed.append((mail, r.recipient))
        return claimed

    def _render(self, engine: Engine, session_factory, claimed, now, result: MailRound) -> list:
        prepared, broken, empty = [], [], []
        # Read-only, and closed before anything is written: on SQLite its transaction holds
        # the database's one write lock.
        with session_factory() as session:
            for mail, recipient in claimed:
                try:
                    content = self.render(session, mail) if recipient else None
                except Exception as exc:  # noqa: BLE001 - one bad row must not stop the queue
                    # Only the exception's type: its text may quote the case's data.
                    log.error("queued mail could not be rendered",
                              extra={"mail_id": mail.id, "kind": mail.kind, "error": type(exc).__name__})
                    session.rollback()
                    broken.append(mail)
                    continue
                if content is None:
                    empty.append(mail)
                else:
                    prepared.append((mail, recipient, content))
        for mail in broken:
            self._failed(engine, mail, False, now, result)
        for mail in empty:
            self._finish(engine, mail.id, failed_at=now, last_error="nothing to send")
            result.failed += 1
        return prepared

    def _mark_sent(self, engine: Engine, mail: QueuedMail, now: datetime) -> None:
        self._finish(engine, mail.id, sent_at=now, last_error=None)

    def _failed(self, engine: Engine, mail: QueuedMail, permanent: bool, now: datetime, result: MailRound) -> None:
        attempts = mail.attempts
        if permanent or attempts >= self.max_attempts:
            self._finish(engine, mail.id, failed_at=now, last_error="permanent" if permanent else "attempts spent")
            result.failed += 1
            log.warning("queued mail given up", extra={"mail_id": mail.id, "kind": mail.kind,
                                                       "case_id": mail.case_id, "permanent": permanent,
                                                       "attempts": attempts})
            return
        t = self.table
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == mail.id).values(
                claimed_until=None, next_attempt_at=now + retry_delay(attempts), last_error="temporary"))
        result.retrying += 1
        log.info("queued mail will be retried", extra={"mail_id": mail.id, "kind": mail.kind,
                                                      "attempts": attempts})

    def _release(self, engine: Engine, ids: list[int]) -> None:
        """Hand back rows not tried in this round, their attempt not counted."""
        if not ids:
            return
        t = self.table
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.id.in_(ids)).values(claimed_until=None, attempts=t.c.attempts - 1))

    def _finish(self, engine: Engine, mail_id: int, **values: Any) -> None:
        # The address and the parameters have served their purpose: erase them.
        t = self.table
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == mail_id).values(
                claimed_until=None, recipient=None, params=None, **values))
