"""Gap-free yearly numbers: their printed form, and the counter on SQLite and PostgreSQL
(one after the other, per prefix and year, a rollback gives the number back, no gap under
concurrent writers)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.events import new_event
from services.common.numbering import (
    ChildRow,
    Numbered,
    NumberedRow,
    Numbering,
    check_prefix,
    format_number,
    number_counter_table,
    parse_number,
)
from services.common.outbox import UnitOfWork


def test_a_number_is_prefix_year_and_at_least_six_digits():
    assert format_number("PPID", 2026, 123) == "PPID-2026-000123"
    assert format_number("LPR", 2027, 1_234_567) == "LPR-2027-1234567"
    assert Numbered("KBR", 2026, 7).number == "KBR-2026-000007"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("PPID-2026-000123", Numbered("PPID", 2026, 123)),
        ("LPR-2026-1234567", Numbered("LPR", 2026, 1_234_567)),
        ("PPID-2026-00012", None),          # too few digits
        ("SIBER-2026-000001", None),        # another service's prefix
        ("PPID-26-000001", None),
        ("PPID-2026-00012a", None),
        ("PPID-2026-٠٠٠١٢٣", None),          # digits of another script
        ("", None),
        (None, None),
    ],
)
def test_parsing_knows_only_the_given_prefixes(text, parsed):
    assert parse_number(text, ("PPID", "LPR", "KBR")) == parsed


@pytest.mark.parametrize("prefix", ["ppid", "P", "TOOLONGPREFIX", "PP-ID", ""])
def test_a_prefix_is_two_to_eight_capitals(prefix):
    with pytest.raises(ValueError):
        check_prefix(prefix)


@pytest.fixture
def numbering(database_url):
    metadata = MetaData()
    counters = number_counter_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield Numbering(counters), sessionmaker(engine), counters
    engine.dispose()


def test_numbers_follow_each_other_per_prefix_and_year(numbering):
    numbers, sessions, _ = numbering
    with sessions() as session:
        taken = [numbers.next(session, "LPR", 2026).number for _ in range(3)]
        other_prefix = numbers.next(session, "SIBER", 2026).number
        next_year = numbers.next(session, "LPR", 2027).number
        session.commit()
    assert taken == ["LPR-2026-000001", "LPR-2026-000002", "LPR-2026-000003"]
    assert other_prefix == "SIBER-2026-000001" and next_year == "LPR-2027-000001"


def test_a_rollback_gives_the_number_back(numbering):
    numbers, sessions, counters = numbering
    with sessions() as session:
        assert numbers.next(session, "LPR", 2026).sequence == 1
        session.commit()
    with sessions() as session:
        assert numbers.next(session, "LPR", 2026).sequence == 2
        session.rollback()
    with sessions() as session:
        assert numbers.next(session, "LPR", 2026).sequence == 2
        session.commit()
        assert session.scalar(select(counters.c.last_value)) == 2


def test_concurrent_writers_leave_no_gap(numbering):
    """Threads take numbers at once and every third transaction rolls back: what was
    committed is exactly 1..N."""
    numbers, sessions, _ = numbering
    threads, per_thread = 8, 6
    committed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(index: int) -> None:
        barrier.wait()
        for attempt in range(per_thread):
            with sessions() as session:
                sequence = numbers.next(session, "LPR", 2026).sequence
                if (index * per_thread + attempt) % 3 == 0:
                    session.rollback()
                    continue
                session.commit()
            with lock:
                committed.append(sequence)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert sorted(committed) == list(range(1, threads * per_thread * 2 // 3 + 1))


@pytest.fixture
def case_tables(make_numbered_tables, database_url):
    """A service's schema in miniature: reports with a child row, counters and the outbox."""
    return make_numbered_tables(database_url)


def test_a_numbered_write_puts_the_number_in_its_row_and_its_event(case_tables):
    numbers, sessions, outbox, reports, reporters = case_tables
    for title in ("Jalan rusak", "Lampu mati"):
        event = new_event("lapor", "report", "submitted", subject="reports/", opd="dinkes",
                          time=datetime(2026, 3, 2, 2, tzinfo=UTC), data={"number": "", "status": "new"})
        uow = UnitOfWork(sessions, outbox)
        with uow:
            numbered = numbers.write(
                uow, "LPR", 2026, NumberedRow(reports, {"title": title}),
                children=[ChildRow(reporters, {"name": "Warga"}, "report_id")], event=event,
            )
            uow.commit()
        [recorded] = uow.events
        assert recorded.subject == f"reports/{numbered.number}" and recorded.data["number"] == numbered.number
    assert numbered == Numbered("LPR", 2026, 2)
    with sessions() as session:
        assert session.execute(select(reports.c.number, reports.c.sequence)).all() == [
            ("LPR-2026-000001", 1), ("LPR-2026-000002", 2)
        ]
        assert session.scalar(select(reporters.c.report_id).order_by(reporters.c.report_id.desc())) == 2
        rows = session.execute(select(outbox.c.subject, outbox.c.body, outbox.c.routing_key)).all()
    assert [r.subject for r in rows] == ["reports/LPR-2026-000001", "reports/LPR-2026-000002"]
    envelope = json.loads(rows[1].body)
    assert envelope["subject"] == "reports/LPR-2026-000002"
    assert envelope["data"] == {"number": "LPR-2026-000002", "status": "new"}
    assert rows[1].routing_key == "lapor.report.submitted.dinkes"


def test_a_numbered_event_must_leave_the_number_to_the_write(case_tables):
    numbers, sessions, outbox, reports, _ = case_tables
    complete = new_event("lapor", "report", "submitted", subject="reports/LPR-2026-000001",
                         opd=None, data={"number": "LPR-2026-000001"})
    uow = UnitOfWork(sessions, outbox)
    with uow, pytest.raises(ValueError, match="numbered event"):
        numbers.write(uow, "LPR", 2026, NumberedRow(reports, {"title": "x"}), event=complete)


def test_what_follows_a_numbered_write_in_its_unit_of_work_is_still_a_transaction(case_tables):
    """On PostgreSQL the write itself is committed at once (the counter row is free again);
    a row the unit of work writes after it is not, and goes when the block is left uncommitted."""
    numbers, sessions, outbox, reports, reporters = case_tables
    event = new_event("lapor", "report", "submitted", subject="reports/", opd=None, data={"number": ""})
    uow = UnitOfWork(sessions, outbox)
    with uow:
        numbered = numbers.write(uow, "LPR", 2026, NumberedRow(reports, {"title": "Banjir"}), event=event)
        uow.session.execute(reporters.insert(), {"report_id": 1, "name": "Warga"})
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(reporters)) == 0
        stored = session.scalar(select(func.count()).select_from(reports))
    dialect = sessions.kw["bind"].dialect.name
    assert stored == (1 if dialect == "postgresql" else 0)
    assert numbered.number == "LPR-2026-000001"


def test_a_numbered_write_alone_needs_no_session_and_gives_its_connection_back(case_tables):
    """A unit of work whose one write is the numbered statement opens no session on
    PostgreSQL (it borrows a pooled connection for the statement), and leaving the block
    returns what it took to the pool, committed or not."""
    numbers, sessions, outbox, reports, _ = case_tables
    engine = sessions.kw["bind"]
    for commit in (True, False):
        event = new_event("lapor", "report", "submitted", subject="reports/", opd=None, data={"number": ""})
        uow = UnitOfWork(sessions, outbox)
        with uow:
            numbers.write(uow, "LPR", 2026, NumberedRow(reports, {"title": "Banjir"}), event=event)
            if engine.dialect.name == "postgresql":
                assert uow._session is None
            if commit:
                uow.commit()
        assert engine.pool.checkedout() == 0
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(reports))
        events = session.scalar(select(func.count()).select_from(outbox))
    # On PostgreSQL the statement commits by itself; elsewhere only the committed block stays.
    assert (stored, events) == ((2, 2) if engine.dialect.name == "postgresql" else (1, 1))
