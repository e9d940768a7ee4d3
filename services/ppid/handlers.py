"""One function per use case: open a unit of work, apply the rule, record events, commit.

Every function takes the runtime, who is acting (a staff `Principal`, or a citizen's access
token) and `now` (the caller's clock, so tests can stand on any date). They return plain
dictionaries built by `presenters` and raise the chassis' `DomainError`s.

Events are built by `services.ppid.events` (one builder per entity, the clock instructions
saying who must act); a handler loads, applies the domain rule, publishes, commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from services.common import sla
from services.common.auth import Principal
from services.common.citizen import (
    CitizenAccess,
    LostToken,
    hash_stored_in,
    issue_token,
    reissue_token,
)
from services.common.concurrency import require_match
from services.common.errors import Forbidden, Invalid, NotFound
from services.common.events import Event
from services.common.listing import Page, fetch_page
from services.common.mailer import MailContent
from services.common.numbering import ChildRow
from services.common.runtime import Runtime
from services.ppid import applicant_documents, citizen_mail, domain, privacy
from services.ppid import events as ev
from services.ppid.models import (
    NUMBERS,
    OBJECTION_SEARCH,
    REQUEST_SEARCH,
    Applicant,
    ApplicantDocument,
    Dispute,
    Notice,
    NoticeAttachment,
    Objection,
    PersonalDataAccess,
    Request,
    RequestHistory,
    UtcDateTime,
)
from services.ppid.presenters import CITIZEN, STAFF, Presenter, etag
from services.ppid.privacy import record_access
from services.ppid.submission_store import store_submission


@dataclass(frozen=True)
class Upload:
    """A document to release with a notice, decoded from the request body."""

    filename: str
    content_type: str
    content: bytes


def _presenter(rt: Runtime) -> Presenter:
    return Presenter(rt.calendar, rt.opds)


def _events(rt: Runtime) -> ev.EventContext:
    return ev.EventContext(utama_opd=rt.settings.utama_opd)


def _local_year(rt: Runtime, at: datetime) -> int:
    return at.astimezone(rt.calendar.tz).year


# -- numbering -------------------------------------------------------------------------------


def next_sequence(session: Session, kind: str, year: int) -> int:
    """The next number of `kind` in `year`, gap-free (`services.common.numbering`)."""
    return NUMBERS.next(session, kind, year).sequence


# -- loading and checks ----------------------------------------------------------------------


def _load_request(session: Session, number: str, *, lock: bool = False, full: bool = False) -> Request:
    if domain.parse_number(number) is None or not number.startswith(domain.REQUEST_PREFIX):
        raise NotFound("Permohonan tidak ditemukan.")
    statement = select(Request).where(Request.number == number)
    if full:
        statement = statement.options(
            selectinload(Request.history),
            selectinload(Request.notice),
            selectinload(Request.objections),
        )
    if lock:
        statement = statement.with_for_update()
    request = session.scalars(statement).one_or_none()
    if request is None:
        raise NotFound("Permohonan tidak ditemukan.")
    return request


def _load_notice(session: Session, request: Request) -> Notice | None:
    """The notice in force (one the Atasan PPID annulled on objection is superseded)."""
    return session.scalars(
        select(Notice)
        .where(Notice.request_id == request.id, Notice.superseded_at.is_(None))
        .options(selectinload(Notice.attachments))
    ).one_or_none()


def _load_objection(session: Session, number: str, *, lock: bool = False) -> Objection:
    if domain.parse_number(number) is None or not number.startswith(domain.OBJECTION_PREFIX):
        raise NotFound("Keberatan tidak ditemukan.")
    statement = (
        select(Objection)
        .where(Objection.number == number)
        .options(selectinload(Objection.dispute), selectinload(Objection.request))
    )
    if lock:
        statement = statement.with_for_update(of=Objection)
    objection = session.scalars(statement).one_or_none()
    if objection is None:
        raise NotFound("Keberatan tidak ditemukan.")
    return objection


ACCESS = CitizenAccess(case_noun="permohonan", service="PPID", staff_roles=tuple(domain.STAFF_ROLES))


def _check_token(request: Request, token: str | None) -> None:
    ACCESS.check(token, request.access_token_hash)


def _check_version(number: str, version: int, if_match: str | None) -> None:
    """Refuse an update made against another version of the record than the current one."""
    require_match(if_match, etag(number, version))


def _history(
    session: Session,
    request: Request,
    action: str,
    at: datetime,
    *,
    staff: Principal | None = None,
    opd: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        RequestHistory(
            request_id=request.id,
            occurred_at=at,
            action=action,
            actor_kind="staff" if staff is not None else "applicant",
            actor_sub=staff.sub if staff is not None else None,
            opd=opd,
            note=note,
        )
    )


def _require_opd(rt: Runtime, code: str) -> None:
    if code not in rt.opds:
        raise Invalid("Kode OPD tidak dikenal.", {"opd": [f"Kode OPD tidak dikenal: {code}."]})


# -- submission ------------------------------------------------------------------------------


def submit_request(
    rt: Runtime,
    data: dict[str, Any],
    *,
    now: datetime,
    channel: str = "web",
    submitted_at: datetime | None = None,
    staff: Principal | None = None,
) -> dict[str, Any]:
    """Register a request: its number, access token, day zero and due date, at once.

    The submission is the hot path of the service (every citizen's form); how its rows are
    written is `submission_store`'s business.
    """
    submitted_at = submitted_at or now
    received_at, due_at, explanation = domain.explained_deadlines(rt.calendar, submitted_at)
    requested_opd = data.get("requested_opd")
    assign_named = rt.settings.assign_named_opd
    opd = requested_opd if (requested_opd and assign_named) else None
    status = domain.ASSIGNED if opd else domain.RECEIVED
    secret, token_hash = issue_token()
    year = _local_year(rt, now)
    attorney = data.get("power_of_attorney") or {}
    phone = data.get("phone")

    request_row = {
        "year": year,
        "channel": channel,
        "status": status,
        "submitted_at": submitted_at,
        "received_at": received_at,
        "base_due_at": due_at,
        "due_at": due_at,
        "information": data["information"],
        "purpose": data["purpose"],
        "obtain_method": data["obtain_method"],
        "delivery_method": data["delivery_method"],
        "requested_opd": requested_opd,
        "opd": opd,
        "assigned_at": now if opd else None,
        "access_token_hash": token_hash,
        "registered_by": staff.sub if staff is not None else None,
        "registered_by_name": staff.name if staff is not None else None,
        "registered_by_nip": staff.nip if staff is not None else None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    applicant_row = {
        "identity_type": data["identity_type"],
        "identity_number": data["identity_number"],
        "name": data["name"],
        "address": data["address"],
        "phone": phone,
        "email": data.get("email"),
        "occupation": data.get("occupation"),
        "attorney_name": attorney.get("attorney_name"),
        "attorney_letter": attorney.get("letter"),
    }
    history_row = None
    if staff is not None:
        history_row = {
            "occurred_at": now,
            "action": "registered",
            "actor_kind": "staff",
            "actor_sub": staff.sub,
            "opd": opd,
            "note": f"Diterima melalui: {domain.CHANNELS[channel]}",
        }

    # Without its number, which the store takes and writes into the event (numbering.write).
    event = ev.request_event(
        _events(rt), ev.NewCase("", status, opd), "submitted", at=now,
        channel=channel, submitted_at=submitted_at, received_at=received_at, due_at=due_at,
        requested_opd=requested_opd,
        # A walk-in entered later began at its receipt.
        clocks=(ev.response_clock(_events(rt), opd, due_at, started_at=received_at),),
    )
    # The receipt is written with the request, so it exists exactly when the request does.
    receipt = citizen_mail.receipt_child(rt, applicant_row["email"], secret, now)
    number = store_submission(
        rt,
        request_row=request_row,
        applicant_row=applicant_row,
        history_row=history_row,
        event=event,
        extra=[*_document_rows(data.get("documents") or (), now), *([receipt] if receipt is not None else ())],
    )
    presenter = _presenter(rt)
    return {
        "number": number,
        "access_token": secret,
        "status": status,
        "status_label": domain.REQUEST_STATUSES[status],
        "submitted_at": presenter.local(submitted_at),
        "received_at": presenter.local(received_at),
        "due_at": presenter.local(due_at),
        "due_explanation": explanation,
        "opd": opd,
        "opd_name": presenter.opd_name(opd),
        "message": (
            f"Permohonan Anda tercatat dengan nomor {number}. Simpan token akses ini untuk "
            "memantau permohonan; token hanya ditampilkan sekali."
        ),
    }


def register_offline_request(
    rt: Runtime, staff: Principal, data: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A walk-in, letter, phone, e-mail or fax request, recorded by staff with its real
    receipt time. A Pelaksana's own desk is the OPD it goes to."""
    if not staff.has_role(domain.UTAMA, domain.PELAKSANA):
        raise Forbidden("Hanya PPID Utama atau PPID Pelaksana yang dapat mencatat permohonan.")
    if staff.has_role(domain.PELAKSANA) and not staff.has_role(domain.UTAMA):
        if staff.opd is None:
            raise Forbidden("Token PPID Pelaksana tidak menyebut OPD.")
        data = {**data, "requested_opd": staff.opd}
    submitted_at = data["submitted_at"]
    errors = domain.offline_receipt_errors(submitted_at, now, rt.settings.offline_max_age_days)
    if errors:
        raise Invalid("Waktu diterima tidak dapat diterima.", errors)
    return submit_request(
        rt, data, now=now, channel=data["channel"], submitted_at=submitted_at, staff=staff
    )


# -- a lost access token ---------------------------------------------------------------------


def reissue_access_token(rt: Runtime, number: str, email: str) -> bool:
    """Mail a new access token to the applicant if `email` is the address they gave; the old
    token stops working. The caller must not reveal the result (`services.common.citizen`)."""
    return reissue_token(rt, number, email, _LOST_TOKEN)


def _contact_email(session: Session, number: str) -> str | None:
    if domain.parse_number(number) is None or not number.startswith(domain.REQUEST_PREFIX):
        return None
    return session.scalar(
        select(Applicant.email).join(Request, Request.id == Applicant.request_id).where(Request.number == number)
    )


def _token_mail(number: str, secret: str) -> MailContent:
    return MailContent(
        subject=f"Token akses baru permohonan informasi {number}",
        text=(
            "Yth. Pemohon informasi publik,\n\n"
            f"Kami menerima permintaan token akses baru untuk permohonan nomor {number}.\n\n"
            f"Token akses baru Anda:\n\n    {secret}\n\n"
            "Untuk memantau permohonan, gunakan nomor permohonan dan token ini di layanan PPID "
            "(aplikasi mengirim token pada header X-Access-Token). Token yang lama sudah tidak "
            "berlaku. Simpan token ini dan jangan berikan kepada siapa pun: petugas PPID tidak "
            "pernah memintanya.\n\n"
            "Jika Anda tidak meminta token baru, seseorang yang mengetahui nomor permohonan dan "
            "alamat email Anda telah memintanya. Permohonan Anda tetap aman: token lama tidak "
            "berlaku lagi dan token baru hanya dikirim ke alamat ini. Gunakan token di atas, dan "
            "hubungi PPID bila hal ini terulang.\n\n"
            "Email ini dikirim otomatis; mohon tidak membalasnya.\n"
        ),
    )


_LOST_TOKEN = LostToken(contact_email=_contact_email, store_hash=hash_stored_in(Request.__table__), mail=_token_mail)


# -- reading ---------------------------------------------------------------------------------


def get_request(
    rt: Runtime, number: str, *, now: datetime, staff: Principal | None = None, token: str | None = None
) -> tuple[dict[str, Any], str]:
    """The case for an officer who may see it, or for the holder of its access token."""
    with rt.uow() as uow:
        request = _load_request(uow.session, number, full=True)
        if staff is not None:
            domain.require_view(staff, request.opd)
            audience = STAFF
        else:
            _check_token(request, token)
            audience = CITIZEN
        view = _presenter(rt).request(request, now, audience, staff=staff)
        return view, etag(request.number, request.version)


def list_requests(
    rt: Runtime, staff: Principal, filters: dict[str, Any], page: Page, *, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the requests this officer may see, newest first, total); no personal
    data. `filters["q"]` searches the number, the information asked for and the OPD."""
    scope = domain.scope_of(staff).narrowed(filters.get("opd") or None)
    statement = scope.restrict(select(Request).order_by(Request.id.desc()), Request.opd)
    statement = REQUEST_SEARCH.apply(statement, filters.get("q"))
    if filters.get("unassigned"):
        statement = statement.where(Request.opd.is_(None))
    for name in ("status", "channel", "year", "outcome"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Request, name) == filters[name])
    tz = rt.calendar.tz
    if filters.get("received_from"):
        start = datetime.combine(filters["received_from"], time(0), tzinfo=tz)
        statement = statement.where(Request.received_at >= start)
    if filters.get("received_to"):
        end = datetime.combine(filters["received_to"] + timedelta(days=1), time(0), tzinfo=tz)
        statement = statement.where(Request.received_at < end)
    if filters.get("late") is not None:
        # The same rule as domain.is_late: done (or still open now) after the due time, or
        # late already when an objection returned it to the PPID.
        done = func.coalesce(Request.answered_at, Request.withdrawn_at, literal(now, UtcDateTime()))
        late = or_(Request.late_before_reopen.is_(True), done > Request.due_at)
        statement = statement.where(late if filters["late"] else ~late)
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, statement, page)
        presenter = _presenter(rt)
        return [presenter.request_summary(r, now) for r in rows], total


def get_applicant(
    rt: Runtime,
    staff: Principal,
    number: str,
    *,
    now: datetime,
    endpoint: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """The applicant's personal data, for the officers who need it; the read is recorded."""
    with rt.uow() as uow:
        request = _load_request(uow.session, number)
        if not domain.may_see_personal_data(staff, request.opd):
            raise Forbidden("Anda tidak berwenang melihat data pribadi pemohon ini.")
        applicant = uow.session.get(Applicant, request.id)
        record_access(
            uow.session, staff, [request.id], purpose="view_applicant", endpoint=endpoint, at=now, reason=reason
        )
        documents = _applicant_documents(uow.session, request)
        uow.commit()
        return {
            "documents": documents,
            "request_number": request.number,
            "identity_type": applicant.identity_type,
            "identity_number": applicant.identity_number,
            "name": applicant.name,
            "address": applicant.address,
            "phone": applicant.phone,
            "email": applicant.email,
            "occupation": applicant.occupation,
            "power_of_attorney": (
                {"attorney_name": applicant.attorney_name, "letter": applicant.attorney_letter}
                if applicant.attorney_name
                else None
            ),
        }


def personal_data_accesses(rt: Runtime, number: str, *, token: str | None) -> list[dict[str, Any]]:
    """The applicant's own record of who read their personal data (UU 27/2022)."""
    with rt.uow() as uow:
        request = _load_request(uow.session, number)
        _check_token(request, token)
        rows = uow.session.scalars(
            select(PersonalDataAccess)
            .where(PersonalDataAccess.request_id == request.id)
            .order_by(PersonalDataAccess.id)
        )
        return [privacy.describe(row, rt.opds, rt.calendar.tz) for row in rows]


# -- routing ---------------------------------------------------------------------------------


def assign(
    rt: Runtime, staff: Principal, number: str, opd: str, *, if_match: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """The PPID Utama hands an unassigned request to the OPD holding the information."""
    _require_opd(rt, opd)
    with rt.uow() as uow:
        request = _load_request(uow.session, number, lock=True, full=True)
        domain.require_caller(domain.ASSIGN, request, staff)
        _check_version(request.number, request.version, if_match)
        domain.require_action(domain.ASSIGN, request, staff, now=now, cal=rt.calendar)
        domain.assign(request, opd, now)
        request.updated_at = now
        _history(uow.session, request, "assigned", now, staff=staff, opd=opd)
        uow.publish(_routing_event(rt, request, "assigned", None, now))
        uow.commit()
        return _fresh_view(rt, uow.session, request, now, staff)


def _routing_event(
    rt: Runtime, request: Request, action: str, previous: str | None, now: datetime
) -> Event:
    """The request now sits with `request.opd`: its response clock moves there too.

    The event reaches the OPD it left as well (`none` for an unassigned request).
    """
    ctx = _events(rt)
    return ev.request_event(
        ctx, request, action, at=now, from_opd=previous,
        previous_opd=previous, assigned_at=now, due_at=request.due_at,
        clocks=(ev.response_clock_moved(
            ctx, request.opd, request.due_at, extended=request.extended_at is not None
        ),),
    )


def reassign(
    rt: Runtime,
    staff: Principal,
    number: str,
    opd: str,
    reason: str,
    *,
    if_match: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """Move a request to the OPD that really holds the information, with the reason."""
    _require_opd(rt, opd)
    with rt.uow() as uow:
        request = _load_request(uow.session, number, lock=True, full=True)
        domain.require_caller(domain.REASSIGN, request, staff)
        _check_version(request.number, request.version, if_match)
        domain.require_action(domain.REASSIGN, request, staff, now=now, cal=rt.calendar)
        previous = domain.reassign(request, opd, now)
        request.updated_at = now
        _history(uow.session, request, "reassigned", now, staff=staff, opd=opd, note=reason)
        uow.publish(_routing_event(rt, request, "reassigned", previous, now))
        uow.commit()
        return _fresh_view(rt, uow.session, request, now, staff)


def extend(
    rt: Runtime,
    staff: Principal,
    number: str,
    ground: str,
    reason: str,
    *,
    if_match: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """The one extension of 7 working days, with its written reason (Pasal 22 ayat 8)."""
    with rt.uow() as uow:
        request = _load_request(uow.session, number, lock=True, full=True)
        domain.require_caller(domain.EXTEND, request, staff)
        _check_version(request.number, request.version, if_match)
        domain.require_action(domain.EXTEND, request, staff, now=now, cal=rt.calendar)
        previous_due = domain.extend(request, rt.calendar, ground, now)
        request.extension_reason = reason
        request.updated_at = now
        _history(
            uow.session, request, "extended", now, staff=staff, opd=request.opd,
            note=f"{domain.EXTENSION_GROUNDS[ground]}. {reason}",
        )
        ctx = _events(rt)
        uow.publish(ev.request_event(
            ctx, request, "extended", at=now,
            extension_ground=ground, extended_at=now, previous_due_at=previous_due, due_at=request.due_at,
            clocks=(ev.response_clock_moved(ctx, request.opd, request.due_at, extended=True),),
        ))
        citizen_mail.queue_for_request(uow.session, rt, citizen_mail.EXTENSION, request.id, now)
        uow.commit()
        return _fresh_view(rt, uow.session, request, now, staff)


def _fresh_view(
    rt: Runtime, session: Session, request: Request, now: datetime, staff: Principal
) -> tuple[dict, str]:
    """The case after a change, re-read so history and notice are current."""
    session.expire(request)
    request = _load_request(session, request.number, full=True)
    view = _presenter(rt).request(request, now, STAFF, staff=staff)
    return view, etag(request.number, request.version)


# -- the written notice ----------------------------------------------------------------------


def issue_notice(
    rt: Runtime,
    staff: Principal,
    number: str,
    data: dict[str, Any],
    uploads: Sequence[Upload],
    *,
    if_match: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Answer a request with its written notice; the request is closed by it."""
    tz = rt.calendar.tz
    fields = domain.check_notice(data, today=now.astimezone(tz).date(), attachments=len(uploads))
    _check_uploads(rt, uploads)
    issued_at = data.get("issued_at") or now
    if errors := domain.not_in_future("issued_at", issued_at, now):
        raise Invalid("Tanggal pemberitahuan tidak boleh di masa depan.", errors)
    with rt.uow() as uow:
        session = uow.session
        request = _load_request(session, number, lock=True)
        domain.require_caller(domain.ANSWER, request, staff)
        _check_version(request.number, request.version, if_match)
        domain.require_action(domain.ANSWER, request, staff, now=now, cal=rt.calendar)
        domain.answer(request, issued_at)
        late = issued_at > request.due_at
        days_taken = rt.calendar.days_taken(request.submitted_at, issued_at)
        # The letter comes from the PPID that wrote it: the OPD's Pelaksana, or the PPID Utama.
        from_opd = staff.has_role(domain.PELAKSANA) and staff.opd == request.opd
        issuing_opd = request.opd if from_opd else None
        notice = Notice(
            request_id=request.id,
            issued_at=issued_at,
            issued_by=staff.sub,
            issued_by_name=staff.name,
            issued_by_nip=staff.nip,
            issuing_opd=issuing_opd,
            letter_number=data.get("letter_number"),
            remarks=data.get("remarks"),
            late=late,
            days_taken=days_taken,
            **fields,
        )
        session.add(notice)
        session.flush()
        for upload in uploads:
            session.add(
                NoticeAttachment(
                    notice_id=notice.id,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    size=len(upload.content),
                    sha256=hashlib.sha256(upload.content).hexdigest(),
                    content=upload.content,
                    created_at=now,
                )
            )
        request.outcome = fields["outcome"]
        request.updated_at = now
        _history(
            session, request, "answered", now, staff=staff, opd=request.opd,
            note=domain.OUTCOMES[fields["outcome"]],
        )
        uow.publish(ev.request_event(
            _events(rt), request, "answered", at=now,
            outcome=fields["outcome"], exemption_clause=fields["exemption_clause"], issued_at=issued_at,
            due_at=request.due_at, late=late, days_taken=days_taken, fee_amount=fields["fee_amount"],
            attachments=len(uploads),
            clocks=(sla.stop(ev.RESPONSE_CLOCK),),
        ))
        citizen_mail.queue_for_request(session, rt, citizen_mail.NOTICE, request.id, now, case_id=notice.id)
        uow.commit()
        session.expire_all()
        request = _load_request(session, number)
        return _presenter(rt).notice(request, _load_notice(session, request))


def _check_uploads(rt: Runtime, uploads: Sequence[Upload]) -> None:
    errors = domain.attachment_errors(
        [(u.filename, u.content_type, u.content) for u in uploads],
        max_count=rt.settings.attachment_max_count,
        max_bytes=rt.settings.attachment_max_bytes,
    )
    if errors:
        raise Invalid("Lampiran tidak dapat diterima.", errors)


def get_notice(
    rt: Runtime, number: str, *, staff: Principal | None = None, token: str | None = None
) -> dict[str, Any]:
    with rt.uow() as uow:
        request = _load_request(uow.session, number)
        _check_reader(request, staff, token)
        notice = _load_notice(uow.session, request)
        if notice is None:
            raise NotFound("Permohonan ini belum memiliki pemberitahuan tertulis.")
        return _presenter(rt).notice(request, notice)


def notice_document(
    rt: Runtime,
    number: str,
    *,
    now: datetime,
    endpoint: str,
    staff: Principal | None = None,
    token: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Everything the printed notice shows, including the applicant's name and address.

    A staff print is a read of personal data and is recorded; the applicant's own is not.
    """
    with rt.uow() as uow:
        session = uow.session
        request = _load_request(session, number)
        _check_reader(request, staff, token)
        notice = _load_notice(session, request)
        if notice is None:
            raise NotFound("Permohonan ini belum memiliki pemberitahuan tertulis.")
        applicant = session.get(Applicant, request.id)
        if staff is not None:
            record_access(
                session, staff, [request.id], purpose="print_notice", endpoint=endpoint, at=now, reason=reason
            )
        presenter = _presenter(rt)
        document = {
            "notice": {**presenter.notice(request, notice), "issued_by_nip": notice.issued_by_nip},
            "request": presenter.request_summary(request, now),
            "request_extra": {
                "purpose": request.purpose,
                "obtain_method": request.obtain_method,
                "delivery_method": request.delivery_method,
            },
            "applicant": {
                "name": applicant.name,
                "address": applicant.address,
                "phone": applicant.phone,
                "email": applicant.email,
            },
            "regency": rt.opds.regency,
            "issuing_opd_name": presenter.opd_name(notice.issuing_opd),
            "objection_deadline": presenter.local(
                rt.calendar.due_at(notice.issued_at, domain.OBJECTION_WINDOW_DAYS)
            ),
        }
        uow.commit()
        return document


def get_attachment(
    rt: Runtime, number: str, attachment_id: int, *, staff: Principal | None = None, token: str | None = None
) -> tuple[str, str, bytes]:
    with rt.uow() as uow:
        request = _load_request(uow.session, number)
        _check_reader(request, staff, token)
        row = uow.session.scalars(
            select(NoticeAttachment)
            .join(Notice, Notice.id == NoticeAttachment.notice_id)
            .where(Notice.request_id == request.id, NoticeAttachment.id == attachment_id)
        ).one_or_none()
        if row is None:
            raise NotFound("Lampiran tidak ditemukan.")
        return row.filename, row.content_type, row.content


# -- documents the applicant attached (personal data) -----------------------------------------


def _document_rows(documents: Sequence[dict[str, Any]], now: datetime) -> list[ChildRow]:
    """The applicant's documents as rows written with the request (`store_submission`)."""
    return [
        ChildRow(
            ApplicantDocument.__table__,
            {
                "position": position,
                "kind": d["kind"],
                "filename": d["filename"],
                "content_type": d["content_type"],
                "size": len(d["content_base64"]),
                "sha256": hashlib.sha256(d["content_base64"]).hexdigest(),
                "content": d["content_base64"],
                "created_at": now,
            },
            "request_id",
        )
        for position, d in enumerate(documents)
    ]


def _applicant_documents(session: Session, request: Request) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            ApplicantDocument.id, ApplicantDocument.kind, ApplicantDocument.filename,
            ApplicantDocument.content_type, ApplicantDocument.size, ApplicantDocument.sha256,
        )
        .where(ApplicantDocument.request_id == request.id)
        .order_by(ApplicantDocument.position)
    )
    return [
        {
            "id": row.id, "kind": row.kind, "kind_label": applicant_documents.KINDS[row.kind],
            "filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256,
        }
        for row in rows
    ]


def _personal_data_reader(
    session: Session, request: Request, staff: Principal | None, token: str | None, *,
    purpose: str, endpoint: str, now: datetime, reason: str | None = None,
) -> None:
    """Staff who may see the applicant's personal data, the read recorded; or the
    applicant with the access token (their own data, not recorded)."""
    if staff is None:
        _check_token(request, token)
        return
    if not domain.may_see_personal_data(staff, request.opd):
        raise Forbidden("Anda tidak berwenang melihat data pribadi pemohon ini.")
    record_access(session, staff, [request.id], purpose=purpose, endpoint=endpoint, at=now, reason=reason)


def list_applicant_documents(
    rt: Runtime, number: str, *, now: datetime, endpoint: str,
    staff: Principal | None = None, token: str | None = None, reason: str | None = None,
) -> list[dict[str, Any]]:
    """What the applicant attached (names, types, sizes)."""
    with rt.uow() as uow:
        request = _load_request(uow.session, number)
        _personal_data_reader(
            uow.session, request, staff, token, purpose="view_applicant", endpoint=endpoint, now=now,
            reason=reason,
        )
        documents = _applicant_documents(uow.session, request)
        uow.commit()
        return documents


def get_applicant_document(
    rt: Runtime, number: str, document_id: int, *, now: datetime, endpoint: str,
    staff: Principal | None = None, token: str | None = None, reason: str | None = None,
) -> tuple[str, str, bytes]:
    """One attached document's (filename, content type, bytes); a staff read is recorded."""
    with rt.uow() as uow:
        request = _load_request(uow.session, number)
        _personal_data_reader(
            uow.session, request, staff, token, purpose="view_applicant_document", endpoint=endpoint,
            now=now, reason=reason,
        )
        row = uow.session.scalars(
            select(ApplicantDocument).where(
                ApplicantDocument.request_id == request.id, ApplicantDocument.id == document_id
            )
        ).one_or_none()
        if row is None:
            raise NotFound("Dokumen tidak ditemukan.")
        uow.commit()
        return row.filename, row.content_type, row.content


# -- the receipt and the objection decision, printed ----------------------------------------


def receipt_document(
    rt: Runtime, number: str, *, now: datetime, endpoint: str,
    staff: Principal | None = None, token: str | None = None, reason: str | None = None,
) -> dict[str, Any]:
    """What the receipt of a request shows (`notice.receipt_letter`); a staff print is a
    read of personal data and is recorded."""
    with rt.uow() as uow:
        session = uow.session
        request = _load_request(session, number)
        _check_reader(request, staff, token)
        applicant = session.get(Applicant, request.id)
        if staff is not None:
            record_access(
                session, staff, [request.id], purpose="print_receipt", endpoint=endpoint, at=now, reason=reason
            )
        presenter = _presenter(rt)
        document = {
            "request": {
                **presenter.request_summary(request, now),
                "purpose": request.purpose,
                "obtain_method": request.obtain_method,
                "delivery_method": request.delivery_method,
            },
            "applicant": _letter_applicant(applicant),
            "documents": [d["filename"] for d in _applicant_documents(session, request)],
            "opd_name": presenter.opd_name(request.opd),
            "registered_by_name": request.registered_by_name,
            "registered_by_nip": request.registered_by_nip,
            "regency": rt.opds.regency,
        }
        uow.commit()
        return document


def decision_document(
    rt: Runtime, number: str, *, now: datetime, endpoint: str,
    staff: Principal | None = None, token: str | None = None, reason: str | None = None,
) -> dict[str, Any]:
    """What the Atasan PPID's written answer to an objection shows
    (`notice.decision_letter`); a staff print is recorded."""
    with rt.uow() as uow:
        session = uow.session
        objection = _load_objection(session, number)
        request = objection.request
        if staff is not None:
            domain.require_view(staff, objection.opd)
        else:
            _check_token(request, token)
        if objection.decision is None:
            raise NotFound("Keberatan ini belum diputus Atasan PPID.")
        applicant = session.get(Applicant, request.id)
        if staff is not None:
            record_access(
                session, staff, [request.id], purpose="print_decision", endpoint=endpoint, at=now, reason=reason
            )
        presenter = _presenter(rt)
        document = {
            "objection": presenter.objection(objection, request, now, STAFF if staff else CITIZEN),
            "request": presenter.request_summary(request, now),
            "applicant": _letter_applicant(applicant),
            "decided_by_nip": objection.decided_by_nip,
            "regency": rt.opds.regency,
        }
        uow.commit()
        return document


def _letter_applicant(applicant: Applicant) -> dict[str, Any]:
    return {
        "name": applicant.name,
        "address": applicant.address,
        "phone": applicant.phone,
        "email": applicant.email,
        "occupation": applicant.occupation,
        "attorney_name": applicant.attorney_name,
    }


def _check_reader(request: Request, staff: Principal | None, token: str | None) -> None:
    if staff is not None:
        domain.require_view(staff, request.opd)
    else:
        _check_token(request, token)


# -- the applicant's own steps ---------------------------------------------------------------


def withdraw(
    rt: Runtime, number: str, reason: str | None, *, token: str | None, now: datetime
) -> dict[str, Any]:
    with rt.uow() as uow:
        request = _load_request(uow.session, number, lock=True, full=True)
        _check_token(request, token)
        domain.require_action(domain.WITHDRAW, request, None, now=now, cal=rt.calendar)
        domain.withdraw(request, now)
        request.withdrawal_reason = reason
        request.updated_at = now
        _history(uow.session, request, "withdrawn", now, opd=request.opd)
        uow.publish(ev.request_event(
            _events(rt), request, "withdrawn", at=now,
            withdrawn_at=now, due_at=request.due_at, clocks=(ev.response_withdrawn(),),
        ))
        uow.commit()
        session = uow.session
        session.expire(request)
        request = _load_request(session, number, full=True)
        return _presenter(rt).request(request, now, CITIZEN)


def file_objection(
    rt: Runtime,
    number: str,
    grounds: Sequence[str],
    statement: str,
    *,
    token: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The applicant's objection to the Atasan PPID (Pasal 35), with its own number."""
    grounds = sorted(set(grounds))
    year = _local_year(rt, now)
    with rt.uow() as uow:
        session = uow.session
        request = _load_request(session, number, lock=True)
        _check_token(request, token)
        notice = _load_notice(session, request)
        open_objection = session.scalar(
            select(func.count())
            .select_from(Objection)
            .where(Objection.request_id == request.id, Objection.status == domain.FILED)
        )
        arose, deadline = domain.check_objection(
            request, notice, grounds, cal=rt.calendar, now=now, has_open_objection=bool(open_objection)
        )
        received_at, response_due = domain.objection_response_due(rt.calendar, now)
        sequence = next_sequence(session, domain.OBJECTION_PREFIX, year)
        objection = Objection(
            number=domain.format_number(domain.OBJECTION_PREFIX, year, sequence),
            year=year,
            sequence=sequence,
            request_id=request.id,
            opd=request.opd,
            grounds=",".join(grounds),
            statement=statement,
            ground_arose_at=arose,
            filing_deadline=deadline,
            filed_at=now,
            received_at=received_at,
            response_due_at=response_due,
            status=domain.FILED,
            created_at=now,
            updated_at=now,
        )
        session.add(objection)
        _history(session, request, "objection_filed", now, opd=request.opd, note=objection.number)
        ctx = _events(rt)
        uow.publish(ev.objection_event(
            ctx, objection, "filed", request_number=request.number, at=now,
            grounds=grounds, filed_at=now, received_at=received_at, response_due_at=response_due,
            clocks=(ev.objection_clock(ctx, objection.opd, response_due),),
        ))
        session.flush()
        objection = _load_objection(session, objection.number)
        view = _presenter(rt).objection(objection, request, now, CITIZEN)
        uow.commit()
        return view


# -- objections: reading and deciding --------------------------------------------------------


def get_objection(
    rt: Runtime, number: str, *, now: datetime, staff: Principal | None = None, token: str | None = None
) -> tuple[dict[str, Any], str]:
    with rt.uow() as uow:
        objection = _load_objection(uow.session, number)
        request = objection.request
        if staff is not None:
            domain.require_view(staff, objection.opd)
            audience = STAFF
        else:
            _check_token(request, token)
            audience = CITIZEN
        view = _presenter(rt).objection(objection, request, now, audience)
        return view, etag(objection.number, objection.version)


def list_objections(
    rt: Runtime, staff: Principal, filters: dict[str, Any], page: Page, *, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    """(a page of the objections this officer may see, newest first, total). `q` finds an
    objection by its own number or OPD, or by what its request is searched by."""
    scope = domain.scope_of(staff).narrowed(filters.get("opd") or None)
    statement = scope.restrict(
        select(Objection)
        .options(selectinload(Objection.dispute), selectinload(Objection.request))
        .order_by(Objection.id.desc()),
        Objection.opd,
    )
    own, of_request = OBJECTION_SEARCH.where(filters.get("q")), REQUEST_SEARCH.where(filters.get("q"))
    if own is not None:
        statement = statement.where(
            or_(own, Objection.request_id.in_(select(Request.id).where(of_request)))
        )
    for name in ("status", "year", "decision"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Objection, name) == filters[name])
    with rt.uow() as uow:
        rows, total = fetch_page(uow.session, statement, page)
        presenter = _presenter(rt)
        return [presenter.objection(o, o.request, now, STAFF) for o in rows], total


def decide_objection(
    rt: Runtime,
    staff: Principal,
    number: str,
    decision: str,
    reasons: str,
    *,
    if_match: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """The Atasan PPID's written answer (Pasal 36); opens the 14-day dispute window.

    Granting the objection (`overturned`) annuls the PPID's notice and returns the request
    to the PPID with a new notice clock (`domain.reopen`)."""
    with rt.uow() as uow:
        session = uow.session
        objection = _load_objection(session, number, lock=True)
        domain.require_decider(staff, objection.opd)
        _check_version(objection.number, objection.version, if_match)
        domain.decide(objection, decision, cal=rt.calendar, now=now)
        objection.decision_reasons = reasons
        objection.decided_by = staff.sub
        objection.decided_by_name = staff.name
        objection.decided_by_nip = staff.nip
        objection.updated_at = now
        request = objection.request
        _history(
            session, request, "objection_decided", now, staff=staff, opd=objection.opd,
            note=f"{objection.number}: {domain.DECISIONS[decision]}",
        )
        ctx = _events(rt)
        uow.publish(ev.objection_event(
            ctx, objection, "decided", request_number=request.number, at=now,
            decision=decision, decided_at=now, response_due_at=objection.response_due_at,
            late=objection.decision_late, dispute_window_due_at=objection.dispute_window_due_at,
            clocks=(
                sla.stop(ev.OBJECTION_CLOCK),
                ev.dispute_window(ctx, objection.opd, objection.dispute_window_due_at),
            ),
        ))
        if decision == domain.OVERTURNED:
            _reopen(rt, session, uow, staff, request, objection, now)
        citizen_mail.queue_for_request(
            session, rt, citizen_mail.DECISION, request.id, now, case_id=objection.id
        )
        uow.commit()
        return _fresh_objection(rt, session, objection.number, now)


def _reopen(rt: Runtime, session: Session, uow: Any, staff: Principal, request: Request,
            objection: Objection, now: datetime) -> None:
    """The duty a granted objection creates: a new notice, on a new clock."""
    session.refresh(request, with_for_update=True)
    notice = _load_notice(session, request)
    annulled = notice.outcome if notice is not None else None
    previous_due = domain.reopen(
        request, notice, cal=rt.calendar, now=now, days=rt.settings.reopened_notice_days
    )
    if previous_due is None:
        return
    request.updated_at = now
    _history(session, request, "reopened", now, staff=staff, opd=request.opd, note=objection.number)
    ctx = _events(rt)
    uow.publish(ev.request_event(
        ctx, request, "reopened", at=now,
        objection_number=objection.number, annulled_outcome=annulled, reopened_at=now,
        previous_due_at=previous_due, due_at=request.due_at,
        clocks=(ev.response_clock(ctx, request.opd, request.due_at, extendable=False),),
    ))


def _fresh_objection(rt: Runtime, session: Session, number: str, now: datetime) -> tuple[dict, str]:
    session.expire_all()
    objection = _load_objection(session, number)
    view = _presenter(rt).objection(objection, objection.request, now, STAFF)
    return view, etag(objection.number, objection.version)


# -- disputes at the Komisi Informasi --------------------------------------------------------


def record_dispute(
    rt: Runtime,
    staff: Principal,
    number: str,
    filed_on: date,
    register_number: str | None,
    *,
    if_match: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """The PPID Utama records that the applicant took the objection to the Komisi Informasi."""
    if not staff.has_role(domain.UTAMA):
        raise Forbidden("Hanya PPID Utama yang mencatat sengketa informasi.")
    with rt.uow() as uow:
        session = uow.session
        objection = _load_objection(session, number, lock=True)
        _check_version(objection.number, objection.version, if_match)
        within = domain.check_dispute(
            objection, filed_on, cal=rt.calendar, now=now, has_dispute=objection.dispute is not None
        )
        request = objection.request
        session.add(
            Dispute(
                objection_id=objection.id,
                request_id=request.id,
                register_number=register_number,
                filed_on=filed_on,
                within_window=within,
                recorded_at=now,
                recorded_by=staff.sub,
                status=domain.FILED,
            )
        )
        # Touching the objection moves its ETag: the dispute is part of that record.
        objection.updated_at = now
        _history(session, request, "dispute_filed", now, staff=staff, opd=objection.opd, note=objection.number)
        uow.publish(ev.dispute_event(
            _events(rt), objection, "filed", request_number=request.number, status=domain.FILED, at=now,
            filed_on=filed_on, within_window=within, register_number=register_number,
            clocks=(sla.stop(ev.DISPUTE_CLOCK),),
        ))
        uow.commit()
        return _fresh_objection(rt, session, objection.number, now)


def resolve_dispute(
    rt: Runtime,
    staff: Principal,
    number: str,
    outcome: str,
    resolved_on: date,
    summary: str | None,
    *,
    if_match: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """The PPID Utama records how the Komisi Informasi settled the dispute."""
    if not staff.has_role(domain.UTAMA):
        raise Forbidden("Hanya PPID Utama yang mencatat putusan sengketa informasi.")
    with rt.uow() as uow:
        session = uow.session
        objection = _load_objection(session, number, lock=True)
        _check_version(objection.number, objection.version, if_match)
        dispute = objection.dispute
        if dispute is None:
            raise NotFound("Belum ada sengketa yang dicatat untuk keberatan ini.")
        domain.check_resolution(dispute, outcome, resolved_on, today=now.astimezone(rt.calendar.tz).date())
        dispute.status = domain.RESOLVED
        dispute.outcome = outcome
        dispute.resolved_on = resolved_on
        dispute.resolution_summary = summary
        dispute.resolution_recorded_by = staff.sub
        objection.updated_at = now
        request = objection.request
        _history(
            session, request, "dispute_resolved", now, staff=staff, opd=objection.opd,
            note=domain.DISPUTE_OUTCOMES[outcome],
        )
        uow.publish(ev.dispute_event(
            _events(rt), objection, "resolved", request_number=request.number, status=domain.RESOLVED,
            at=now, outcome=outcome, filed_on=dispute.filed_on, resolved_on=resolved_on,
        ))
        uow.commit()
        return _fresh_objection(rt, session, objection.number, now)
