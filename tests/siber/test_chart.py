"""The week's chart: well-formed SVG with Indonesian labels, rendered to PNG by cairosvg."""

import os
from xml.etree import ElementTree

import cairosvg

from services.siber.chart import FULL, LABEL_CHARS, NONE, PARTIAL, ChartRow, week_chart

SVG = "{http://www.w3.org/2000/svg}"
ROWS = [
    ChartRow("Dinas Kesehatan", 5, 5),
    ChartRow("Dinas Pendidikan", 3, 5),
    ChartRow("Badan Perencanaan Pembangunan Daerah & <Litbang>", 1, 5),
    ChartRow("Dinas Pekerjaan Umum dan Penataan Ruang", 0, 5),
]


def chart():
    return week_chart("Berita OPD pekan 23–27 November 2026",
                      "Hari kerja dengan kiriman berita, per OPD", ROWS)


def test_every_opd_has_a_bar_coloured_by_its_verdict_and_its_figures_in_words():
    root = ElementTree.fromstring(chart())
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "5 dari 5 hari" in texts and "0 dari 5 hari" in texts
    assert "Badan Perencanaan Pembangunan Daerah & <Litbang>"[:LABEL_CHARS - 1] + "…" in texts
    assert "3 OPD mengirim berita, 1 OPD tidak mengirim berita." in texts
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    assert fills.count(FULL) == 2 and fills.count(PARTIAL) == 3  # bars and legend
    assert fills.count(NONE) == 1                               # the legend: a silent OPD has no bar


def test_a_week_without_working_days_says_so():
    root = ElementTree.fromstring(week_chart("Pekan libur", "", [ChartRow("Dinkes", 0, 0)]))
    assert "Tidak ada hari kerja pada periode ini." in [e.text for e in root.iter(f"{SVG}text")]


def test_the_chart_renders_to_a_png(tmp_path):
    png = cairosvg.svg2png(bytestring=chart().encode(), output_width=860)
    assert png.startswith(b"\x89PNG")
    target = os.environ.get("SIBER_CHART_PNG") or tmp_path / "chart.png"
    with open(target, "wb") as output:
        output.write(png)
