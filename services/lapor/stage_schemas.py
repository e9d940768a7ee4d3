"""Schemas of the steps after verification: disposition, the OPD's follow-up, the reporter's
answer and the followers of a public report.

Bodies are read with the chassis's form vocabulary (`services.common.forms`): unknown fields
are refused and every message is in Bahasa Indonesia. What a step answers is the report's
view of `schemas.py`.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields

from services.common.forms import (
    Base,
    Choice,
    Day,
    List,
    OpdCode,
    Range,
    Text,
    Whole,
    cross_field,
)
from services.common.forms import Email as EmailAddress
from services.common.listing import SearchText

# How many OPDs may help the lead one: more would be a circular, not a disposition.
MAX_SUPPORTING_OPDS = 10
NOTE_MAX = 2000
BODY_MAX = 5000


class DispatchSchema(Base):
    """The admin's disposition: one lead OPD, the OPDs that help it, a note for them."""

    lead_opd = OpdCode(required=True, metadata={"description": "OPD penanggung jawab tindak lanjut"})
    supporting_opds = List(
        OpdCode(),
        load_default=list,
        metadata={"description": f"OPD pendukung (paling banyak {MAX_SUPPORTING_OPDS})"},
    )
    note = Text(NOTE_MAX, allow_none=True, load_default=None, metadata={"description": "Catatan disposisi untuk OPD"})

    @cross_field("lead_opd", "supporting_opds")
    def _distinct(self, data: dict, **_kwargs) -> None:
        supporting = data.get("supporting_opds") or []
        if len(supporting) > MAX_SUPPORTING_OPDS:
            raise ValidationError(f"Paling banyak {MAX_SUPPORTING_OPDS} OPD pendukung.", "supporting_opds")
        if len(set(supporting)) != len(supporting):
            raise ValidationError("Setiap OPD pendukung cukup disebut sekali.", "supporting_opds")
        if data.get("lead_opd") in supporting:
            raise ValidationError("OPD penanggung jawab tidak perlu disebut lagi sebagai OPD pendukung.", "supporting_opds")


class ReturnSchema(Base):
    """The lead OPD sends a report back: it is not its business, and why."""

    reason = Text(NOTE_MAX, min_length=10, required=True, metadata={"description": "Alasan salah disposisi"})


class FollowUpSchema(Base):
    """The lead OPD's first substantive response and its plan to settle the report."""

    response = Text(BODY_MAX, min_length=10, required=True, metadata={"description": "Tanggapan (tindak lanjut) untuk pelapor"})
    plan = Text(BODY_MAX, min_length=10, required=True, metadata={"description": "Rencana penyelesaian"})


class ProgressSchema(Base):
    """A progress note of the lead or a supporting OPD."""

    body = Text(BODY_MAX, min_length=5, required=True, metadata={"description": "Perkembangan penanganan"})


class CompletionSchema(Base):
    """What the lead OPD did to settle the report."""

    summary = Text(BODY_MAX, min_length=10, required=True, metadata={"description": "Hasil penyelesaian"})
    attachment_ids = List(
        Whole(),
        load_default=list,
        metadata={"description": "Lampiran hasil penyelesaian yang sudah diunggah (paling banyak 5)"},
    )

    @cross_field("attachment_ids")
    def _distinct(self, data: dict, **_kwargs) -> None:
        ids = data.get("attachment_ids") or []
        if len(set(ids)) != len(ids):
            raise ValidationError("Setiap lampiran cukup disebut sekali.", "attachment_ids")


class ReplySchema(Base):
    """The reporter's message on their report."""

    message = Text(NOTE_MAX, min_length=2, required=True)


class RejectSchema(Base):
    """The reporter does not accept the answer: the report goes back to the lead OPD."""

    reason = Text(NOTE_MAX, min_length=10, required=True, metadata={"description": "Alasan jawaban belum diterima"})


class RatingSchema(Base):
    """The reporter accepts the answer and rates it; the report closes."""

    rating = Whole(required=True, validate=Range(min=1, max=5), metadata={"description": "Penilaian 1 sampai 5"})
    comment = Text(NOTE_MAX, allow_none=True, load_default=None)


class FollowSchema(Base):
    """A citizen follows a public report instead of filing the same one again."""

    email = EmailAddress(required=True, metadata={"description": "Alamat surel untuk kabar perkembangan"})


class ConfirmFollowSchema(Base):
    """The token mailed to the address confirms that it follows the report."""

    token = Text(200, min_length=20, required=True)


class UnfollowSchema(Base):
    """The token the follower received by e-mail ends the following."""

    token = Text(200, min_length=20, required=True)


class UnfollowedSchema(Schema):
    message = fields.String(required=True)


class OpdListQuerySchema(Base):
    """An OPD's own list: what it leads or supports, with the usual filters."""

    q = SearchText()
    role = Choice(("lead", "supporting"), load_default=None, metadata={"description": "Peran OPD dalam disposisi"})
    status = Text(40, load_default=None)
    category = Text(100, load_default=None)
    kecamatan = Text(20, load_default=None)
    dispatched_from = Day(load_default=None)
    dispatched_to = Day(load_default=None)
    opd = OpdCode(load_default=None, metadata={"description": "Hanya untuk admin: OPD yang didisposisi"})


class OpdReportSchema(Schema):
    """A row of an OPD's list: the report without anything that identifies its reporter."""

    number = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    classification = fields.String(required=True)
    category = fields.String(allow_none=True)
    title = fields.String(required=True)
    privacy = fields.String(required=True)
    kecamatan = fields.String(allow_none=True)
    lead_opd = fields.String(allow_none=True)
    supporting_opds = fields.List(fields.String(), required=True)
    role = fields.String(allow_none=True)
    submitted_at = fields.DateTime(required=True)
    dispatched_at = fields.DateTime(allow_none=True)
    follow_up_due_at = fields.DateTime(allow_none=True)
    completion_due_at = fields.DateTime(allow_none=True)
    reply_due_at = fields.DateTime(allow_none=True)


class FollowRequestedSchema(Schema):
    """The one answer to every request to follow: it never says whether the address follows."""

    number = fields.String(required=True)
    message = fields.String(required=True)


class FollowingSchema(Schema):
    """The answer to a confirmation: the report the address now follows."""

    number = fields.String(required=True)
    message = fields.String(required=True)
