"""The record of who read an applicant's personal data (UU 27/2022 on personal data).

Every read of the identity number, address, phone, email or attached documents by staff
writes one row per request in the same transaction that returns the data, so the data never
leaves without its record, and never without a reason: `record_access` refuses a read whose
officer gave none (a 422 in Bahasa Indonesia), so every path that hands out personal data —
the applicant endpoint, the printed letters, the registers, the documents — asks for one.
Staff give it in the `reason` query parameter or the `X-Access-Reason` header (which keeps it
out of addresses, which proxies and browsers log); the parameter wins when both are sent.

The applicant reads their own entries with the request's access token, written as a citizen
understands them (`describe`): who by role and OPD in words ("PPID Pelaksana Dinas
Kesehatan"), when in the regency's time in words, what was done and why; not the endpoint or
the officer's account id, which are kept for auditors.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from flask import request as http_request
from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.calendar import format_instant_id
from services.common.errors import Invalid
from services.common.http import header_text
from services.common.opd import OpdRegistry
from services.ppid.models import PersonalDataAccess

# What was done with the data; shown to the applicant in their own words.
PURPOSES = {
    "view_applicant": "Melihat data pemohon",
    "print_notice": "Mencetak pemberitahuan tertulis",
    "export_register": "Mengunduh register permohonan",
    "view_register": "Melihat register permohonan",
    "export_objection_register": "Mengunduh register keberatan",
    "view_objection_register": "Melihat register keberatan",
    "view_applicant_document": "Mengunduh dokumen yang dilampirkan pemohon",
    "print_receipt": "Mencetak tanda bukti pengajuan",
    "print_decision": "Mencetak tanggapan Atasan PPID atas keberatan",
}

REASON_HEADER = "X-Access-Reason"
REASON_PARAMETER = "reason"
REASON_MIN, REASON_MAX = 5, 500
REASON_DESCRIPTION = (
    "Keperluan petugas membuka data pribadi pemohon; wajib bagi petugas, dicatat dan dapat "
    f"dibaca pemohon. Kirim pada header {REASON_HEADER} atau parameter {REASON_PARAMETER}."
)
# The OpenAPI parameters of a staff read of personal data (`@blp.doc(**REASON_DOC)`).
REASON_PARAMETERS = [
    {"in": "header", "name": REASON_HEADER, "required": False,
     "schema": {"type": "string", "minLength": REASON_MIN, "maxLength": REASON_MAX},
     "description": REASON_DESCRIPTION},
]
REASON_DOC = {"parameters": REASON_PARAMETERS}

# The roles whose reads appear in the log, as a citizen knows them, the most senior first.
ROLE_TITLES = {
    "ppid_utama": "PPID Utama",
    "atasan_ppid": "Atasan PPID",
    "ppid_pelaksana": "PPID Pelaksana",
}


# -- the reason ------------------------------------------------------------------------------


def check_reason(reason: str | None) -> str:
    """The officer's reason, trimmed; a 422 in Bahasa Indonesia without a usable one."""
    text = (reason or "").strip()
    problem = None
    if not text:
        problem = (
            "Wajib diisi: sebutkan keperluan Anda membuka data pribadi pemohon pada header "
            f"{REASON_HEADER} atau parameter {REASON_PARAMETER}. Keperluan ini dicatat dan dapat "
            "dibaca pemohon."
        )
    elif len(text) < REASON_MIN:
        problem = f"Terlalu singkat: tuliskan keperluan yang dapat dipahami pemohon (minimal {REASON_MIN} karakter)."
    elif len(text) > REASON_MAX:
        problem = f"Paling banyak {REASON_MAX} karakter."
    if problem:
        raise Invalid("Keperluan membuka data pribadi pemohon wajib disebutkan.", {REASON_PARAMETER: [problem]})
    return text


def given_reason(query_reason: str | None = None) -> str | None:
    """The reason the officer sent with this HTTP request: the query parameter
    (`query_reason` when a query schema already parsed it), else the header."""
    given = query_reason if query_reason is not None else http_request.args.get(REASON_PARAMETER)
    if given and given.strip():
        return given
    return header_text(REASON_HEADER)


# -- the record ------------------------------------------------------------------------------


def record_access(
    session: Session,
    principal: Principal,
    request_ids: Iterable[int],
    *,
    purpose: str,
    endpoint: str,
    at: datetime,
    reason: str | None = None,
) -> int:
    """Write one access row per request id; returns how many were written.

    A read without a reason is refused (`Invalid`): called inside the unit of work that
    loaded the data, the refusal rolls it back and nothing leaves.
    """
    reason = check_reason(reason)
    rows = [
        {
            "request_id": request_id,
            "accessed_at": at,
            "actor_sub": principal.sub,
            "actor_name": principal.name,
            "actor_roles": ",".join(sorted(principal.roles))[:255],
            "actor_opd": principal.opd,
            "purpose": purpose,
            "endpoint": endpoint[:200],
            "reason": reason,
        }
        for request_id in dict.fromkeys(request_ids)
    ]
    if rows:
        session.execute(insert(PersonalDataAccess), rows)
    return len(rows)


# -- the applicant's view --------------------------------------------------------------------


def who(roles: Iterable[str], opd: str | None, opds: OpdRegistry) -> tuple[str | None, str]:
    """(role code, the reader in words): "PPID Pelaksana Dinas Kesehatan", "PPID Utama
    Pemerintah Kabupaten Kapuas"."""
    held = set(roles)
    role = next((r for r in ROLE_TITLES if r in held), None)
    title = ROLE_TITLES.get(role, "Petugas PPID")
    known = opds.get(opd) if opd else None
    if known is not None:
        return role, f"{title} {known.name}"
    if opd:
        return role, f"{title} ({opd})"
    regency = opds.regency.name if opds.regency else None
    return role, f"{title} {regency}" if regency else title


def describe(row: PersonalDataAccess, opds: OpdRegistry, tz: tzinfo) -> dict[str, Any]:
    """One entry of the applicant's access log, as they would read it."""
    role, reader = who(row.actor_roles.split(","), row.actor_opd, opds)
    at = row.accessed_at.astimezone(tz)
    when = format_instant_id(at)
    what = PURPOSES.get(row.purpose, row.purpose.replace("_", " "))
    why = row.reason
    sentence = f"{reader} — {what[:1].lower()}{what[1:]} pada {when}"
    sentence += f", dengan alasan: {why}" if why else " (tanpa alasan tercatat)"
    known = opds.get(row.actor_opd) if row.actor_opd else None
    return {
        "accessed_at": at,
        "when": when,
        "who": reader,
        "role": role,
        "opd": row.actor_opd,
        "opd_name": known.name if known else None,
        "purpose": row.purpose,
        "what": what,
        "why": why,
        "summary": sentence + ".",
    }
