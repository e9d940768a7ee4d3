"""Clocks and their notification steps in the database: applying instructions, scheduling.

The rules live in `clock_rules` and `notification_plan`; this module loads rows, asks the domain what to do, and writes
the outcome (clock fields, history, steps, events) in the caller's unit of work. Every
clock row is locked (`FOR UPDATE`) before it is judged, so two consumers or a consumer and
a tick never interleave on one clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from psycopg import sql as pgsql
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCLASS
from sqlalchemy.orm import Session

from services.common.calendar import WorkingCalendar
from services.common.db import UtcDateTime, driver_sql, refuse_naive
from services.common.events import Event
from services.common.outbox import UnitOfWork
from services.notifier import clock_rules, domain, notification_plan, outgoing
from services.notifier import policy as policy_rules
from services.notifier.models import Clock, ClockHistory, Policy, Step
from services.notifier.sla import Instructions

log = logging.getLogger(__name__)


# -- policies ----------------------------------------------------------------------------


# Policies parsed by `PolicyBook.preload_text`, by the kinds asked for and the documents'
# text; a few shapes of groups, so few entries.
_PARSED_POLICIES: dict[
    tuple[tuple[str, ...], str | None], dict[str, policy_rules.Policy | None]
] = {}
_PARSED_KEPT = 32


class PolicyBook:
    """Policies read once per unit of work, by clock kind, falling back to `default`."""

    def __init__(self, session: Session):
        self._session = session
        self._cache: dict[str, policy_rules.Policy | None] = {}

    def _row(self, kind: str) -> policy_rules.Policy | None:
        if kind not in self._cache:
            row = self._session.get(Policy, kind)
            self._cache[kind] = policy_rules.parse_policy(kind, row.document) if row else None
        return self._cache[kind]

    def preload_text(self, kinds: tuple[str, ...], text: str | None) -> None:
        """Take the stored documents of these kinds, as one JSON object's text, as read (a
        kind not among them has none). Policies are immutable and change rarely: the ones
        parsed from the same text are reused, so a group does not validate its policies
        again while nobody edits them."""
        key = (kinds, text)
        parsed = _PARSED_POLICIES.get(key)
        if parsed is None:
            documents = json.loads(text) if text else {}
            parsed = {
                kind: policy_rules.parse_policy(kind, documents[kind]) if documents.get(kind)
                else None
                for kind in kinds
            }
            if len(_PARSED_POLICIES) >= _PARSED_KEPT:
                _PARSED_POLICIES.clear()
            _PARSED_POLICIES[key] = parsed
        self._cache.update(parsed)

    def for_clock(self, kind: str) -> policy_rules.Policy:
        policy = self._row(kind) or self._row(domain.DEFAULT_POLICY)
        if policy is None:
            raise LookupError("no policy for clock kinds without their own: run `migrate` first")
        return policy


# -- a group of events ------------------------------------------------------------------


class NewClock:
    """A clock a group of events creates, kept out of the ORM session.

    It carries the same attributes as a `Clock` row, so the rules and the writes read it
    alike, but costs none of the ORM's bookkeeping: the group inserts its new clocks with
    their history and steps (`insert_rows`) once their ids are drawn. The values of columns an
    instruction does not set are those an ORM insert of a `Clock` leaves.
    """

    __slots__ = tuple(column.name for column in Clock.__table__.c)
    # The column defaults of `models.Clock` (Python's and the server's) for what is unset.
    _DEFAULTS: dict[str, Any] = {
        "party": domain.STAFF,
        "counting": domain.WORKING_DAYS,
        "paused_seconds": 0,
        "paused_working_days": 0,
    }

    def __init__(self, **values: Any):
        for name in self.__slots__:
            setattr(self, name, values.get(name, self._DEFAULTS.get(name)))

    def row(self, *, with_id: bool = True) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in self.__slots__ if with_id or name != "id"
        }


# The statements of `ClockBatch._read_at_once`, compiled once to the driver's SQL and the
# values of their constant parameters. Run through SQLAlchemy, each group paid for working
# out the statement's cache key and setting up an ORM result: about 1 ms of Python a group,
# five times what PostgreSQL spends on the statement (consumer benchmark).
_GROUP_STATEMENTS: dict[tuple, tuple[str, dict[str, Any]]] = {}


def _group_statement(locks: bool, also: Mapping[str, ColumnElement[Any]]) -> tuple[str, dict[str, Any]]:
    key = (locks, tuple((name, id(question)) for name, question in also.items()))
    compiled = _GROUP_STATEMENTS.get(key)
    if compiled is None:
        compiled = _GROUP_STATEMENTS[key] = driver_sql(_build_group_statement(locks, also))
    return compiled


def _build_group_statement(locks: bool, also: Mapping[str, ColumnElement[Any]]) -> Select:
    policies = (
        # As text: the parsed policies are kept by it (`PolicyBook.preload_text`).
        select(cast(func.json_object_agg(Policy.clock, Policy.document), Text))
        .where(Policy.clock == any_(bindparam("policy_kinds", type_=ARRAY(String))))
        .scalar_subquery()
    )
    # Looked up once for the statement, not once for every id drawn.
    sequence = select(
        cast(func.pg_get_serial_sequence(Clock.__tablename__, "id"), REGCLASS)
    ).scalar_subquery()
    ids = func.array(
        select(func.nextval(sequence))
        .select_from(func.generate_series(1, bindparam("count", type_=Integer)))
        .scalar_subquery()
    )
    questions = [
        policies.label("policies"),
        ids.label("ids"),
        *(question.label(name) for name, question in also.items()),
    ]
    if not locks:
        return select(*questions)
    wanted = func.unnest(
        bindparam("subjects", type_=ARRAY(String)), bindparam("kinds", type_=ARRAY(String))
    ).table_valued("subject", "clock").render_derived()
    # In id order, as every other locker of several clocks takes them.
    locked = (
        select(Clock.id)
        .join(wanted, and_(Clock.subject == wanted.c.subject, Clock.clock == wanted.c.clock))
        .order_by(Clock.id)
        .with_for_update(of=Clock)
        .subquery()
    )
    one = select(literal(1).label("one")).subquery()
    return select(locked.c.id, *questions).select_from(one).outerjoin(locked, true())


class ClockBatch:
    """The clocks a group of events touches, locked in one statement, and their writes.

    A consumer handling a prefetch window in one transaction applies each event's
    instructions against these rows in memory, then writes every new clock in one
    statement and the history and steps of all of them in one more each, instead of a few
    round trips per event. This holds only while no clock is touched twice in the group:
    the writes deferred for one instruction read the clock as the group left it, so the
    caller applies a group that repeats a clock event by event.
    """

    def __init__(
        self,
        session: Session,
        keys: Collection[tuple[str, str]],
        *,
        also: Mapping[str, ColumnElement[Any]] | None = None,
    ):
        """Lock the clocks of `keys`; `also` names scalar questions the caller wants
        answered in the same round trip as the group's policies (`answers`)."""
        self._session = session
        self.policies = PolicyBook(session)
        self._clocks: dict[tuple[str, str], Clock | NewClock] = {}
        self._created: list[NewClock] = []
        self._deferred: list[Callable[[], None]] = []
        # Rows of new history entries and of the steps of new clocks, inserted in bulk.
        self.history: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []
        self._ids: list[int] = []
        self._calendar_answers: notification_plan.CalendarAnswers | None = None
        also = also or {}
        if session.get_bind().dialect.name == "postgresql":
            self.answers = self._read_at_once(keys, also)
            return
        if keys:
            # In id order, as every other locker of several clocks takes them.
            rows = session.scalars(
                select(Clock)
                .where(tuple_(Clock.subject, Clock.clock).in_(sorted(keys)))
                .order_by(Clock.id)
                .with_for_update(of=Clock)
            )
            self._clocks = {(row.subject, row.clock): row for row in rows}
        self.answers = {name: session.scalar(select(question)) for name, question in also.items()}

    def _read_at_once(
        self, keys: Collection[tuple[str, str]], also: Mapping[str, ColumnElement[Any]]
    ) -> dict[str, Any]:
        """One statement locks the group's clocks, reads its policies, draws an id for each
        clock it may create (those it does not create are gaps) and answers `also`.

        The questions are uncorrelated subqueries, each run once for the statement; the
        locked clocks are joined to a single row, which carries the answers when no clock
        exists yet.
        """
        ordered = sorted(keys)
        kinds = sorted({kind for _subject, kind in keys} | {domain.DEFAULT_POLICY})
        sql, constants = _group_statement(bool(keys), also)
        # On the session's connection, inside its transaction: the locks last until its end.
        driver = self._session.connection().connection.driver_connection
        rows = driver.execute(sql, {
            **constants,
            "subjects": [subject for subject, _kind in ordered],
            "kinds": [kind for _subject, kind in ordered],
            "policy_kinds": kinds,
            "count": len(keys),
        }).fetchall()
        # (locked clock id, policies, ids, *answers): one row per locked clock, or one row
        # of answers alone when none exists yet, as for a group of new clocks.
        locked = [row[0] for row in rows if row[0] is not None]
        if locked:
            # Already locked by the statement above: a plain read gets them as they are.
            found = self._session.scalars(select(Clock).where(Clock.id.in_(locked)))
            self._clocks = {(clock.subject, clock.clock): clock for clock in found}
        _id, policies, ids, *answers = rows[0]
        self.policies.preload_text(tuple(kinds), policies)
        self._ids = list(ids)
        return dict(zip(also, answers, strict=True))

    def answers_of(self, cal: WorkingCalendar) -> notification_plan.CalendarAnswers:
        """The calendar's answers the group's plans share."""
        if self._calendar_answers is None or self._calendar_answers.cal is not cal:
            self._calendar_answers = notification_plan.CalendarAnswers(cal)
        return self._calendar_answers

    def clock(self, subject: str, kind: str) -> Clock | NewClock | None:
        return self._clocks.get((subject, kind))

    def create(self, subject: str, kind: str, now: datetime) -> NewClock:
        """A clock the group starts (or stops before its start): inserted by `finish`."""
        clock = NewClock(subject=subject, clock=kind, service=domain.service_of(kind), run=0,
                         created_at=now, updated_at=now)
        self._clocks[(subject, kind)] = clock
        self._created.append(clock)
        return clock

    def is_new(self, clock: Clock | NewClock) -> bool:
        return isinstance(clock, NewClock)

    def defer(self, work: Callable[[], None]) -> None:
        self._deferred.append(work)

    def finish(self) -> None:
        """Insert the new clocks, then run the writes that need their ids, in event order."""
        session = self._session
        session.flush()
        postgres = session.get_bind().dialect.name == "postgresql"
        created, self._created = self._created, []
        if created and postgres:
            # Drawn for every clock the group might create; those it did not are gaps.
            ids = self._ids[: len(created)]
        elif created:
            ids = session.execute(
                insert(Clock.__table__).returning(Clock.id, sort_by_parameter_order=True),
                [clock.row(with_id=False) for clock in created],
            ).scalars().all()
        for clock, clock_id in zip(created, ids if created else [], strict=True):
            clock.id = clock_id
        for work in self._deferred:
            work()
        self._deferred.clear()
        parts = [
            (Clock.__table__, [clock.row() for clock in created] if postgres else []),
            (ClockHistory.__table__, self.history),
            (Step.__table__, self.steps),
        ]
        insert_rows(session, [(table, rows) for table, rows in parts if rows])
        self.history, self.steps = [], []
        session.flush()


def insert_rows(session: Session, parts: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Insert the rows of several tables (each table's rows with the same keys), in order.

    PostgreSQL takes them all in one statement, each table's rows as one JSON parameter
    (`INSERT ... SELECT ... FROM json_to_recordset(...)`, one data-modifying WITH per table):
    one round trip and one plan however many rows. orjson writes a group's rows in C; the
    array parameters this replaced were written by psycopg's Python array dumper, a sixth
    of the group handler's time (consumer benchmark). A JSON null arrives as SQL NULL,
    which is how the nullable JSON columns of these tables store None (`none_as_null`).
    The foreign keys are checked at the end of the statement, when every row is in. SQLite
    takes an ordinary insert of many rows per table.
    """
    if not parts:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        for table, rows in parts:
            session.execute(insert(table), rows)
        return
    shape = tuple((table, tuple(rows[0])) for table, rows in parts)
    params = {f"t{t}": _rows_json(table, rows) for t, (table, rows) in enumerate(parts)}
    connection = session.connection().connection.driver_connection
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = _recordset_insert(shape, dialect).as_string(connection)
    connection.cursor().execute(statement, params)


# The statement of each shape of rows (tables and their columns): few.
_STATEMENTS: dict[tuple, str] = {}
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _rows_json(table: Table, rows: list[dict[str, Any]]) -> str:
    """The rows as one JSON array of objects. An instant without a zone is refused, as the
    column type refuses it: in JSON it would silently be read in the session's zone."""
    for name in rows[0]:
        if isinstance(table.c[name].type, UtcDateTime):
            for row in rows:
                if row[name] is not None:
                    refuse_naive(row[name])
    return orjson.dumps(rows, option=_ORJSON_OPTIONS).decode()


def _recordset_insert(shape: tuple, dialect: Any) -> pgsql.Composable:
    statements = []
    for t, (table, names) in enumerate(shape):
        selected = [pgsql.SQL("r.{}").format(pgsql.Identifier(name)) for name in names]
        defined = [pgsql.SQL("{} {}").format(pgsql.Identifier(name),
                                             pgsql.SQL(_type_name(table.c[name].type, dialect)))
                   for name in names]
        statements.append(
            pgsql.SQL("INSERT INTO {} ({}) SELECT {} FROM json_to_recordset({}::json) AS r ({})").format(
                pgsql.Identifier(table.name),
                pgsql.SQL(", ").join(map(pgsql.Identifier, names)),
                pgsql.SQL(", ").join(selected),
                pgsql.Placeholder(f"t{t}"),
                pgsql.SQL(", ").join(defined),
            )
        )
    *first, last = statements
    if not first:
        return last
    ctes = [pgsql.SQL("{} AS ({})").format(pgsql.Identifier(f"w{n}"), statement)
            for n, statement in enumerate(first)]
    return pgsql.SQL("WITH {} {}").format(pgsql.SQL(", ").join(ctes), last)


def _type_name(column_type: Any, dialect: Any) -> str:
    """The column's type without its length: VARCHAR(32) is read as a VARCHAR."""
    return column_type.compile(dialect).split("(", 1)[0]


# -- history -----------------------------------------------------------------------------


def record(
    session: Session,
    clock: Clock,
    entry: str,
    at: datetime,
    *,
    recorded_at: datetime,
    event_id: str | None = None,
    event_type: str | None = None,
    due_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
    batch: ClockBatch | None = None,
) -> None:
    row = {
        "clock_id": clock.id,
        "entry": entry,
        "at": at,
        "recorded_at": recorded_at,
        "event_id": event_id,
        "event_type": event_type,
        "run": clock.run,
        "due_at": due_at,
        "detail": detail,
    }
    if batch is not None:
        batch.history.append(row)
    else:
        session.add(ClockHistory(**row))


# -- applying instructions ---------------------------------------------------------------


def snapshot(clock: Clock) -> clock_rules.ClockSnapshot:
    return clock_rules.ClockSnapshot(
        state=clock.state,
        due_at=clock.due_at,
        started_at=clock.started_at,
        stopped_at=clock.stopped_at,
        opd=clock.opd,
        last_event_at=clock.last_event_at,
        role=clock.role,
        party=clock.party or domain.STAFF,
        actions=tuple(clock.actions) if clock.actions is not None else None,
        counting=clock.counting or domain.WORKING_DAYS,
        paused_at=clock.paused_at,
        paused_seconds=clock.paused_seconds or 0,
        paused_working_days=clock.paused_working_days or 0,
    )


def _locked(session: Session, subject: str, kind: str) -> Clock | None:
    return session.scalars(
        select(Clock).where(Clock.subject == subject, Clock.clock == kind).with_for_update()
    ).one_or_none()


def apply_instructions(
    uow: UnitOfWork,
    cal: WorkingCalendar,
    instructions: Instructions,
    envelope: dict[str, Any],
    now: datetime,
    *,
    batch: ClockBatch | None = None,
) -> list[str]:
    """Apply one event's stops, then its starts; returns the outcome per instruction.

    Stops come first: an event that closes one duty and opens the next (verified, so the
    follow-up clock starts) must not see the new duty as a restart of the old. With a
    `batch` the clocks come from it and the writes wait for `batch.finish()`.
    """
    session = uow.session
    policies = batch.policies if batch is not None else PolicyBook(session)
    meta = {"event_id": str(envelope.get("id")), "event_type": envelope.get("type")}
    outcomes: list[str] = []
    subject = instructions.subject

    def locked(kind: str) -> Clock | None:
        return batch.clock(subject, kind) if batch is not None else _locked(session, subject, kind)

    def then(work: Callable[[], None]) -> None:
        if batch is None:
            work()
        else:
            batch.defer(work)

    for stop in instructions.stops:
        clock = locked(stop.clock)
        decision = clock_rules.decide_stop(
            snapshot(clock) if clock else None, instructions.at, cal, stop.outcome
        )
        clock = _apply(session, clock, subject, stop.clock, decision, now, meta, batch)

        def stopped(clock=clock, decision=decision) -> None:
            record(session, clock, decision.outcome, instructions.at, recorded_at=now,
                   due_at=clock.due_at, detail=_detail(clock, decision), batch=batch, **meta)
            _after(uow, clock, decision, cal, policies, now, batch)

        then(stopped)
        outcomes.append(f"{stop.clock}:{decision.outcome}")
    for pause in instructions.pauses:
        clock = locked(pause.clock)
        decision = clock_rules.decide_pause(snapshot(clock) if clock else None, instructions.at)
        outcomes.append(_hold_or_run(uow, clock, pause.clock, decision, cal, policies, now,
                                     instructions, meta, batch=batch))
    for resume in instructions.resumes:
        clock = locked(resume.clock)
        decision = clock_rules.decide_resume(
            snapshot(clock) if clock else None, resume, instructions.at, cal
        )
        outcomes.append(_hold_or_run(uow, clock, resume.clock, decision, cal, policies, now,
                                     instructions, meta, due_at=resume.due_at, batch=batch))
    for start in instructions.starts:
        clock = locked(start.clock)
        decision = clock_rules.decide_start(
            snapshot(clock) if clock else None, start, instructions.at, cal
        )
        clock = _apply(session, clock, subject, start.clock, decision, now, meta, batch)

        def started(clock=clock, decision=decision, start=start) -> None:
            detail = _detail(clock, decision)
            if decision.outcome == "stale":
                detail["ignored_due_at"] = start.due_at.isoformat()
            record(session, clock, decision.outcome, instructions.at, recorded_at=now,
                   due_at=start.due_at, detail=detail, batch=batch, **meta)
            _after(uow, clock, decision, cal, policies, now, batch)

        then(started)
        outcomes.append(f"{start.clock}:{decision.outcome}")
    return outcomes


def _hold_or_run(
    uow: UnitOfWork,
    clock: Clock | None,
    kind: str,
    decision: clock_rules.Decision,
    cal: WorkingCalendar,
    policies: PolicyBook,
    now: datetime,
    instructions: Instructions,
    meta: dict[str, Any],
    *,
    due_at: datetime | None = None,
    batch: ClockBatch | None = None,
) -> str:
    """Apply a pause or a resume. One for a clock the notifier does not hold is only
    logged: there is nothing to hold or run, and no retry would change that."""
    outcome = f"{kind}:{decision.outcome}"
    if clock is None:
        log.warning("clock instruction ignored", extra={
            "outcome": outcome, "subject": instructions.subject, **meta})
        return outcome
    session = uow.session
    clock = _apply(session, clock, instructions.subject, kind, decision, now, meta, batch)
    if decision.outcome.endswith("_ignored"):
        log.warning("clock instruction ignored", extra={
            "outcome": outcome, "subject": instructions.subject, "state": clock.state, **meta})

    def held_or_run() -> None:
        detail = _detail(clock, decision)
        if decision.outcome in ("stale", "pause_ignored", "resume_ignored") and due_at is not None:
            detail["ignored_due_at"] = due_at.isoformat()
        record(session, clock, decision.outcome, instructions.at, recorded_at=now,
               due_at=due_at or clock.due_at, detail=detail, batch=batch, **meta)
        _after(uow, clock, decision, cal, policies, now, batch)

    if batch is None:
        held_or_run()
    else:
        batch.defer(held_or_run)
    return outcome


def _apply(
    session: Session,
    clock: Clock | None,
    subject: str,
    kind: str,
    decision: clock_rules.Decision,
    now: datetime,
    meta: dict[str, Any],
    batch: ClockBatch | None = None,
) -> Clock:
    if clock is None and batch is not None:
        clock = batch.create(subject, kind, now)
    elif clock is None:
        clock = Clock(
            subject=subject,
            clock=kind,
            service=domain.service_of(kind),
            run=0,
            created_at=now,
            updated_at=now,
        )
        session.add(clock)
    for name, value in decision.changes.items():
        setattr(clock, name, value)
    if decision.new_run:
        clock.run = (clock.run or 0) + 1
    if decision.changes:
        clock.last_event_id = meta["event_id"]
        clock.updated_at = now
    if batch is None:
        session.flush()
    return clock


def _detail(clock: Clock, decision: clock_rules.Decision) -> dict[str, Any]:
    detail: dict[str, Any] = {"state": clock.state, "opd": clock.opd}
    if clock.role is not None:
        detail["role"] = clock.role
    if clock.party == domain.CITIZEN:
        detail["party"] = clock.party
    if clock.counting == domain.CALENDAR_DAYS:
        detail["counting"] = clock.counting
    if clock.paused_at is not None:
        detail["paused_at"] = clock.paused_at.isoformat()
    if clock.late_working_days is not None and clock.state == domain.BREACHED:
        detail["late_seconds"] = clock.late_seconds
        detail["late_working_days"] = clock.late_working_days
    return detail


def _after(
    uow: UnitOfWork,
    clock: Clock,
    decision: clock_rules.Decision,
    cal: WorkingCalendar,
    policies: PolicyBook,
    now: datetime,
    batch: ClockBatch | None = None,
) -> None:
    session = uow.session
    new = batch is not None and batch.is_new(clock)
    if decision.cancel_pending and not new:
        cancel_pending(session, clock, now, reason=decision.outcome)
    if decision.new_run:
        sync_steps(session, clock, policies.for_clock(clock.clock), cal, now,
                   fresh_run=not decision.resumed, new_clock=new,
                   into=batch.steps if batch is not None else None,
                   answers=batch.answers_of(cal) if batch is not None else None)
    if decision.publish:
        outgoing.publish(uow, outcome_event(clock, cal, now))


def cancel_pending(session: Session, clock: Clock, now: datetime, *, reason: str) -> int:
    result = session.execute(
        update(Step)
        .where(Step.clock_id == clock.id, Step.state == domain.PENDING)
        .values(state=domain.CANCELLED, cancelled_at=now, last_error=reason[:500])
    )
    return result.rowcount or 0


def outcome_event(clock: Clock, cal: WorkingCalendar, now: datetime) -> Event:
    """`notifier.sla.met`, or `notifier.sla.breached` with `open: false` for a late stop."""
    due_at, stopped_at = clock.due_at, clock.stopped_at
    data: dict[str, Any] = {
        "clock": clock.clock,
        "run": clock.run,
        "state": clock.state,
        "open": False,
        "due_at": due_at,
        "stopped_at": stopped_at,
        "late_seconds": clock.late_seconds or 0,
        "late_working_days": clock.late_working_days or 0,
    }
    started = clock.first_started_at
    if started is not None and stopped_at is not None:
        data["working_days_taken"] = cal.days_taken(started, stopped_at)
    action = "met" if clock.state == domain.MET else "breached"
    return outgoing.event("sla", action, subject=clock.subject, opd=clock.opd, data=data, time=now)


# -- steps -------------------------------------------------------------------------------


def sync_steps(
    session: Session,
    clock: Clock,
    policy: policy_rules.Policy,
    cal: WorkingCalendar,
    now: datetime,
    *,
    fresh_run: bool,
    new_clock: bool = False,
    into: list[dict[str, Any]] | None = None,
    answers: notification_plan.CalendarAnswers | None = None,
) -> list[str]:
    """Make the clock's pending steps match its policy and the calendar; returns changed keys.

    Steps already sent are never touched (nothing goes out twice); pending ones get their
    new instants; steps the policy no longer has are cancelled. On a reschedule (not a
    fresh run) a reminder the policy only now asks for is skipped when its time has passed.
    A citizen's window has no steps: nobody on the staff is to be chased for it; nor has a
    paused clock until it resumes. A `new_clock` (not yet in the database before this unit
    of work) has no steps to read. With `into` the rows of new steps are appended to it for
    the caller to insert in bulk, and nothing is flushed.
    """
    started_at, due_at = clock.started_at, clock.due_at
    if clock.stopped_at is not None or started_at is None or due_at is None:
        return []
    if clock.party == domain.CITIZEN or clock.state == domain.PAUSED:
        return []
    planned = notification_plan.plan_steps(
        policy, started_at, due_at, cal, counting=clock.counting or domain.WORKING_DAYS,
        answers=answers,
    )
    existing = {} if new_clock else {
        s.key: s
        for s in session.scalars(
            select(Step).where(Step.clock_id == clock.id, Step.run == clock.run)
        )
    }
    changed: list[str] = []
    for step in planned:
        row = existing.pop(step.key, None)
        send_after = step.send_after
        if row is None:
            if not fresh_run and step.kind == domain.REMIND and step.send_after < now:
                continue
            row = {
                "clock_id": clock.id,
                "run": clock.run,
                "key": step.key,
                "kind": step.kind,
                "level": step.level,
                "notify": list(step.notify),
                "planned_at": step.planned_at,
                "send_after": send_after,
                "state": domain.PENDING,
                "attempts": 0,
                "created_at": now,
            }
            if into is not None:
                into.append(row)
            else:
                session.add(Step(**row))
            changed.append(step.key)
        elif row.state == domain.PENDING:
            if row.send_after != send_after or list(row.notify) != list(step.notify):
                changed.append(step.key)
            row.send_after = send_after
            row.planned_at = step.planned_at
            row.notify = list(step.notify)
            row.level = step.level
    for row in existing.values():
        if row.state == domain.PENDING:
            row.state = domain.CANCELLED
            row.cancelled_at = now
            row.last_error = "dihapus dari kebijakan"
            changed.append(row.key)
    if into is None:
        session.flush()
    return changed


def reschedule_open(
    session: Session,
    cal: WorkingCalendar,
    now: datetime,
    *,
    reason: str,
    kinds: Iterable[str] | None = None,
    exclude_kinds: Iterable[str] | None = None,
) -> int:
    """Recompute the steps of open clocks (all, of some kinds, or all but some kinds).

    Called when the working-day calendar or a policy changes; returns how many clocks had
    a step moved, added or withdrawn.
    """
    policies = PolicyBook(session)
    stmt = select(Clock).where(Clock.stopped_at.is_(None), Clock.due_at.is_not(None))
    if kinds is not None:
        stmt = stmt.where(Clock.clock.in_(list(kinds)))
    if exclude_kinds is not None:
        stmt = stmt.where(Clock.clock.not_in(list(exclude_kinds)))
    touched = 0
    for clock in session.scalars(stmt.order_by(Clock.id).with_for_update()).all():
        changed = sync_steps(
            session, clock, policies.for_clock(clock.clock), cal, now, fresh_run=False
        )
        if changed:
            touched += 1
            record(session, clock, "rescheduled", now, recorded_at=now,
                   detail={"reason": reason, "steps": changed})
    return touched
