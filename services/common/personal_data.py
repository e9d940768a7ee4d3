"""Recognising text that could identify a person, before it is published.

A public list shows a line an officer wrote about a case (what was asked, never who asked).
The checks here refuse what would identify someone: long runs of digits (an NIK, a phone or
an account number), e-mail addresses, and the applicant's name. People disguise these to
get past a filter, and officers paste what they were sent, so the forms are matched rather
than the tidy spelling: digits grouped by spaces, dots, dashes, slashes, underscores or
brackets (`6203/0152/0390/0001`, `0812_5555_1234`), and addresses written `siti (at)
example.org` or `siti[at]example[dot]org`. Full-width and other compatibility characters
are folded first (NFKC), so `０８１２` is `0812` and `＠` is `@`.

What is not refused: a date (`16/03/2026`, eight digits), a year range (`2024/2025`) and
years listed one after another (`2023 2024 2025`).
"""

from __future__ import annotations

import re
import unicodedata

# Nine digits or more, whatever short run of separators groups them: the shortest phone
# numbers (a landline with its area code) have nine; a date has eight.
_DIGIT_RUN = re.compile(r"\d(?:[\s./_\-()+]{0,3}\d){8,}")
_GROUP = re.compile(r"\d+")
_YEAR = re.compile(r"(?:19|20)\d\d")

_AT = r"(?:@|\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+)"
_EMAIL = re.compile(rf"[\w.+\-]+{_AT}[\w\-]+(?:{_DOT}[\w\-]+)+", re.IGNORECASE)

DIGITS_PROBLEM = "Tidak boleh memuat deretan angka panjang (NIK, telepon, nomor rekening)."
EMAIL_PROBLEM = "Tidak boleh memuat alamat surel."
NAME_PROBLEM = "Tidak boleh memuat nama pemohon."


def folded(text: str) -> str:
    """`text` with compatibility characters folded (NFKC): full-width digits and signs."""
    return unicodedata.normalize("NFKC", text)


def has_identifying_digits(text: str) -> bool:
    """True when `text` holds a run of nine or more digits, however they are grouped, other
    than a list of years."""
    for match in _DIGIT_RUN.finditer(folded(text)):
        groups = _GROUP.findall(match.group())
        if not all(len(g) == 4 and _YEAR.fullmatch(g) for g in groups):
            return True
    return False


def has_email_address(text: str) -> bool:
    """True when `text` holds an e-mail address, plainly written or as `(at)`, `[at]`, …"""
    return _EMAIL.search(folded(text)) is not None


def names_person(text: str, name: str | None) -> bool:
    """True when `text` holds `name`, or a word of it of three letters or more."""
    if not name:
        return False
    lowered = folded(text).casefold()
    name = folded(name).casefold()
    parts = [p for p in re.split(r"\W+", name) if len(p) >= 3]
    return name.strip() in lowered or any(
        re.search(rf"\b{re.escape(p)}\b", lowered) for p in parts
    )


def identifying_problems(text: str, name: str | None = None) -> list[str]:
    """Why `text` could identify someone (Bahasa Indonesia); empty when it may be published."""
    problems = []
    if has_identifying_digits(text):
        problems.append(DIGITS_PROBLEM)
    if has_email_address(text):
        problems.append(EMAIL_PROBLEM)
    if names_person(text, name):
        problems.append(NAME_PROBLEM)
    return problems
