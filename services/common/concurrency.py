"""Optimistic concurrency for shared records: an ETag out, If-Match back in.

Two staff members editing one record each send the ETag they loaded; the second to save
is refused (412) instead of silently overwriting the first. An update without If-Match is
refused too (428): a client that never sends it would defeat the check.
"""

from __future__ import annotations

from werkzeug.http import parse_etags

from services.common.errors import PreconditionFailed, PreconditionRequired


def entity_tag(*parts: object) -> str:
    """The quoted ETag of one version of a record, e.g. `"dip-12-3"`."""
    return '"' + "-".join(str(part) for part in parts) + '"'


def require_match(if_match: str | None, current: str) -> None:
    """Raise unless the If-Match header value names the record's current ETag (or `*`)."""
    if not if_match:
        raise PreconditionRequired(
            "Sertakan header If-Match berisi ETag data yang terakhir Anda muat."
        )
    tags = parse_etags(if_match)
    if not (tags.star_tag or tags.contains_weak(current.strip('"'))):
        raise PreconditionFailed(
            "Data telah diubah orang lain sejak Anda memuatnya; muat ulang lalu coba lagi."
        )
