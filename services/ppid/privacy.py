"""The record of who read an applicant's personal data (UU 27/2022 on personal data).

Every read of the identity number, address, phone or email by staff writes one row per
request in the same transaction that returns the data, so the data never leaves without
its record. The applicant reads their own entries with the request's access token. Other
parts of the service that hand out personal data (the registers, say) call
`record_access` too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.ppid.models import PersonalDataAccess

# Why the data was read; shown to the applicant in their own words.
PURPOSES = {
    "view_applicant": "Melihat data pemohon",
    "print_notice": "Mencetak pemberitahuan tertulis",
    "export_register": "Mengunduh register permohonan",
    "view_register": "Melihat register permohonan",
}


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
    """Write one access row per request id; returns how many were written."""
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
            "reason": reason[:500] if reason else None,
        }
        for request_id in dict.fromkeys(request_ids)
    ]
    if rows:
        session.execute(insert(PersonalDataAccess), rows)
    return len(rows)
