"""Official letters of the regency, printed as HTML and as PDF from one model.

A service describes a letter as data (`Letter`: the letterhead, the title and number, a
list of blocks, the signature) and the chassis prints it twice: `render_html` through one
Jinja2 template (`letter.html`, autoescaped) and `render_pdf` with reportlab, laid out the
same way (centred letterhead over a double rule, the title underlined, rows of label and
value, the signature block on the right half with the place and date of signing, the
signatory's name and NIP), so the page a desk prints from the browser and the PDF a citizen
downloads are recognisably the same letter. Every text is escaped in both.

The letterhead comes from the regency of `config/opd.json` (`letterhead(regency, office)`):
its name, its address and its seat, the place where letters are signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.common.calendar import MONTHS_ID
from services.common.opd import Regency

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent)),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Block kinds: a paragraph, a paragraph in bold (a decision), a note in italics, a label of
# a quoted passage, the quoted passage, and rows of label : value.
PARAGRAPH, STRONG, NOTE, QUOTE, ROWS = "paragraph", "strong", "note", "quote", "rows"


@dataclass(frozen=True)
class Letterhead:
    # As written in the reference data; both renderings print them in capitals.
    government: str  # Pemerintah Kabupaten Kapuas
    office: str  # the unit writing, e.g. its PPID
    address: str | None = None
    seat: str | None = None


@dataclass(frozen=True)
class Block:
    kind: str
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Signature:
    role: str  # the office signing, e.g. "PPID Pelaksana Dinas Kesehatan"
    signed_on: date
    place: str | None = None
    name: str | None = None
    nip: str | None = None
    # A receipt issued on the web has no officer behind it: it says so instead.
    unsigned_note: str | None = None

    @property
    def place_date(self) -> str:
        day = f"{self.signed_on.day} {MONTHS_ID[self.signed_on.month - 1]} {self.signed_on.year}"
        return f"{self.place}, {day}" if self.place else day


@dataclass(frozen=True)
class Letter:
    letterhead: Letterhead
    title: str
    number: str | None
    blocks: tuple[Block, ...]
    signature: Signature
    # Shown in the browser tab and the PDF's properties.
    document_title: str = ""
    footnotes: tuple[str, ...] = field(default_factory=tuple)


def letterhead(regency: Regency | None, office: str) -> Letterhead:
    """The regency's letterhead over the name of the office writing."""
    if regency is None:
        return Letterhead(government="Pemerintah Daerah", office=office)
    return Letterhead(government=regency.name, office=office, address=regency.address, seat=regency.seat)


def paragraph(text: str) -> Block:
    return Block(PARAGRAPH, text)


def strong(text: str) -> Block:
    return Block(STRONG, text)


def note(text: str) -> Block:
    return Block(NOTE, text)


def quote(text: str) -> Block:
    return Block(QUOTE, text)


def rows(items: Sequence[tuple[str, str | None]]) -> Block:
    return Block(ROWS, rows=tuple((label, value or "-") for label, value in items))


def render_html(letter: Letter) -> str:
    return _env.get_template("letter.html").render(letter=letter, sig=letter.signature)


def render_pdf(letter: Letter) -> bytes:
    """The letter as a PDF (`services.common.letter_pdf`).

    reportlab is imported by the first letter a worker prints, not with the app: most
    workers of a day answer no download, and the library costs each of them megabytes.
    """
    from services.common.letter_pdf import render_pdf as render

    return render(letter)
