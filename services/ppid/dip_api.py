"""HTTP API of the Daftar Informasi Publik: a public list and staff upkeep.

Anyone may read the list without an account (UU 14/2008 Pasal 13: the public body keeps
its information list open). PPID staff keep it: the PPID Utama for every OPD, a PPID
Pelaksana for its own OPD. Two editors cannot overwrite each other: every entry carries
an ETag and a change must send it back in If-Match.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import and_, or_, select

from services.common.auth import Principal, current_principal, roles_required
from services.common.citizen import citizen_rate_limited
from services.common.concurrency import entity_tag, require_match
from services.common.errors import Invalid, NotFound
from services.common.forms import MESSAGES, Choice, Day, Flag, OpdCode, cross_field
from services.common.forms import Base as InputSchema
from services.common.http import if_match_header, now, paginated, runtime
from services.common.listing import Q_DESCRIPTION, Page, SearchText, fetch_page
from services.common.runtime import Runtime
from services.ppid import dip
from services.ppid.dip_models import DIP_SEARCH, DipEntry

blp = Blueprint(
    "dip",
    __name__,
    url_prefix="/api/v1/dip",
    description="Daftar Informasi Publik (DIP): daftar terbuka dan pemeliharaannya oleh PPID.",
)

EDITABLE = (
    "category",
    "title",
    "summary",
    "opd",
    "holding_unit",
    "responsible",
    "made_when",
    "made_where",
    "soft_copy",
    "hard_copy",
    "retention_period",
    "url",
    *dip.EXEMPTION_FIELDS,
)


# --- schemas ---------------------------------------------------------------------------


class PlainText(fields.String):
    """Plain text cleaned by `dip.clean_text` and bounded by `dip.LIMITS`.

    Empty after cleaning means "not given": an optional field becomes null, a required
    one is refused.
    """

    def __init__(self, name: str, **kwargs: Any):
        self._limit = dip.LIMITS[name]
        self._multiline = name in dip.MULTILINE
        kwargs.setdefault("error_messages", {**MESSAGES, "invalid": "Harus berupa teks."})
        super().__init__(metadata={"maxLength": self._limit}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = dip.clean_text(super()._deserialize(value, attr, data, **kwargs),
                              multiline=self._multiline)
        if not text:
            if self.allow_none:
                return None
            raise ValidationError("Wajib diisi.")
        if len(text) > self._limit:
            raise ValidationError(f"Paling banyak {self._limit} karakter.")
        return text


class DipInSchema(InputSchema):
    category = Choice(dip.CATEGORIES, required=True)
    title = PlainText("title", required=True)
    summary = PlainText("summary", required=True)
    opd = OpdCode(metadata={"description": "OPD yang menguasai informasi; "
                            "bawaan: OPD PPID Pelaksana"})
    holding_unit = PlainText("holding_unit", allow_none=True)
    responsible = PlainText("responsible", required=True)
    made_when = PlainText("made_when", required=True)
    made_where = PlainText("made_where", required=True)
    soft_copy = Flag(required=True)
    hard_copy = Flag(required=True)
    retention_period = PlainText("retention_period", required=True)
    url = PlainText("url", allow_none=True)
    exemption_clause = Choice(dip.EXEMPTION_CLAUSES, allow_none=True)
    exemption_basis = PlainText("exemption_basis", allow_none=True)
    consequence_test = PlainText("consequence_test", allow_none=True)
    consequence_test_date = Day(allow_none=True)
    exempt_until = Day(allow_none=True)

    @cross_field("category")
    def _complete_entry(self, data: dict, **kwargs: Any) -> None:
        # A new entry's rules between fields (an exemption's clause, basis and end; at least
        # one form) come back with the field errors. A change is checked against the stored
        # entry by the use case, which alone knows it.
        if kwargs.get("partial"):
            return
        rt = runtime()
        day = rt.clock().astimezone(rt.calendar.tz).date()
        values = {name: None for name in EDITABLE} | data
        errors = dip.validate(values, day, changed=set(data), creating=True)
        errors.pop("opd", None)  # none sent: the officer's own OPD stands in
        if errors:
            raise ValidationError(errors)


class DipPatchSchema(DipInSchema):
    """The same fields as a new entry, each optional: send only what changes."""


class DipOutSchema(Schema):
    id = fields.Integer()
    category = fields.String()
    category_label = fields.String()
    effective_category = fields.String(
        metadata={"description": "kategori yang berlaku hari ini: pengecualian yang telah "
                  "berakhir menjadi informasi setiap saat"}
    )
    title = fields.String()
    summary = fields.String()
    opd = fields.String()
    opd_name = fields.String()
    holding_unit = fields.String(allow_none=True)
    responsible = fields.String()
    made_when = fields.String()
    made_where = fields.String()
    soft_copy = fields.Boolean()
    hard_copy = fields.Boolean()
    retention_period = fields.String()
    url = fields.String(allow_none=True)
    exemption_clause = fields.String(allow_none=True)
    exemption_clause_label = fields.String(allow_none=True)
    exemption_basis = fields.String(allow_none=True)
    consequence_test = fields.String(allow_none=True)
    consequence_test_date = fields.Date(allow_none=True)
    exempt_until = fields.Date(allow_none=True)
    exemption_expired = fields.Boolean()
    version = fields.Integer()
    updated_at = fields.DateTime()


class DipQuerySchema(InputSchema):
    category = Choice(dip.CATEGORIES)  # the category in force today (ended exemptions are open)
    opd = OpdCode()
    q = SearchText(metadata={"description": f"Cari pada judul, ringkasan dan kode OPD. {Q_DESCRIPTION}"})


class CatalogueSchema(Schema):
    categories = fields.Dict(keys=fields.String(), values=fields.String())
    exemption_clauses = fields.Dict(keys=fields.String(), values=fields.String())


# --- use cases -------------------------------------------------------------------------


def today(rt: Runtime) -> date:
    """Today in the regency: exemptions end at the end of a local day."""
    return now().astimezone(rt.calendar.tz).date()


def etag_of(entry: DipEntry) -> str:
    return entity_tag("dip", entry.id, entry.version)


def present(entry: DipEntry, rt: Runtime, day: date) -> dict[str, Any]:
    opd = rt.opds.get(entry.opd)
    out = {name: getattr(entry, name) for name in EDITABLE}
    out.update(
        id=entry.id,
        category_label=dip.CATEGORY_LABELS[entry.category],
        effective_category=dip.effective_category(entry.category, entry.exempt_until, day),
        exemption_expired=dip.exemption_expired(entry.category, entry.exempt_until, day),
        exemption_clause_label=dip.EXEMPTION_CLAUSES.get(entry.exemption_clause or ""),
        opd_name=opd.name if opd else entry.opd,
        version=entry.version,
        updated_at=entry.updated_at.astimezone(rt.calendar.tz),
    )
    return out


def list_statement(day: date, category: str | None, opd: str | None, q: str | None):
    stmt = select(DipEntry)
    if opd:
        stmt = stmt.where(DipEntry.opd == opd)
    expired = and_(DipEntry.category == dip.EXEMPT, DipEntry.exempt_until < day)
    if category == dip.EXEMPT:
        stmt = stmt.where(DipEntry.category == dip.EXEMPT, DipEntry.exempt_until >= day)
    elif category == dip.AFTER_EXPIRY:
        stmt = stmt.where(or_(DipEntry.category == category, expired))
    elif category:
        stmt = stmt.where(DipEntry.category == category)
    stmt = DIP_SEARCH.apply(stmt, q)
    return stmt.order_by(DipEntry.opd, DipEntry.category, DipEntry.id)


def get_entry(rt: Runtime, entry_id: int, *, day: date) -> tuple[dict[str, Any], str]:
    with rt.uow() as uow:
        entry = uow.session.get(DipEntry, entry_id)
        if entry is None:
            raise NotFound("Entri DIP tidak ditemukan.")
        return present(entry, rt, day), etag_of(entry)


def list_entries(rt: Runtime, query: dict[str, Any], page: Page) -> tuple[list[dict[str, Any]], int]:
    day = today(rt)
    stmt = list_statement(day, query.get("category"), query.get("opd"), query.get("q"))
    with rt.session_factory() as session:
        entries, total = fetch_page(session, stmt, page)
    return [present(e, rt, day) for e in entries], total


def create_entry(
    rt: Runtime, principal: Principal, data: dict[str, Any], *, at: datetime
) -> tuple[dict[str, Any], str]:
    """The new entry as the API shows it, and its ETag."""
    scope = dip.staff_scope(principal)
    data = dict(data)
    data.setdefault("opd", scope.opd)
    if not data["opd"]:
        raise Invalid("Isian DIP tidak valid.", {"opd": ["Wajib diisi."]})
    scope.require(data["opd"], dip.OTHER_OPD)
    entry_values = {name: None for name in EDITABLE} | data
    day = at.astimezone(rt.calendar.tz).date()
    errors = dip.validate(entry_values, day, changed=set(data), creating=True)
    if errors:
        raise Invalid("Isian DIP tidak valid.", errors)
    _clear_exemption_unless_exempt(entry_values)
    with rt.uow() as uow:
        entry = DipEntry(
            **entry_values,
            created_at=at,
            created_by=principal.sub,
            updated_at=at,
            updated_by=principal.sub,
        )
        uow.session.add(entry)
        uow.session.flush()
        result = present(entry, rt, day), etag_of(entry)
        uow.commit()
        return result


def update_entry(
    rt: Runtime,
    principal: Principal,
    entry_id: int,
    changes: dict[str, Any],
    if_match: str | None,
    *,
    at: datetime,
) -> tuple[dict[str, Any], str]:
    """Apply `changes` if If-Match names the entry's current ETag; the entry and its new ETag."""
    scope = dip.staff_scope(principal)
    with rt.uow() as uow:
        entry = _locked(uow.session, entry_id)
        scope.require(entry.opd, dip.OTHER_OPD)
        if "opd" in changes:
            scope.require(changes["opd"], dip.OTHER_OPD)
        require_match(if_match, etag_of(entry))
        values = {name: getattr(entry, name) for name in EDITABLE} | changes
        day = at.astimezone(rt.calendar.tz).date()
        errors = dip.validate(values, day, changed=set(changes))
        if errors:
            raise Invalid("Isian DIP tidak valid.", errors)
        _clear_exemption_unless_exempt(values)
        for name, value in values.items():
            setattr(entry, name, value)
        entry.updated_at = at
        entry.updated_by = principal.sub
        uow.session.flush()
        result = present(entry, rt, day), etag_of(entry)
        uow.commit()
        return result


def delete_entry(rt: Runtime, principal: Principal, entry_id: int, if_match: str | None) -> None:
    scope = dip.staff_scope(principal)
    with rt.uow() as uow:
        entry = _locked(uow.session, entry_id)
        scope.require(entry.opd, dip.OTHER_OPD)
        require_match(if_match, etag_of(entry))
        uow.session.delete(entry)
        uow.commit()


def _locked(session, entry_id: int) -> DipEntry:
    entry = session.get(DipEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound("Entri DIP tidak ditemukan.")
    return entry


def _clear_exemption_unless_exempt(values: dict[str, Any]) -> None:
    # Declassifying an entry drops its exemption record with it; the old ground must not
    # keep showing beside a category that says the information is open.
    if values.get("category") != dip.EXEMPT:
        for name in dip.EXEMPTION_FIELDS:
            values[name] = None


# --- views -----------------------------------------------------------------------------


def _etag_header(tag: str) -> dict[str, str]:
    return {"ETag": tag}


@blp.route("")
class DipEntries(MethodView):
    @citizen_rate_limited
    @blp.arguments(DipQuerySchema, location="query")
    @blp.response(200, DipOutSchema(many=True))
    @paginated(blp)
    def get(self, query, page):
        """Daftar Informasi Publik (terbuka, tanpa login)"""
        return list_entries(runtime(), query, page)

    @roles_required(*dip.STAFF_ROLES)
    @blp.arguments(DipInSchema)
    @blp.response(201, DipOutSchema)
    def post(self, data):
        """Tambah entri DIP (PPID Utama; PPID Pelaksana untuk OPD-nya)"""
        view, tag = create_entry(runtime(), current_principal(), data, at=now())
        return view, 201, _etag_header(tag) | {"Location": f"{blp.url_prefix}/{view['id']}"}


@blp.route("/categories")
class DipCatalogue(MethodView):
    @citizen_rate_limited
    @blp.response(200, CatalogueSchema)
    def get(self):
        """Kategori informasi dan huruf Pasal 17 untuk pengecualian"""
        return {"categories": dip.CATEGORY_LABELS, "exemption_clauses": dip.EXEMPTION_CLAUSES}


@blp.route("/<int:entry_id>")
class DipEntryView(MethodView):
    @citizen_rate_limited
    @blp.response(200, DipOutSchema)
    def get(self, entry_id):
        """Satu entri DIP (terbuka, tanpa login)"""
        rt = runtime()
        view, tag = get_entry(rt, entry_id, day=today(rt))
        return view, _etag_header(tag)

    @roles_required(*dip.STAFF_ROLES)
    @blp.arguments(DipPatchSchema(partial=True))
    @blp.response(200, DipOutSchema)
    def patch(self, changes, entry_id):
        """Ubah entri DIP (wajib If-Match)"""
        view, tag = update_entry(runtime(), current_principal(), entry_id, changes, if_match_header(), at=now())
        return view, _etag_header(tag)

    @roles_required(*dip.STAFF_ROLES)
    @blp.response(204)
    def delete(self, entry_id):
        """Hapus entri DIP (wajib If-Match)"""
        delete_entry(runtime(), current_principal(), entry_id, if_match_header())
