"""The week's chart: one bar per OPD, days with news out of working days, as SVG.

Read at a glance by a head of office: the bar's length is the share of working days with a
submission, its colour the verdict (green every day, amber some days, red none), and the
words beside it say the same in figures, so it reads in black and white too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

CONTENT_TYPE = "image/svg+xml; charset=utf-8"

WIDTH = 860
LABEL_WIDTH = 260
BAR_WIDTH = 420
ROW_HEIGHT = 30
BAR_HEIGHT = 18
TOP = 116
BOTTOM = 64
# What fits left of the bars at 13 px in the widest of the fonts below.
LABEL_CHARS = 29
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"

FULL = "#2e7d32"
PARTIAL = "#f9a825"
NONE = "#c62828"
TRACK = "#e6e6e6"
INK = "#212121"
MUTED = "#616161"
SILENT_OUTLINE = f' stroke="{NONE}" stroke-width="1.5"'
LEGEND = ((FULL, "Berita setiap hari kerja"), (PARTIAL, "Sebagian hari kerja"),
          (NONE, "Tidak ada berita"))


@dataclass(frozen=True)
class ChartRow:
    label: str
    days_with_news: int
    working_days: int


def _colour(row: ChartRow) -> str:
    if row.days_with_news <= 0:
        return NONE
    return FULL if row.days_with_news >= row.working_days else PARTIAL


def _text(x: float, y: float, words: str, *, size: int = 13, weight: str = "normal",
          anchor: str = "start", fill: str = INK) -> str:
    return (f'<text x="{x:g}" y="{y:g}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}">{escape(words)}</text>')


def _row(index: int, row: ChartRow) -> str:
    y = TOP + index * ROW_HEIGHT
    days = min(max(row.days_with_news, 0), row.working_days)
    filled = BAR_WIDTH * days / row.working_days if row.working_days else 0
    label = row.label if len(row.label) <= LABEL_CHARS else row.label[:LABEL_CHARS - 1] + "…"
    figure = f"{days} dari {row.working_days} hari"
    return "".join((
        _text(LABEL_WIDTH - 12, y + 14, label, anchor="end", fill=NONE if days == 0 else INK),
        f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
        f'fill="{TRACK}" rx="3"{SILENT_OUTLINE if days == 0 else ""}/>',
        f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{filled:.1f}" height="{BAR_HEIGHT}" '
        f'fill="{_colour(row)}" rx="3"/>' if filled else "",
        _text(LABEL_WIDTH + BAR_WIDTH + 12, y + 14, figure,
              weight="bold" if days == 0 else "normal",
              fill=NONE if days == 0 else INK),
    ))


def _legend(y: float) -> str:
    parts, x = [], LABEL_WIDTH
    for colour, words in LEGEND:
        parts.append(f'<rect x="{x}" y="{y - 11}" width="14" height="14" fill="{colour}" rx="2"/>')
        parts.append(_text(x + 20, y, words, size=12, fill=MUTED))
        x += 40 + 7 * len(words)
    return "".join(parts)


def week_chart(title: str, subtitle: str, rows: Sequence[ChartRow]) -> str:
    """The SVG document; `rows` in the order they are drawn, top to bottom."""
    working = max((row.working_days for row in rows), default=0)
    body: list[str] = []
    # The verdict comes first, under the title: a reader of one line has read the chart.
    if not rows or working == 0:
        height = TOP + ROW_HEIGHT + BOTTOM
        summary, verdict = "Tidak ada hari kerja pada periode ini.", MUTED
    else:
        height = TOP + len(rows) * ROW_HEIGHT + BOTTOM
        body.extend(_row(index, row) for index, row in enumerate(rows))
        silent = sum(1 for row in rows if row.days_with_news <= 0)
        reported = len(rows) - silent
        summary = f"{reported} OPD mengirim berita, {silent} OPD tidak mengirim berita."
        verdict = NONE if silent else FULL
        body.append(_legend(height - 24))
    head = "".join((
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(24, 36, title, size=20, weight="bold"),
        _text(24, 62, summary, size=15, weight="bold", fill=verdict),
        _text(24, 84, subtitle, size=13, fill=MUTED),
        _text(LABEL_WIDTH, TOP - 10, "Hari kerja dengan berita", size=12, fill=MUTED),
    ))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}" role="img" '
            f'aria-label="{escape(title, {chr(34): "&quot;"})}">'
            f"<title>{escape(title)}</title>{head}{''.join(body)}</svg>")
