"""Plain dictionaries of a request, notice or objection for one audience.

Built inside the unit of work that loaded the rows, so a view never touches a lazy
relationship after its session closed. Times are given in the regency's time zone. Nothing
here includes the applicant's personal data: that has its own audited read
(`handlers.get_applicant`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.auth import Principal
from services.common.calendar import WorkingCalendar
from services.common.concurrency import entity_tag
from services.common.opd import OpdRegistry
from services.ppid import domain
from services.ppid.models import Dispute, Notice, Objection, Request

STAFF, CITIZEN = "staff", "citizen"

HISTORY_LABELS = {
    "registered": "Permohonan dicatat petugas",
    "assigned": "Ditugaskan kepada PPID Pelaksana",
    "reassigned": "Dialihkan kepada PPID Pelaksana lain",
    "extended": "Waktu jawaban diperpanjang 7 hari kerja",
    "answered": "Pemberitahuan tertulis diterbitkan",
    "withdrawn": "Permohonan dicabut pemohon",
    "objection_filed": "Keberatan diajukan",
    "objection_decided": "Keberatan ditanggapi Atasan PPID",
    "reopened": "Keberatan diterima: dikembalikan kepada PPID untuk pemberitahuan tertulis baru",
    "dispute_filed": "Sengketa informasi diajukan ke Komisi Informasi",
    "dispute_resolved": "Sengketa informasi selesai",
}


def etag(number: str, version: int) -> str:
    """The entity tag of a shared record: changes with every update of the row."""
    return entity_tag(number, version)


class Presenter:
    def __init__(self, cal: WorkingCalendar, opds: OpdRegistry):
        self.cal = cal
        self.opds = opds

    def local(self, instant: datetime | None) -> datetime | None:
        return instant.astimezone(self.cal.tz) if instant is not None else None

    def opd_name(self, code: str | None) -> str | None:
        return self.opds.name_of(code)

    # -- requests ---------------------------------------------------------------------------

    def request_summary(self, req: Request, now: datetime) -> dict[str, Any]:
        """A row of a staff list: the case, without the applicant."""
        return {
            "number": req.number,
            "status": req.status,
            "status_label": domain.REQUEST_STATUSES[req.status],
            "channel": req.channel,
            "submitted_at": self.local(req.submitted_at),
            "received_at": self.local(req.received_at),
            "due_at": self.local(req.due_at),
            "extended": req.extended_at is not None,
            "late": domain.is_late(req, now),
            "requested_opd": req.requested_opd,
            "opd": req.opd,
            "opd_name": self.opd_name(req.opd),
            "information": req.information,
            "outcome": req.outcome,
            "answered_at": self.local(req.answered_at),
        }

    def request(
        self, req: Request, now: datetime, audience: str, *, staff: Principal | None = None
    ) -> dict[str, Any]:
        """The full case. Expects `history`, `notice` and `objections` loaded.

        `allowed_actions` are those `domain.refusal` lets the reader take: `staff` for the
        staff view, the citizen holding the token for the citizen's."""
        view = self.request_summary(req, now)
        is_open = req.status in domain.OPEN_STATUSES
        view.update(
            {
                "channel_label": domain.CHANNELS[req.channel],
                "base_due_at": self.local(req.base_due_at),
                "working_days_left": (
                    max(0, self.cal.working_days_between(now, req.due_at)) if is_open else None
                ),
                "purpose": req.purpose,
                "obtain_method": req.obtain_method,
                "obtain_method_label": domain.OBTAIN_METHODS[req.obtain_method],
                "delivery_method": req.delivery_method,
                "delivery_method_label": domain.DELIVERY_METHODS[req.delivery_method],
                "assigned_at": self.local(req.assigned_at),
                "extension": (
                    {
                        "extended_at": self.local(req.extended_at),
                        "ground": req.extension_ground,
                        "ground_label": domain.EXTENSION_GROUNDS[req.extension_ground],
                        "reason": req.extension_reason,
                    }
                    if req.extended_at is not None
                    else None
                ),
                "notice": self.notice_summary(req.notice) if req.notice is not None else None,
                "withdrawn_at": self.local(req.withdrawn_at),
                "reopened_at": self.local(req.reopened_at),
                "withdrawal_reason": req.withdrawal_reason,
                "objections": [
                    {
                        "number": o.number,
                        "status": o.status,
                        "decision": o.decision,
                        "filed_at": self.local(o.filed_at),
                        "response_due_at": self.local(o.response_due_at),
                    }
                    for o in req.objections
                ],
                "history": [
                    {
                        "occurred_at": self.local(h.occurred_at),
                        "action": h.action,
                        "label": HISTORY_LABELS.get(h.action, h.action),
                        "opd": h.opd,
                        "note": h.note,
                    }
                    for h in req.history
                ],
            }
        )
        view["allowed_actions"] = domain.allowed_actions(
            req, staff if audience == STAFF else None, now=now, cal=self.cal, notice=req.notice,
            has_open_objection=any(o.status == domain.FILED for o in req.objections),
        )
        if audience == STAFF:
            view["registered_by"] = req.registered_by
        return view

    # -- notices ----------------------------------------------------------------------------

    def notice_summary(self, notice: Notice) -> dict[str, Any]:
        return {
            "outcome": notice.outcome,
            "outcome_label": domain.OUTCOMES[notice.outcome],
            "issued_at": self.local(notice.issued_at),
            "late": notice.late,
            "days_taken": notice.days_taken,
        }

    def notice(self, req: Request, notice: Notice) -> dict[str, Any]:
        """The notice in full. Expects `attachments` loaded."""
        view = self.notice_summary(notice)
        view.update(
            {
                "request_number": req.number,
                "letter_number": notice.letter_number,
                "issuing_opd": notice.issuing_opd,
                "issuing_opd_name": self.opd_name(notice.issuing_opd),
                "issued_by_name": notice.issued_by_name,
                "info_format": notice.info_format,
                "delivery_method": notice.delivery_method,
                "fee_amount": notice.fee_amount,
                "fee_details": notice.fee_details,
                "provision_date": notice.provision_date,
                "redacted_parts": notice.redacted_parts,
                "exemption_clause": notice.exemption_clause,
                "exemption_clause_label": (
                    domain.EXEMPTION_CLAUSES[notice.exemption_clause]
                    if notice.exemption_clause
                    else None
                ),
                "exemption_basis": notice.exemption_basis,
                "consequence_test": notice.consequence_test,
                "holder_body": notice.holder_body,
                "documented_by": notice.documented_by,
                "remarks": notice.remarks,
                "attachments": [
                    {
                        "id": a.id,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                        "sha256": a.sha256,
                    }
                    for a in notice.attachments
                ],
            }
        )
        return view

    # -- objections -------------------------------------------------------------------------

    def objection(self, obj: Objection, req: Request, now: datetime, audience: str) -> dict[str, Any]:
        """Expects `dispute` loaded."""
        grounds = obj.grounds.split(",")
        lapsed = domain.answer_lapsed(obj, now)
        window_due = obj.dispute_window_due_at
        if window_due is None and lapsed:
            window_due = domain.dispute_window_due(self.cal, obj)
        view = {
            "number": obj.number,
            "request_number": req.number,
            "opd": obj.opd,
            "opd_name": self.opd_name(obj.opd),
            "grounds": grounds,
            "ground_labels": [domain.OBJECTION_GROUNDS[g] for g in grounds],
            "statement": obj.statement,
            "ground_arose_at": self.local(obj.ground_arose_at),
            "filing_deadline": self.local(obj.filing_deadline),
            "filed_at": self.local(obj.filed_at),
            "received_at": self.local(obj.received_at),
            "response_due_at": self.local(obj.response_due_at),
            "status": obj.status,
            "status_label": domain.OBJECTION_STATUSES[obj.status],
            "decision": obj.decision,
            "decision_label": domain.DECISIONS[obj.decision] if obj.decision else None,
            "decision_reasons": obj.decision_reasons,
            "decided_at": self.local(obj.decided_at),
            "decided_by_name": obj.decided_by_name,
            "late": bool(obj.decision_late) or lapsed,
            "answer_lapsed": lapsed,
            "dispute_window_due_at": self.local(window_due),
            "dispute": self.dispute(obj.dispute) if obj.dispute is not None else None,
        }
        if audience == STAFF:
            view["request_status"] = req.status
        return view

    def dispute(self, dispute: Dispute) -> dict[str, Any]:
        return {
            "register_number": dispute.register_number,
            "filed_on": dispute.filed_on,
            "within_window": dispute.within_window,
            "status": dispute.status,
            "status_label": domain.DISPUTE_STATUSES[dispute.status],
            "outcome": dispute.outcome,
            "outcome_label": domain.DISPUTE_OUTCOMES[dispute.outcome] if dispute.outcome else None,
            "resolved_on": dispute.resolved_on,
            "resolution_summary": dispute.resolution_summary,
        }
