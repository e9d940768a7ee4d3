"""The chassis mailer against a real SMTP server: Indonesian text arrives intact, a batch
uses one connection, one refused recipient does not stop the rest, and every service reads
the same SMTP settings; a service's mail queue sends what committed, at least once, retrying
with pauses, and erases addresses once done."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.mailer import (
    CLAIM_LEASE,
    MailContent,
    Mailer,
    MailError,
    MailQueue,
    compose,
    mail_queue_table,
    queue_mail,
    retry_delay,
)
from services.common.settings import Settings, SettingsError
from services.ppid.config import PpidSettings
from tests.common.smtp_support import smtp_server
from tests.conftest import free_port as _free_port

SUBJECT = "Pemberitahuan – batas waktu permohonan PPID-2026-000123 “hari ini”"
TEXT = "Yth. Bapak/Ibu,\n\nDinas Kesehatan • Kabupaten Kapuas: jawaban ditunggu ≤ 10 hari kerja.\n"
HTML = "<p>Dinas Kesehatan &bull; Kabupaten Kapuas</p>"


def settings(**env: str) -> Settings:
    return Settings.from_env("test", {"SIMPUL_ENV": "development", **env})


@pytest.fixture
def smtp():
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def mail_settings(smtp):
    return settings(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), SMTP_TIMEOUT_SECONDS="5",
                    SMTP_FROM="Diskominfo Kapuas — PPID <ppid@kapuaskab.go.id>")


def test_indonesian_text_arrives_intact_with_the_chassis_headers(smtp, mail_settings):
    mailer = Mailer(mail_settings)
    with mailer:
        sent = mailer.send_message(mailer.compose("warga@example.org", SUBJECT, TEXT, HTML))
    [received] = smtp.to("warga@example.org")
    assert received["Subject"] == SUBJECT
    assert received["From"].addresses[0].display_name == "Diskominfo Kapuas — PPID"
    assert received["Message-ID"] == sent.message_id and sent.message_id.endswith("@kapuaskab.go.id>")
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Content-Language"] == "id"
    assert [p.get_content_type() for p in received.iter_parts()] == ["text/plain", "text/html"]
    text, html = (p.get_content().replace("\r\n", "\n") for p in received.iter_parts())
    assert text == TEXT and html.strip() == HTML
    # On the wire the whole message is 7-bit: headers as RFC 2047 words, bodies quoted-printable.
    raw = compose(mail_settings, "warga@example.org", SUBJECT, TEXT, HTML).as_bytes()
    assert raw.isascii() and b"=?utf-8?" in raw and b"quoted-printable" in raw


def test_a_message_without_html_is_plain_text():
    message = compose(settings(), "warga@example.org", "Token baru", "Token Anda: abc\n")
    assert message.get_content_type() == "text/plain"
    assert message["From"].addresses[0].addr_spec == "simpul@localhost"


def test_many_messages_go_over_one_connection_and_a_refusal_stops_none(smtp, mail_settings):
    smtp.refuse["ditolak@example.org"] = "550 5.1.1 mailbox unavailable"
    mailer = Mailer(mail_settings)
    outcomes = mailer.send_all(
        mailer.compose(to, "Pengingat", TEXT)
        for to in ("a@example.org", "ditolak@example.org", "b@example.org")
    )
    assert [type(o).__name__ for o in outcomes] == ["Sent", "MailError", "Sent"]
    assert outcomes[1].permanent
    assert smtp.count() == 2 and smtp.to("b@example.org")
    assert smtp.sessions == 1
    assert mailer._smtp is None  # the batch closed its connection


def test_without_a_host_mail_is_off_and_says_so():
    mailer = Mailer(settings())
    assert not mailer.enabled
    with pytest.raises(MailError, match="SMTP_HOST") as info:
        mailer.send_message(mailer.compose("warga@example.org", "x", "y"))
    assert info.value.permanent


def test_an_unreachable_server_is_a_passing_failure():
    from tests.conftest import free_port

    mailer = Mailer(settings(SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_TIMEOUT_SECONDS="2"))
    with pytest.raises(MailError) as info:
        mailer.send_message(mailer.compose("warga@example.org", "x", "y"))
    assert not info.value.permanent


def test_every_service_reads_the_same_smtp_settings():
    env = {"SIMPUL_ENV": "development", "SMTP_HOST": "mail.kapuaskab.go.id", "SMTP_PORT": "587",
           "SMTP_STARTTLS": "true", "SMTP_USER": "ppid", "SMTP_PASSWORD": "rahasia",
           "SMTP_FROM": "PPID <ppid@kapuaskab.go.id>", "SMTP_TIMEOUT_SECONDS": "10"}
    ppid = PpidSettings.from_env("ppid", env)
    assert (ppid.smtp_host, ppid.smtp_port, ppid.smtp_starttls, ppid.smtp_ssl) == ("mail.kapuaskab.go.id", 587, True, False)
    assert (ppid.smtp_user, ppid.smtp_timeout_seconds) == ("ppid", 10)
    assert ppid.redacted()["smtp_password"] == "***"
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_SSL",
                 "SMTP_FROM", "SMTP_TIMEOUT_SECONDS"):
        assert name in PpidSettings.env_names("ppid")


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SMTP_STARTTLS": "true", "SMTP_SSL": "true"}, "SMTP_STARTTLS"),
        ({"SMTP_USER": "ppid"}, "SMTP_USER"),
        ({"SMTP_SSL": "kadang"}, "SMTP_SSL"),
        ({"SMTP_PORT": "dua lima"}, "SMTP_PORT"),
    ],
)
def test_contradictory_or_malformed_smtp_settings_stop_the_process(env, complaint):
    with pytest.raises(SettingsError, match=complaint):
        settings(SMTP_HOST="mail", **env)


def test_production_without_a_sender_is_refused_when_mail_is_on():
    env = {"TEST_DATABASE_URL": "sqlite://", "JWT_SECRET": "x" * 40, "JWT_ISSUER": "idp",
           "JWT_ALGORITHMS": "HS256", "AMQP_URL": "amqp://simpul:k7Rq2ZpW@mq/%2F"}
    assert Settings.from_env("test", env).smtp_host is None  # mail off: allowed
    with pytest.raises(SettingsError, match="SMTP_FROM"):
        Settings.from_env("test", {**env, "SMTP_HOST": "mail"})


# -- the queue ---------------------------------------------------------------------------------

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def queue_env(database_url, mail_settings):
    metadata = MetaData()
    table = mail_queue_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    clock = {"now": T}
    rt = SimpleNamespace(engine=engine, session_factory=sessionmaker(engine, expire_on_commit=False),
                         settings=mail_settings, clock=lambda: clock["now"])
    rendered: list[int] = []

    def render(session, mail):
        session.execute(select(1))  # a renderer reads the service's tables
        rendered.append(mail.id)
        if mail.kind == "gone":
            return None
        return MailContent(f"Kasus {mail.case_id}", f"Token Anda: {mail.params['token']}\n",
                           f"<p>Token Anda: {mail.params['token']}</p>")

    yield SimpleNamespace(rt=rt, table=table, queue=MailQueue(table, render), clock=clock, rendered=rendered)
    engine.dispose()


def _queue(env, *addresses, kind="receipt"):
    with env.rt.session_factory() as session:
        for index, to in enumerate(addresses, 1):
            queue_mail(session, env.table, kind, to, at=env.clock["now"], params={"token": f"t{index}"},
                       case_id=index)
        session.commit()


def _rows(env):
    with env.rt.engine.connect() as conn:
        return conn.execute(select(env.table).order_by(env.table.c.id)).all()


def test_queued_mail_goes_out_once_over_one_connection_and_its_address_is_erased(queue_env, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    env = queue_env
    _queue(env, "a@example.org", "b@example.org")
    with env.rt.session_factory() as session:  # a change that rolls back queues nothing
        queue_mail(session, env.table, "receipt", "batal@example.org", at=T, params={"token": "x"})
        session.rollback()
    result = env.queue.send_due(env.rt)
    assert (result.sent, result.retrying, result.failed) == (2, 0, 0)
    assert smtp.sessions == 1 and smtp.count() == 2 and not smtp.to("batal@example.org")
    [mail] = smtp.to("b@example.org")
    assert mail["Subject"] == "Kasus 2" and "Token Anda: t2" in mail.get_body(("plain",)).get_content()
    assert env.queue.send_due(env.rt).sent == 0 and smtp.count() == 2
    for row in _rows(env):
        assert row.sent_at == T and row.recipient is None and row.params is None and row.attempts == 1
    ours = " ".join(r.getMessage() + str(r.__dict__) for r in caplog.records if r.name.startswith("simpul"))
    assert "example.org" not in ours and "t2" not in ours


def test_a_temporary_refusal_is_retried_after_a_pause_and_a_permanent_one_given_up(queue_env, smtp):
    env = queue_env
    smtp.refuse["sibuk@example.org"] = "451 4.3.2 coba lagi nanti"
    smtp.refuse["hilang@example.org"] = "550 5.1.1 mailbox unavailable"
    _queue(env, "sibuk@example.org", "hilang@example.org", "ada@example.org")
    result = env.queue.send_due(env.rt)
    assert (result.sent, result.retrying, result.failed) == (1, 1, 1)
    busy, gone, sent = _rows(env)
    assert busy.next_attempt_at == T + retry_delay(1) and busy.recipient == "sibuk@example.org"
    assert gone.failed_at == T and gone.recipient is None and gone.params is None
    assert gone.last_error == "permanent"
    assert env.queue.send_due(env.rt).retrying == 0  # not before its pause
    del smtp.refuse["sibuk@example.org"]
    env.clock["now"] = T + retry_delay(1)
    assert env.queue.send_due(env.rt).sent == 1
    assert smtp.to("sibuk@example.org") and not smtp.to("hilang@example.org")
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [60, 120, 240, 3600, 3600, 3600]


def test_a_mail_that_keeps_failing_is_given_up_after_its_attempts(queue_env, smtp):
    env = queue_env
    queue = MailQueue(env.table, env.queue.render, max_attempts=2)
    smtp.refuse["sibuk@example.org"] = "451 4.3.2 coba lagi nanti"
    _queue(env, "sibuk@example.org")
    assert queue.send_due(env.rt).retrying == 1
    env.clock["now"] = T + timedelta(hours=1)
    assert queue.send_due(env.rt).failed == 1
    [row] = _rows(env)
    assert row.failed_at is not None and row.attempts == 2 and row.last_error == "attempts spent"


class _CrashAfterFirst(Mailer):
    """Delivers a message, then the process dies before the queue can mark it."""

    def send_message(self, message):
        super().send_message(message)
        raise KeyboardInterrupt


def test_a_crash_between_sending_and_marking_sends_again_after_the_lease_never_earlier(queue_env, smtp):
    env = queue_env
    _queue(env, "a@example.org", "b@example.org")
    with pytest.raises(KeyboardInterrupt):
        env.queue.send_due(env.rt, mailer=_CrashAfterFirst(env.rt.settings))
    assert smtp.count() == 1
    # Another worker, or the restarted one, leaves claimed rows alone while the claim holds.
    assert env.queue.send_due(env.rt).sent == 0
    env.clock["now"] = T + CLAIM_LEASE + timedelta(seconds=1)
    assert env.queue.send_due(env.rt).sent == 2
    assert len(smtp.to("a@example.org")) == 2 and len(smtp.to("b@example.org")) == 1  # at least once


def test_an_unreachable_server_stops_the_round_and_hands_the_rest_back(queue_env):
    env = queue_env
    env.rt.settings = settings(SMTP_HOST="127.0.0.1", SMTP_PORT=str(_free_port()), SMTP_TIMEOUT_SECONDS="2")
    _queue(env, "a@example.org", "b@example.org", "c@example.org")
    result = env.queue.send_due(env.rt)
    assert (result.retrying, result.released, result.sent) == (1, 2, 0)
    assert [(r.attempts, r.claimed_until) for r in _rows(env)] == [(1, None), (0, None), (0, None)]


def test_nothing_leaves_while_mail_is_off_and_nothing_is_lost(queue_env):
    env = queue_env
    env.rt.settings = settings()
    _queue(env, "a@example.org")
    assert env.queue.send_due(env.rt).sent == 0
    [row] = _rows(env)
    assert row.sent_at is None and row.attempts == 0 and row.recipient == "a@example.org"


def test_a_row_with_nothing_to_say_is_closed_and_old_rows_are_purged(queue_env, smtp):
    env = queue_env
    _queue(env, "a@example.org", kind="gone")
    _queue(env, "b@example.org")
    assert env.queue.send_due(env.rt).failed == 1 and smtp.count() == 1
    env.clock["now"] = T + timedelta(days=1)
    _queue(env, "c@example.org")  # still pending: kept
    assert env.queue.purge(env.rt.engine, T + timedelta(hours=1)) == 2
    assert [r.recipient for r in _rows(env)] == ["c@example.org"]
