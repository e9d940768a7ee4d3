import pytest

from services.common.settings import DEV_JWT_SECRET, Settings, SettingsError

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
