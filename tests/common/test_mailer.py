"""The chassis mailer against a real SMTP server: Indonesian text arrives intact, a batch
uses one connection, one refused recipient does not stop the rest, and every service reads
the same SMTP settings."""

from __future__ import annotations

import pytest

from services.common.mailer import Mailer, MailError, compose
from services.common.settings import Settings, SettingsError
from services.ppid.config import PpidSettings
from tests.common.smtp_support import smtp_server

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
    from tests.common.smtp_support import free_port

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
           "JWT_ALGORITHMS": "HS256", "AMQP_URL": "amqp://simpul:secret@mq/%2F"}
    assert Settings.from_env("test", env).smtp_host is None  # mail off: allowed
    with pytest.raises(SettingsError, match="SMTP_FROM"):
        Settings.from_env("test", {**env, "SMTP_HOST": "mail"})
