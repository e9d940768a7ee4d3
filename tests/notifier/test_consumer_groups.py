"""The notifier's consumer handling a prefetch window as one group.

A group is written in a few statements (`make_group_handler`, `clocks.ClockBatch`); it must
leave exactly what the same events handled one by one leave, be acked only once committed,
and keep the inbox's deduplication. The first tests compare the two paths on one database;
the last ones drain a real RabbitMQ backlog.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from services.common import sla
from services.common.consumer import EventConsumer, PermanentError, declare_consumer_queue
from services.common.events import CONTENT_TYPE, EXCHANGE, new_event
from services.notifier.clocks import ClockBatch
from services.notifier.consumers import clock_keys, make_check, make_group_handler, make_handler
from services.notifier.models import Clock, ClockHistory, Policy, Step, inbox, outbox
from tests.broker_events import messages_ready
from tests.notifier.notifier_support import clock_event, sla_event, wib

DUE = wib(2026, 4, 7, 23, 59, 59)
LATER_DUE = wib(2026, 4, 14, 23, 59, 59)


def starts(subject, at, due=DUE, clock="ppid.response"):
    return sla_event(subject, at=at, start=[{"clock": clock, "due_at": due.isoformat()}])


def stops(subject, at, clock="ppid.response"):
    return sla_event(subject, at=at, stop=[{"clock": clock}])


def without_instructions(subject, at):
    return new_event("ppid", "request", "viewed", subject=subject, opd="dinkes", time=at,
                     data={"number": subject}).envelope()


def one_by_one(rt, envelopes):
    handle = make_handler(rt)
    for envelope in envelopes:
        with rt.uow() as uow:
            handle(uow, envelope)
            uow.commit()


def as_group(rt, envelopes):
    handle_group = make_group_handler(rt)
    with rt.uow() as uow:
        handle_group(uow, envelopes)
        uow.commit()


def effects(rt, prefix):
    """What the events did to the clocks of subjects starting with `prefix`, ids left out."""
    with rt.uow() as uow:
        session = uow.session
        clocks = session.scalars(
            select(Clock).where(Clock.subject.startswith(prefix)).order_by(Clock.subject, Clock.clock)
        ).all()
        found = {}
        for clock in clocks:
            name = (clock.subject.removeprefix(prefix), clock.clock)
            steps = session.execute(
                select(Step.run, Step.key, Step.kind, Step.level, Step.notify, Step.planned_at,
                       Step.send_after, Step.state, Step.last_error)
                .where(Step.clock_id == clock.id).order_by(Step.run, Step.key)
            ).all()
            entries = session.execute(
                select(ClockHistory.entry, ClockHistory.at, ClockHistory.event_type,
                       ClockHistory.run, ClockHistory.due_at, ClockHistory.detail)
                .where(ClockHistory.clock_id == clock.id).order_by(ClockHistory.id)
            ).all()
            found[name] = {
                "clock": (clock.state, clock.run, clock.opd, clock.due_at, clock.started_at,
                          clock.stopped_at, clock.late_seconds, clock.late_working_days),
                "steps": [tuple(row) for row in steps],
                "history": [tuple(row) for row in entries],
            }
        published = session.scalars(
            select(outbox.c.routing_key).where(outbox.c.subject.startswith(prefix))
            .order_by(outbox.c.id)
        ).all()
        return found, published


def scenario(prefix):
    """A mix a prefetch window can hold: new clocks, a met clock, a restart, an unknown
    clock stopped, an event with no instructions, and a clock started then stopped."""
    at = wib(2026, 3, 16, 10)
    before = [starts(f"{prefix}met", at), starts(f"{prefix}restarted", at)]
    window = [
        *(starts(f"{prefix}new-{i}", at + timedelta(minutes=i)) for i in range(5)),
        stops(f"{prefix}met", wib(2026, 3, 20, 9)),
        starts(f"{prefix}restarted", wib(2026, 3, 23, 9), due=LATER_DUE),
        stops(f"{prefix}never-started", wib(2026, 3, 23, 9)),
        without_instructions(f"{prefix}new-0", wib(2026, 3, 23, 9)),
    ]
    return before, window


def test_a_group_leaves_what_its_events_leave_one_by_one(rt):
    before, window = scenario("requests/ONE-")
    one_by_one(rt, before + window)
    before, window = scenario("requests/GROUP-")
    one_by_one(rt, before)
    as_group(rt, window)
    single, grouped = effects(rt, "requests/ONE-"), effects(rt, "requests/GROUP-")
    assert grouped == single
    clocks, published = grouped
    assert clocks[("met", "ppid.response")]["clock"][0] == "met"
    assert published == ["notifier.sla.met.dinkes"]
    assert len(clocks[("new-4", "ppid.response")]["steps"]) == 6
    restarted = clocks[("restarted", "ppid.response")]
    assert [entry[0] for entry in restarted["history"]] == ["started", "restarted"]
    assert [step[0] for step in restarted["steps"]].count(2) == 6


def test_a_group_touching_one_clock_twice_applies_its_events_in_order(rt):
    at = wib(2026, 3, 16, 10)
    for prefix, apply in (("requests/ONE-", one_by_one), ("requests/GROUP-", as_group)):
        apply(rt, [starts(f"{prefix}1", at), starts(f"{prefix}2", at),
                   stops(f"{prefix}1", at + timedelta(hours=2))])
    single, grouped = effects(rt, "requests/ONE-"), effects(rt, "requests/GROUP-")
    assert grouped == single
    clock = grouped[0][("1", "ppid.response")]
    assert clock["clock"][0] == "met"
    assert [entry[0] for entry in clock["history"]] == ["started", "stopped"]
    assert {step[7] for step in clock["steps"]} == {"cancelled"}


def every_column(rt, prefix):
    """Every column of the clocks of subjects starting with `prefix`, and of their history
    and steps, keyed by the clock's name; ids (rows', clocks', events') left out."""
    def values(row, table, *leave_out):
        return tuple(getattr(row, c.name) for c in table.__table__.c
                     if c.name not in ("id", *leave_out))

    with rt.uow() as uow:
        session = uow.session
        found = {}
        for clock in session.scalars(select(Clock).where(Clock.subject.startswith(prefix))):
            name = (clock.subject.removeprefix(prefix), clock.clock)
            history = session.scalars(select(ClockHistory).where(ClockHistory.clock_id == clock.id)
                                      .order_by(ClockHistory.id)).all()
            steps = session.scalars(select(Step).where(Step.clock_id == clock.id)
                                    .order_by(Step.run, Step.key)).all()
            found[name] = {
                "clock": values(clock, Clock, "subject", "last_event_id"),
                "history": [values(h, ClockHistory, "clock_id", "event_id") for h in history],
                "steps": [values(step, Step, "clock_id") for step in steps],
            }
        return found


def every_kind_of_instruction(prefix):
    """Events a window can hold beside plain starts: a pause, a resume, a clock counted in
    calendar days, a citizen's window, a stop of a paused clock, a stop never started."""
    at = wib(2027, 4, 5, 10)
    asked, answered = wib(2027, 4, 6, 11), wib(2027, 4, 12, 9)
    due, new_due = wib(2027, 4, 8, 23, 59, 59), wib(2027, 4, 15, 23, 59, 59)

    def event(name, *instructions, when):
        return clock_event(f"{prefix}{name}", *instructions, at=when, opd="dinkes")

    before = [
        event("to-pause", sla.start("lapor.verification", due, role="lapor_admin"), when=at),
        event("to-resume", sla.start("lapor.verification", due), when=at),
        event("to-resume", sla.pause("lapor.verification"), when=asked),
        event("paused-then-done", sla.start("lapor.verification", due), when=at),
        event("paused-then-done", sla.pause("lapor.verification"), when=asked),
    ]
    window = [
        event("to-pause", sla.pause("lapor.verification"), when=asked),
        event("to-resume", sla.resume("lapor.verification", new_due, role="lapor_admin"),
              when=answered),
        event("paused-then-done", sla.stop("lapor.verification"), when=answered),
        event("calendar", sla.start("lapor.completion", wib(2027, 6, 4, 23, 59, 59),
                                    counting="calendar_days", actions=["forward", "reply"]),
              when=at),
        event("citizen", sla.start("lapor.reporter_reply", new_due, party="citizen"), when=asked),
        event("cancelled-unstarted", sla.stop("lapor.verification", outcome="cancelled"),
              when=answered),
        event("started-late", sla.start("lapor.verification", due,
                                        started_at=wib(2027, 4, 1, 9)), when=at),
    ]
    return before, window


@pytest.fixture
def still_rt(migrated, make_rt):
    """A runtime whose clock stands still: the instants of processing are equal too."""
    return make_rt(migrated, clock=lambda: wib(2026, 3, 16, 10, 30))


def both_ways(rt, scenario_of, stem):
    """The scenario's window applied one by one, then as a group, each to subjects of its
    own prefix; returns the two prefixes."""
    prefixes = f"requests/{stem}1-", f"requests/{stem}2-"
    for prefix, apply in zip(prefixes, (one_by_one, as_group), strict=True):
        before, window = scenario_of(prefix)
        one_by_one(rt, before)
        apply(rt, window)
    return prefixes


@pytest.mark.parametrize("scenario_of", [scenario, every_kind_of_instruction])
def test_a_group_writes_every_column_as_its_events_one_by_one(still_rt, scenario_of):
    """Not only the fields the rules judge: every column of the clocks, their history and
    their steps, for new clocks started and stopped, paused, resumed, calendar-day clocks."""
    rt = still_rt
    single, grouped = both_ways(rt, scenario_of, "ALL")
    single, grouped = every_column(rt, single), every_column(rt, grouped)
    assert grouped == single
    assert len(grouped) >= 5


def test_a_group_whose_clocks_are_new_leaves_ids_the_database_accepts(rt):
    """New clocks of a group get ids their history and steps point to, and later groups
    find them (the ids drawn for clocks a group did not create are left unused)."""
    at = wib(2026, 3, 16, 10)
    as_group(rt, [starts(f"requests/IDS-{i}", at) for i in range(3)])
    as_group(rt, [stops(f"requests/IDS-{i}", at + timedelta(hours=1)) for i in range(3)]
             + [starts("requests/IDS-new", at)])
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(Clock.subject, Clock.state, func.count(Step.id))
            .outerjoin(Step, Step.clock_id == Clock.id)
            .where(Clock.subject.startswith("requests/IDS-"))
            .group_by(Clock.subject, Clock.state).order_by(Clock.subject)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("requests/IDS-0", "met", 6), ("requests/IDS-1", "met", 6), ("requests/IDS-2", "met", 6),
        ("requests/IDS-new", "running", 6),
    ]


def test_one_check_reads_an_envelope_once_for_the_consumer_and_its_handlers(rt, monkeypatch):
    from services.notifier import sla as notifier_sla

    calls = []
    parse = notifier_sla.parse_sla
    monkeypatch.setattr(notifier_sla, "parse_sla", lambda e, **kw: calls.append(e) or parse(e, **kw))
    check = make_check(rt)
    envelopes = [starts(f"requests/CHK-{i}", wib(2026, 3, 16, 10)) for i in range(3)]
    for envelope in envelopes:
        check(envelope)  # as the consumer checks each message first
    with rt.uow() as uow:
        make_group_handler(rt, check)(uow, envelopes)
        uow.commit()
    assert len(calls) == 3
    # A copy of an envelope (same id, another object) is read again, never taken on trust.
    check(json.loads(json.dumps(envelopes[0])))
    assert len(calls) == 4


class _Delivery:
    def __init__(self, tag):
        self.delivery_tag = tag
        self.routing_key = "ppid.request.updated.dinkes"


class _Channel:
    def __init__(self, log):
        self._log = log

    def basic_ack(self, tag):
        self._log.append(("ack", tag))


class _Connection:
    """What the worker thread hands its acks to: here they are only written down."""

    def __init__(self, log):
        self.channel = _Channel(log)

    def call(self, callback):
        callback()


def _consumer_logging_commits(rt, log, group_handler):
    def uow_factory():
        uow = rt.uow()
        commit = uow.commit

        def logged_commit():
            commit()
            log.append(("commit",))

        uow.commit = logged_commit
        return uow

    return EventConsumer(name="notifier.acks", queue="notifier.acks", bindings=["#"],
                         handler=make_handler(rt), group_handler=group_handler,
                         uow_factory=uow_factory, inbox=rt.inbox, amqp_url="amqp://unused",
                         check=make_check(rt))


def _messages(envelopes):
    return [(_Delivery(tag), None, json.dumps(envelope).encode())
            for tag, envelope in enumerate(envelopes, start=1)]


def test_a_group_is_acked_only_after_its_commit_and_a_duplicate_in_it_is_skipped(rt):
    log = []
    at = wib(2026, 3, 16, 10)
    envelopes = [starts(f"requests/ACK-{i}", at) for i in range(4)]
    envelopes.append(envelopes[1])  # published twice, both copies in one window
    handled = []
    handle_group = make_group_handler(rt)

    def group_handler(uow, group):
        handled.append([envelope["id"] for envelope in group])
        handle_group(uow, group)

    consumer = _consumer_logging_commits(rt, log, group_handler)
    assert consumer._handle_group(_Connection(log), _messages(envelopes))
    assert log == [("commit",)] + [("ack", tag) for tag in range(1, 6)]
    assert handled == [[envelope["id"] for envelope in envelopes[:4]]]
    assert len(_started(rt, "requests/ACK-")) == 4


def test_a_group_that_fails_is_neither_committed_nor_acked(rt):
    log = []
    at = wib(2026, 3, 16, 10)
    handle_group = make_group_handler(rt)

    def failing(uow, group):
        handle_group(uow, group)
        raise RuntimeError("the database refused the last event")

    consumer = _consumer_logging_commits(rt, log, failing)
    envelopes = [starts(f"requests/NOACK-{i}", at) for i in range(3)]
    assert not consumer._handle_group(_Connection(log), _messages(envelopes))
    assert log == []
    assert _started(rt, "requests/NOACK-") == []
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(inbox)
                                  .where(inbox.c.consumer == "notifier.acks")) == 0


# --- behind RabbitMQ ---------------------------------------------------------------------


def _publish_all(amqp_url, envelopes, routing_key):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for envelope in envelopes:
            channel.basic_publish(
                EXCHANGE, routing_key, json.dumps(envelope, separators=(",", ":")),
                pika.BasicProperties(content_type=CONTENT_TYPE, message_id=envelope["id"],
                                     delivery_mode=2),
                mandatory=True,
            )
    finally:
        connection.close()


class Groups:
    """The notifier's handlers, counting what they handle; the group handler can fail its
    first call once its work is done, as a crash before the commit would."""

    def __init__(self, rt, *, fail_first=False):
        self._handle = make_group_handler(rt)
        self._handle_one = make_handler(rt)
        self.sizes: list[int] = []
        self.singles = 0
        self._fail = fail_first

    def one(self, uow, envelope):
        self._handle_one(uow, envelope)
        self.singles += 1

    def __call__(self, uow, envelopes):
        self._handle(uow, envelopes)
        self.sizes.append(len(envelopes))
        if self._fail:
            self._fail = False
            raise RuntimeError("the worker died before its commit")


def _drain(rt, amqp_url, unique, groups, envelopes, *, expected_inbox):
    service = f"t{unique}"
    queue = f"notifier.groups_{unique}"
    consumer = EventConsumer(
        name=queue, queue=queue, bindings=[f"{service}.#"], handler=groups.one,
        group_handler=groups, uow_factory=rt.uow, inbox=rt.inbox, amqp_url=amqp_url,
        delivery_limit=3, check=make_check(rt),
    )
    # The queue exists, and holds the whole backlog, before the consumer takes any of it.
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declare_consumer_queue(connection.channel(), queue, consumer.bindings,
                               delivery_limit=consumer.delivery_limit)
    finally:
        connection.close()
    _publish_all(amqp_url, envelopes, f"{service}.request.updated.dinkes")

    def inbox_rows():
        with rt.uow() as uow:
            return uow.session.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.consumer == queue))

    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while inbox_rows() < expected_inbox and time.monotonic() < deadline:
            time.sleep(0.1)
        # The acks follow the commit: give the last ones a moment to reach the broker.
        while messages_ready(queue) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=20)
    return consumer, inbox_rows()


def _cleanup(amqp_url, consumer):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.queue_delete(consumer.queue)
        channel.queue_delete(consumer.dead_queue)
    finally:
        connection.close()


def _started(rt, prefix):
    with rt.uow() as uow:
        return uow.session.execute(
            select(Clock.subject, func.count(ClockHistory.id))
            .join(ClockHistory, ClockHistory.clock_id == Clock.id)
            .where(Clock.subject.startswith(prefix), ClockHistory.entry == "started")
            .group_by(Clock.subject)
        ).all()


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_a_backlog_is_handled_in_groups_once_each_and_acked(rt, amqp_url, unique):
    prefix = f"requests/Q{unique}-"
    at = wib(2026, 3, 16, 10)
    envelopes = [starts(f"{prefix}{i}", at + timedelta(minutes=i)) for i in range(40)]
    envelopes.insert(10, envelopes[3])  # the relay published one event twice
    groups = Groups(rt)
    consumer, inbox_rows = _drain(rt, amqp_url, unique, groups, envelopes, expected_inbox=40)
    try:
        assert inbox_rows == 40
        assert max(groups.sizes) > 1, "the backlog was never handled as a group"
        # The duplicate never reached a handler (the first message may come alone).
        assert sum(groups.sizes) + groups.singles == 40
        started = _started(rt, prefix)
        assert len(started) == 40 and {count for _subject, count in started} == {1}
        assert messages_ready(consumer.queue) == 0  # every message acked
        assert messages_ready(consumer.dead_queue) == 0

        # Redelivered after its commit (a lost ack): the inbox skips the whole group.
        again = Groups(rt)
        _publish_all(amqp_url, envelopes[:20], f"t{unique}.request.updated.dinkes")
        consumer2, inbox_rows = _drain(rt, amqp_url, unique, again, [], expected_inbox=40)
        assert inbox_rows == 40 and sum(again.sizes) + again.singles == 0
        assert {count for _subject, count in _started(rt, prefix)} == {1}
        assert messages_ready(consumer2.queue) == 0
    finally:
        _cleanup(amqp_url, consumer)


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_a_group_that_fails_leaves_nothing_and_its_events_are_handled_one_by_one(
    rt, amqp_url, unique
):
    prefix = f"requests/F{unique}-"
    at = wib(2026, 3, 16, 10)
    envelopes = [starts(f"{prefix}{i}", at + timedelta(minutes=i)) for i in range(30)]
    groups = Groups(rt, fail_first=True)
    consumer, inbox_rows = _drain(rt, amqp_url, unique, groups, envelopes, expected_inbox=30)
    try:
        assert inbox_rows == 30
        assert groups.sizes and groups.sizes[0] > 1
        # The failed group's events were handled again, one by one.
        assert groups.singles >= groups.sizes[0]
        started = _started(rt, prefix)
        assert len(started) == 30 and {count for _subject, count in started} == {1}
        with rt.uow() as uow:
            steps = uow.session.scalar(
                select(func.count()).select_from(Step).join(Clock, Clock.id == Step.clock_id)
                .where(Clock.subject.startswith(prefix)))
        assert steps == 30 * 6
        assert messages_ready(consumer.queue) == 0
        assert messages_ready(consumer.dead_queue) == 0
    finally:
        _cleanup(amqp_url, consumer)


class Poisoned(Groups):
    """Handlers that fail on one event: in a group it fails the group, alone it is refused."""

    def __init__(self, rt, bad_subject):
        super().__init__(rt)
        self._bad = bad_subject

    def one(self, uow, envelope):
        if envelope["subject"] == self._bad:
            raise PermanentError("this event can never be applied")
        super().one(uow, envelope)

    def __call__(self, uow, envelopes):
        if any(envelope["subject"] == self._bad for envelope in envelopes):
            self.sizes.append(len(envelopes))
            raise RuntimeError("one event of the group failed")
        super().__call__(uow, envelopes)


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_one_bad_event_in_a_group_costs_the_others_nothing(rt, amqp_url, unique):
    prefix = f"requests/P{unique}-"
    at = wib(2026, 3, 16, 10)
    envelopes = [starts(f"{prefix}{i}", at + timedelta(minutes=i)) for i in range(30)]
    groups = Poisoned(rt, f"{prefix}5")
    consumer, inbox_rows = _drain(rt, amqp_url, unique, groups, envelopes, expected_inbox=29)
    try:
        assert inbox_rows == 29
        assert max(groups.sizes) > 1, "the bad event never came in a group"
        started = {subject for subject, _count in _started(rt, prefix)}
        assert started == {f"{prefix}{i}" for i in range(30) if i != 5}
        deadline = time.monotonic() + 10
        while messages_ready(consumer.dead_queue) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert messages_ready(consumer.dead_queue) == 1  # the bad one, dead-lettered alone
        assert messages_ready(consumer.queue) == 0
    finally:
        _cleanup(amqp_url, consumer)


@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_a_group_holds_the_locks_of_its_clocks_until_it_commits(rt):
    """The statement that reads a group's policies and ids also locks its clocks: a tick or
    another consumer wanting one of them waits until the group is done."""
    at = wib(2026, 3, 16, 10)
    one_by_one(rt, [starts("requests/LOCK-1", at)])
    envelope = stops("requests/LOCK-1", at + timedelta(hours=1))
    with rt.uow() as uow:
        batch = ClockBatch(uow.session, clock_keys(make_check(rt)(envelope)))
        assert batch.clock("requests/LOCK-1", "ppid.response") is not None
        with rt.uow() as other, pytest.raises(OperationalError, match="could not obtain lock"):
            other.session.scalars(select(Clock).where(Clock.subject == "requests/LOCK-1")
                                  .with_for_update(nowait=True)).all()


def test_a_group_reads_a_policy_edited_after_an_earlier_group(still_rt):
    """A group reuses the policies it parsed only while their stored documents are the
    same: one edited since is read as edited, as the one-by-one path reads it."""
    rt = still_rt
    at = wib(2026, 3, 16, 10)
    as_group(rt, [starts("requests/POL0-a", at), starts("requests/POL0-b", at)])
    with rt.uow() as uow:
        policy = uow.session.get(Policy, "ppid.response")
        document = dict(policy.document)
        document["reminders"] = []
        policy.document = document
        uow.commit()
    one_by_one(rt, [starts("requests/POL1-a", at), starts("requests/POL1-b", at)])
    as_group(rt, [starts("requests/POL2-a", at), starts("requests/POL2-b", at)])
    single, grouped = every_column(rt, "requests/POL1-"), every_column(rt, "requests/POL2-")
    assert grouped == single
    kinds = {row[2] for clock in grouped.values() for row in clock["steps"]}
    assert "remind" not in kinds and "breach" in kinds


def test_a_group_refuses_an_instant_without_a_zone_as_the_column_type_does():
    from services.notifier.clocks import _rows_json

    table = ClockHistory.__table__
    with pytest.raises(ValueError, match="naive datetime"):
        _rows_json(table, [{"at": DUE}, {"at": DUE.replace(tzinfo=None)}])
    assert json.loads(_rows_json(table, [{"at": DUE}, {"at": None}])) == [
        {"at": DUE.isoformat()}, {"at": None}]


def test_a_group_writes_json_values_as_they_are():
    """Values that are only equal as Python numbers (1, 1.0, True) keep their own JSON."""
    from services.notifier.clocks import _rows_json

    values = [["officer"], ["officer"], [1], [1.0], [True], {"a": [1]}, None, ["head", "sekda"]]
    rows = [{"detail": value} for value in values]
    assert _rows_json(ClockHistory.__table__, rows) == json.dumps(rows, separators=(",", ":"))


def sql_nulls(rt, prefix):
    """Which JSON values of the clocks of subjects starting with `prefix` are SQL NULL
    rather than JSON null: the two read back alike, but a query tells them apart."""
    with rt.uow() as uow:
        session = uow.session
        clocks = session.execute(
            select(Clock.id, Clock.subject, Clock.clock, Clock.actions.is_(None))
            .where(Clock.subject.startswith(prefix))
        ).all()
        return {
            (subject.removeprefix(prefix), kind): (
                actions_null,
                session.scalars(select(ClockHistory.detail.is_(None)).where(ClockHistory.clock_id == id_)
                                .order_by(ClockHistory.id)).all(),
                session.scalars(select(Step.notify.is_(None)).where(Step.clock_id == id_)
                                .order_by(Step.run, Step.key)).all(),
            )
            for id_, subject, kind, actions_null in clocks
        }


@pytest.mark.parametrize("scenario_of", [scenario, every_kind_of_instruction])
def test_a_group_stores_a_missing_json_value_as_its_events_one_by_one(still_rt, scenario_of):
    rt = still_rt
    single, grouped = both_ways(rt, scenario_of, "NUL")
    single, grouped = sql_nulls(rt, single), sql_nulls(rt, grouped)
    assert grouped == single
    # The scenario has a missing value to store: the clock stopped before any start.
    assert any(actions_null for actions_null, _h, _s in grouped.values())
