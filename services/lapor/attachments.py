"""Files of a report and of its messages: photos and PDFs, in the chassis file store.

Up to `LAPOR_MAX_ATTACHMENTS` files per report (the reporter's evidence), as many per
message (an OPD's completion, a clarification) and as many staff files waiting for their
message (an OPD uploads first, then its completion names them by `attachment_ids`), each
at most `LAPOR_ATTACHMENT_MAX_MB`, of
their real type (JPEG, PNG, WebP or PDF: `services.common.files.inspect_upload`); images
are re-encoded without metadata, EXIF's GPS position included. Every file of a request is
checked before any is kept, so one bad file refuses the request and keeps nothing.

Who sees what:

- the regency's LAPOR! admins: every file, named as sent except an anonim reporter's
  (their name is hidden from everyone);
- the reporter (the report's access token): their own files and those of the messages
  addressed to them (not the staff's internal notes, nor staff files no message names yet);
- the liaison of an OPD with an ACTIVE disposition of the report (lead or supporting): every
  file, but a file the reporter of an anonim or rahasia report sent is named neutrally
  (`lampiran-<id>.<ext>`): a file name often carries a person's name;
- the public: nothing of the reporter. Only files staff attached to a message they marked
  public, on a report published as public or anonim (never rahasia).

Anyone else is answered 404, as if the report did not exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.citizen import CitizenAccess
from services.common.errors import Conflict, Invalid, NotFound
from services.common.files import (
    IMAGE_TYPES,
    PDF,
    FileMissing,
    FileStore,
    UploadRules,
    clean_filename,
    inspect_upload,
)
from services.lapor import domain
from services.lapor.models import Attachment, Disposition, Report, ReportMessage

ACCESS = CitizenAccess(case_noun="laporan", service="LAPOR!", staff_roles=domain.STAFF_ROLES)
ALLOWED_TYPES = IMAGE_TYPES | {PDF}
ADMIN, OPD, CITIZEN, PUBLIC = "admin", "opd", "citizen", "public"
# Staff messages the reporter is not shown.
INTERNAL_KINDS = frozenset({"note"})
STAFF_AUTHORS = frozenset({"admin", "opd"})
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", PDF: ".pdf"}

REPORT_NOT_FOUND = "Laporan tidak ditemukan."
ATTACHMENT_NOT_FOUND = "Lampiran tidak ditemukan."
MESSAGE_NOT_FOUND = "Pesan tidak ditemukan pada laporan ini."
NOT_YOUR_MESSAGE = "Lampiran hanya dapat dilekatkan pada pesan Anda sendiri."
REPORT_CLOSED = "Laporan sudah selesai atau diarsipkan; lampiran tidak dapat ditambahkan lagi."
NO_FILES = "Sertakan paling sedikit satu berkas."
FILES_INVALID = "Lampiran tidak valid."


def too_many(limit: int, existing: int) -> str:
    return (f"Paling banyak {limit} lampiran per laporan atau per pesan; "
            f"sudah ada {existing}.")


@dataclass(frozen=True)
class Viewer:
    kind: str  # admin, opd, citizen or public
    opd: str | None = None
    sub: str | None = None


def upload_rules(settings) -> UploadRules:
    return UploadRules(max_bytes=settings.attachment_max_bytes, allowed_types=ALLOWED_TYPES)


# -- what each viewer sees ---------------------------------------------------------------------


def neutral_filename(attachment: Attachment) -> str:
    return f"lampiran-{attachment.id}{_EXTENSIONS.get(attachment.content_type, '')}"


def visible_filename(attachment: Attachment, privacy: str, viewer: Viewer) -> str:
    """The name `viewer` is shown: an anonim reporter's file is named neutrally for everyone
    but the reporter, a rahasia reporter's for everyone but the reporter and the regency's
    admins (the only staff who may know who they are)."""
    if attachment.uploaded_by != CITIZEN or privacy == domain.PUBLIC or viewer.kind == CITIZEN:
        return attachment.filename
    if privacy == domain.RAHASIA and viewer.kind == ADMIN:
        return attachment.filename
    return neutral_filename(attachment)


def present(attachment: Attachment, privacy: str, viewer: Viewer) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "message_id": attachment.message_id,
        "filename": visible_filename(attachment, privacy, viewer),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_at": attachment.uploaded_at,
        "uploaded_by": attachment.uploaded_by,
    }


def _visible(session: Session, report: Report, viewer: Viewer):
    """The statement of the attachments of `report` that `viewer` may see."""
    statement = (select(Attachment).outerjoin(ReportMessage, Attachment.message_id == ReportMessage.id)
                 .where(Attachment.report_id == report.id).order_by(Attachment.id))
    if viewer.kind == CITIZEN:
        return statement.where(
            (Attachment.message_id.is_(None) & (Attachment.uploaded_by == CITIZEN))
            | ReportMessage.kind.not_in(INTERNAL_KINDS))
    if viewer.kind == PUBLIC:
        return statement.where(ReportMessage.public.is_(True),
                               ReportMessage.author_kind.in_(STAFF_AUTHORS),
                               Attachment.uploaded_by != CITIZEN)
    return statement


# -- who is asking -------------------------------------------------------------------------


def _report(session: Session, number: str, *, lock: bool = False) -> Report:
    statement = select(Report).where(Report.number == number)
    if lock:
        statement = statement.with_for_update()
    report = session.scalars(statement).one_or_none()
    if report is None:
        raise NotFound(REPORT_NOT_FOUND)
    return report


def has_active_disposition(session: Session, report_id: int, opd: str) -> bool:
    return session.scalars(select(Disposition.id).where(
        Disposition.report_id == report_id, Disposition.opd == opd,
        Disposition.active.is_(True)).limit(1)).first() is not None


def viewer_of(session: Session, report: Report, staff, token: str | None) -> Viewer:
    """The audience of a caller already authenticated by `ACCESS.caller()`; 404 for a liaison
    without an active disposition of the report, 403 for a wrong token."""
    if staff is not None:
        if domain.is_regency_staff(staff):
            return Viewer(ADMIN, sub=staff.sub)
        if staff.opd and has_active_disposition(session, report.id, staff.opd):
            return Viewer(OPD, opd=staff.opd, sub=staff.sub)
        raise NotFound(REPORT_NOT_FOUND)
    ACCESS.check(token, report.access_token_hash)
    return Viewer(CITIZEN)


def _published(report: Report) -> bool:
    return report.privacy in domain.PUBLISHED_PRIVACIES


# -- storing ---------------------------------------------------------------------------------


def _check_target(session: Session, report: Report, viewer: Viewer, message_id: int | None) -> None:
    if not domain.is_open(report.status):
        raise Conflict(REPORT_CLOSED)
    if message_id is None:
        return
    message = session.get(ReportMessage, message_id)
    if message is None or message.report_id != report.id:
        raise Invalid(MESSAGE_NOT_FOUND, {"message_id": [MESSAGE_NOT_FOUND]})
    own = {
        CITIZEN: message.author_kind == "citizen",
        OPD: message.author_kind == "opd" and message.author_opd == viewer.opd,
        ADMIN: True,
    }[viewer.kind]
    if not own:
        raise Invalid(NOT_YOUR_MESSAGE, {"message_id": [NOT_YOUR_MESSAGE]})


def add_attachments(session: Session, store: FileStore, settings, report: Report,
                    files: list[tuple[str, bytes]], *, uploaded_by: str, at: datetime,
                    message_id: int | None = None, field: str = "files") -> list[Attachment]:
    """Check every file, keep them, and add their rows to the caller's unit of work.

    For intake and follow-up code too (a report's files given with its submission, a
    completion's with its message): `Invalid` names `<field>.<index>` of each bad file.
    """
    if not files:
        raise Invalid(NO_FILES, {field: [NO_FILES]})
    limit = settings.max_attachments
    if message_id is not None:
        same_place = Attachment.message_id == message_id
    elif uploaded_by == CITIZEN:
        same_place = Attachment.message_id.is_(None) & (Attachment.uploaded_by == CITIZEN)
    else:
        same_place = Attachment.message_id.is_(None) & (Attachment.uploaded_by != CITIZEN)
    existing = session.scalar(select(func.count(Attachment.id)).where(
        Attachment.report_id == report.id, same_place)) or 0
    if existing + len(files) > limit:
        raise Invalid(too_many(limit, existing), {field: [too_many(limit, existing)]})
    rules = upload_rules(settings)
    checked, errors = [], {}
    for index, (filename, data) in enumerate(files):
        try:
            clean, content_type = inspect_upload(data, filename, rules, field=f"{field}.{index}")
        except Invalid as invalid:
            errors.update(invalid.errors or {f"{field}.{index}": [invalid.message]})
            continue
        checked.append((clean_filename(filename, content_type), clean, content_type))
    if errors:
        raise Invalid(FILES_INVALID, errors)
    rows = []
    for filename, clean, content_type in checked:
        # Content-addressed: a commit that fails later leaves bytes no row names, never a
        # row without its bytes.
        key = store.put(clean, content_type)
        rows.append(Attachment(
            report_id=report.id, message_id=message_id, key=key, size=len(clean),
            content_type=content_type, sha256=hashlib.sha256(clean).hexdigest(),
            filename=filename, uploaded_at=at, uploaded_by=uploaded_by,
        ))
    session.add_all(rows)
    session.flush()
    return rows


# -- use cases ---------------------------------------------------------------------------------


def upload(rt, staff, token: str | None, number: str, message_id: int | None,
           files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    with rt.uow() as uow:
        # Locked, so two uploads at once cannot both pass the count.
        report = _report(uow.session, number, lock=True)
        viewer = viewer_of(uow.session, report, staff, token)
        _check_target(uow.session, report, viewer, message_id)
        rows = add_attachments(uow.session, rt.files, rt.settings, report, files,
                               uploaded_by=viewer.kind, at=rt.clock(), message_id=message_id)
        views = [present(row, report.privacy, viewer) for row in rows]
        uow.commit()
        return views


def list_attachments(rt, staff, token: str | None, number: str) -> list[dict[str, Any]]:
    with rt.uow() as uow:
        report = _report(uow.session, number)
        viewer = viewer_of(uow.session, report, staff, token)
        rows = uow.session.scalars(_visible(uow.session, report, viewer))
        return [present(row, report.privacy, viewer) for row in rows]


def _file(rt, session: Session, report: Report, viewer: Viewer, attachment_id: int):
    row = session.scalars(_visible(session, report, viewer).where(Attachment.id == attachment_id)).first()
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    try:
        content = rt.files.get(row.key)
    except FileMissing:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return visible_filename(row, report.privacy, viewer), row.content_type, content


def download(rt, staff, token: str | None, number: str, attachment_id: int):
    """(filename as the caller may see it, content type, bytes)."""
    with rt.uow() as uow:
        report = _report(uow.session, number)
        viewer = viewer_of(uow.session, report, staff, token)
        return _file(rt, uow.session, report, viewer, attachment_id)


def public_list(rt, number: str) -> list[dict[str, Any]]:
    with rt.uow() as uow:
        report = _report(uow.session, number)
        if not _published(report):
            raise NotFound(REPORT_NOT_FOUND)
        viewer = Viewer(PUBLIC)
        return [present(row, report.privacy, viewer)
                for row in uow.session.scalars(_visible(uow.session, report, viewer))]


def public_download(rt, number: str, attachment_id: int):
    with rt.uow() as uow:
        report = _report(uow.session, number)
        if not _published(report):
            raise NotFound(REPORT_NOT_FOUND)
        return _file(rt, uow.session, report, Viewer(PUBLIC), attachment_id)
