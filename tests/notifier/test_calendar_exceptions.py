"""Operators' calendar exceptions: a mistyped date never passes silently."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from services.notifier.models import outbox


@pytest.fixture
def admin(auth_header):
    return auth_header("admin", sub="admin-1")


def events(rt, type_):
    with rt.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(select(outbox.c.body)).scalars()]
    return [b for b in bodies if b["type"] == type_]


def _assert_one_shape(body: dict, status: int) -> None:
    assert body["code"] == status and body["status"] and body["message"]


def test_cancelling_a_day_that_is_no_holiday_is_refused(client, rt, admin):
    # 2026-12-24 is cuti bersama Natal; the operator types the 23rd.
    typo = client.post("/api/v1/calendar/exceptions", headers=admin,
                       json={"date": "2026-12-23", "type": "working_day", "reason": "SKB 3 Menteri revisi"})
    assert typo.status_code == 422, typo.get_json()
    body = typo.get_json()
    _assert_one_shape(body, 422)
    assert "2026-12-23 bukan hari libur nasional atau cuti bersama" in str(body["errors"])
    assert client.get("/api/v1/calendar/exceptions", headers=admin).get_json()["removed"] == []
    assert events(rt, "notifier.calendar.updated") == [], "nothing was published"

    meant = client.post("/api/v1/calendar/exceptions", headers=admin,
                        json={"date": "2026-12-24", "type": "working_day", "reason": "SKB 3 Menteri revisi"})
    assert meant.status_code == 201, meant.get_json()
    assert rt.calendar.library_day_off(date(2026, 12, 24)).name
    published = events(rt, "notifier.calendar.updated")
    assert published[-1]["data"]["removed"] == [{"date": "2026-12-24", "reason": "SKB 3 Menteri revisi"}]
    assert published[-1]["data"]["changed_at"].endswith("Z")


def test_removing_an_exception_that_does_not_exist_is_refused(client, rt, admin):
    added = client.post("/api/v1/calendar/exceptions", headers=admin,
                        json={"date": "2026-12-28", "type": "holiday", "name": "Cuti bersama tambahan"})
    assert added.status_code == 201
    typo = client.delete("/api/v1/calendar/exceptions/2026-12-29", headers=admin)
    assert typo.status_code == 404
    _assert_one_shape(typo.get_json(), 404)
    assert "2026-12-29 tidak ada dalam daftar pengecualian" in typo.get_json()["message"]
    assert [d["date"] for d in client.get("/api/v1/calendar/exceptions", headers=admin).get_json()["added"]] \
        == ["2026-12-28"], "the list is unchanged"
    assert len(events(rt, "notifier.calendar.updated")) == 1, "only the addition was published"
