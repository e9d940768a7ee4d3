"""The annual PPID report (UU 14/2008 Pasal 12) as a PDF with charts.

Built from the JSON report (`reports.annual_report`), so the PDF and the API never disagree.
Charts are reportlab drawings: requests per OPD, the outcomes of the written notices, the
working days taken, and the objection grounds. Every text is escaped before it reaches
reportlab's paragraph markup.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from services.common.calendar import format_date_id
from services.ppid import domain

PALETTE = (
    colors.HexColor("#1f6f8b"),
    colors.HexColor("#99c24d"),
    colors.HexColor("#f18f01"),
    colors.HexColor("#c73e1d"),
    colors.HexColor("#6c4f70"),
    colors.HexColor("#3b8ea5"),
    colors.HexColor("#a4a4a4"),
)
WIDTH = A4[0] - 4.4 * cm
# More OPDs than this in the chart would make unreadable bars; the table lists them all.
MAX_CHART_OPDS = 15


def _styles():
    base = getSampleStyleSheet()
    normal = ParagraphStyle("r-normal", parent=base["Normal"], fontSize=9.5, leading=12.5)
    return {
        "normal": normal,
        "small": ParagraphStyle("r-small", parent=normal, fontSize=8, leading=10),
        "title": ParagraphStyle("r-title", parent=base["Title"], fontSize=15, spaceAfter=4),
        "h2": ParagraphStyle("r-h2", parent=base["Heading2"], fontSize=12, spaceBefore=10,
                             spaceAfter=4),
        "centre": ParagraphStyle("r-centre", parent=normal, alignment=1),
    }


def _p(text: Any, style) -> Paragraph:
    return Paragraph(escape("-" if text is None else str(text)), style)


def _grid(rows: list[list[Any]], widths: list[float], style, *, header: bool = True) -> Table:
    data = [[c if isinstance(c, Paragraph) else _p(c, style) for c in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9a9a9a")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4eef2")))
    table.setStyle(TableStyle(commands))
    return table


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%".replace(".", ",")


# --- charts --------------------------------------------------------------------------------


def _empty(drawing: Drawing, text: str) -> Drawing:
    drawing.add(String(drawing.width / 2, drawing.height / 2, text, textAnchor="middle",
                       fontSize=9, fillColor=colors.grey))
    return drawing


def bar_chart(title: str, labels: list[str], values: list[int], *, height: float = 170,
              horizontal: bool = False) -> Drawing:
    drawing = Drawing(WIDTH, height + 30)
    drawing.add(String(0, height + 16, title, fontSize=10, fontName="Helvetica-Bold"))
    if not values or not any(values):
        return _empty(drawing, "Tidak ada data")
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    chart.x, chart.y = (150, 10) if horizontal else (35, 45)
    chart.width = WIDTH - chart.x - 15
    chart.height = height - (20 if horizontal else 50)
    chart.data = [values]
    chart.bars[0].fillColor = PALETTE[0]
    chart.valueAxis.valueMin = 0
    top = max(values)
    chart.valueAxis.valueStep = max(1, -(-top // 5))
    chart.valueAxis.valueMax = chart.valueAxis.valueStep * max(1, -(-top // chart.valueAxis.valueStep))
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.barLabelFormat = "%d"
    chart.barLabels.fontSize = 7
    if horizontal:
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.barLabels.dx = 6
    else:
        chart.categoryAxis.labels.angle = 35
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.barLabels.dy = 5
    drawing.add(chart)
    return drawing


def pie_chart(title: str, labels: list[str], values: list[int]) -> Drawing:
    drawing = Drawing(WIDTH, 190)
    drawing.add(String(0, 176, title, fontSize=10, fontName="Helvetica-Bold"))
    pairs = [(label, value) for label, value in zip(labels, values, strict=True) if value]
    if not pairs:
        return _empty(drawing, "Belum ada pemberitahuan tertulis")
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 10, 10, 150, 150
    pie.data = [v for _, v in pairs]
    pie.labels = [str(v) for _, v in pairs]
    pie.simpleLabels = True
    pie.slices.strokeColor = colors.white
    for index in range(len(pairs)):
        pie.slices[index].fillColor = PALETTE[index % len(PALETTE)]
    drawing.add(pie)
    legend = Legend()
    legend.x, legend.y = 190, 140
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = len(pairs)
    legend.colorNamePairs = [
        (PALETTE[i % len(PALETTE)], f"{label} ({value})") for i, (label, value) in enumerate(pairs)
    ]
    drawing.add(legend)
    return drawing


# --- the document --------------------------------------------------------------------------


def _summary_rows(total: dict[str, Any]) -> list[list[Any]]:
    req = total["requests"]
    days = req["days_taken"]
    obj, disp = total["objections"], total["disputes"]
    return [
        ["Uraian", "Jumlah"],
        ["Permohonan informasi publik yang diterima", req["total"]],
        ["Permohonan yang telah dijawab dengan pemberitahuan tertulis", req["answered"]],
        ["Dikabulkan seluruhnya", req["granted_in_full"]],
        ["Dikabulkan sebagian", req["granted_in_part"]],
        ["Ditolak (informasi dikecualikan)", req["rejected"]],
        ["Informasi tidak dikuasai", req["not_held"]],
        ["Informasi belum didokumentasikan", req["not_documented"]],
        ["Permohonan yang diperpanjang waktunya", req["extended"]],
        ["Rata-rata waktu layanan (hari kerja)", _number(days["average"])],
        ["Median / terlama (hari kerja)", f"{_number(days['median'])} / {_number(days['max'])}"],
        ["Dijawab tepat waktu", f"{req['on_time']} ({_percent(req['on_time_rate'])})"],
        ["Dijawab melewati batas waktu", req["late_answers"]],
        ["Belum dijawab dan melewati batas waktu", req["open_overdue"]],
        ["Keberatan yang diajukan", obj["total"]],
        ["Keberatan yang ditanggapi melewati batas atau belum ditanggapi", obj["late"]],
        ["Sengketa informasi di Komisi Informasi", disp["total"]],
    ]


def render_annual_report(report: dict[str, Any], *, generated_at: datetime,
                         compress: bool = True) -> bytes:
    """The PDF bytes of `report` (the dictionary `reports.annual_report` returns)."""
    s = _styles()
    total = report["total"]
    req = total["requests"]
    scope_name = report["regency"] or "Pemerintah Daerah"
    opd_rows = report["opds"]
    if report.get("opd"):
        only = next((o for o in opd_rows if o["opd"] == report["opd"]), None)
        scope_name = f"{only['name'] if only else report['opd']} - {scope_name}"

    story: list[Any] = [
        _p("LAPORAN LAYANAN INFORMASI PUBLIK", s["title"]),
        _p(f"{scope_name} - Tahun {report['year']}", s["centre"]),
        _p("Disusun berdasarkan Pasal 12 Undang-Undang Nomor 14 Tahun 2008 tentang "
           "Keterbukaan Informasi Publik", s["centre"]),
        Spacer(1, 0.2 * cm),
        _p(f"Data per {format_date_id(generated_at.date())}"
           + (" (sementara: tahun laporan belum berakhir)" if report["provisional"] else ""),
           s["centre"]),
        Spacer(1, 0.4 * cm),
        _p("1. Ringkasan", s["h2"]),
        _grid(_summary_rows(total), [WIDTH - 3 * cm, 3 * cm], s["normal"]),
    ]

    outcome_keys = list(domain.OUTCOMES)
    story += [
        _p("2. Hasil pemberitahuan tertulis", s["h2"]),
        pie_chart("Hasil pemberitahuan tertulis",
                  [domain.OUTCOMES[k] for k in outcome_keys],
                  [req["outcomes"][k] for k in outcome_keys]),
    ]
    story += _reasons_section(req, s)

    bands = req["days_taken"]["bands"]
    story += [
        _p("3. Waktu yang diperlukan untuk memenuhi permohonan", s["h2"]),
        _p("Dihitung dalam hari kerja sejak hari ke-0 (hari diterimanya permohonan menurut jam "
           "layanan) sampai pemberitahuan tertulis; batas waktu 10 hari kerja dan dapat "
           "diperpanjang 7 hari kerja (Pasal 22 ayat 7 dan 8).", s["normal"]),
        bar_chart("Jumlah permohonan menurut waktu layanan (hari kerja)",
                  [f"{label} hari" for label in bands], list(bands.values()), height=150),
    ]

    charted = [o for o in opd_rows if o["requests"]["total"]][:MAX_CHART_OPDS]
    story += [
        PageBreak(),
        _p("4. Permohonan menurut OPD", s["h2"]),
        bar_chart("Permohonan per OPD",
                  [o["short_name"] for o in charted],
                  [o["requests"]["total"] for o in charted], height=200),
        Spacer(1, 0.3 * cm),
        _opd_table(opd_rows, s),
    ]

    story += _objection_section(total, s)
    story += [Spacer(1, 0.5 * cm),
              _p(f"Dibuat oleh sistem pada {format_date_id(generated_at.date())}.", s["small"])]

    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=2.2 * cm, rightMargin=2.2 * cm, topMargin=2 * cm,
        bottomMargin=2 * cm, title=f"Laporan Layanan Informasi Publik {report['year']}",
        author=scope_name, invariant=True, pageCompression=1 if compress else 0,
    ).build(story)
    return buffer.getvalue()


def _reasons_section(req: dict[str, Any], s) -> list[Any]:
    parts: list[Any] = []
    for title, key in (("Alasan penolakan (Pasal 17)", "rejection_reasons"),
                       ("Alasan pemberian sebagian (Pasal 17)", "redaction_reasons")):
        rows = req[key]
        if rows:
            table = _grid(
                [["Huruf", "Pengecualian", "Jumlah"]]
                + [[r["clause"], r["label"], r["count"]] for r in rows],
                [1.5 * cm, WIDTH - 3.5 * cm, 2 * cm], s["normal"],
            )
            parts.append(KeepTogether([_p(title, s["normal"]), table, Spacer(1, 0.2 * cm)]))
    if not parts:
        parts.append(_p("Tidak ada permohonan yang ditolak atau diberikan sebagian.", s["normal"]))
    return parts


def _opd_table(opd_rows: list[dict[str, Any]], s) -> Table:
    header = ["OPD", "Masuk", "Dijawab", "Seluruh", "Sebagian", "Ditolak",
              "Rata-rata hari", "Tepat waktu", "Keberatan", "Sengketa"]
    tiny = ParagraphStyle("r-tiny", parent=s["small"], fontSize=6.5, leading=8)
    rows: list[list[Any]] = [[_p(label, tiny) for label in header]]
    for o in opd_rows:
        r = o["requests"]
        rows.append([
            o["name"], r["total"], r["answered"], r["granted_in_full"], r["granted_in_part"],
            r["rejected"], _number(r["days_taken"]["average"]), _percent(r["on_time_rate"]),
            o["objections"]["total"], o["disputes"]["total"],
        ])
    if len(rows) == 1:
        rows.append(["Tidak ada permohonan", "", "", "", "", "", "", "", "", ""])
    narrow = 1.45 * cm
    return _grid(rows, [WIDTH - 9 * narrow] + [narrow] * 9, s["small"])


def _objection_section(total: dict[str, Any], s) -> list[Any]:
    obj, disp = total["objections"], total["disputes"]
    # A horizontal chart draws its first category at the bottom; reversed, huruf a is on top.
    grounds = list(reversed(domain.OBJECTION_GROUNDS))
    parts: list[Any] = [
        _p("5. Keberatan dan sengketa informasi", s["h2"]),
        bar_chart("Keberatan menurut alasan (Pasal 35 ayat 1)",
                  [f"huruf {g}" for g in grounds], [obj["by_ground"][g] for g in grounds],
                  height=150, horizontal=True),
        Spacer(1, 0.4 * cm),
        _grid(
            [["Tanggapan Atasan PPID", "Jumlah"]]
            + [[domain.DECISIONS[k], obj["decisions"][k]] for k in domain.DECISIONS]
            + [["Belum ditanggapi", obj["by_status"][domain.FILED]]],
            [WIDTH - 3 * cm, 3 * cm], s["normal"],
        ),
        Spacer(1, 0.3 * cm),
        _grid(
            [["Sengketa di Komisi Informasi", "Jumlah"]]
            + [[domain.DISPUTE_OUTCOMES[k], disp["outcomes"][k]] for k in domain.DISPUTE_OUTCOMES]
            + [["Dalam proses", disp["by_status"][domain.FILED]]],
            [WIDTH - 3 * cm, 3 * cm], s["normal"],
        ),
    ]
    return parts
