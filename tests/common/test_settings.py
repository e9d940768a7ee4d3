import json
import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.calendar import WorkingCalendar
from services.common.settings import (
    DEV_JWT_SECRET,
    Settings,
    SettingsError,
    _RecordingEnv,
    is_public_secret,
    url_password,
)

STRONG = "x" * 40


def test_development_mode_has_working_defaults():
    s = Settings.from_env("ppid", {"SIMPUL_ENV": "development"})
    assert s.dev_mode
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/ppid.db")
    assert s.jwt_secret == DEV_JWT_SECRET
    assert s.jwt_algorithms == ("HS256",)


def test_production_is_the_default_and_refuses_missing_secrets():
    with pytest.raises(SettingsError, match="PPID_DATABASE_URL"):
        Settings.from_env("ppid", {})


@pytest.mark.parametrize(
    "env, message",
    [
        ({"JWT_SECRET": DEV_JWT_SECRET}, "JWT_SECRET"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"JWT_ISSUER": ""}, "JWT_ISSUER"),
        ({"AMQP_URL": "amqp://guest:guest@rabbit:5672/%2F"}, "guest"),
        ({"JWT_ALGORITHMS": "none"}, "JWT_ALGORITHMS"),
        ({"JWT_ALGORITHMS": "RS256"}, "RS256 needs"),
        ({"OFFICE_HOURS": "16:00-08:00"}, "OFFICE_HOURS"),
        ({"MAX_BODY_BYTES": "ten"}, "MAX_BODY_BYTES"),
        ({"SIMPUL_CLOCK_OFFSET_SECONDS": "86400"}, "development only"),
    ],
)
def test_production_refuses_unsafe_values(env, message):
    base = {
        "PPID_DATABASE_URL": "postgresql://ppid:pw@db/ppid",
        "AMQP_URL": "amqp://simpul:pw@rabbit:5672/%2F",
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": STRONG,
        "JWT_ISSUER": "https://sso.kapuaskab.go.id",
    }
    with pytest.raises(SettingsError, match=message):
        Settings.from_env("ppid", {**base, **env})


def test_production_accepts_a_complete_configuration():
    s = Settings.from_env(
        "ppid",
        {
            "PPID_DATABASE_URL": "postgresql://ppid:pw@db/ppid",
            "AMQP_URL": "amqp://simpul:pw@rabbit:5672/%2F",
            "JWT_ALGORITHMS": "HS256",
            "JWT_SECRET": STRONG,
            "JWT_ISSUER": "https://sso.kapuaskab.go.id",
            "OFFICE_HOURS": "07:30-15:30",
        },
    )
    assert not s.dev_mode
    assert (s.office_start.hour, s.office_start.minute, s.office_end.hour) == (7, 30, 15)
    shown = s.redacted()
    assert shown["jwt_secret"] == "***"
    assert "pw" not in shown["database_url"] and "pw" not in shown["amqp_url"]


def test_env_names_lists_what_is_read():
    names = Settings.env_names("notifier")
    assert "NOTIFIER_DATABASE_URL" in names and "AMQP_URL" in names and "JWT_SECRET" in names
    assert "WEB_CONCURRENCY" in names
    assert "PPID_DATABASE_URL" not in names


# -- one parser per kind of value (environs) ---------------------------------------------

@pytest.mark.parametrize("raw, expected", [("true", True), ("1", True), ("yes", True), ("on", True),
                                           ("false", False), ("0", False), ("no", False), ("off", False)])
def test_booleans_share_one_parser(raw, expected):
    assert _RecordingEnv({"FLAG": raw}).bool("FLAG", not expected) is expected


def test_an_empty_or_missing_variable_takes_the_default():
    env = _RecordingEnv({"FLAG": "", "N": ""})
    assert env.bool("FLAG", True) is True and env.int("N", 7) == 7 and env.seconds("D", 2.5) == 2.5
    assert env.names == ["FLAG", "N", "D"]


@pytest.mark.parametrize("raw, seconds", [("20", 20.0), ("20s", 20.0), ("5m", 300.0), ("1h30m", 5400.0), ("0.5", 0.5)])
def test_durations(raw, seconds):
    assert _RecordingEnv({"D": raw}).seconds("D", 1) == seconds


def test_lists_drop_blanks_and_spaces():
    assert _RecordingEnv({"L": " a, b,,c "}).list("L") == ("a", "b", "c")
    assert _RecordingEnv({}).list("L", "x,y") == ("x", "y")


@pytest.mark.parametrize(
    "kind, raw, message",
    [("bool", "maybe", "FLAG must be true or false"), ("int", "ten", "FLAG must be a whole number"),
     ("seconds", "soon", "FLAG must be a duration")],
)
def test_a_malformed_value_names_the_variable_and_the_value(kind, raw, message):
    env = _RecordingEnv({"FLAG": raw})
    with pytest.raises(SettingsError, match=message) as caught:
        getattr(env, kind)("FLAG", 1)
    assert repr(raw) in str(caught.value)


def test_service_flags_use_the_shared_parser():
    from services.ppid.config import PpidSettings

    dev = {"SIMPUL_ENV": "development"}
    assert PpidSettings.from_env("ppid", {**dev, "PPID_ASSIGN_NAMED_OPD": "off"}).assign_named_opd is False
    with pytest.raises(SettingsError, match="PPID_ASSIGN_NAMED_OPD"):
        PpidSettings.from_env("ppid", {**dev, "PPID_ASSIGN_NAMED_OPD": "sometimes"})


def test_the_default_broker_url_is_written_once():
    from services.common import deadletters, preflight, settings

    assert preflight.DEFAULT_AMQP_URL is settings.DEFAULT_AMQP_URL
    assert deadletters.DEFAULT_AMQP_URL is settings.DEFAULT_AMQP_URL
    assert Settings.from_env("ppid", {"SIMPUL_ENV": "development"}).amqp_url == settings.DEFAULT_AMQP_URL


# -- the regency's time zone ---------------------------------------------------------------


def _opd_file(tmp_path, zone: str):
    document = json.loads(Settings.from_env("x", {"SIMPUL_ENV": "development"}).opd_file.read_text())
    document["regency"]["timezone"] = zone
    path = tmp_path / "opd.json"
    path.write_text(json.dumps(document))
    return path


def test_the_time_zone_comes_from_the_regency_file(tmp_path):
    dev = {"SIMPUL_ENV": "development"}
    assert Settings.from_env("ppid", dev).timezone == "Asia/Jakarta"
    moved = Settings.from_env("ppid", {**dev, "OPD_FILE": str(_opd_file(tmp_path, "Asia/Makassar"))})
    assert moved.timezone == "Asia/Makassar"


@pytest.mark.parametrize("tz", ["Asia/Jakarta", ":Asia/Jakarta", ""])
def test_a_tz_naming_the_regency_zone_or_none_is_accepted(tz):
    assert Settings.from_env("ppid", {"SIMPUL_ENV": "development", "TZ": tz}).timezone == "Asia/Jakarta"


@pytest.mark.parametrize("tz", ["UTC", "Asia/Makassar", "WIB-7"])
def test_a_tz_naming_another_zone_is_refused_at_start(tz):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env("ppid", {"SIMPUL_ENV": "development", "TZ": tz})
    message = str(caught.value)
    assert f"TZ={tz}" in message and "Asia/Jakarta" in message and "opd.json" in message
    assert "Unset TZ" in message


@pytest.fixture
def process_zone(monkeypatch):
    """Sets the process's own local zone (what an operator's `TZ=…` shell gives it)."""

    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


def _deadlines(settings: Settings) -> list[datetime]:
    cal = WorkingCalendar(office_start=settings.office_start, office_end=settings.office_end, tz=settings.timezone)
    received = [datetime(2026, 7, 6, 3, 0, tzinfo=UTC),  # Monday 10:00 WIB
                datetime(2026, 7, 6, 17, 30, tzinfo=UTC),  # 00:30 WIB on Tuesday, still Monday in UTC
                datetime(2026, 12, 31, 9, 30, tzinfo=UTC)]  # 16:30 WIB, after closing
    return [cal.due_at(at, 10) for at in received]


def test_deadlines_do_not_follow_the_process_time_zone(process_zone):
    environ = {"SIMPUL_ENV": "development"}
    process_zone("Asia/Jakarta")
    in_wib = _deadlines(Settings.from_env("ppid", environ))
    process_zone("UTC")
    assert time.strftime("%Z") == "UTC" and os.environ["TZ"] == "UTC"
    in_utc_shell = _deadlines(Settings.from_env("ppid", environ))
    assert in_utc_shell == in_wib
    assert [d.isoformat() for d in in_wib][:2] == ["2026-07-20T23:59:59+07:00", "2026-07-21T23:59:59+07:00"]
    # The same shell's TZ handed to the process itself is the mismatch, refused.
    with pytest.raises(SettingsError, match="TZ=UTC"):
        Settings.from_env("ppid")


# -- secrets printed in .env.example are refused in production ------------------------------

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
# Names of secret variables; JWT_PUBLIC_KEY or NOTIFIER_WEBHOOK_SECRET_GRACE_HOURS are not.
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_PASS|TOKEN)$")
_ASSIGNMENT = re.compile(r"\b([A-Z][A-Z0-9_]*)=(\S*)")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"'<>]+")
# A long run of hex digits anywhere is a generated value; it is treated as a secret whatever
# line it stands on, so an example slipped under an unusual name is still caught.
_HEX = re.compile(r"\b[0-9a-fA-F]{16,}\b")
# Read only by containers no Python process runs in (the PostgreSQL superuser): nothing can
# refuse a published example, so .env.example must not print one.
UNENFORCEABLE_SECRETS = ("POSTGRES_PASSWORD",)


def _env_example_blocks() -> list[str]:
    return [block for block in ENV_EXAMPLE.read_text().split("\n\n") if block.strip()]


def secrets_shown_in_env_example() -> set[str]:
    """Every secret value `.env.example` shows, read from the file itself."""
    shown: set[str] = set()
    for block in _env_example_blocks():
        names = {m.group(1) for m in re.finditer(r"^#? ?([A-Z][A-Z0-9_]*)=", block, re.M)}
        for name, value in _ASSIGNMENT.findall(block):
            if _SECRET_NAME.search(name) and value:
                shown.add(value)
        for url in _URL.findall(block):
            password = url_password(url)
            if password:
                shown.add(password)
        if any(_SECRET_NAME.search(name) for name in names):
            for example in re.findall(r"Example: *(\S+) *$", block, re.M):
                if "=" not in example and "://" not in example:
                    shown.add(example)
        shown.update(_HEX.findall(block))
    return shown


def test_the_env_example_parser_finds_the_printed_secrets():
    shown = secrets_shown_in_env_example()
    # The JWT example that started this (issue: anyone could mint admin tokens with it).
    jwt_block = next(b for b in _env_example_blocks() if re.search(r"^JWT_SECRET=", b, re.M))
    printed = re.search(r"Example: *(\S+)", jwt_block)
    assert printed is None or printed.group(1) in shown
    assert {"secret", "password"} <= shown
    assert len(shown) >= 4


def test_every_secret_shown_in_env_example_is_refused_at_runtime():
    missing = {v for v in secrets_shown_in_env_example() if not is_public_secret(v)}
    assert not missing, (
        f".env.example shows secrets production would accept: add {sorted(missing)} to "
        "PUBLIC_SECRET_VALUES in services/common/settings.py"
    )


@pytest.mark.parametrize("name", UNENFORCEABLE_SECRETS)
def test_secrets_no_service_reads_show_no_example(name):
    block = next(b for b in _env_example_blocks() if re.search(rf"^{name}=", b, re.M))
    assert not re.search(rf"^{name}=\S", block, re.M)
    shown_here = {m for m in re.findall(r"Example: *(\S+) *$", block, re.M)} | set(_HEX.findall(block))
    assert not shown_here, f"{name} is read by no service, so a printed example cannot be refused"


def _production(**overrides: str) -> dict[str, str]:
    real = secrets.token_hex(32)
    return {
        "PPID_DATABASE_URL": f"postgresql://ppid:{secrets.token_hex(16)}@db/ppid",
        "AMQP_URL": f"amqp://simpul:{secrets.token_hex(16)}@rabbit:5672/%2F",
        "RATE_LIMIT_STORAGE_URI": f"redis://:{secrets.token_hex(16)}@redis:6379/0",
        "SMTP_HOST": "smtp.kapuaskab.go.id",
        "SMTP_USER": "simpul",
        "SMTP_PASSWORD": secrets.token_hex(16),
        "SMTP_FROM": "PPID <ppid@kapuaskab.go.id>",
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": real,
        "JWT_ISSUER": "https://sso.kapuaskab.go.id",
        **overrides,
    }


# Where each secret goes: the variable, and how the value is placed in it.
SECRET_SLOTS = {
    "JWT_SECRET": lambda v: v,
    "PPID_DATABASE_URL": lambda v: f"postgresql://ppid:{v}@db:5432/ppid",
    "AMQP_URL": lambda v: f"amqp://simpul:{v}@rabbit:5672/%2F",
    "RATE_LIMIT_STORAGE_URI": lambda v: f"rediss://:{v}@cache.internal:6380/2",
    "SMTP_PASSWORD": lambda v: v,
}
_REFUSED = sorted(secrets_shown_in_env_example() | {DEV_JWT_SECRET, "guest"})


@pytest.mark.parametrize("variable", sorted(SECRET_SLOTS))
@pytest.mark.parametrize("value", _REFUSED)
def test_production_refuses_a_published_secret_naming_the_variable_not_the_value(variable, value):
    with pytest.raises(SettingsError, match="printed in .env.example") as caught:
        Settings.from_env("ppid", _production(**{variable: SECRET_SLOTS[variable](value)}))
    message = str(caught.value)
    assert variable in message
    # Short examples ("secret", "password") are ordinary words of the message itself.
    if len(value) >= 16:
        assert value not in message


@pytest.mark.parametrize("variable", sorted(SECRET_SLOTS))
def test_a_published_secret_is_refused_whatever_its_case_or_padding(variable):
    value = f" {_REFUSED[-1].upper()} " if variable in ("JWT_SECRET", "SMTP_PASSWORD") else "SECRET"
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env("ppid", _production(**{variable: SECRET_SLOTS[variable](value)}))


def test_private_random_secrets_pass_in_production():
    s = Settings.from_env("ppid", _production())
    assert not s.dev_mode and s.smtp_password and s.jwt_secret


def test_a_notifier_database_password_from_the_example_is_refused():
    from services.notifier.config import NotifierSettings

    env = _production(NOTIFIER_DATABASE_URL="postgresql://notifier:8d1e5a0c7b3f4e2d9a6c1b0e5f7d3a2c@db/notifier")
    with pytest.raises(SettingsError, match="NOTIFIER_DATABASE_URL"):
        NotifierSettings.from_env("notifier", env)


def test_development_mode_keeps_its_public_defaults():
    s = Settings.from_env("ppid", {"SIMPUL_ENV": "development", "SMTP_USER": "u", "SMTP_PASSWORD": "secret"})
    assert s.jwt_secret == DEV_JWT_SECRET and "guest:guest@" in s.amqp_url


@pytest.mark.parametrize("length, accepted", [(31, False), (32, True)])
def test_an_hs256_secret_needs_32_bytes(length, accepted):
    env = _production(JWT_SECRET=secrets.token_hex(32)[:length])
    if accepted:
        assert Settings.from_env("ppid", env).jwt_secret == env["JWT_SECRET"]
    else:
        with pytest.raises(SettingsError, match="JWT_SECRET must be a private value of at least 32 bytes"):
            Settings.from_env("ppid", env)


def test_url_password_decodes_and_ignores_urls_without_one():
    assert url_password("postgresql+psycopg://ppid:se%40cret@db/ppid") == "se@cret"
    assert url_password("sqlite:///var/ppid.db") is None
    assert url_password("redis://redis:6379/0") is None
    assert url_password(None) is None


def test_a_development_clock_offset_moves_the_runtimes_now(tmp_path):
    from services.common.runtime import build_runtime
    from services.ppid.models import Base

    settings = Settings.from_env("ppid", {"SIMPUL_ENV": "development", "SIMPUL_CLOCK_OFFSET_SECONDS": "86400",
                                          "PPID_DATABASE_URL": f"sqlite:///{tmp_path / 'ppid.db'}"})
    rt = build_runtime(settings, Base.metadata)
    try:
        ahead = (rt.clock() - datetime.now(UTC)).total_seconds()
        assert 86400 - 5 < ahead <= 86400
    finally:
        rt.dispose()
