"""CSV cells never run as formulas, whichever separator the spreadsheet splits on."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from services.common import spreadsheet


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        # A tab or line break is where a cell begins for other readers: the guard follows it.
        ("\t=1+1", "\t'=1+1"),
        ("\r=1+1", "\r'=1+1"),
        ("a\t@SUM(A1)", "a\t'@SUM(A1)"),
        ("baris satu\n=1+1", "baris satu\n'=1+1"),
        # After a separator a spreadsheet may split on: `;` in Indonesian locales, `,` in others.
        ("biasa;=HYPERLINK(\"http://x\")", "biasa;'=HYPERLINK(\"http://x\")"),
        ("biasa,@SUM(A1)", "biasa,'@SUM(A1)"),
        ("a; =1+1", "a; '=1+1"),
        ("a;b,+cmd;c", "a;b,'+cmd;c"),
        # Plain numbers compute nothing and read as written.
        ("+6281255551234", "+6281255551234"),
        ("-5", "-5"),
        ("+62 812 5555 1234", "'+62 812 5555 1234"),
        ("Rp 5.000,-", "Rp 5.000,-"),
        ("1,5;-2,75", "1,5;-2,75"),
        ("biasa", "biasa"),
        ("Data 2024; 2025", "Data 2024; 2025"),
    ],
)
def test_formula_starts_are_neutralised_at_every_possible_cell_start(value, written):
    assert spreadsheet.neutralised(value) == written


def test_a_csv_file_read_with_either_separator_has_no_formula_cell():
    rows = [["=1+1", "x;=2+2", "y,@A1", "+6281255551234", None, True, date(2026, 3, 2), 7]]
    body = spreadsheet.to_csv(["A", "B", "C", "D", "E", "F", "G", "H"], rows).decode("utf-8-sig")
    assert body.splitlines()[1] == "'=1+1,x;'=2+2,\"y,'@A1\",+6281255551234,,Ya,2026-03-02,7"
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(body), delimiter=delimiter):
            for cell in row:
                text = cell.lstrip(" ").lstrip('"')
                assert not text.startswith(("=", "@", "\t", "\r")), (delimiter, cell)
                if text.startswith(("+", "-")):
                    assert text.lstrip("+-").replace(",", "").replace(".", "").isdigit(), (delimiter, cell)
