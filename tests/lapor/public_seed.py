"""Reports written straight into a test database, for the public pages' tests: states,
dates and messages no API walk could reach quickly, each with a reporter whose identity
must never be shown."""

from __future__ import annotations

from datetime import UTC, datetime

from services.lapor.models import HistoryEntry, Report, Reporter, ReportMessage

NAME, PHONE, EMAIL = "Rahmat Hidayat", "0813-4444-9876", "rahmat.hidayat@example.org"
# Texts that may never reach a public answer: the reporter, staff notes, the reporter's words.
SECRETS = ("Rahmat Hidayat", "4444-9876", "44449876", "rahmat.hidayat", "CATATAN-INTERNAL", "KATA-PELAPOR",
           "TANGGAPAN-TERTUTUP")
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def seed_report(rt, sequence: int, *, history: tuple = (), messages: tuple = (), **fields) -> str:
    """A report numbered LPR-2026-9<sequence>, its reporter and its history; its number."""
    number = f"LPR-2026-9{sequence:05d}"
    values = {
        "channel": "web", "classification": "pengaduan", "category": "infrastruktur",
        "title": f"Laporan {number}", "description": "Lampu jalan padam sejak seminggu.",
        "privacy": "public", "status": "submitted", "submitted_at": T0,
        **fields,
    }
    with rt.uow() as uow:
        report = Report(number=number, year=2026, sequence=900000 + sequence, access_token_hash="0" * 64,
                        created_at=values["submitted_at"], updated_at=values["submitted_at"], **values)
        uow.session.add(report)
        uow.session.flush()
        uow.session.add(Reporter(report_id=report.id, name=NAME, phone=PHONE, email=EMAIL))
        for action, at, extra in history:
            uow.session.add(HistoryEntry(report_id=report.id, action=action, at=at, actor_kind="admin",
                                         note="CATATAN-INTERNAL", **extra))
        for kind, author, body, public, at in messages:
            uow.session.add(ReportMessage(report_id=report.id, kind=kind, author_kind=author,
                                          author_opd="dinkes" if author == "opd" else None,
                                          body=body, public=public, at=at))
        uow.commit()
    return number
