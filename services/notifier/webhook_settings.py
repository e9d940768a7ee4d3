"""The webhook part of the notifier's settings: egress policy, timeouts, grace, disabling."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.common.settings import SettingsError
from services.notifier import ssrf

# The longest a rotated-out secret may keep signing beside the new one.
MAX_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class WebhookConfig:
    egress: ssrf.EgressPolicy = field(default_factory=ssrf.EgressPolicy)
    timeout_seconds: float = 5.0
    secret_grace: timedelta = timedelta(hours=24)
    disable_after: timedelta = timedelta(days=5)
    batch_size: int = 20
    concurrency: int = 8


def webhook_config(settings: Any) -> WebhookConfig:
    """The webhook part of the notifier's settings (fields from `read_webhook_env`)."""
    return WebhookConfig(
        egress=ssrf.EgressPolicy(
            allow_private=settings.webhook_allow_private,
            allowed_hosts=tuple(settings.webhook_allowed_hosts),
            allow_http=settings.webhook_allow_http,
        ),
        timeout_seconds=float(settings.webhook_timeout_seconds),
        secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
        disable_after=timedelta(days=settings.webhook_disable_after_days),
    )


def read_webhook_env(env: Any, *, dev_mode: bool) -> dict[str, Any]:
    """The webhook fields for a settings class's `_read_own` (same names as its attributes)."""
    allowed_hosts = env.list("NOTIFIER_WEBHOOK_ALLOWED_HOSTS")
    for entry in allowed_hosts:
        if not (ssrf.as_network(entry) or re.fullmatch(r"[A-Za-z0-9.-]{1,253}", entry)):
            raise SettingsError(
                f"NOTIFIER_WEBHOOK_ALLOWED_HOSTS: {entry!r} is not a host name, address or network"
            )
    values = {
        "webhook_allow_private": env.bool("NOTIFIER_WEBHOOK_ALLOW_PRIVATE", False),
        "webhook_allowed_hosts": allowed_hosts,
        "webhook_allow_http": env.bool("NOTIFIER_WEBHOOK_ALLOW_HTTP", dev_mode),
        "webhook_timeout_seconds": env.int("NOTIFIER_WEBHOOK_TIMEOUT_SECONDS", 5),
        "webhook_secret_grace_hours": env.int("NOTIFIER_WEBHOOK_SECRET_GRACE_HOURS", 24),
        "webhook_disable_after_days": env.int("NOTIFIER_WEBHOOK_DISABLE_AFTER_DAYS", 5),
    }
    if not 1 <= values["webhook_timeout_seconds"] <= 60:
        raise SettingsError("NOTIFIER_WEBHOOK_TIMEOUT_SECONDS must be between 1 and 60")
    if not 0 <= values["webhook_secret_grace_hours"] <= MAX_GRACE.days * 24:
        raise SettingsError("NOTIFIER_WEBHOOK_SECRET_GRACE_HOURS must be between 0 and 168")
    if values["webhook_disable_after_days"] < 1:
        raise SettingsError("NOTIFIER_WEBHOOK_DISABLE_AFTER_DAYS must be at least 1")
    return values
