"""Settings of the notifier, read once from the environment.

Besides the chassis settings (the SMTP ones among them, `services.common.settings`): how
often the worker ticks, and where the seed policies live. A notifier that cannot send mail
is useless to a regency, so outside the embedded development mode `SMTP_HOST` and
`SMTP_FROM` are required here, where other services may run without mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.settings import REPO_ROOT, Settings, SettingsError
from services.notifier.webhooks import read_webhook_env


@dataclass(frozen=True)
class NotifierSettings(Settings):
    tick_seconds: int = 30
    # How often the worker publishes the calendar and OPD directory again, so a service
    # whose queue or database is new catches up (services.notifier.reference).
    reference_republish_seconds: float = 20.0
    tick_batch_size: int = 200
    # A step claimed by a worker that died before finishing it is claimed again after this.
    claim_timeout_seconds: int = 300
    # Temporary SMTP failures are retried this many times before the step is closed with
    # the failures on record (the in-app inbox message is always delivered).
    max_send_attempts: int = 6
    policies_file: Path = REPO_ROOT / "config" / "notifier_policies.json"
    # Webhook delivery (read by services.notifier.webhooks.read_webhook_env).
    webhook_allow_private: bool = False
    webhook_allowed_hosts: tuple[str, ...] = ()
    webhook_allow_http: bool = False
    webhook_timeout_seconds: int = 5
    webhook_secret_grace_hours: int = 24
    webhook_disable_after_days: int = 5

    @classmethod
    def _read_own(cls, env, *, dev_mode: bool) -> dict:
        return {
            "tick_seconds": env.int("NOTIFIER_TICK_SECONDS", 30),
            "reference_republish_seconds": env.seconds("NOTIFIER_REFERENCE_REPUBLISH", 20),
            "tick_batch_size": env.int("NOTIFIER_TICK_BATCH_SIZE", 200),
            "claim_timeout_seconds": env.int("NOTIFIER_CLAIM_TIMEOUT_SECONDS", 300),
            "max_send_attempts": env.int("NOTIFIER_MAX_SEND_ATTEMPTS", 6),
            "policies_file": Path(
                env.get(
                    "NOTIFIER_POLICIES_FILE", str(REPO_ROOT / "config" / "notifier_policies.json")
                )
            ),
            **read_webhook_env(env, dev_mode=dev_mode),
        }

    def _check(self) -> None:
        super()._check()
        if not self.dev_mode and not self.smtp_host:
            raise SettingsError("SMTP_HOST is required outside development mode")
        if not self.smtp_from:
            raise SettingsError("SMTP_FROM is required outside development mode")
        if self.tick_seconds < 1:
            raise SettingsError("NOTIFIER_TICK_SECONDS must be at least 1")
        if not 0.1 <= self.reference_republish_seconds <= 30:
            # Longer, and a new service would wait past a minute for the calendar.
            raise SettingsError("NOTIFIER_REFERENCE_REPUBLISH must be between 0.1s and 30s")
        if self.tick_batch_size < 1:
            raise SettingsError("NOTIFIER_TICK_BATCH_SIZE must be at least 1")
        if self.claim_timeout_seconds < 30:
            raise SettingsError("NOTIFIER_CLAIM_TIMEOUT_SECONDS must be at least 30")
        if self.max_send_attempts < 1:
            raise SettingsError("NOTIFIER_MAX_SEND_ATTEMPTS must be at least 1")

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)
