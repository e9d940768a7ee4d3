"""The email channel: escaped templates, well-formed messages, SMTP failures sorted."""

from __future__ import annotations

import pytest

from services.common.calendar import WorkingCalendar
from services.common.settings import SettingsError
from services.notifier import messages
from services.notifier.config import NotifierSettings
from services.notifier.email import Mailer, MailError, build_message, render
from tests.conftest import free_port
from tests.notifier.notifier_support import wib

CAL = WorkingCalendar()


def notice(case="requests/PPID-2026-000001"):
    return messages.sla_notice(
        kind="escalate", level=2, case=case, label="Pemberitahuan tertulis",
        action="Kirim pemberitahuan <segera>.", opd_name="Dinas Kesehatan",
        due_at=wib(2026, 4, 7, 23, 59, 59), now=wib(2026, 4, 10, 8), role="head", cal=CAL,
    )


def settings(make_settings, **env):
    return make_settings(NotifierSettings, "notifier", "sqlite://", **env)


def test_case_data_is_escaped_in_html_and_kept_in_text():
    text, html = render(notice(case="requests/<b>X</b>"))
    assert "requests/<b>X</b>" in text
    assert "requests/&lt;b&gt;X&lt;/b&gt;" in html and "<b>X</b>" not in html
    assert "&lt;segera&gt;" in html
    assert "eskalasi tingkat 2" in text and "terlambat 3 hari kerja" in text
    assert "Anda menerima pemberitahuan ini sebagai kepala OPD." in text


def test_a_message_is_multipart_and_marked_automatic(make_settings):
    message = build_message(settings(make_settings, SMTP_HOST="localhost"), "kadis@dinkes.go.id", notice())
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"].startswith("Eskalasi tingkat 2: Pemberitahuan tertulis")
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"].endswith("@localhost>")


def test_an_unreachable_server_is_a_passing_failure(make_settings):
    mailer = Mailer(settings(make_settings, SMTP_HOST="127.0.0.1", SMTP_PORT=str(free_port()),
                             SMTP_TIMEOUT_SECONDS="2"))
    with pytest.raises(MailError) as info:
        mailer.send("kadis@dinkes.go.id", notice())
    assert info.value.permanent is False


def test_one_connection_serves_a_batch(make_settings, smtp):
    mailer = Mailer(settings(make_settings, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port)))
    with mailer:
        for n in range(3):
            mailer.send(f"orang{n}@dinkes.go.id", notice())
        first = mailer._smtp
        mailer.send("orang9@dinkes.go.id", notice())
        assert mailer._smtp is first
    assert smtp.count() == 4 and mailer._smtp is None


def test_settings_refuse_a_production_notifier_without_smtp():
    env = {"NOTIFIER_DATABASE_URL": "sqlite://", "JWT_SECRET": "x" * 40, "JWT_ISSUER": "idp",
           "JWT_ALGORITHMS": "HS256",
           "AMQP_URL": "amqp://simpul:k7Rq2ZpW@mq/%2F"}
    with pytest.raises(SettingsError, match="SMTP_HOST"):
        NotifierSettings.from_env("notifier", env)
    ok = NotifierSettings.from_env("notifier", {**env, "SMTP_HOST": "mail", "SMTP_FROM": "s@x.id",
                                                "SMTP_STARTTLS": "true", "SMTP_PORT": "587"})
    assert ok.smtp_starttls and ok.smtp_port == 587
    with pytest.raises(SettingsError, match="SMTP_STARTTLS"):
        NotifierSettings.from_env("notifier", {**env, "SMTP_HOST": "mail", "SMTP_FROM": "s@x.id",
                                               "SMTP_STARTTLS": "yes", "SMTP_SSL": "1"})
