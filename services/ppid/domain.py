"""The rules of a public information request, free of I/O.

UU 14/2008 (Keterbukaan Informasi Publik) and Perki 1/2021 (the Komisi Informasi's service
standard) set the life of a request:

- Pasal 22 ayat (7)-(8): a written notice (pemberitahuan tertulis) within 10 working days of
  receipt; one extension of at most 7 working days more, with written reasons, given before
  the first 10 days run out.
- Pasal 22 ayat (7)/Pasal 17: the notice grants the information in full or in part, rejects
  it as exempt (citing the Pasal 17 clause and the consequence test), says the body does not
  hold it (naming who does) or that it is held but not yet documented.
- Pasal 35-36: the applicant may object (keberatan) on grounds (a)-(g) within 30 working days
  of the ground arising; the Atasan PPID answers within 30 working days of receiving it.
  Grounds (b)-(g) may be settled by agreement (musyawarah).
- Pasal 37: the applicant may take the dispute to the Komisi Informasi within 14 working
  days of the Atasan's answer, or of the day the answer was due.

Deadlines use the shared working-day calendar (`services.common.calendar`): the day a request
or objection is received is day 0 (moved to the next opening after office hours or on a day
off) and day N ends at 23:59:59 WIB.

Functions here take and change plain attributes of the request, notice and objection
objects (the ORM rows in the service, simple namespaces in unit tests); they raise the
chassis' `DomainError`s with messages for the person reading them, in Bahasa Indonesia.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from services.common import numbering
from services.common.calendar import format_date_id, format_instant_id
from services.common.errors import Conflict, DomainError, Forbidden, Invalid
from services.common.numbering import Numbered, format_number  # noqa: F401 - format_number: the service's numbers
from services.common.scope import OpdScope, ScopeRule

# -- statutory limits, in working days ------------------------------------------------------

NOTICE_DAYS = 10
EXTENSION_DAYS = 7
OBJECTION_WINDOW_DAYS = 30
OBJECTION_ANSWER_DAYS = 30
DISPUTE_WINDOW_DAYS = 14

# -- vocabularies (stored codes in English, labels for citizens in Indonesian) -------------

RECEIVED, ASSIGNED, ANSWERED, WITHDRAWN = "received", "assigned", "answered", "withdrawn"
REQUEST_STATUSES = {
    RECEIVED: "Diterima, menunggu penugasan PPID Utama",
    ASSIGNED: "Diproses PPID Pelaksana",
    ANSWERED: "Dijawab dengan pemberitahuan tertulis",
    WITHDRAWN: "Dicabut oleh pemohon",
}
OPEN_STATUSES = (RECEIVED, ASSIGNED)

CHANNELS = {
    "web": "Formulir daring",
    "walk_in": "Datang langsung",
    "letter": "Surat",
    "phone": "Telepon",
    "email": "Surel",
    "fax": "Faksimile",
}
OFFLINE_CHANNELS = tuple(c for c in CHANNELS if c != "web")

IDENTITY_TYPES = {"nik": "NIK (perorangan)", "legal_entity": "Badan hukum"}

# How the applicant wants to obtain the information (Perki 1/2021 request form).
OBTAIN_METHODS = {
    "inspect": "Melihat/membaca/mendengarkan/mencatat",
    "soft_copy": "Mendapatkan salinan (softcopy)",
    "hard_copy": "Mendapatkan salinan (hardcopy)",
}
DELIVERY_METHODS = {
    "in_person": "Mengambil langsung",
    "post": "Pos",
    "courier": "Kurir",
    "fax": "Faksimile",
    "email": "Surel (email)",
}

GRANTED, PARTIAL, REJECTED, NOT_HELD, NOT_DOCUMENTED = (
    "granted",
    "partially_granted",
    "rejected",
    "not_held",
    "not_documented",
)
OUTCOMES = {
    GRANTED: "Informasi dapat diberikan seluruhnya",
    PARTIAL: "Informasi dapat diberikan sebagian",
    REJECTED: "Permohonan ditolak karena informasi dikecualikan",
    NOT_HELD: "Informasi tidak dikuasai Badan Publik ini",
    NOT_DOCUMENTED: "Informasi dikuasai tetapi belum didokumentasikan",
}
RELEASING_OUTCOMES = (GRANTED, PARTIAL)

# UU 14/2008 Pasal 17: the exemptions a rejection or redaction must cite.
EXEMPTION_CLAUSES = {
    "a": "menghambat proses penegakan hukum",
    "b": "mengganggu kepentingan perlindungan hak atas kekayaan intelektual dan "
    "perlindungan dari persaingan usaha tidak sehat",
    "c": "membahayakan pertahanan dan keamanan negara",
    "d": "mengungkapkan kekayaan alam Indonesia",
    "e": "merugikan ketahanan ekonomi nasional",
    "f": "merugikan kepentingan hubungan luar negeri",
    "g": "mengungkapkan isi akta otentik yang bersifat pribadi dan kemauan terakhir "
    "ataupun wasiat seseorang",
    "h": "mengungkap rahasia pribadi",
    "i": "memorandum atau surat-surat antar Badan Publik atau intra Badan Publik yang "
    "menurut sifatnya dirahasiakan",
    "j": "informasi yang tidak boleh diungkapkan berdasarkan Undang-Undang",
}

# Grounds for the single extension (Pasal 22 ayat 8 asks for written reasons; these are the
# reasons the service standard and practice accept). Each still needs its explanation.
EXTENSION_GROUNDS = {
    "not_yet_controlled": "Informasi yang diminta belum dikuasai atau masih dihimpun dari unit kerja",
    "exemption_pending": "Belum dapat diputuskan apakah informasi termasuk informasi yang dikecualikan",
    "large_volume": "Informasi yang diminta berjumlah besar sehingga memerlukan waktu penyiapan",
    "coordination": "Memerlukan koordinasi dengan Badan Publik atau unit kerja lain",
}

# UU 14/2008 Pasal 35 ayat (1).
OBJECTION_GROUNDS = {
    "a": "Penolakan atas permohonan informasi berdasarkan alasan pengecualian Pasal 17",
    "b": "Tidak disediakannya informasi berkala sebagaimana dimaksud Pasal 9",
    "c": "Tidak ditanggapinya permohonan informasi",
    "d": "Permohonan informasi ditanggapi tidak sebagaimana yang diminta",
    "e": "Tidak dipenuhinya permohonan informasi",
    "f": "Pengenaan biaya yang tidak wajar",
    "g": "Penyampaian informasi yang melebihi waktu yang diatur",
}
# Pasal 35 ayat (2): these may be settled by agreement (musyawarah).
SETTLEABLE_GROUNDS = frozenset("bcdefg")

FILED, DECIDED = "filed", "decided"
OBJECTION_STATUSES = {FILED: "Diajukan, menunggu tanggapan Atasan PPID", DECIDED: "Telah ditanggapi"}
UPHELD, OVERTURNED, SETTLED = "upheld", "overturned", "settled"
DECISIONS = {
    UPHELD: "Keberatan ditolak; keputusan PPID dikuatkan",
    OVERTURNED: "Keberatan diterima; keputusan PPID dibatalkan",
    SETTLED: "Diselesaikan secara musyawarah",
}

RESOLVED = "resolved"
DISPUTE_STATUSES = {FILED: "Diajukan ke Komisi Informasi", RESOLVED: "Selesai"}
DISPUTE_OUTCOMES = {
    "mediated": "Mediasi berhasil (kesepakatan para pihak)",
    "granted": "Permohonan penyelesaian sengketa dikabulkan seluruhnya",
    "partially_granted": "Permohonan penyelesaian sengketa dikabulkan sebagian",
    "rejected": "Permohonan penyelesaian sengketa ditolak",
    "dismissed": "Permohonan penyelesaian sengketa tidak dapat diterima",
    "withdrawn": "Permohonan penyelesaian sengketa dicabut",
}

# Staff roles (docs/chassis.md).
UTAMA, PELAKSANA, ATASAN = "ppid_utama", "ppid_pelaksana", "atasan_ppid"
STAFF_ROLES = (UTAMA, PELAKSANA, ATASAN)

REQUEST_PREFIX, OBJECTION_PREFIX = "PPID", "KBR"


class Calendar(Protocol):
    """What the rules need of `services.common.calendar.WorkingCalendar`."""

    def receipt_instant(self, received_at: datetime) -> datetime: ...

    def due_at(self, received_at: datetime, n_working_days: int) -> datetime: ...

    def days_taken(self, received_at: datetime, done_at: datetime) -> int: ...

    def explained_due(
        self, received_at: datetime, n_working_days: int
    ) -> tuple[datetime, datetime, dict[str, Any]]: ...


class Staff(Protocol):
    """What the rules need of `services.common.auth.Principal`."""

    opd: str | None

    def has_role(self, *roles: str) -> bool: ...


# -- numbers --------------------------------------------------------------------------------


def parse_number(number: str) -> Numbered | None:
    """(prefix, year, sequence) of a request's or an objection's number, else None."""
    return numbering.parse_number(number, (REQUEST_PREFIX, OBJECTION_PREFIX))


# -- applicant data -------------------------------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^(?:\+62|62|0)(\d{7,13})$")


def nik_problem(nik: str) -> str | None:
    """Why a NIK cannot be a real one, or None.

    A NIK is 16 digits: province, regency and district codes (6), the birth date as DDMMYY
    with 40 added to the day for women, and a 4-digit serial that starts at 0001.
    """
    if not isinstance(nik, str) or not re.fullmatch(r"\d{16}", nik):
        return "NIK harus terdiri dari 16 digit angka."
    if nik[0] == "0" or nik[2:4] == "00" or nik[4:6] == "00":
        return "NIK tidak valid: kode wilayah pada 6 digit pertama tidak dikenal."
    day, month = int(nik[6:8]), int(nik[8:10])
    if not (1 <= day <= 31 or 41 <= day <= 71) or not 1 <= month <= 12:
        return "NIK tidak valid: tanggal lahir pada digit ke-7 sampai ke-12 tidak mungkin."
    if nik[12:] == "0000":
        return "NIK tidak valid: nomor urut pada 4 digit terakhir tidak boleh 0000."
    return None


def normalise_phone(raw: str) -> str | None:
    """An Indonesian phone number as `+62…`, or None when it cannot be one."""
    if not isinstance(raw, str):
        return None
    match = _PHONE.match(_PHONE_JUNK.sub("", raw))
    return f"+62{match.group(1)}" if match else None


# -- request deadlines ----------------------------------------------------------------------


def request_deadlines(cal: Calendar, submitted_at: datetime) -> tuple[datetime, datetime]:
    """(effective receipt instant, notice due) for a request received at `submitted_at`."""
    return cal.receipt_instant(submitted_at), cal.due_at(submitted_at, NOTICE_DAYS)


def explained_deadlines(cal: Calendar, submitted_at: datetime) -> tuple[datetime, datetime, dict[str, Any]]:
    """`request_deadlines` and the explanation a citizen is shown, from one count of the
    working days."""
    return cal.explained_due(submitted_at, NOTICE_DAYS)


def extended_due(cal: Calendar, submitted_at: datetime) -> datetime:
    """Working day 17 from receipt: the first 10 plus the extension's 7."""
    return cal.due_at(submitted_at, NOTICE_DAYS + EXTENSION_DAYS)


def is_late(request: Any, now: datetime) -> bool:
    """Past its due time without a notice: late for the statistics and for ground (g).

    A withdrawn request is never late (the duty ended with the withdrawal, if in time). One
    that was late when an objection returned it to the PPID stays late: the new duty does
    not undo the missed one.
    """
    if getattr(request, "late_before_reopen", None):
        return True
    if request.answered_at is not None:
        return request.answered_at > request.due_at
    if request.withdrawn_at is not None:
        return request.withdrawn_at > request.due_at
    return now > request.due_at


# -- request transitions --------------------------------------------------------------------
#
# What may be done to a request is decided once, by `refusal`: the staff view's
# `allowed_actions` lists the actions it finds no objection to, and every use case asks it
# (`require_action`) before it changes anything, so nothing is offered that then fails and
# nothing refused was offered. An action's inputs (the OPD, the ground, the notice's fields)
# are checked afterwards, by the transition itself.

ASSIGN, REASSIGN, EXTEND, ANSWER, WITHDRAW, OBJECT = (
    "assign", "reassign", "extend", "answer", "withdraw", "object",
)
STAFF_ACTIONS = (ASSIGN, REASSIGN, EXTEND, ANSWER)
CITIZEN_ACTIONS = (WITHDRAW, OBJECT)
REQUEST_ACTIONS = STAFF_ACTIONS + CITIZEN_ACTIONS

_ACTIONS = {
    ASSIGN: ({RECEIVED}, "ditugaskan ke OPD"),
    REASSIGN: ({ASSIGNED}, "dialihkan ke OPD lain"),
    EXTEND: ({RECEIVED, ASSIGNED}, "diperpanjang waktunya"),
    ANSWER: ({RECEIVED, ASSIGNED}, "dijawab"),
    WITHDRAW: ({RECEIVED, ASSIGNED}, "dicabut"),
}
_NEXT = {ASSIGN: ASSIGNED, REASSIGN: ASSIGNED, ANSWER: ANSWERED, WITHDRAW: WITHDRAWN}


def next_status(status: str, action: str) -> str:
    """The status after `action`, or Conflict when the request's status forbids it."""
    sources, verb = _ACTIONS[action]
    if status not in sources:
        label = REQUEST_STATUSES.get(status, status)
        raise Conflict(f"Permohonan berstatus \"{label}\" tidak dapat {verb}.")
    return _NEXT.get(action, status)


def refusal(
    action: str,
    request: Any,
    staff: Staff | None,
    *,
    now: datetime,
    cal: Calendar,
    notice: Any | None = None,
    has_open_objection: bool = False,
) -> DomainError | None:
    """Why `staff` (None: the citizen holding the request's token) may not take `action` on
    `request` now, or None when they may. Who comes first (403), then the state (409)."""
    if action not in REQUEST_ACTIONS:
        raise ValueError(f"unknown request action {action!r}")
    who = _who_refusal(action, request, staff)
    if who is not None:
        return who
    if action == OBJECT:
        return objection_refusal(request, notice, cal=cal, now=now, has_open_objection=has_open_objection)
    try:
        next_status(request.status, action)
    except Conflict as refused:
        return refused
    if action == EXTEND:
        return _extension_refusal(request, cal, now)
    return None


def allowed_actions(
    request: Any,
    staff: Staff | None,
    *,
    now: datetime,
    cal: Calendar,
    notice: Any | None = None,
    has_open_objection: bool = False,
) -> list[str]:
    """The actions `refusal` lets this caller take on the request now, in a fixed order."""
    return [
        action
        for action in REQUEST_ACTIONS
        if refusal(action, request, staff, now=now, cal=cal, notice=notice,
                   has_open_objection=has_open_objection) is None
    ]


def require_action(action: str, request: Any, staff: Staff | None, **context: Any) -> None:
    """Raise what `refusal` finds against the action, as the use case's answer."""
    refused = refusal(action, request, staff, **context)
    if refused is not None:
        raise refused


def require_caller(action: str, request: Any, staff: Staff | None) -> None:
    """The first half of `refusal` alone (who may act), so a use case can answer 403 before
    it compares the caller's ETag (412) and then the state (409)."""
    refused = _who_refusal(action, request, staff)
    if refused is not None:
        raise refused


def _who_refusal(action: str, request: Any, staff: Staff | None) -> DomainError | None:
    if action in CITIZEN_ACTIONS:
        if staff is not None:
            return Forbidden(
                "Hanya pemohon, dengan token akses permohonannya, yang dapat "
                + ("mencabut permohonan." if action == WITHDRAW else "mengajukan keberatan.")
            )
        return None
    if staff is None:
        return Forbidden("Tindakan ini hanya untuk petugas PPID.")
    if action == ASSIGN:
        if not staff.has_role(UTAMA):
            return Forbidden("Hanya PPID Utama yang dapat menugaskan permohonan.")
        return None
    return _handler_refusal(staff, request.opd)


def _handler_refusal(staff: Staff, opd: str | None) -> DomainError | None:
    if staff.has_role(UTAMA):
        return None
    if staff.has_role(PELAKSANA) and staff.opd is not None and staff.opd == opd:
        return None
    return Forbidden("Hanya PPID Utama atau PPID Pelaksana OPD yang menangani permohonan ini.")


def _extension_refusal(request: Any, cal: Calendar, now: datetime) -> DomainError | None:
    if request.extended_at is not None:
        return Conflict("Perpanjangan waktu hanya dapat diberikan satu kali.")
    if getattr(request, "reopened_at", None) is not None:
        return Conflict(
            "Jawaban ulang setelah keberatan diterima Atasan PPID tidak dapat diperpanjang."
        )
    if now > request.base_due_at:
        return Conflict(
            "Perpanjangan waktu harus diberitahukan sebelum batas 10 hari kerja berakhir "
            f"({format_instant_id(request.base_due_at.astimezone(_tz(cal)), seconds=True)})."
        )
    return None


def assign(request: Any, opd: str, now: datetime) -> None:
    request.status = next_status(request.status, ASSIGN)
    request.opd = opd
    request.assigned_at = now


def reassign(request: Any, opd: str, now: datetime) -> str:
    """Moves the request to another OPD; returns the previous one."""
    next_status(request.status, REASSIGN)
    if opd == request.opd:
        raise Invalid(
            "Permohonan sudah ditangani OPD tersebut.", {"opd": ["Pilih OPD lain."]}
        )
    previous, request.opd, request.assigned_at = request.opd, opd, now
    return previous


def extend(request: Any, cal: Calendar, ground: str, now: datetime) -> datetime:
    """The one extension of Pasal 22 ayat (8); returns the previous due time."""
    next_status(request.status, EXTEND)
    refused = _extension_refusal(request, cal, now)
    if refused is not None:
        raise refused
    if ground not in EXTENSION_GROUNDS:
        raise Invalid("Alasan perpanjangan tidak dikenal.", {"ground": ["Alasan tidak dikenal."]})
    previous = request.due_at
    request.extended_at = now
    request.extension_ground = ground
    request.due_at = extended_due(cal, request.submitted_at)
    return previous


def answer(request: Any, issued_at: datetime) -> None:
    status = next_status(request.status, ANSWER)
    if issued_at < request.submitted_at:
        raise Invalid(
            "Tanggal pemberitahuan tidak boleh sebelum permohonan diterima.",
            {"issued_at": ["Tanggal sebelum permohonan diterima."]},
        )
    reopened_at = getattr(request, "reopened_at", None)
    if reopened_at is not None and issued_at < reopened_at:
        raise Invalid(
            "Pemberitahuan baru tidak boleh bertanggal sebelum keberatan diterima Atasan PPID.",
            {"issued_at": ["Tanggal sebelum putusan keberatan."]},
        )
    request.status, request.answered_at = status, issued_at


def withdraw(request: Any, now: datetime) -> None:
    request.status = next_status(request.status, WITHDRAW)
    request.withdrawn_at = now


def _tz(cal: Calendar):
    return getattr(cal, "tz", None)


# -- the written notice ---------------------------------------------------------------------

# Fields each outcome needs (beyond the outcome itself), and the fields it may carry.
_NOTICE_REQUIRED = {
    GRANTED: ("info_format", "delivery_method"),
    PARTIAL: (
        "info_format",
        "delivery_method",
        "redacted_parts",
        "exemption_clause",
        "consequence_test",
    ),
    REJECTED: ("exemption_clause", "consequence_test"),
    NOT_HELD: ("holder_body",),
    NOT_DOCUMENTED: ("documented_by",),
}
_NOTICE_OPTIONAL = {
    GRANTED: ("fee_amount", "fee_details", "provision_date"),
    PARTIAL: ("fee_amount", "fee_details", "provision_date", "exemption_basis"),
    REJECTED: ("exemption_basis",),
    NOT_HELD: (),
    NOT_DOCUMENTED: (),
}
NOTICE_OUTCOME_FIELDS = (
    "info_format",
    "delivery_method",
    "fee_amount",
    "fee_details",
    "provision_date",
    "redacted_parts",
    "exemption_clause",
    "exemption_basis",
    "consequence_test",
    "holder_body",
    "documented_by",
)
_NOTICE_FIELD_LABELS = {
    "info_format": "bentuk informasi",
    "delivery_method": "cara pengiriman",
    "fee_amount": "biaya",
    "fee_details": "rincian biaya",
    "provision_date": "tanggal penyediaan",
    "redacted_parts": "bagian yang dihitamkan/dikaburkan",
    "exemption_clause": "huruf pengecualian Pasal 17",
    "exemption_basis": "dasar hukum pengecualian",
    "consequence_test": "ringkasan uji konsekuensi",
    "holder_body": "Badan Publik yang menguasai informasi",
    "documented_by": "tanggal informasi selesai didokumentasikan",
}


def check_notice(fields: Mapping[str, Any], *, today: date, attachments: int = 0) -> dict:
    """Validate a notice against its outcome; returns every outcome field (unused ones None).

    Each outcome has its own obligations: a partial grant says what was blacked out and
    under which Pasal 17 clause, a rejection cites the clause and the consequence test, a
    "not held" names who holds it, "not documented" says by when. Fields an outcome does
    not use are refused rather than silently dropped, so a clerk learns that a fee on a
    rejection means nothing.
    """
    outcome = fields.get("outcome")
    if outcome not in OUTCOMES:
        raise Invalid("Hasil pemberitahuan tidak dikenal.", {"outcome": ["Pilihan tidak dikenal."]})
    required, optional = _NOTICE_REQUIRED[outcome], _NOTICE_OPTIONAL[outcome]
    errors: dict[str, list[str]] = {}
    for name in required:
        if fields.get(name) in (None, ""):
            errors[name] = [f"Wajib diisi untuk hasil \"{OUTCOMES[outcome]}\"."]
    for name in NOTICE_OUTCOME_FIELDS:
        if name not in required and name not in optional and fields.get(name) not in (None, ""):
            errors[name] = [
                f"Tidak berlaku untuk hasil \"{OUTCOMES[outcome]}\" "
                f"({_NOTICE_FIELD_LABELS[name]} tidak dicantumkan)."
            ]
    if fields.get("exemption_clause") not in (None, "") and (
        fields["exemption_clause"] not in EXEMPTION_CLAUSES
    ):
        errors["exemption_clause"] = ["Huruf pengecualian Pasal 17 harus a sampai j."]
    fee = fields.get("fee_amount")
    if fee is not None and (not isinstance(fee, int) or fee < 0):
        errors["fee_amount"] = ["Biaya harus bilangan bulat rupiah, tidak negatif."]
    if fee and not fields.get("fee_details"):
        errors["fee_details"] = ["Rincian biaya (penyalinan/pengiriman sesuai tarif) wajib diisi."]
    documented_by = fields.get("documented_by")
    if isinstance(documented_by, date) and documented_by <= today:
        errors["documented_by"] = ["Tanggal harus setelah hari ini."]
    if attachments and outcome not in RELEASING_OUTCOMES:
        errors["attachments"] = ["Lampiran hanya untuk informasi yang diberikan."]
    if errors:
        raise Invalid("Isian pemberitahuan tertulis belum lengkap atau tidak sesuai.", errors)
    cleaned = {name: fields.get(name) for name in NOTICE_OUTCOME_FIELDS}
    cleaned["fee_amount"] = cleaned["fee_amount"] or 0
    cleaned["outcome"] = outcome
    return cleaned


# -- objections (Pasal 35-36) ---------------------------------------------------------------


def objection_ground_arose(request: Any, notice: Any | None) -> datetime:
    """When the ground for an objection arose: the notice, or the due time it missed."""
    return notice.issued_at if notice is not None else request.due_at


def objection_refusal(
    request: Any,
    notice: Any | None,
    *,
    cal: Calendar,
    now: datetime,
    has_open_objection: bool,
) -> DomainError | None:
    """Why no objection can be filed now, whatever its grounds, or None.

    Some ground always fits a request that passes: (c) an overdue one without a notice,
    (d) and (e) one with a notice.
    """
    if request.status == WITHDRAWN:
        return Conflict("Permohonan telah dicabut; keberatan tidak dapat diajukan.")
    if has_open_objection:
        return Conflict("Keberatan sebelumnya atas permohonan ini masih menunggu tanggapan.")
    if notice is None and not now > request.due_at:
        return Conflict(
            "Keberatan belum dapat diajukan: permohonan masih dalam batas waktu jawaban "
            f"(sampai {format_instant_id(request.due_at.astimezone(_tz(cal)), seconds=True)})."
        )
    deadline = cal.due_at(objection_ground_arose(request, notice), OBJECTION_WINDOW_DAYS)
    if now > deadline:
        return Conflict(
            "Batas waktu pengajuan keberatan (30 hari kerja sejak alasan keberatan timbul) "
            f"telah berakhir pada {format_instant_id(deadline.astimezone(_tz(cal)), seconds=True)}."
        )
    return None


def check_objection(
    request: Any,
    notice: Any | None,
    grounds: Iterable[str],
    *,
    cal: Calendar,
    now: datetime,
    has_open_objection: bool,
) -> tuple[datetime, datetime]:
    """Check an objection can be filed now; returns (ground arose at, filing deadline).

    Each ground must fit what happened: (a) needs a rejection or a redaction, (c) a request
    past due without a notice, (f) a fee, (g) a notice given after its due time; (b), (d),
    (e) need a notice or a missed deadline. The window is 30 working days from the ground
    arising.
    """
    grounds = list(grounds)
    refused = objection_refusal(request, notice, cal=cal, now=now, has_open_objection=has_open_objection)
    if refused is not None:
        raise refused
    overdue = notice is None
    errors: dict[str, list[str]] = {}
    for ground in grounds:
        if ground not in OBJECTION_GROUNDS:
            errors.setdefault("grounds", []).append(f"Alasan \"{ground}\" tidak dikenal (a sampai g).")
            continue
        problem = _ground_problem(ground, notice, overdue)
        if problem:
            errors.setdefault("grounds", []).append(f"Alasan huruf {ground}: {problem}")
    if not grounds:
        errors["grounds"] = ["Pilih sedikitnya satu alasan keberatan (Pasal 35 huruf a-g)."]
    if errors:
        raise Invalid("Alasan keberatan tidak sesuai dengan keadaan permohonan.", errors)
    arose = objection_ground_arose(request, notice)
    return arose, cal.due_at(arose, OBJECTION_WINDOW_DAYS)


def _ground_problem(ground: str, notice: Any | None, overdue: bool) -> str | None:
    if ground == "a":
        if notice is None or notice.outcome not in (REJECTED, PARTIAL):
            return "permohonan tidak ditolak atau dihitamkan berdasarkan Pasal 17."
    elif ground == "c":
        if not overdue:
            return "permohonan telah ditanggapi dengan pemberitahuan tertulis."
    elif ground == "f":
        if notice is None or not notice.fee_amount:
            return "pemberitahuan tidak mengenakan biaya."
    elif ground == "g":
        # Pasal 35 huruf g is information given after its time; one not given at all
        # (an overdue request without a notice) is huruf c.
        if notice is None:
            return "belum ada pemberitahuan tertulis; gunakan alasan huruf c."
        if not notice.late:
            return "pemberitahuan disampaikan tepat waktu."
    elif ground in ("d", "e") and notice is None:
        return "belum ada pemberitahuan tertulis; gunakan alasan huruf c."
    return None


def objection_response_due(cal: Calendar, filed_at: datetime) -> tuple[datetime, datetime]:
    """(effective receipt, the Atasan's answer due) for an objection filed at `filed_at`."""
    return cal.receipt_instant(filed_at), cal.due_at(filed_at, OBJECTION_ANSWER_DAYS)


def decide(objection: Any, decision: str, *, cal: Calendar, now: datetime) -> None:
    if objection.status != FILED:
        raise Conflict("Keberatan ini sudah ditanggapi.")
    if decision not in DECISIONS:
        raise Invalid("Tanggapan tidak dikenal.", {"decision": ["Pilihan tidak dikenal."]})
    if decision == SETTLED and not set(objection.grounds.split(",")) <= SETTLEABLE_GROUNDS:
        raise Invalid(
            "Keberatan atas alasan huruf a (pengecualian) tidak dapat diselesaikan secara "
            "musyawarah (Pasal 35 ayat 2).",
            {"decision": ["Musyawarah hanya untuk alasan huruf b sampai g."]},
        )
    objection.status = DECIDED
    objection.decision = decision
    objection.decided_at = now
    objection.decision_late = now > objection.response_due_at
    objection.dispute_window_due_at = dispute_window_due(cal, objection)


def reopen(request: Any, notice: Any | None, *, cal: Calendar, now: datetime, days: int) -> datetime | None:
    """An objection granted (`overturned`) creates the duty it decides: the PPID's notice, if
    any, is annulled (kept, superseded) and the request is the PPID's again, with a new
    notice due `days` working days after the decision. Returns the previous due time, or
    None when the request was withdrawn meanwhile and nothing is owed."""
    if request.status == WITHDRAWN:
        return None
    request.late_before_reopen = is_late(request, now)
    if notice is not None:
        notice.superseded_at = now
    if request.status == ANSWERED:
        request.status = ASSIGNED if request.opd else RECEIVED
        request.answered_at = None
        request.outcome = None
    previous = request.due_at
    request.reopened_at = now
    request.due_at = cal.due_at(now, days)
    return previous


def dispute_window_due(cal: Calendar, objection: Any) -> datetime:
    """14 working days after the Atasan's answer, or after the day it was due (Pasal 37)."""
    start = objection.decided_at if objection.decided_at is not None else objection.response_due_at
    return cal.due_at(start, DISPUTE_WINDOW_DAYS)


def answer_lapsed(objection: Any, now: datetime) -> bool:
    return objection.decided_at is None and now > objection.response_due_at


def check_dispute(
    objection: Any, filed_on: date, *, cal: Calendar, now: datetime, has_dispute: bool
) -> bool:
    """Check a dispute filing can be recorded; returns whether it came within the window.

    The Komisi Informasi, not this service, rules on a late filing, so a late one is
    recorded and flagged rather than refused.
    """
    if has_dispute:
        raise Conflict("Sengketa atas keberatan ini sudah dicatat.")
    if objection.status != DECIDED and not answer_lapsed(objection, now):
        raise Conflict(
            "Sengketa hanya dapat diajukan setelah Atasan PPID menanggapi keberatan "
            "atau batas waktu tanggapannya lewat."
        )
    tz = _tz(cal)
    today = now.astimezone(tz).date()
    opened = (objection.decided_at or objection.response_due_at).astimezone(tz).date()
    if filed_on > today:
        raise Invalid("Tanggal pengajuan sengketa tidak boleh di masa depan.", {"filed_on": ["Tanggal di masa depan."]})
    if filed_on < opened:
        raise Invalid(
            f"Tanggal pengajuan sengketa tidak boleh sebelum {format_date_id(opened)}.",
            {"filed_on": ["Sebelum keberatan ditanggapi atau batas tanggapannya lewat."]},
        )
    return filed_on <= dispute_window_due(cal, objection).astimezone(tz).date()


def check_resolution(dispute: Any, outcome: str, resolved_on: date, *, today: date) -> None:
    if dispute.status != FILED:
        raise Conflict("Sengketa ini sudah dicatat selesai.")
    if outcome not in DISPUTE_OUTCOMES:
        raise Invalid("Putusan tidak dikenal.", {"outcome": ["Pilihan tidak dikenal."]})
    if resolved_on > today or resolved_on < dispute.filed_on:
        raise Invalid(
            "Tanggal putusan harus antara tanggal pengajuan sengketa dan hari ini.",
            {"resolved_on": ["Tanggal di luar rentang."]},
        )


# -- who may do what ------------------------------------------------------------------------
#
# The PPID Utama (regency level, at Diskominfo) coordinates every request. A PPID Pelaksana
# holds and answers for its own OPD's information; its token always names that OPD, and one
# without an OPD sees nothing. An Atasan PPID sees and decides its own OPD's objections; a
# regency-level Atasan (the Atasan of the PPID Utama) those of every OPD, following the
# chassis rule that a token without an OPD is regency-level.


SCOPE_RULE = ScopeRule.of(everywhere={UTAMA}, regency={ATASAN}, own_opd={PELAKSANA, ATASAN})


def scope_of(staff: Staff | None) -> OpdScope:
    """Whose requests and objections `staff` sees, in every list, detail, export, register
    and report: the one rule, applied once."""
    return SCOPE_RULE.scope_of(staff)


def may_view(staff: Staff, opd: str | None) -> bool:
    return scope_of(staff).allows(opd)


def require_view(staff: Staff, opd: str | None) -> None:
    scope_of(staff).require(opd, "Permohonan ini ditangani OPD lain; Anda tidak berwenang atasnya.")


def require_handler(staff: Staff, opd: str | None) -> None:
    """Extension, notice, public subject: the PPID Utama, or the Pelaksana of the OPD
    holding the request (the same rule `refusal` applies)."""
    refused = _handler_refusal(staff, opd)
    if refused is not None:
        raise refused


def require_decider(staff: Staff, objection_opd: str | None) -> None:
    if staff.has_role(ATASAN) and (staff.opd is None or staff.opd == objection_opd):
        return
    raise Forbidden("Hanya Atasan PPID dari OPD yang menangani permohonan yang dapat menanggapi keberatan ini.")


# Personal data (NIK, address, phone, email) is shown to exactly the officers who may see the
# request: the PPID Utama, the holding OPD's Pelaksana and that OPD's Atasan.
may_see_personal_data = may_view


# -- documents released with a notice -------------------------------------------------------


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_ZIP = b"PK\x03\x04"
# content type -> (file name endings, check of the first bytes). A declared type must match
# what the bytes are, so a renamed executable cannot travel as a "PDF".
ATTACHMENT_TYPES = {
    "application/pdf": ((".pdf",), lambda b: b.startswith(b"%PDF-")),
    "image/jpeg": ((".jpg", ".jpeg"), lambda b: b.startswith(b"\xff\xd8\xff")),
    "image/png": ((".png",), lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "text/csv": ((".csv",), _is_text),
    "text/plain": ((".txt",), _is_text),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        (".xlsx",),
        lambda b: b.startswith(_ZIP),
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        (".docx",),
        lambda b: b.startswith(_ZIP),
    ),
    "application/vnd.oasis.opendocument.text": ((".odt",), lambda b: b.startswith(_ZIP)),
    "application/vnd.oasis.opendocument.spreadsheet": ((".ods",), lambda b: b.startswith(_ZIP)),
}
_FILENAME = re.compile(r"^[^\x00-\x1f/\\:*?\"<>|]{1,200}$")


def attachment_errors(
    attachments: Sequence[tuple[str, str, bytes]], *, max_count: int, max_bytes: int
) -> dict[str, list[str]]:
    """Field errors of (filename, content type, content) attachments, keyed as the form's."""
    errors: dict[str, list[str]] = {}
    if len(attachments) > max_count:
        errors["attachments"] = [f"Paling banyak {max_count} lampiran."]
    for index, (filename, content_type, content) in enumerate(attachments):
        problem = attachment_problem(filename, content_type, content, max_bytes)
        if problem:
            errors[f"attachments.{index}"] = [problem]
    return errors


def not_in_future(field: str, moment: datetime | None, now: datetime) -> dict[str, list[str]]:
    """A date a clerk enters (notice issued, request received) cannot lie ahead of now."""
    if moment is not None and moment > now:
        return {field: ["Tidak boleh di masa depan."]}
    return {}


def offline_receipt_errors(
    submitted_at: datetime, now: datetime, max_age_days: int
) -> dict[str, list[str]]:
    """A paper or walk-in request is entered with its real receipt time: not ahead of now,
    nor so long ago that it is more likely a typo than a late entry."""
    errors = not_in_future("submitted_at", submitted_at, now)
    if submitted_at < now - timedelta(days=max_age_days):
        errors["submitted_at"] = [
            f"Lebih dari {max_age_days} hari yang lalu; periksa kembali tanggalnya."
        ]
    return errors


def attachment_problem(filename: str, content_type: str, content: bytes, max_bytes: int) -> str | None:
    """Why a document cannot be attached, or None."""
    if not _FILENAME.match(filename or "") or filename.strip(". ") == "":
        return "Nama berkas tidak valid (tanpa garis miring atau karakter khusus, maks. 200)."
    allowed = ATTACHMENT_TYPES.get(content_type)
    if allowed is None:
        return (
            f"Jenis berkas {content_type} tidak diizinkan; gunakan PDF, JPEG, PNG, CSV, TXT, "
            "XLSX, DOCX, ODT atau ODS."
        )
    endings, looks_right = allowed
    if not filename.lower().endswith(endings):
        return f"Nama berkas harus berakhiran {' atau '.join(endings)} untuk jenis {content_type}."
    if not content:
        return "Berkas kosong."
    if len(content) > max_bytes:
        return f"Berkas melebihi batas {max_bytes // 1024} KB."
    if not looks_right(content):
        return f"Isi berkas tidak sesuai dengan jenis {content_type}."
    return None
