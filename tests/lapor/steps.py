"""The steps after verification, spelled out for the disposition, follow-up, reporter and
access tests: dispatch, the OPD's steps with the report's ETag, the report's events."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from services.lapor.models import Attachment, Report, outbox
from tests.lapor.support import LIAISON, LaporClient, lapor_staff

DISPATCH = {"lead_opd": "dinkes", "supporting_opds": ["disdik"], "note": "Mohon segera ditangani."}
FOLLOW_UP = {"response": "Tim sudah meninjau lokasi pada hari ini.", "plan": "Penambalan jalan dalam dua minggu."}
PROGRESS = {"body": "Material penambalan sudah dipesan."}
COMPLETION = {"summary": "Jalan sudah ditambal dan dipadatkan kembali."}


def dispatch(lapor: LaporClient, number: str, body: dict | None = None, *, expect: int = 200) -> dict:
    response = lapor.act(number, "dispatch", body or DISPATCH)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def opd_get(lapor: LaporClient, number: str, opd: str):
    return lapor.http.get(f"/api/v1/opd/reports/{number}", headers=lapor_staff(LIAISON, opd))


def opd_act(lapor: LaporClient, number: str, step: str, body: dict, opd: str = "dinkes", *,
            etag: str | None = None):
    """POST an OPD liaison's step with the report's current ETag (or the given one)."""
    headers = lapor_staff(LIAISON, opd)
    headers["If-Match"] = etag if etag is not None else lapor.etag(number)
    return lapor.http.post(f"/api/v1/opd/reports/{number}/{step}", json=body, headers=headers)


def opd_step(lapor: LaporClient, number: str, step: str, body: dict, opd: str = "dinkes") -> dict:
    response = opd_act(lapor, number, step, body, opd)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def completed(lapor: LaporClient, **overrides) -> dict:
    """A submitted report taken to `completed` through dispatch, follow-up and completion."""
    submitted = lapor.submit(**overrides)
    number = submitted["number"]
    dispatch(lapor, number)
    opd_step(lapor, number, "follow-up", FOLLOW_UP)
    opd_step(lapor, number, "completion", COMPLETION)
    return submitted


def citizen_post(lapor: LaporClient, number: str, step: str, token: str, body: dict):
    return lapor.citizen("POST", f"/api/v1/reports/{number}/{step}", token, json=body)


def events_of(lapor: LaporClient, number: str) -> list[tuple[str, dict]]:
    """(routing key, envelope) of every outbox row of the report, in order."""
    with lapor.rt.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.routing_key, outbox.c.body)
            .where(outbox.c.subject == f"reports/{number}")
            .order_by(outbox.c.id)
        ).all()
    return [(key, json.loads(body)) for key, body in rows]


def types_of(lapor: LaporClient, number: str) -> list[str]:
    """The event actions of a report, one per event (a move's two rows count once)."""
    seen: dict[str, str] = {}
    for _, envelope in events_of(lapor, number):
        seen.setdefault(envelope["id"], envelope["type"].rsplit(".", 1)[1])
    return list(seen.values())


def last_event(lapor: LaporClient, number: str, action: str) -> tuple[list[str], dict]:
    """The routing keys and envelope of the report's latest `action` event."""
    rows = [(key, env) for key, env in events_of(lapor, number) if env["type"] == f"lapor.report.{action}"]
    assert rows, f"no {action} event"
    last_id = rows[-1][1]["id"]
    return [key for key, env in rows if env["id"] == last_id], rows[-1][1]


def clocks(envelope: dict) -> dict[str, dict[str, dict]]:
    """data.sla as {kind: {clock: item}}."""
    return {kind: {item["clock"]: item for item in items} for kind, items in envelope["data"].get("sla", {}).items()}


def stored_file(lapor: LaporClient, number: str, uploaded_by: str, filename: str = "foto.png") -> int:
    """A file row as the attachment upload stores it (the upload itself is tested on its
    own, with the file store); its id."""
    with lapor.rt.uow() as uow:
        report_id = uow.session.scalar(select(Report.id).where(Report.number == number))
        digest = hashlib.sha256(f"{number}/{filename}/{uploaded_by}".encode()).hexdigest()
        row = Attachment(
            report_id=report_id, key=f"sha256/{digest}", size=10, content_type="image/png", sha256=digest,
            filename=filename, uploaded_at=lapor.clock(), uploaded_by=uploaded_by,
        )
        uow.session.add(row)
        uow.session.flush()
        row_id = row.id
        uow.commit()
    return row_id
