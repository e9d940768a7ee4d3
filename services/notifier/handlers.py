"""Use cases behind the notifier's API: policies, the working-day calendar, clock queries.

Each opens a unit of work, applies the rule, records events to the outbox and commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.auth import Principal
from services.common.calendar import WorkingCalendar, parse_overrides
from services.common.db import column_values
from services.common.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from services.common.listing import Page, fetch_page
from services.common.runtime import Runtime
from services.common.scope import OpdScope, ScopeRule
from services.notifier import access, clocks, domain, outgoing, reference
from services.notifier import policy as policy_rules
from services.notifier.directory import check_if_match, etag, seed_opds
from services.notifier.models import (
    CLOCK_SEARCH,
    DELIVERY_SEARCH,
    Clock,
    ClockHistory,
    Delivery,
    Policy,
    Step,
    touch,
)
from services.notifier.presenters import clock_view, policy_view

# -- seeding (migrate) -------------------------------------------------------------------


def seed(rt: Runtime) -> None:
    """Reference data on `migrate`: OPDs from config/opd.json, policies from the seed file.

    Only what is missing is added; an admin's edits survive every later `migrate`.
    """
    document = json.loads(rt.settings.policies_file.read_text(encoding="utf-8"))
    policies = policy_rules.parse_policy_file(document)
    now = rt.clock()
    with rt.uow() as uow:
        seed_opds(uow.session, rt.opds, now)
        known = set(uow.session.scalars(select(Policy.clock)))
        for kind, policy in policies.items():
            if kind not in known:
                uow.session.add(
                    Policy(clock=kind, document=policy.to_document(), updated_at=now,
                           updated_by="seed")
                )
        uow.commit()


# -- policies ----------------------------------------------------------------------------


def list_policies(rt: Runtime) -> list[dict[str, Any]]:
    with rt.uow() as uow:
        rows = uow.session.scalars(select(Policy).order_by(Policy.clock))
        return [policy_view(row) for row in rows]


def get_policy(rt: Runtime, kind: str) -> tuple[dict[str, Any], str]:
    """The policy and its ETag."""
    with rt.uow() as uow:
        row = uow.session.get(Policy, kind)
        if row is None:
            raise NotFound("Kebijakan untuk jam ini tidak ditemukan.")
        return policy_view(row), etag(row.version)


def _validated(kind: str, document: dict[str, Any]) -> policy_rules.Policy:
    try:
        return policy_rules.parse_policy(kind, document)
    except policy_rules.PolicyError as exc:
        raise Invalid("Kebijakan tidak valid.", exc.errors) from exc


def _reschedule_for(session: Session, rt: Runtime, kind: str, now: datetime) -> int:
    if kind == domain.DEFAULT_POLICY:
        own = [k for k in session.scalars(select(Policy.clock)) if k != domain.DEFAULT_POLICY]
        return clocks.reschedule_open(session, rt.calendar, now, reason="policy",
                                      exclude_kinds=own)
    return clocks.reschedule_open(session, rt.calendar, now, reason="policy", kinds=[kind])


def put_policy(
    rt: Runtime, principal: Principal, kind: str, document: dict[str, Any], if_match: str | None
) -> tuple[dict[str, Any], str, bool]:
    """Create or replace a policy; returns (policy, ETag, created).

    Open clocks of the kind (of every kind without its own policy, for `default`) get
    their pending steps planned again; the timeline of each says so.
    """
    policy = _validated(kind, document)
    now = rt.clock()
    with rt.uow() as uow:
        session = uow.session
        row = session.scalars(
            select(Policy).where(Policy.clock == kind).with_for_update()
        ).one_or_none()
        created = row is None
        if created:
            if if_match and if_match.strip() != "*":
                raise PreconditionFailed("Kebijakan ini belum ada; muat ulang lalu coba lagi.")
            row = Policy(clock=kind, document=policy.to_document(), updated_at=now,
                         updated_by=principal.sub)
            session.add(row)
        else:
            check_if_match(if_match, row.version)
            row.document = policy.to_document()
            row.updated_by = principal.sub
            touch(row, now)
        session.flush()
        _reschedule_for(session, rt, kind, now)
        uow.commit()
        return policy_view(row), etag(row.version), created


def delete_policy(rt: Runtime, principal: Principal, kind: str, if_match: str | None) -> int:
    if kind == domain.DEFAULT_POLICY:
        raise Conflict("Kebijakan default tidak dapat dihapus; ubah isinya bila perlu.")
    now = rt.clock()
    with rt.uow() as uow:
        row = uow.session.scalars(
            select(Policy).where(Policy.clock == kind).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound("Kebijakan untuk jam ini tidak ditemukan.")
        check_if_match(if_match, row.version)
        uow.session.delete(row)
        uow.session.flush()
        touched = _reschedule_for(uow.session, rt, kind, now)
        uow.commit()
        return touched


# -- working-day calendar ----------------------------------------------------------------


def _stored_calendar(session: Session, rt: Runtime) -> tuple[int, dict[str, list]]:
    table = rt.calendar_sync.table
    rt.calendar_sync.seed(session)
    row = session.execute(select(table.c.version, table.c.document).where(table.c.id == 1)).one()
    document = json.loads(row.document)
    return row.version, {"added": list(document.get("added", [])),
                         "removed": list(document.get("removed", []))}


def get_calendar(rt: Runtime) -> dict[str, Any]:
    with rt.uow() as uow:
        version, document = _stored_calendar(uow.session, rt)
        return {"version": version, **_sorted(document)}


def _sorted(document: dict[str, list]) -> dict[str, list]:
    return {key: sorted(document[key], key=lambda e: e["date"]) for key in ("added", "removed")}


def add_calendar_exception(rt: Runtime, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """`type: holiday` adds a day off; `type: working_day` cancels a listed holiday."""
    day = body["date"].isoformat()
    with rt.uow() as uow:
        version, document = _stored_calendar(uow.session, rt)
        if any(e["date"] == day for e in document["added"] + document["removed"]):
            raise Conflict(f"Tanggal {day} sudah ada dalam daftar pengecualian; hapus dulu.")
        if body["type"] == "holiday":
            document["added"].append({"date": day, "name": body["name"]})
        else:
            _require_library_holiday(rt, body["date"])
            document["removed"].append({"date": day, "reason": body["reason"]})
        return _store_calendar(uow, rt, document)


def _require_library_holiday(rt: Runtime, day: date) -> None:
    """Cancelling a holiday that is not one would change nothing: most likely a typo."""
    if rt.calendar.library_day_off(day) is None:
        raise Invalid(
            "Pengecualian hari kerja tidak valid.",
            {"date": [f"Tanggal {day.isoformat()} bukan hari libur nasional atau cuti bersama, "
                      "jadi tidak ada yang dibatalkan. Periksa kembali tanggalnya."]},
        )


def remove_calendar_exception(rt: Runtime, principal: Principal, day: date) -> dict[str, Any]:
    key = day.isoformat()
    with rt.uow() as uow:
        version, document = _stored_calendar(uow.session, rt)
        kept = {k: [e for e in v if e["date"] != key] for k, v in document.items()}
        if kept == document:
            raise NotFound(f"Tanggal {key} tidak ada dalam daftar pengecualian.")
        return _store_calendar(uow, rt, kept)


def _store_calendar(uow, rt: Runtime, document: dict[str, list]) -> dict[str, Any]:
    try:
        added, removed = parse_overrides(document)
        calendar = WorkingCalendar(
            office_start=rt.settings.office_start,
            office_end=rt.settings.office_end,
            tz=rt.settings.timezone,
            added=added,
            removed=removed,
        )
    except ValueError as exc:
        raise Invalid("Pengecualian hari kerja tidak valid.", {"date": [str(exc)]}) from exc
    now = rt.clock()
    session = uow.session
    if not rt.calendar_sync.store(session, document, now):
        raise Conflict("Daftar pengecualian baru saja diubah; coba lagi.")
    # Open clocks' pending steps follow the new days at once (due dates are the
    # producers' and stay as they were sent).
    touched = clocks.reschedule_open(session, calendar, now, reason="calendar")
    data = reference.calendar_data(session, rt)
    outgoing.publish(uow, reference.calendar_event(data, now))
    uow.after_commit(rt.calendar_sync.refresh)
    uow.commit()
    return {**data, "rescheduled_clocks": touched}


# -- clocks ------------------------------------------------------------------------------


# Who sees which OPDs' clocks, deliveries and dashboard: services.notifier.access.
SCOPE_RULE: ScopeRule = access.DUTY_SCOPE


def opd_scope(principal: Principal, requested: str | None = None) -> OpdScope:
    """What a query of `principal` covers, narrowed to the `requested` OPD; asking for
    another OPD's data is refused (403) rather than answered empty, and so is a principal
    the rule admits nowhere (an OPD role whose token names no OPD)."""
    scope = SCOPE_RULE.scope_of(principal)
    if scope.is_empty:
        raise Forbidden(access.NO_OPD_SCOPE)
    if requested:
        scope.require(requested, "Data ini milik OPD lain.")
    return scope.narrowed(requested or None)


@dataclass(frozen=True)
class ClockFilter:
    opd: str | None = None
    service: str | None = None
    state: str | None = None
    clock: str | None = None
    open: bool | None = None
    q: str | None = None


def clocks_query(principal: Principal, flt: ClockFilter):
    stmt = opd_scope(principal, flt.opd).restrict(select(Clock), Clock.opd)
    stmt = CLOCK_SEARCH.apply(stmt, flt.q)
    if flt.service:
        stmt = stmt.where(Clock.service == flt.service)
    if flt.state:
        stmt = stmt.where(Clock.state == flt.state)
    if flt.clock:
        stmt = stmt.where(Clock.clock == flt.clock)
    if flt.open is True:
        stmt = stmt.where(Clock.stopped_at.is_(None))
    elif flt.open is False:
        stmt = stmt.where(Clock.stopped_at.is_not(None))
    return stmt.order_by(Clock.due_at.is_(None), Clock.due_at, Clock.id)


def list_clocks(
    rt: Runtime, principal: Principal, flt: ClockFilter, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the clocks the principal may see, soonest due first, total); `flt.q`
    searches the case subject, the clock, the service and the OPD."""
    stmt = clocks_query(principal, flt)
    now = rt.clock()
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, stmt, page)
        return [clock_view(row, now, rt.calendar) for row in rows], total


def timeline(rt: Runtime, principal: Principal, subject: str) -> list[dict[str, Any]]:
    """Every clock of a case with its history, steps and deliveries (who was told)."""
    now = rt.clock()
    with rt.uow() as uow:
        session = uow.session
        rows = list(session.scalars(select(Clock).where(Clock.subject == subject).order_by(Clock.id)))
        scope = opd_scope(principal)
        rows = [c for c in rows if scope.allows(c.opd)]
        if not rows:
            raise NotFound("Tidak ada jam layanan untuk perkara ini.")
        out = []
        for clock in rows:
            history = list(session.scalars(
                select(ClockHistory).where(ClockHistory.clock_id == clock.id).order_by(ClockHistory.id)
            ))
            steps = list(session.scalars(
                select(Step).where(Step.clock_id == clock.id).order_by(Step.run, Step.send_after, Step.id)
            ))
            deliveries = list(session.scalars(
                select(Delivery).where(Delivery.step_id.in_([s.id for s in steps]))
                .order_by(Delivery.at, Delivery.id)
            )) if steps else []
            out.append({
                "clock": clock_view(clock, now, rt.calendar),
                "history": [column_values(h) for h in history],
                "steps": [column_values(s) for s in steps],
                "deliveries": [column_values(d) for d in deliveries],
            })
        return out


def list_deliveries(
    rt: Runtime, principal: Principal, page: Page, *, opd: str | None = None,
    subject: str | None = None, status: str | None = None, q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the notifications sent, newest first, total); `q` searches the case
    subject, the clock, the OPD and the title."""
    stmt = opd_scope(principal, opd).restrict(select(Delivery), Delivery.opd)
    stmt = DELIVERY_SEARCH.apply(stmt, q)
    if subject:
        stmt = stmt.where(Delivery.case_subject == subject)
    if status:
        stmt = stmt.where(Delivery.status == status)
    with rt.uow() as uow:
        rows, total = fetch_page(
            uow.session, stmt.order_by(Delivery.at.desc(), Delivery.id.desc()), page
        )
        return [column_values(row) for row in rows], total
