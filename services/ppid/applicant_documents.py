"""Documents an applicant attaches to a request: the rules, without I/O.

The Perki 1/2021 request form asks for a copy of the identity card, and for a legal entity
or someone applying on another's behalf, the deed or the power of attorney. They are
checked like the documents released with a notice (`domain.attachment_problem`: the name,
the declared type against the content, the size), bounded by the same settings, and limited
to what such a document is: a scan or a photo (PDF, JPEG, PNG).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.ppid import domain

KINDS = {
    "identity_card": "Kartu identitas (KTP)",
    "power_of_attorney": "Surat kuasa",
    "legal_entity_deed": "Akta pendirian/SK badan hukum",
}
CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
FIELD = "documents"


def document_errors(
    documents: Sequence[tuple[str, str, bytes] | None], *, max_count: int, max_bytes: int
) -> dict[str, list[str]]:
    """Field errors of (filename, content type, content) documents, keyed as the form's
    (`documents`, `documents.<index>`); None stands for one already refused by its fields."""
    errors: dict[str, list[str]] = {}
    if len(documents) > max_count:
        errors[FIELD] = [f"Paling banyak {max_count} dokumen."]
    for index, document in enumerate(documents):
        if document is None:
            continue
        filename, content_type, content = document
        if content_type not in CONTENT_TYPES:
            problem = f"Jenis berkas {content_type} tidak diizinkan; gunakan PDF, JPEG atau PNG."
        else:
            problem = domain.attachment_problem(filename, content_type, content, max_bytes)
        if problem:
            errors[f"{FIELD}.{index}"] = [problem]
    return errors
