"""Gap-free yearly numbers: their printed form, and the counter on SQLite and PostgreSQL
(one after the other, per prefix and year, a rollback gives the number back, no gap under
concurrent writers)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.numbering import (
    Numbered,
    Numbering,
    check_prefix,
    format_number,
    number_counter_table,
    parse_number,
)


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
