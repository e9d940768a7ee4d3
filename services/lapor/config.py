"""Settings of the LAPOR! service, read once from the environment.

Local SOPs vary, so every limit of the flow (DOMAIN.md, LAPOR!) is a setting: the working
days to verify, to follow up and for the reporter's reply, and the calendar days to complete
(UU 25/2009 names 60 as the most a service may take).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import Settings, SettingsError


@dataclass(frozen=True)
class LaporSettings(Settings):
    verification_days: int = 3
    follow_up_days: int = 5
    completion_days: int = 60
    reply_days: int = 10
    duplicate_window_days: int = 90
    max_attachments: int = 5
    attachment_max_mb: int = 10
    # Civic apps allowed to POST Open311 requests, each with its own key.
    open311_api_keys: tuple[str, ...] = ()
    categories_file: str = "config/lapor_categories.json"
    wilayah_file: str = "config/lapor_wilayah.json"
    # The reporter's page of a report, with a `{number}` slot, named in every mail (never
    # with the token: addresses end up in logs and browser history). Unset: number only.
    tracking_url: str | None = None

    @classmethod
    def _read_own(cls, env, *, dev_mode):
        return {
            "verification_days": env.int("LAPOR_VERIFICATION_DAYS", 3),
            "follow_up_days": env.int("LAPOR_FOLLOW_UP_DAYS", 5),
            "completion_days": env.int("LAPOR_COMPLETION_DAYS", 60),
            "reply_days": env.int("LAPOR_REPLY_DAYS", 10),
            "duplicate_window_days": env.int("LAPOR_DUPLICATE_WINDOW_DAYS", 90),
            "max_attachments": env.int("LAPOR_MAX_ATTACHMENTS", 5),
            "attachment_max_mb": env.int("LAPOR_ATTACHMENT_MAX_MB", 10),
            "open311_api_keys": tuple(k for k in env.list("LAPOR_OPEN311_API_KEYS") if k),
            "categories_file": env.get("LAPOR_CATEGORIES_FILE", "config/lapor_categories.json"),
            "wilayah_file": env.get("LAPOR_WILAYAH_FILE", "config/lapor_wilayah.json"),
            "tracking_url": env.get("LAPOR_TRACKING_URL"),
        }

    @property
    def attachment_max_bytes(self) -> int:
        return self.attachment_max_mb * 1024 * 1024

    def _check(self) -> None:
        super()._check()
        for name, value, low, high in (
            ("LAPOR_VERIFICATION_DAYS", self.verification_days, 1, 30),
            ("LAPOR_FOLLOW_UP_DAYS", self.follow_up_days, 1, 60),
            ("LAPOR_COMPLETION_DAYS", self.completion_days, 1, 365),
            ("LAPOR_REPLY_DAYS", self.reply_days, 1, 60),
            ("LAPOR_DUPLICATE_WINDOW_DAYS", self.duplicate_window_days, 1, 3650),
            ("LAPOR_MAX_ATTACHMENTS", self.max_attachments, 0, 20),
            ("LAPOR_ATTACHMENT_MAX_MB", self.attachment_max_mb, 1, 100),
        ):
            if not low <= value <= high:
                raise SettingsError(f"{name} must be between {low} and {high}")
        if self.tracking_url is not None:
            url = self.tracking_url
            if not url.startswith(("https://", "http://")) or url.count("{number}") != 1:
                raise SettingsError(
                    "LAPOR_TRACKING_URL must be an http(s) address with one {number} slot, e.g. "
                    "https://lapor.example.go.id/laporan/{number}"
                )
