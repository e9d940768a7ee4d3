"""The compliance dashboard: per OPD and per service, what is open, due soon, overdue, and
how well duties closed in a period were met; and a score the regent can rank OPDs by.

Counts of open clocks are as of now (`at` moves the "due soon" and "overdue" line, for
reports and tests); the period covers clocks stopped within it. Time to respond is counted
in working days from the first start to the stop, as the PPID annual report counts it,
less the working days the duty was paused waiting for the citizen. A paused duty is open
but neither overdue nor due soon: the time held is not the OPD's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select

from services.common.auth import Principal
from services.common.runtime import Runtime
from services.notifier import compliance, domain
from services.notifier.handlers import opd_scope
from services.notifier.models import Clock, DirectoryOpd

REGENCY = "Tingkat kabupaten"


@dataclass
class Tally:
    open: int = 0
    paused: int = 0
    due_soon: int = 0
    overdue: int = 0
    met: int = 0
    breached: int = 0
    days: list[int] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.open += other.open
        self.paused += other.paused
        self.due_soon += other.due_soon
        self.overdue += other.overdue
        self.met += other.met
        self.breached += other.breached
        self.days.extend(other.days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "paused": self.paused,
            "due_soon": self.due_soon,
            "overdue": self.overdue,
            "met": self.met,
            "breached": self.breached,
            "on_time_percent": compliance.on_time_percent(self.met, self.breached),
            "median_working_days": compliance.median(self.days),
            "score": compliance.compliance_score(self.met, self.breached, self.overdue),
        }


def build(
    rt: Runtime,
    principal: Principal,
    *,
    at: datetime,
    period_from: datetime,
    period_to: datetime,
    opd: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    scope = opd_scope(principal, opd)
    only = scope.opd  # the one OPD shown, or None for every OPD
    cal = rt.calendar
    soon = compliance.due_soon_limit(at, cal)
    tallies: dict[tuple[str | None, str], Tally] = defaultdict(Tally)
    with rt.uow() as uow:
        session = uow.session
        # Only staff duties are an OPD's: a citizen's window is never overdue nor scored.
        filters = [scope.condition(Clock.opd), Clock.party == domain.STAFF]
        if service:
            filters.append(Clock.service == service)
        held = Clock.state == domain.PAUSED
        running = Clock.state != domain.PAUSED
        open_rows = session.execute(
            select(
                Clock.opd,
                Clock.service,
                func.count(),
                func.sum(case((and_(running, Clock.due_at < at), 1), else_=0)),
                func.sum(case(
                    (and_(running, Clock.due_at >= at, Clock.due_at <= soon), 1), else_=0
                )),
                func.sum(case((held, 1), else_=0)),
            )
            .where(Clock.stopped_at.is_(None), Clock.due_at.is_not(None), *filters)
            .group_by(Clock.opd, Clock.service)
        ).all()
        for opd_code, svc, count, overdue, due_soon, paused in open_rows:
            tally = tallies[(opd_code, svc)]
            tally.open, tally.overdue, tally.due_soon = count, int(overdue or 0), int(due_soon or 0)
            tally.paused = int(paused or 0)
        closed = session.execute(
            select(Clock.opd, Clock.service, Clock.state, Clock.first_started_at, Clock.stopped_at,
                   Clock.paused_working_days)
            .where(
                Clock.state.in_((domain.MET, domain.BREACHED)),
                Clock.stopped_at >= period_from,
                Clock.stopped_at < period_to,
                *filters,
            )
        ).all()
        for opd_code, svc, state, started, stopped, held_days in closed:
            tally = tallies[(opd_code, svc)]
            if state == domain.MET:
                tally.met += 1
            else:
                tally.breached += 1
            if started is not None:
                tally.days.append(max(0, cal.days_taken(started, stopped) - (held_days or 0)))
        directory = {
            row.code: row.name
            for row in session.scalars(select(DirectoryOpd).where(DirectoryOpd.active.is_(True)))
        }
    codes = [only] if only else sorted(set(directory) | {k[0] for k in tallies if k[0]})
    per_opd = []
    services: dict[str, Tally] = defaultdict(Tally)
    totals = Tally()
    for code in codes + ([None] if not only and any(k[0] is None for k in tallies) else []):
        opd_total = Tally()
        rows = []
        for (opd_code, svc), tally in sorted(tallies.items(), key=lambda kv: kv[0][1]):
            if opd_code != code:
                continue
            opd_total.add(tally)
            services[svc].add(tally)
            rows.append({"service": svc, **tally.to_dict()})
        totals.add(opd_total)
        per_opd.append({
            "opd": code,
            "name": directory.get(code, code) if code else REGENCY,
            **opd_total.to_dict(),
            "services": rows,
        })
    ranked = sorted(
        (o for o in per_opd if o["opd"] and o["score"] is not None),
        key=lambda o: (-o["score"], o["opd"]),
    )
    rank = {o["opd"]: i for i, o in enumerate(ranked, start=1)}
    for entry in per_opd:
        entry["rank"] = rank.get(entry["opd"])
    per_opd.sort(key=lambda o: (o["rank"] is None, o["rank"] or 0, o["opd"] is None, o["opd"] or ""))
    return {
        "at": at.astimezone(cal.tz),
        "period": {"from": period_from.astimezone(cal.tz), "to": period_to.astimezone(cal.tz)},
        "due_soon_until": soon.astimezone(cal.tz),
        "totals": totals.to_dict(),
        "services": [{"service": s, **t.to_dict()} for s, t in sorted(services.items())],
        "opds": per_opd,
    }
