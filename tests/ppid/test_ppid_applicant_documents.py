"""Documents an applicant attaches (identity card, power of attorney, a legal entity's
deed): bounded and type-checked like a notice's attachments, and personal data: only staff
with access to the request read them (each read recorded for the applicant) and the
applicant with the token; never in events, lists or public views."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from services.ppid.models import PersonalDataAccess, Request, outbox
from tests.ppid.support import ATASAN, PELAKSANA, UTAMA, build_env, staff_headers

REQ = "/api/v1/requests"
KTP = b"\xff\xd8\xff\xe0\x00\x10JFIF ktp-siti-rahmawati"
KUASA = b"%PDF-1.4 surat kuasa yayasan"
REASON = {"X-Access-Reason": "Memeriksa identitas pemohon"}


def document(kind: str, filename: str, content_type: str, content: bytes) -> dict:
    return {"kind": kind, "filename": filename, "content_type": content_type,
            "content_base64": base64.b64encode(content).decode()}


def with_documents(ppid, *documents, **overrides) -> dict:
    return ppid.submit(requested_opd="dinkes", documents=list(documents), **overrides)


def staff(role: str, opd: str | None = None) -> dict:
    return {**staff_headers(role, opd), **REASON}


def recorded(ppid, number: str) -> list[tuple[str, str | None, str]]:
    with ppid.env.rt.uow() as uow:
        request_id = uow.session.scalar(select(Request.id).where(Request.number == number))
        rows = uow.session.scalars(
            select(PersonalDataAccess).where(PersonalDataAccess.request_id == request_id).order_by(PersonalDataAccess.id)
        ).all()
        return [(row.purpose, row.actor_opd, row.reason) for row in rows]


def test_documents_reach_staff_with_access_and_the_applicant(ppid):
    submitted = with_documents(
        ppid,
        document("identity_card", "KTP Siti.jpg", "image/jpeg", KTP),
        document("power_of_attorney", "Surat kuasa\u2028yayasan.pdf", "application/pdf", KUASA),
    )
    number, token = submitted["number"], submitted["access_token"]
    path = f"{REQ}/{number}/applicant/documents"

    listed = ppid.http.get(path, headers=staff(PELAKSANA, "dinkes"))
    assert listed.status_code == 200, listed.get_json()
    assert [(d["kind"], d["kind_label"], d["filename"], d["content_type"], d["size"]) for d in listed.get_json()] == [
        ("identity_card", "Kartu identitas (KTP)", "KTP Siti.jpg", "image/jpeg", len(KTP)),
        # The name is normalised at upload, like a notice's attachments.
        ("power_of_attorney", "Surat kuasa", "Surat kuasayayasan.pdf", "application/pdf", len(KUASA)),
    ]
    ktp_id, kuasa_id = (d["id"] for d in listed.get_json())

    download = ppid.http.get(f"{path}/{ktp_id}", headers=staff(UTAMA))
    assert download.status_code == 200 and download.data == KTP
    assert download.mimetype == "image/jpeg"
    assert download.headers["Content-Disposition"] == 'attachment; filename="KTP Siti.jpg"'
    assert download.headers["Cache-Control"] == "no-store"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    mine = ppid.citizen("GET", f"{path}/{kuasa_id}", token)
    assert mine.status_code == 200 and mine.data == KUASA
    assert ppid.citizen("GET", path, token).get_json() == listed.get_json()

    # The applicant's data view lists them too, as part of the recorded read.
    applicant = ppid.http.get(f"{REQ}/{number}/applicant", headers=staff(PELAKSANA, "dinkes"))
    assert [d["filename"] for d in applicant.get_json()["documents"]] == ["KTP Siti.jpg", "Surat kuasayayasan.pdf"]

    # Every staff read is on the applicant's record with its reason; the applicant's own are not.
    assert recorded(ppid, number) == [
        ("view_applicant", "dinkes", "Memeriksa identitas pemohon"),
        ("view_applicant_document", None, "Memeriksa identitas pemohon"),
        ("view_applicant", "dinkes", "Memeriksa identitas pemohon"),
    ]


def test_documents_are_refused_to_everyone_else(ppid):
    submitted = with_documents(ppid, document("identity_card", "ktp.jpg", "image/jpeg", KTP))
    number, token = submitted["number"], submitted["access_token"]
    path = f"{REQ}/{number}/applicant/documents"
    document_id = ppid.http.get(path, headers=staff(UTAMA)).get_json()[0]["id"]
    other = with_documents(ppid, document("identity_card", "ktp-lain.jpg", "image/jpeg", KTP))
    for target in (path, f"{path}/{document_id}"):
        assert ppid.http.get(target, headers=staff(PELAKSANA, "disdik")).status_code == 403
        assert ppid.http.get(target, headers=staff(ATASAN, "disdik")).status_code == 403
        assert ppid.citizen("GET", target, other["access_token"]).status_code == 403
        assert ppid.citizen("GET", target, "salah").status_code == 403
        assert ppid.http.get(target).status_code == 401
    # Another request's document is not reachable through this one's address.
    other_id = ppid.citizen("GET", f"{REQ}/{other['number']}/applicant/documents", other["access_token"]).get_json()[0]["id"]
    assert ppid.citizen("GET", f"{path}/{other_id}", token).status_code == 404
    # A staff read without a reason gives nothing away.
    bare = {"Authorization": staff_headers(UTAMA)["Authorization"]}
    assert ppid.http.get(f"{path}/{document_id}", headers=bare).status_code == 422
    assert [purpose for purpose, _, _ in recorded(ppid, number)] == ["view_applicant"]


def test_documents_stay_out_of_events_lists_and_public_views(ppid):
    secret_name = "KTP-6203015203900001-rahasia.jpg"
    submitted = with_documents(ppid, document("identity_card", secret_name, "image/jpeg", KTP))
    number, token = submitted["number"], submitted["access_token"]
    encoded = base64.b64encode(KTP).decode()
    bodies = [
        str(submitted),
        ppid.staff_get(REQ, UTAMA, query_string={"page_size": 100}).get_data(as_text=True),
        ppid.staff_get(f"{REQ}/{number}", UTAMA).get_data(as_text=True),
        ppid.citizen("GET", f"{REQ}/{number}", token).get_data(as_text=True),
        ppid.http.get("/api/v1/public/requests").get_data(as_text=True),
    ]
    with ppid.env.rt.engine.connect() as conn:
        bodies += list(conn.execute(select(outbox.c.body)).scalars())
    for text in bodies:
        text = text if isinstance(text, str) else str(text)
        assert secret_name not in text and "rahasia" not in text and encoded not in text, text[:300]


@pytest.mark.parametrize(
    ("documents", "errors"),
    [
        ([document("identity_card", "ktp.txt", "text/plain", b"KTP")], {"documents.0.content_type"}),
        ([document("identity_card", "ktp.png", "image/png", KTP)], {"documents.0"}),  # a JPEG called PNG
        ([document("identity_card", "ktp.pdf", "image/jpeg", KTP)], {"documents.0"}),  # wrong ending
        ([document("identity_card", "ktp.jpg", "image/jpeg", b"")], {"documents.0"}),
        ([document("passport", "paspor.jpg", "image/jpeg", KTP)], {"documents.0.kind"}),
        ([document("identity_card", "a/b.jpg", "image/jpeg", KTP)], {"documents.0"}),
        ([{**document("identity_card", "ktp.jpg", "image/jpeg", KTP), "content_base64": "%%%"}],
         {"documents.0.content_base64"}),
        ([document("identity_card", "ktp.jpg", "image/jpeg", KTP)] * 4, {"documents"}),
        # A refused item keeps the others' positions: the second is reported as the second.
        ([document("passport", "x.jpg", "image/jpeg", KTP), document("identity_card", "k.png", "image/png", KTP)],
         {"documents.0.kind", "documents.1"}),
    ],
)
def test_documents_are_bounded_and_type_checked(ppid, documents, errors):
    answer = ppid.http.post(REQ, json={**_form(), "documents": documents})
    assert answer.status_code == 422, answer.get_json()
    assert set(answer.get_json()["errors"]) == errors, answer.get_json()


def _form() -> dict:
    from tests.ppid.support import REQUEST_BODY

    return {**REQUEST_BODY, "requested_opd": "dinkes"}


def test_documents_are_bounded_by_the_attachment_size(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'ppid.db'}", "sqlite", PPID_ATTACHMENT_MAX_BYTES="1024")
    try:
        big = document("power_of_attorney", "kuasa.pdf", "application/pdf", b"%PDF-" + b"x" * 1100)
        answer = env.client.post(REQ, json={**_form(), "documents": [big]})
        assert answer.status_code == 422
        assert answer.get_json()["errors"] == {"documents.0": ["Berkas melebihi batas 1 KB."]}
    finally:
        env.rt.dispose()


def test_a_walk_in_desk_attaches_the_scans(ppid):
    body = {**_form(), "channel": "walk_in", "submitted_at": "2026-03-02T08:30:00+07:00",
            "documents": [document("identity_card", "ktp.png", "image/png", b"\x89PNG\r\n\x1a\nscan")]}
    answer = ppid.http.post(f"{REQ}/offline", json=body, headers=staff_headers(PELAKSANA, "dinkes"))
    assert answer.status_code == 201, answer.get_json()
    listed = ppid.http.get(f"{REQ}/{answer.get_json()['number']}/applicant/documents", headers=staff(PELAKSANA, "dinkes"))
    assert [d["filename"] for d in listed.get_json()] == ["ktp.png"]
