"""Report rows written straight to a LAPOR! test database, for tests of what comes after
intake (duplicates, files) that need reports in a given state, place or privacy."""

from __future__ import annotations

from itertools import count

from services.common.citizen import issue_token
from services.lapor.models import Disposition, Report, Reporter, ReportMessage
from tests.lapor.support import T0

_SEQUENCE = count(900001)
TITLE = "Jalan berlubang di depan Pasar Kapuas"
DESCRIPTION = "Lubang besar di badan jalan depan pasar sudah sebulan tidak diperbaiki, berbahaya bagi motor."


def add_report(rt, *, email=None, **fields) -> Report:
    """A report row as intake would leave it; its access token is `report.token`."""
    sequence = next(_SEQUENCE)
    secret, token_hash = issue_token()
    values = dict(
        number=f"LPR-2026-{sequence}", year=2026, sequence=sequence, channel="web",
        classification="pengaduan", category="infrastruktur", title=TITLE,
        description=DESCRIPTION, privacy="public", status="submitted", submitted_at=T0,
        access_token_hash=token_hash, created_at=T0, updated_at=T0,
    )
    values.update(fields)
    with rt.uow() as uow:
        report = Report(**values)
        uow.session.add(report)
        uow.session.flush()
        uow.session.add(Reporter(report_id=report.id, name="Warga", email=email))
        uow.commit()
    report.token = secret
    return report


def add_disposition(rt, report, opd, *, role="lead", active=True) -> None:
    with rt.uow() as uow:
        uow.session.add(Disposition(report_id=report.id, opd=opd, role=role, dispatched_at=T0,
                                    dispatched_by="admin", active=active))
        uow.commit()


def add_message(rt, report, *, kind="follow_up", author_kind="opd", author_opd=None,
                public=False, body="Tindak lanjut: tim sudah meninjau lokasi.") -> int:
    with rt.uow() as uow:
        message = ReportMessage(report_id=report.id, kind=kind, author_kind=author_kind,
                                author_opd=author_opd, body=body, at=T0, public=public)
        uow.session.add(message)
        uow.commit()
        return message.id
