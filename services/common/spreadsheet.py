"""CSV that a spreadsheet opens as text: no cell of it runs as a formula (CSV injection).

A spreadsheet evaluates a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab
or a carriage return before one), and a citizen's text in an export must never run as one
on an officer's machine (OWASP, "CSV Injection"). The separator is the reader's choice, not
the file's: a spreadsheet in an Indonesian locale splits on `;`, others on `,`, so a value
is guarded at its start and after every `,` and `;` inside it, where a cell may begin, and
after a tab or a line break too (a tab-separated reading, or a reader that ignores quotes).

A guarded part gets an apostrophe in front, which spreadsheets read as "text follows". A
plain number (`+6281255551234`, `-5`, `1,5`) is left alone: it can compute nothing, and an
officer reads a phone number as the applicant wrote it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = re.compile(r"([,;\t\r\n])")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def neutralised(text: str) -> str:
    """`text` with an apostrophe before every part that a spreadsheet could read as a
    formula: at its start, or after a `,`, `;`, tab or line break."""
    parts = SEPARATORS.split(text)
    # Parts at even indexes are text between separators; odd ones are the separators.
    for index in range(0, len(parts), 2):
        parts[index] = _guarded(parts[index])
    return "".join(parts)


def _guarded(part: str) -> str:
    # A reader that trims what follows a separator still sees the formula character first.
    body = part.lstrip(" ")
    if not body.startswith(FORMULA_START) or body.strip() in FORMULA_START:
        return part
    if _PLAIN_NUMBER.fullmatch(body):
        return part
    return part[: len(part) - len(body)] + "'" + body


def cell(value: Any, *, yes: str = "Ya", no: str = "Tidak") -> str:
    """One CSV cell: empty for None, Ya/Tidak for booleans, ISO dates, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralised(value)
    return str(value)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, which spreadsheet programs need to read the accents;
    every cell through `cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(label) for label in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
