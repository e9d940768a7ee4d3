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

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

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


# -- PDF -----------------------------------------------------------------------------------------

# Times like the HTML's serif; the 14 standard fonts need no file on the server.
_FONT, _BOLD, _ITALIC = "Times-Roman", "Times-Bold", "Times-Italic"
# The text width: the page less the margins and the 6 pt padding each side of the frame.
_WIDTH = A4[0] - 4.4 * cm - 12


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("letter", fontName=_FONT, fontSize=11.5, leading=15.5, alignment=TA_JUSTIFY)
    return {
        "body": body,
        "left": ParagraphStyle("left", parent=body, alignment=0),
        "government": ParagraphStyle("government", parent=body, fontName=_BOLD, fontSize=14, leading=17, alignment=TA_CENTER),
        "office": ParagraphStyle("office", parent=body, fontName=_BOLD, fontSize=12.5, leading=15, alignment=TA_CENTER),
        "address": ParagraphStyle("address", parent=body, fontSize=10, leading=12.5, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=body, fontName=_BOLD, fontSize=13, leading=16, alignment=TA_CENTER),
        "number": ParagraphStyle("number", parent=body, alignment=TA_CENTER),
        "strong": ParagraphStyle("strong", parent=body, fontName=_BOLD),
        "note": ParagraphStyle("note", parent=body, fontName=_ITALIC),
        "quote": ParagraphStyle("quote", parent=body, leftIndent=1 * cm, rightIndent=0.5 * cm),
        "footnote": ParagraphStyle("footnote", parent=body, fontSize=9.5, leading=12),
    }


def _text(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _rows_table(items: tuple[tuple[str, str], ...], style: ParagraphStyle) -> Table:
    data = [[Paragraph(_text(label), style), Paragraph(":", style), Paragraph(_text(value), style)] for label, value in items]
    table = Table(data, colWidths=[0.34 * _WIDTH, 0.03 * _WIDTH, 0.63 * _WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def render_pdf(letter: Letter) -> bytes:
    s = _styles()
    head = letter.letterhead
    story: list = [
        Paragraph(_text(head.government.upper()), s["government"]),
        Paragraph(_text(head.office.upper()), s["office"]),
    ]
    if head.address:
        story.append(Paragraph(_text(head.address), s["address"]))
    story += [
        Spacer(1, 0.15 * cm),
        HRFlowable(width="100%", thickness=1.6, color="black", spaceBefore=0, spaceAfter=1.2),
        HRFlowable(width="100%", thickness=0.5, color="black", spaceBefore=0, spaceAfter=0),
        Spacer(1, 0.5 * cm),
        Paragraph(f"<u>{_text(letter.title)}</u>", s["title"]),
    ]
    if letter.number:
        story.append(Paragraph(_text(f"Nomor: {letter.number}"), s["number"]))
    story.append(Spacer(1, 0.45 * cm))
    for block in letter.blocks:
        if block.kind == ROWS:
            story.append(_rows_table(block.rows, s["left"]))
        else:
            story.append(Paragraph(_text(block.text), s[{PARAGRAPH: "body", STRONG: "strong", NOTE: "note", QUOTE: "quote"}[block.kind]]))
        story.append(Spacer(1, 0.22 * cm))
    story.append(Spacer(1, 0.4 * cm))
    story.append(KeepTogether(_signature(letter.signature, s)))
    for text in letter.footnotes:
        story += [Spacer(1, 0.3 * cm), Paragraph(_text(text), s["footnote"])]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        topMargin=1.6 * cm,
        bottomMargin=2 * cm,
        title=letter.document_title or letter.title,
        author=head.office,
        invariant=True,
    ).build(story)
    return buffer.getvalue()


def _signature(sig: Signature, s: dict[str, ParagraphStyle]) -> list:
    left = s["left"]
    lines = [Paragraph(_text(sig.place_date), left), Paragraph(_text(sig.role), left)]
    if sig.unsigned_note:
        lines += [Spacer(1, 0.3 * cm), Paragraph(_text(sig.unsigned_note), s["note"])]
    else:
        lines.append(Spacer(1, 2.0 * cm))
        name = _text(sig.name) if sig.name else "(" + "." * 40 + ")"
        lines.append(Paragraph(f"<u>{name}</u>" if sig.name else name, ParagraphStyle("signer", parent=left, fontName=_BOLD)))
        lines.append(Paragraph(_text(f"NIP. {sig.nip}" if sig.nip else "NIP. -"), left))
    block = Table([[None, [line for line in lines]]], colWidths=[0.5 * _WIDTH, 0.5 * _WIDTH])
    block.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [block]
