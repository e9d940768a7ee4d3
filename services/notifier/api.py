"""HTTP API of the notifier: clocks, inbox, directory, policies, calendar, dashboard.

Views parse, call a use case and shape the response. Every view names the roles it serves
(`services.notifier.access`, tabled in docs/notifier.md); which OPDs' records a role sees is
decided in the use cases (an OPD token its own OPD only).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import current_principal, roles_required
from services.common.errors import NotFound
from services.common.http import if_match_header, paginated, runtime
from services.notifier import access, dashboard, directory, handlers, inbox
from services.notifier import schemas as s

ADMIN = access.ADMIN


def _principal():
    return current_principal()


# -- clocks ------------------------------------------------------------------------------

clocks_blp = Blueprint(
    "clocks", __name__, url_prefix="/api/v1/clocks",
    description="Jam layanan (SLA) per perkara: batas waktu, keadaan, riwayat, dan siapa yang diberi tahu.",
)


@clocks_blp.route("")
class Clocks(MethodView):
    @roles_required(*access.DUTY_READERS)
    @clocks_blp.arguments(s.ClockQuerySchema, location="query")
    @clocks_blp.response(200, s.ClockOutSchema(many=True))
    @paginated(clocks_blp)
    def get(self, args, page):
        """Daftar jam (OPD hanya melihat miliknya), urut batas waktu.

        `q` mencari pada subjek perkara, jenis jam, layanan dan kode OPD.
        """
        return handlers.list_clocks(runtime(), _principal(), handlers.ClockFilter(**args), page)


@clocks_blp.route("/<path:subject>")
class ClockTimeline(MethodView):
    @roles_required(*access.DUTY_READERS)
    @clocks_blp.response(200, s.TimelineOutSchema)
    def get(self, subject):
        """Riwayat semua jam satu perkara, langkah pemberitahuan, dan log pengirimannya."""
        return {"subject": subject, "clocks": handlers.timeline(runtime(), _principal(), subject)}


deliveries_blp = Blueprint(
    "deliveries", __name__, url_prefix="/api/v1/deliveries",
    description="Log pemberitahuan: siapa diberi tahu apa, kapan, dan lewat saluran apa.",
)


@deliveries_blp.route("")
class Deliveries(MethodView):
    @roles_required(*access.DUTY_READERS)
    @deliveries_blp.arguments(s.DeliveryQuerySchema, location="query")
    @deliveries_blp.response(200, s.DeliveryOutSchema(many=True))
    @paginated(deliveries_blp)
    def get(self, args, page):
        """Pemberitahuan terkirim, terbaru dahulu (OPD hanya melihat miliknya).

        `q` mencari pada subjek perkara, jenis jam, kode OPD dan judul pemberitahuan.
        """
        return handlers.list_deliveries(
            runtime(), _principal(), page, opd=args.get("opd"), subject=args.get("subject"),
            status=args.get("status"), q=args.get("q"),
        )


# -- inbox -------------------------------------------------------------------------------

inbox_blp = Blueprint(
    "inbox", __name__, url_prefix="/api/v1/inbox",
    description="Kotak masuk aplikasi untuk staf: pesan pribadi dan pesan untuk peran di OPD-nya.",
)


@inbox_blp.route("")
class Inbox(MethodView):
    @roles_required(*access.STAFF)
    @inbox_blp.arguments(s.InboxQuerySchema, location="query")
    @inbox_blp.response(200, s.InboxPageSchema)
    @paginated(inbox_blp)
    def get(self, args, page):
        """Pesan untuk pemanggil, terbaru dahulu, dengan jumlah yang belum dibaca.

        `q` mencari pada judul, subjek perkara, jenis jam dan kode OPD.
        """
        items, total, unread = inbox.list_messages(
            runtime(), _principal(), page, unread_only=args["unread"], q=args.get("q"),
        )
        return {"unread": unread, "total": total, "items": items}, total


@inbox_blp.route("/<int:message_id>/read")
class InboxRead(MethodView):
    @roles_required(*access.STAFF)
    @inbox_blp.response(200, s.InboxMessageOutSchema)
    def post(self, message_id):
        """Tandai satu pesan sudah dibaca."""
        return inbox.mark_read(runtime(), _principal(), message_id)


@inbox_blp.route("/read-all")
class InboxReadAll(MethodView):
    @roles_required(*access.STAFF)
    @inbox_blp.response(200, s.MarkedSchema)
    def post(self):
        """Tandai semua pesan pemanggil sudah dibaca."""
        return {"marked": inbox.mark_all_read(runtime(), _principal())}


# -- directory ---------------------------------------------------------------------------

directory_blp = Blueprint(
    "directory", __name__, url_prefix="/api/v1/directory",
    description="Direktori OPD dan kontak per peran (khusus admin).",
)


@directory_blp.route("/opds")
class Opds(MethodView):
    @roles_required(ADMIN)
    @directory_blp.arguments(s.OpdQuerySchema, location="query")
    @directory_blp.response(200, s.OpdOutSchema(many=True))
    @paginated(directory_blp)
    def get(self, args, page):
        """OPD dalam direktori, urut kode.

        `q` mencari pada kode, nama, nama singkat dan jenis OPD.
        """
        return directory.list_opds(runtime(), page, q=args.get("q"))

    @roles_required(ADMIN)
    @directory_blp.arguments(s.OpdInSchema)
    @directory_blp.response(201, s.OpdOutSchema)
    def post(self, body):
        """Tambah OPD."""
        opd, tag = directory.create_opd(runtime(), _principal(), body)
        return opd, 201, {"ETag": tag}


@directory_blp.route("/opds/<string:code>")
class OpdItem(MethodView):
    @roles_required(ADMIN)
    @directory_blp.response(200, s.OpdOutSchema)
    def get(self, code):
        """Satu OPD (ETag untuk If-Match)."""
        opd, tag = directory.get_opd(runtime(), code)
        return opd, 200, {"ETag": tag}

    @roles_required(ADMIN)
    @directory_blp.arguments(s.OpdPatchSchema)
    @directory_blp.response(200, s.OpdOutSchema)
    def patch(self, body, code):
        """Ubah OPD (wajib If-Match)."""
        opd, tag = directory.update_opd(runtime(), _principal(), code, body, if_match_header())
        return opd, 200, {"ETag": tag}


@directory_blp.route("/contacts")
class Contacts(MethodView):
    @roles_required(ADMIN)
    @directory_blp.arguments(s.ContactQuerySchema, location="query")
    @directory_blp.response(200, s.ContactOutSchema(many=True))
    @paginated(directory_blp)
    def get(self, args, page):
        """Kontak, disaring menurut OPD dan peran, urut OPD dan peran.

        `q` mencari pada kode OPD, peran dan layanan (bukan nama atau alamat orang).
        """
        return directory.list_contacts(
            runtime(), page, opd=args.get("opd"), role=args.get("role"), q=args.get("q")
        )

    @roles_required(ADMIN)
    @directory_blp.arguments(s.ContactInSchema)
    @directory_blp.response(201, s.ContactOutSchema)
    def post(self, body):
        """Tambah kontak."""
        contact, tag = directory.create_contact(runtime(), _principal(), body)
        return contact, 201, {"ETag": tag}


@directory_blp.route("/contacts/<int:contact_id>")
class ContactItem(MethodView):
    @roles_required(ADMIN)
    @directory_blp.response(200, s.ContactOutSchema)
    def get(self, contact_id):
        """Satu kontak (ETag untuk If-Match)."""
        contact, tag = directory.get_contact(runtime(), contact_id)
        return contact, 200, {"ETag": tag}

    @roles_required(ADMIN)
    @directory_blp.arguments(s.ContactPatchSchema)
    @directory_blp.response(200, s.ContactOutSchema)
    def patch(self, body, contact_id):
        """Ubah kontak (wajib If-Match)."""
        contact, tag = directory.update_contact(
            runtime(), _principal(), contact_id, body, if_match_header()
        )
        return contact, 200, {"ETag": tag}

    @roles_required(ADMIN)
    @directory_blp.response(204)
    def delete(self, contact_id):
        """Hapus kontak (wajib If-Match)."""
        directory.delete_contact(runtime(), _principal(), contact_id, if_match_header())


# -- policies ----------------------------------------------------------------------------

policies_blp = Blueprint(
    "policies", __name__, url_prefix="/api/v1/policies",
    description="Kebijakan pengingat, pemberitahuan keterlambatan dan eskalasi per jenis jam.",
)


@policies_blp.route("")
class Policies(MethodView):
    @roles_required(*access.STAFF)
    @policies_blp.response(200, s.PolicyOutSchema(many=True))
    def get(self):
        """Semua kebijakan (jenis jam tanpa kebijakan sendiri memakai `default`)."""
        return handlers.list_policies(runtime())


@policies_blp.route("/<string:clock>")
class PolicyItem(MethodView):
    @roles_required(*access.STAFF)
    @policies_blp.response(200, s.PolicyOutSchema)
    def get(self, clock):
        """Satu kebijakan (ETag untuk If-Match)."""
        policy, tag = handlers.get_policy(runtime(), clock)
        return policy, 200, {"ETag": tag}

    @roles_required(ADMIN)
    @policies_blp.arguments(s.PolicyInSchema)
    @policies_blp.response(200, s.PolicyOutSchema)
    def put(self, body, clock):
        """Buat atau ganti kebijakan (If-Match bila sudah ada); langkah jam terbuka dijadwal ulang."""
        policy, tag, created = handlers.put_policy(
            runtime(), _principal(), clock, body, if_match_header()
        )
        return policy, 201 if created else 200, {"ETag": tag}

    @roles_required(ADMIN)
    @policies_blp.response(204)
    def delete(self, clock):
        """Hapus kebijakan (jam jenis ini kembali memakai `default`)."""
        handlers.delete_policy(runtime(), _principal(), clock, if_match_header())


# -- calendar ----------------------------------------------------------------------------

calendar_blp = Blueprint(
    "calendar", __name__, url_prefix="/api/v1/calendar",
    description=(
        "Pengecualian hari kerja yang ditetapkan operator (SKB cuti bersama yang berubah): "
        "perubahan disiarkan ke semua layanan."
    ),
)


@calendar_blp.route("/exceptions")
class CalendarExceptions(MethodView):
    @roles_required(*access.STAFF)
    @calendar_blp.response(200, s.CalendarOutSchema)
    def get(self):
        """Daftar pengecualian yang berlaku."""
        return handlers.get_calendar(runtime())

    @roles_required(ADMIN)
    @calendar_blp.arguments(s.CalendarExceptionInSchema)
    @calendar_blp.response(201, s.CalendarOutSchema)
    def post(self, body):
        """Tambah hari libur, atau batalkan hari libur (tetap hari kerja)."""
        return handlers.add_calendar_exception(runtime(), _principal(), body), 201


@calendar_blp.route("/exceptions/<string:day>")
class CalendarException(MethodView):
    @roles_required(ADMIN)
    @calendar_blp.response(200, s.CalendarOutSchema)
    def delete(self, day):
        """Hapus satu pengecualian (tanggal YYYY-MM-DD)."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise NotFound("Tanggal harus berbentuk YYYY-MM-DD.") from None
        return handlers.remove_calendar_exception(runtime(), _principal(), parsed)


# -- dashboard ---------------------------------------------------------------------------

dashboard_blp = Blueprint(
    "dashboard", __name__, url_prefix="/api/v1/dashboard",
    description="Kepatuhan batas waktu per OPD dan per layanan, dengan peringkat OPD.",
)


@dashboard_blp.route("")
class Dashboard(MethodView):
    @roles_required(*access.DUTY_READERS)
    @dashboard_blp.arguments(s.DashboardQuerySchema, location="query")
    @dashboard_blp.response(200, s.DashboardOutSchema)
    def get(self, args):
        """Terbuka, segera jatuh tempo, terlambat, tepat waktu (%), median waktu, skor dan peringkat."""
        at = args.get("at") or runtime().clock()
        period_to = args.get("period_to") or at
        period_from = args.get("period_from") or period_to - timedelta(days=30)
        return dashboard.build(
            runtime(), _principal(), at=at, period_from=period_from, period_to=period_to,
            opd=args.get("opd"), service=args.get("service"),
        )


def all_blueprints() -> list[Blueprint]:
    return [clocks_blp, deliveries_blp, inbox_blp, directory_blp, policies_blp, calendar_blp,
            dashboard_blp]
