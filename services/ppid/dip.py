"""Rules of the Daftar Informasi Publik (DIP): pure functions, no I/O.

UU 14/2008 sorts public information into four kinds, and the DIP lists every entry with the
columns Perki 1/2021 asks for (summary, holding unit, person responsible, when and where
made, form available, retention period):

- berkala: published at least every six months (Pasal 9);
- serta merta: published at once, when it concerns a threat to life or public order (Pasal 10);
- setiap saat: available on request (Pasal 11);
- dikecualikan: exempt (Pasal 17), only after a consequence test (uji konsekuensi,
  Pasal 2 ayat 4) and never for ever (Pasal 20 ayat 1). An exemption whose end date has
  passed is no longer an exemption: the information becomes available on request, and the
  public list says so instead of hiding it behind a stale label.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from services.common.errors import Forbidden
from services.common.scope import OpdScope
from services.ppid.domain import (
    EXEMPTION_CLAUSES,  # Pasal 17 a-j, as notices cite them
    Staff,
    scope_of,
)

CATEGORIES = ("berkala", "serta_merta", "setiap_saat", "dikecualikan")
EXEMPT = "dikecualikan"
# What an exempt entry becomes once its exemption has ended.
AFTER_EXPIRY = "setiap_saat"
CATEGORY_LABELS = {
    "berkala": "Informasi yang wajib disediakan dan diumumkan secara berkala",
    "serta_merta": "Informasi yang wajib diumumkan secara serta merta",
    "setiap_saat": "Informasi yang wajib tersedia setiap saat",
    "dikecualikan": "Informasi yang dikecualikan",
}

EXEMPTION_FIELDS = (
    "exemption_clause",
    "exemption_basis",
    "consequence_test",
    "consequence_test_date",
    "exempt_until",
)
# A consequence test weighs the harm of opening against the public interest; a few words
# cannot record that, so a summary shorter than this is refused as incomplete.
MIN_CONSEQUENCE_TEST_LENGTH = 30
# No exemption is permanent; a date further out than this is taken for a typing error.
MAX_EXEMPTION_YEARS = 30

# Plain-text limits (characters, after cleaning). Fields are plain text, never markup.
LIMITS = {
    "title": 300,
    "summary": 4000,
    "holding_unit": 200,
    "responsible": 200,
    "made_when": 100,
    "made_where": 200,
    "retention_period": 100,
    "url": 500,
    "exemption_basis": 500,
    "consequence_test": 4000,
}
MULTILINE = frozenset({"summary", "consequence_test"})

STAFF_ROLES = ("ppid_utama", "ppid_pelaksana")

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Plain text as stored: NFC, no control or invisible format characters, tidy spaces.

    Format characters (Unicode category Cf) include the bidirectional overrides that can
    make a title read differently from what it says, so they go along with the controls.
    """
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for ch in text:
        if ch == "\n":
            kept.append("\n" if multiline else " ")
        elif ch == "\t":
            kept.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            kept.append(ch)
    text = _SPACES.sub(" ", "".join(kept))
    if multiline:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def is_valid_url(value: str) -> bool:
    return bool(_URL.match(value))


def exemption_expired(category: str, exempt_until: date | None, today: date) -> bool:
    """An exemption lasts to the end of its `exempt_until` day and is over the day after."""
    return category == EXEMPT and exempt_until is not None and exempt_until < today


def effective_category(category: str, exempt_until: date | None, today: date) -> str:
    """The category the public sees today: an ended exemption is available on request."""
    if exemption_expired(category, exempt_until, today):
        return AFTER_EXPIRY
    return category


def validate(
    entry: Mapping[str, Any],
    today: date,
    *,
    changed: frozenset[str] | set[str] = frozenset(),
    creating: bool = False,
) -> dict[str, list[str]]:
    """Field errors (Indonesian) of a complete entry, empty when it may be stored.

    `entry` is the entry as it would be after the change; `changed` names the fields the
    caller sent, so that editing the title of an exemption that has since ended is not
    refused for its end date.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if entry.get("category") not in CATEGORIES:
        add("category", "Kategori harus salah satu dari: " + ", ".join(CATEGORIES) + ".")
    for field in ("title", "summary", "opd", "responsible", "made_when", "made_where",
                  "retention_period"):
        if not entry.get(field):
            add(field, "Wajib diisi.")
    if not (entry.get("soft_copy") or entry.get("hard_copy")):
        add("soft_copy", "Pilih sedikitnya satu bentuk informasi: salinan lunak atau keras.")
    url = entry.get("url")
    if url and not is_valid_url(url):
        add("url", "Alamat harus diawali http:// atau https://.")

    if entry.get("category") == EXEMPT:
        _validate_exemption(entry, today, changed, creating, add)
    else:
        for field in EXEMPTION_FIELDS:
            if field in changed and entry.get(field) is not None:
                add(field, "Hanya diisi untuk informasi yang dikecualikan.")
    return errors


def _validate_exemption(entry, today, changed, creating, add) -> None:
    clause = entry.get("exemption_clause")
    if not clause:
        add("exemption_clause", "Informasi yang dikecualikan wajib menyebut huruf Pasal 17.")
    elif clause not in EXEMPTION_CLAUSES:
        add("exemption_clause", "Huruf Pasal 17 harus salah satu dari a sampai j.")
    if not entry.get("exemption_basis"):
        add("exemption_basis", "Sebutkan dasar hukum pengecualian.")
    test = entry.get("consequence_test") or ""
    if not test:
        add("consequence_test", "Ringkasan uji konsekuensi wajib diisi.")
    elif len(test) < MIN_CONSEQUENCE_TEST_LENGTH:
        add(
            "consequence_test",
            f"Ringkasan uji konsekuensi terlalu singkat (minimal "
            f"{MIN_CONSEQUENCE_TEST_LENGTH} karakter).",
        )
    until = entry.get("exempt_until")
    tested = entry.get("consequence_test_date")
    if until is None:
        add("exempt_until", "Pengecualian tidak boleh permanen: isi tanggal berakhirnya.")
    elif creating or "exempt_until" in changed or "category" in changed:
        if until <= today:
            add("exempt_until", "Tanggal berakhir pengecualian harus setelah hari ini.")
        elif until > _years_after(today, MAX_EXEMPTION_YEARS):
            add(
                "exempt_until",
                f"Jangka waktu pengecualian paling lama {MAX_EXEMPTION_YEARS} tahun.",
            )
    if tested is not None and (creating or "consequence_test_date" in changed):
        if tested > today:
            add("consequence_test_date", "Tanggal uji konsekuensi tidak boleh di masa depan.")
        elif until is not None and tested >= until:
            add("consequence_test_date", "Uji konsekuensi harus sebelum pengecualian berakhir.")


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


OTHER_OPD = "Entri DIP ini milik OPD lain."


def staff_scope(staff: Staff) -> OpdScope:
    """The OPDs whose entries `staff` keeps: PPID's own scope rule (`domain.scope_of`), for
    the roles that keep the list. The PPID Utama manages every OPD's list; a PPID Pelaksana
    only its own OPD's.

    A Pelaksana token without an OPD is a misconfigured account, not a regency-level one,
    so it is refused rather than given everything.
    """
    scope = scope_of(staff)
    if not staff.has_role(*STAFF_ROLES) or scope.is_empty:
        raise Forbidden("Hanya PPID Utama atau PPID Pelaksana OPD yang dapat mengelola DIP.")
    return scope
