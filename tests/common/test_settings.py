import json
import os
import time
from datetime import UTC, datetime

import pytest

from services.common.calendar import WorkingCalendar
from services.common.settings import DEV_JWT_SECRET, Settings, SettingsError, _RecordingEnv

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
