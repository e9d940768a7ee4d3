"""What a service's composition root builds once per process and hands to everything else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from sqlalchemy import Engine, MetaData, Table
from sqlalchemy.orm import Session, sessionmaker

from services.common.auth import JwtVerifier
from services.common.calendar import WorkingCalendar, warn_without_next_years_joint_leave
from services.common.calendar_sync import CalendarSync
from services.common.db import make_engine, make_session_factory
from services.common.files import FileStore, open_file_store
from services.common.opd import OpdRegistry
from services.common.outbox import UnitOfWork
from services.common.settings import REPO_ROOT, Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    outbox: Table
    inbox: Table
    opds: OpdRegistry
    calendar: WorkingCalendar
    calendar_sync: CalendarSync
    verifier: JwtVerifier
    # The one source of "now" for use cases and timers; tests stand it on chosen dates.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @cached_property
    def files(self) -> FileStore:
        """The store of `settings.files_url`, opened on first use: a process that never
        keeps a file never touches its directory or bucket. Tests may assign their own."""
        return open_file_store(self.settings.files_url, base_dir=REPO_ROOT)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.outbox)

    def dispose(self) -> None:
        self.engine.dispose()


def _offset_clock(seconds: int) -> Callable[[], datetime]:
    offset = timedelta(seconds=seconds)
    return lambda: datetime.now(UTC) + offset


def build_runtime(
    settings: Settings, metadata: MetaData, *, clock: Callable[[], datetime] | None = None
) -> Runtime:
    """Engine, sessions, reference data, calendar and verifier for one service process.

    `metadata` is the service's own, holding its tables plus the chassis tables (`outbox`,
    `inbox`, `calendar_state`).
    """
    engine = make_engine(settings.database_url)
    calendar = WorkingCalendar.from_file(
        settings.calendar_file,
        office_start=settings.office_start,
        office_end=settings.office_end,
        tz=settings.timezone,
    )
    opds = OpdRegistry.from_file(settings.opd_file)
    rt = Runtime(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        outbox=metadata.tables["outbox"],
        inbox=metadata.tables["inbox"],
        opds=opds,
        calendar=calendar,
        calendar_sync=CalendarSync(
            engine, metadata.tables["calendar_state"], calendar, settings.calendar_file, opds=opds
        ),
        verifier=JwtVerifier(settings),
        **({"clock": clock or _offset_clock(settings.clock_offset_seconds)}
           if clock is not None or settings.clock_offset_seconds else {}),
    )
    warn_without_next_years_joint_leave(calendar, rt.clock())
    return rt
