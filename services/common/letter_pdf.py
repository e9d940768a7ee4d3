"""The PDF half of `services.common.letters`: a `Letter` laid out with reportlab.

Imported only when a letter is printed, so a web worker that never prints one never loads
reportlab.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

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

from services.common.letters import NOTE, PARAGRAPH, QUOTE, ROWS, STRONG, Letter, Signature

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
