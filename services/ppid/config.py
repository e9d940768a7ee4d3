"""Settings of the PPID service, read once from the environment.

The statutory limits (10 + 7 working days, 30, 30 and 14) are not settings: they are the law
(UU 14/2008 Pasal 22 and 35-37) and live in `domain.py`. What a regency may tune is here.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import Settings, SettingsError


@dataclass(frozen=True)
class PpidSettings(Settings):
    # The OPD that houses the PPID Utama: the clock owner while a request is unassigned.
    utama_opd: str = "diskominfo"
    # A request that names an OPD goes straight to that OPD's PPID Pelaksana; the PPID
    # Utama can still reassign it. Off: every request waits for the PPID Utama.
    assign_named_opd: bool = True
    # Documents released with a written notice travel base64-encoded in the notice's JSON
    # body and are kept in the database, so they are bounded in size and number.
    attachment_max_bytes: int = 2 * 1024 * 1024
    attachment_max_count: int = 3
    # How far back staff may date a walk-in, letter or phone request they register late.
    offline_max_age_days: int = 60
    # Working days the PPID has for a new notice once the Atasan PPID grants an objection
    # against its answer (the law names none; 10 mirrors Pasal 22's notice limit).
    reopened_notice_days: int = 10
    # The citizen's page of a request, with a `{number}` slot, named in every mail to the
    # applicant (never with the token in it: addresses end up in logs and browser history).
    # Unset: the mails name the number and token only.
    tracking_url: str | None = None

    @classmethod
    def _read_own(cls, env, *, dev_mode):
        return {
            "utama_opd": env.get("PPID_UTAMA_OPD", "diskominfo"),
            "assign_named_opd": env.bool("PPID_ASSIGN_NAMED_OPD", True),
            "attachment_max_bytes": env.int("PPID_ATTACHMENT_MAX_BYTES", 2 * 1024 * 1024),
            "attachment_max_count": env.int("PPID_ATTACHMENT_MAX_COUNT", 3),
            "offline_max_age_days": env.int("PPID_OFFLINE_MAX_AGE_DAYS", 60),
            "reopened_notice_days": env.int("PPID_REOPENED_NOTICE_DAYS", 10),
            "tracking_url": env.get("PPID_TRACKING_URL"),
        }

    def _check(self) -> None:
        super()._check()
        if self.attachment_max_bytes < 1024:
            raise SettingsError("PPID_ATTACHMENT_MAX_BYTES must be at least 1024")
        if not 0 <= self.attachment_max_count <= 20:
            raise SettingsError("PPID_ATTACHMENT_MAX_COUNT must be between 0 and 20")
        # Base64 adds a third; the rest of the notice needs some room too.
        if self.attachment_max_bytes * self.attachment_max_count * 4 // 3 + 65536 > self.max_body_bytes:
            raise SettingsError(
                "PPID_ATTACHMENT_MAX_BYTES x PPID_ATTACHMENT_MAX_COUNT (base64-encoded) must fit "
                "in MAX_BODY_BYTES"
            )
        if self.offline_max_age_days < 0:
            raise SettingsError("PPID_OFFLINE_MAX_AGE_DAYS must not be negative")
        if not 1 <= self.reopened_notice_days <= 30:
            raise SettingsError("PPID_REOPENED_NOTICE_DAYS must be between 1 and 30")
        if self.tracking_url is not None:
            url = self.tracking_url
            if not url.startswith(("https://", "http://")) or url.count("{number}") != 1:
                raise SettingsError(
                    "PPID_TRACKING_URL must be an http(s) address with one {number} slot, e.g. "
                    "https://ppid.example.go.id/permohonan/{number}"
                )
            try:
                url.format(number="PPID-2026-000001")
            except (IndexError, KeyError, ValueError) as exc:
                raise SettingsError("PPID_TRACKING_URL may hold no other {…} slot than {number}") from exc
