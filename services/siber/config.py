"""Settings of the SIBER service, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import Settings, SettingsError


@dataclass(frozen=True)
class SiberSettings(Settings):
    # The OPD whose editors (`siber_editor`) answer submissions: the review clock's owner.
    editor_opd: str = "diskominfo"
    # Articles an OPD is expected to submit per working day unless its own quota says more.
    daily_quota: int = 1
    # Working days the editors have to answer a submission.
    review_days: int = 1
    # A photo upload: its bytes (sent base64-encoded in a JSON body, so they fit in
    # MAX_BODY_BYTES with a third more), and its pixels (a decompression bomb is refused by
    # the pixel count its header declares, before any decoding).
    photo_max_bytes: int = 6 * 1024 * 1024
    photo_max_pixels: int = 40_000_000
    photo_max_count: int = 12
    # The public site the feeds and the sitemap link to; articles live at `<url>/berita/<slug>`.
    public_url: str = "http://localhost:8003"

    @classmethod
    def _read_own(cls, env, *, dev_mode):
        return {
            "editor_opd": env.get("SIBER_EDITOR_OPD", "diskominfo"),
            "daily_quota": env.int("SIBER_DAILY_QUOTA", 1),
            "review_days": env.int("SIBER_REVIEW_DAYS", 1),
            "photo_max_bytes": env.int("SIBER_PHOTO_MAX_BYTES", 6 * 1024 * 1024),
            "photo_max_pixels": env.int("SIBER_PHOTO_MAX_PIXELS", 40_000_000),
            "photo_max_count": env.int("SIBER_PHOTO_MAX_COUNT", 12),
            "public_url": env.get("SIBER_PUBLIC_URL", "http://localhost:8003"),
        }

    def _check(self) -> None:
        super()._check()
        if not 1 <= self.daily_quota <= 20:
            raise SettingsError("SIBER_DAILY_QUOTA must be between 1 and 20")
        if not 1 <= self.review_days <= 10:
            raise SettingsError("SIBER_REVIEW_DAYS must be between 1 and 10")
        if self.photo_max_bytes < 64 * 1024:
            raise SettingsError("SIBER_PHOTO_MAX_BYTES must be at least 64 KiB")
        if self.photo_max_bytes * 4 // 3 + 65536 > self.max_body_bytes:
            raise SettingsError("SIBER_PHOTO_MAX_BYTES (base64-encoded) must fit in MAX_BODY_BYTES")
        if not 1_000_000 <= self.photo_max_pixels <= 200_000_000:
            raise SettingsError("SIBER_PHOTO_MAX_PIXELS must be between 1000000 and 200000000")
        if not 1 <= self.photo_max_count <= 50:
            raise SettingsError("SIBER_PHOTO_MAX_COUNT must be between 1 and 50")
        if not self.public_url.startswith(("https://", "http://")) or self.public_url.endswith("/"):
            raise SettingsError("SIBER_PUBLIC_URL must be an http(s) address without a trailing slash")
