"""Settings read once from environment variables.

Every service builds one `Settings` (or a subclass with its own fields) in its composition
root. Secrets have safe defaults only in the embedded development mode
(`SIMPUL_ENV=development`); anywhere else a missing or well-known secret stops the process
before it serves anything.

Values are parsed by `environs` (booleans, whole numbers, durations, lists), one parser per
kind for every service. An empty variable counts as unset, because compose passes
`${VAR:-}` through as an empty string.

The regency's time zone is not an environment variable: it is `regency.timezone` in the OPD
file (`config/opd.json`), the same for every process. A `TZ` given to a process must name
that zone or be absent; anything else stops the process, since logs, mails and deadlines
would otherwise speak of two different clocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environs

from services.common.opd import OpdRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
# The local development broker; production settings refuse its guest login.
DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"
DEV_JWT_SECRET = "simpul-development-secret-do-not-use-in-production"  # noqa: S105 - dev only
DEV_SMTP_FROM = "Simpul (pengembangan) <simpul@localhost>"
# Bytes of an HS256 key: RFC 7518 asks for a key at least as long as the 256-bit hash.
MIN_SECRET_LENGTH = 32
# Every secret `.env.example` prints as an example, and the development defaults. Each is
# public, so outside development a secret setting holding one of them stops the process:
# whoever copied it runs with a key anyone can read (and mint admin tokens with). Kept here
# rather than read from `.env.example`, which the image does not carry; a test fails when
# that file shows a secret missing from this set. A value once published stays in it.
PUBLIC_SECRET_VALUES = frozenset(
    {
        DEV_JWT_SECRET,
        "guest",  # RabbitMQ's built-in login, the development broker's
        "secret",  # the SMTP and database/broker URL examples
        "password",  # the Redis URL example
        "3f9c0e6b2a7d41c8a5e0d9b7c6a1f2e4",  # POSTGRES_PASSWORD, formerly
        "8d1e5a0c7b3f4e2d9a6c1b0e5f7d3a2c",  # <SERVICE>_DB_PASSWORD
        "c4b1e7d0a9f24e3b8c6d5a1f0e9b7c2d",  # AMQP_PASSWORD
        "6b0f3c8e1d2a4b7c9e5f0a1d3c6b8e2f4a7d9c0b1e3f5a6c8d0e2b4f6a8c1e3d",  # JWT_SECRET
    }
)
_PUBLIC_SECRETS_FOLDED = frozenset(v.casefold() for v in PUBLIC_SECRET_VALUES)
# Read by gunicorn (services/common/gunicorn_conf.py) and the CLI rather than by Settings.
PROCESS_ENV = ("WEB_CONCURRENCY", "WEB_THREADS", "FORWARDED_ALLOW_IPS", "WEB_BIND")


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable."""


class _MappingEnv(environs.Env):
    """environs' parsers over a given mapping rather than `os.environ`.

    Tests and `env_names` pass their own mapping. `_get_value` is environs' one lookup hook
    (stable across the pinned major version).
    """

    def __init__(self, environ: Mapping[str, str]):
        super().__init__(eager=True)
        self._source = environ

    def _get_value(self, env_key: str, default):
        value = self._source.get(env_key)
        return default if value in (None, "") else value


class _RecordingEnv:
    """Reads variables and remembers which names were asked for.

    The list of names is what `docker-compose.yml` may set for a service; a test compares
    the two so the compose file never carries a variable nothing reads.
    """

    def __init__(self, env: Mapping[str, str]):
        self._env = _MappingEnv(env)
        self.names: list[str] = []

    def _parse(self, kind: str, name: str, default, **kwargs):
        if name not in self.names:
            self.names.append(name)
        try:
            return getattr(self._env, kind)(name, default, **kwargs)
        except environs.EnvError as exc:
            raise SettingsError(f"{name} {_EXPECTED[kind]}, got {self._env._get_value(name, '')!r}") from exc

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._parse("str", name, default)

    def int(self, name: str, default: int) -> int:
        return self._parse("int", name, default)

    def bool(self, name: str, default: bool) -> bool:
        return self._parse("bool", name, default)

    def seconds(self, name: str, default: float) -> float:
        """A duration: `20` (seconds), `20s`, `5m`, `1h30m`; returned in seconds."""
        value = self._parse("timedelta", name, None)
        return default if value is None else value.total_seconds()

    def list(self, name: str, default: str = "") -> tuple[str, ...]:
        raw = self._parse("list", name, None)
        parts = raw if raw is not None else default.split(",")
        return tuple(part.strip() for part in parts if part.strip())


_EXPECTED = {
    "str": "must be text",
    "int": "must be a whole number",
    "bool": "must be true or false (also 1/0, yes/no, on/off)",
    "timedelta": "must be a duration such as 30, 30s, 5m or 1h30m",
    "list": "must be a comma-separated list",
}


def regency_timezone(opd_file: Path) -> str:
    """The regency's time zone as `config/opd.json` names it (`regency.timezone`)."""
    try:
        registry = OpdRegistry.from_file(opd_file)
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    return registry.regency.timezone


def check_process_timezone(tz_variable: str | None, regency_zone: str, opd_file: Path) -> None:
    """Refuse a `TZ` that names another zone than the regency's.

    Deadlines never use the process's zone, but logs, `date` in a shell and anything an
    operator compares them with do: a process told `TZ=UTC` next to WIB deadlines is a
    support call waiting to happen. A leading `:` (the POSIX "zone file" form) is ignored.
    """
    if tz_variable is None:
        return
    named = tz_variable.strip().removeprefix(":")
    if named != regency_zone:
        raise SettingsError(
            f"TZ={tz_variable} contradicts the regency's time zone {regency_zone} "
            f"(regency.timezone in {opd_file}); deadlines are always counted in "
            f"{regency_zone}. Unset TZ or set TZ={regency_zone}; to move the regency to "
            "another zone, edit regency.timezone in that file."
        )


def is_public_secret(value: str | None) -> bool:
    """Whether a secret is one printed in `.env.example` or a development default."""
    return bool(value) and value.strip().casefold() in _PUBLIC_SECRETS_FOLDED


def url_password(url: str | None) -> str | None:
    """The password inside a connection URL (percent-decoded), if it has one."""
    if not url or "://" not in url:
        return None
    password = urlsplit(url).password
    return unquote(password) if password is not None else None


def _parse_office_hours(raw: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise SettingsError(f"OFFICE_HOURS must look like 08:00-16:00, got {raw!r}") from exc
    if start >= end:
        raise SettingsError(f"OFFICE_HOURS must start before it ends, got {raw!r}")
    return start, end


@dataclass(frozen=True)
class Settings:
    service: str
    dev_mode: bool
    database_url: str
    amqp_url: str
    # False where the operator declared `simpul.events` and `simpul.dead` (broker_admin
    # setup-services): the worker's login then has no configure right on them, and the
    # worker only checks that they exist (a passive declare).
    amqp_declare_exchanges: bool
    timezone: str
    log_level: str
    jwt_algorithms: tuple[str, ...]
    jwt_secret: str | None
    jwt_public_key: str | None
    jwt_jwks_url: str | None
    jwt_audience: str
    jwt_issuer: str
    jwt_leeway_seconds: int
    cors_origins: tuple[str, ...]
    public_rate_limit: str
    rate_limit_storage_uri: str
    trusted_proxies: int
    max_body_bytes: int
    office_start: time
    office_end: time
    calendar_file: Path
    opd_file: Path
    outbox_stuck_seconds: int
    relay_batch_size: int
    relay_poll_seconds: float
    consumer_delivery_limit: int
    consumer_prefetch: int
    # Where uploaded files live (services.common.files.open_file_store).
    files_url: str
    # Outgoing mail (services.common.mailer); no SMTP_HOST: mail is off.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_from: str | None = DEV_SMTP_FROM
    smtp_timeout_seconds: int = 30
    # Development only: the processes' "now" runs this many seconds ahead of (or behind) the
    # wall clock, so an end-to-end trial can stand whole processes on a chosen working day.
    clock_offset_seconds: int = 0

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> Settings:
        env = _RecordingEnv(os.environ if environ is None else environ)
        values = cls._read_common(service, env)
        values.update(cls._read_own(env, dev_mode=values["dev_mode"]))
        settings = cls(**values)
        settings._check()
        return settings

    @classmethod
    def env_names(cls, service: str) -> list[str]:
        """Every variable this service's processes read, in the order they read them."""
        env = _RecordingEnv({"SIMPUL_ENV": "development"})
        values = cls._read_common(service, env)
        cls._read_own(env, dev_mode=values["dev_mode"])
        return env.names + [n for n in PROCESS_ENV if n not in env.names]

    @classmethod
    def _read_common(cls, service: str, env: _RecordingEnv) -> dict:
        mode = env.get("SIMPUL_ENV", "production")
        if mode not in ("development", "production"):
            raise SettingsError(f"SIMPUL_ENV must be development or production, got {mode!r}")
        dev = mode == "development"
        office_start, office_end = _parse_office_hours(env.get("OFFICE_HOURS", "08:00-16:00"))
        default_db = f"sqlite:///{REPO_ROOT / 'var' / (service + '.db')}" if dev else None
        opd_file = Path(env.get("OPD_FILE", str(REPO_ROOT / "config" / "opd.json")))
        timezone = regency_timezone(opd_file)
        check_process_timezone(env.get("TZ"), timezone, opd_file)
        public_key = env.get("JWT_PUBLIC_KEY")
        key_file = env.get("JWT_PUBLIC_KEY_FILE")
        if public_key is None and key_file:
            public_key = Path(key_file).read_text()
        return {
            "service": service,
            "dev_mode": dev,
            "database_url": env.get(f"{service.upper()}_DATABASE_URL", default_db),
            "amqp_url": env.get("AMQP_URL", DEFAULT_AMQP_URL),
            "amqp_declare_exchanges": env.bool("AMQP_DECLARE_EXCHANGES", True),
            "timezone": timezone,
            "log_level": env.get("LOG_LEVEL", "INFO").upper(),
            "jwt_algorithms": env.list("JWT_ALGORITHMS", "HS256" if dev else ""),
            "jwt_secret": env.get("JWT_SECRET", DEV_JWT_SECRET if dev else None),
            "jwt_public_key": public_key,
            "jwt_jwks_url": env.get("JWT_JWKS_URL"),
            "jwt_audience": env.get("JWT_AUDIENCE", "simpul"),
            "jwt_issuer": env.get("JWT_ISSUER", "simpul-dev" if dev else None),
            "jwt_leeway_seconds": env.int("JWT_LEEWAY_SECONDS", 30),
            "cors_origins": env.list("CORS_ORIGINS"),
            "public_rate_limit": env.get("PUBLIC_RATE_LIMIT", "20/minute"),
            "rate_limit_storage_uri": env.get("RATE_LIMIT_STORAGE_URI", "memory://"),
            "trusted_proxies": env.int("TRUSTED_PROXIES", 0),
            "max_body_bytes": env.int("MAX_BODY_BYTES", 10 * 1024 * 1024),
            "office_start": office_start,
            "office_end": office_end,
            "calendar_file": Path(
                env.get("CALENDAR_FILE", str(REPO_ROOT / "config" / "calendar.json"))
            ),
            "opd_file": opd_file,
            "outbox_stuck_seconds": env.int("OUTBOX_STUCK_SECONDS", 300),
            "relay_batch_size": env.int("RELAY_BATCH_SIZE", 2000),
            "relay_poll_seconds": env.int("RELAY_POLL_MS", 200) / 1000,
            "consumer_delivery_limit": env.int("CONSUMER_DELIVERY_LIMIT", 5),
            "consumer_prefetch": env.int("CONSUMER_PREFETCH", 50),
            "files_url": env.get(
                f"{service.upper()}_FILES_URL", str(REPO_ROOT / "var" / "files" / service)
            ),
            "smtp_host": env.get("SMTP_HOST"),
            "smtp_port": env.int("SMTP_PORT", 25),
            "smtp_user": env.get("SMTP_USER"),
            "smtp_password": env.get("SMTP_PASSWORD"),
            "smtp_starttls": env.bool("SMTP_STARTTLS", False),
            "smtp_ssl": env.bool("SMTP_SSL", False),
            "smtp_from": env.get("SMTP_FROM", DEV_SMTP_FROM if dev else None),
            "smtp_timeout_seconds": env.int("SMTP_TIMEOUT_SECONDS", 30),
            "clock_offset_seconds": env.int("SIMPUL_CLOCK_OFFSET_SECONDS", 0),
        }

    @classmethod
    def _read_own(cls, env: _RecordingEnv, *, dev_mode: bool) -> dict:
        """A service's subclass returns its own fields here."""
        return {}

    def _check(self) -> None:
        var = f"{self.service.upper()}_DATABASE_URL"
        if not self.database_url:
            raise SettingsError(f"{var} is required outside development mode")
        self._check_files_url()
        if not self.dev_mode and self.clock_offset_seconds:
            raise SettingsError("SIMPUL_CLOCK_OFFSET_SECONDS is for development only: a production "
                                "service keeps the real time")
        if not self.dev_mode and "guest:guest@" in self.amqp_url:
            raise SettingsError("AMQP_URL must not use the guest login outside development mode")
        if not self.dev_mode:
            self._refuse_public_secrets()
        allowed = {"HS256", "RS256"}
        if not self.jwt_algorithms or not set(self.jwt_algorithms) <= allowed:
            raise SettingsError(f"JWT_ALGORITHMS must be a subset of {sorted(allowed)}")
        if "HS256" in self.jwt_algorithms:
            if not self.jwt_secret or len(self.jwt_secret.encode()) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    f"JWT_SECRET must be a private value of at least {MIN_SECRET_LENGTH} bytes "
                    "for HS256; generate one with "
                    'python -c "import secrets; print(secrets.token_hex(32))"'
                )
        if "RS256" in self.jwt_algorithms and not (self.jwt_public_key or self.jwt_jwks_url):
            raise SettingsError("RS256 needs JWT_PUBLIC_KEY, JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL")
        if not self.jwt_issuer:
            raise SettingsError("JWT_ISSUER is required outside development mode")
        if not 0 <= self.trusted_proxies <= 5:
            raise SettingsError("TRUSTED_PROXIES must be the number of reverse proxies in front, 0-5")
        if self.max_body_bytes < 1024:
            raise SettingsError("MAX_BODY_BYTES must be at least 1024")
        if self.smtp_host and not self.smtp_from:
            raise SettingsError("SMTP_FROM is required outside development mode")
        if self.smtp_starttls and self.smtp_ssl:
            raise SettingsError("SMTP_STARTTLS and SMTP_SSL exclude each other")
        if bool(self.smtp_user) != bool(self.smtp_password):
            raise SettingsError("SMTP_USER and SMTP_PASSWORD go together")

    def _check_files_url(self) -> None:
        # Imported when checked, so that importing the settings alone stays light.
        from services.common.files import open_file_store

        try:
            open_file_store(self.files_url, base_dir=REPO_ROOT)
        except ValueError as exc:
            raise SettingsError(f"{self.service.upper()}_FILES_URL: {exc}") from exc

    def secret_settings(self) -> Iterator[tuple[str, str | None, bool]]:
        """Each secret as (variable, value, whether it is a URL's password).

        A subclass with secrets of its own extends this, so production refuses their
        published examples too.
        """
        yield "JWT_SECRET", self.jwt_secret, False
        yield f"{self.service.upper()}_DATABASE_URL", url_password(self.database_url), True
        yield "AMQP_URL", url_password(self.amqp_url), True
        yield "RATE_LIMIT_STORAGE_URI", url_password(self.rate_limit_storage_uri), True
        yield "SMTP_PASSWORD", self.smtp_password, False

    def _refuse_public_secrets(self) -> None:
        # The message names the variable, never the value: it ends up in container logs.
        for name, value, in_url in self.secret_settings():
            if is_public_secret(value):
                where = f"The password in {name}" if in_url else name
                compose = (
                    " (under docker compose it is built from the matching password in .env)"
                    if in_url
                    else ""
                )
                raise SettingsError(
                    f"{where} is a value printed in .env.example or a development default, "
                    f"known to anyone; set a private one{compose}, e.g. the output of "
                    'python -c "import secrets; print(secrets.token_hex(32))"'
                )

    def redacted(self) -> dict:
        """The settings as loggable values: secrets and passwords hidden."""
        hidden = {"jwt_secret", "jwt_public_key"}
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in hidden or "secret" in f.name or "password" in f.name:
                value = "***" if value else value
            elif isinstance(value, str) and "://" in value and "@" in value:
                scheme, rest = value.split("://", 1)
                value = f"{scheme}://***@{rest.split('@', 1)[1]}"
            out[f.name] = str(value) if not isinstance(value, int | bool | tuple) else value
        return out
