"""The report categories an operator configures (`LAPOR_CATEGORIES_FILE`).

A report stores the category's code, so a code once used stays in the file; its label may
change. `lainnya` (other) must exist: it is where a report whose category nobody here knows,
such as one imported from SP4N-LAPOR!, is filed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from services.lapor.wilayah import resolve

OTHER = "lainnya"
CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class CategoriesFileError(ValueError):
    """The categories file cannot be used: the process stops rather than accept any code."""


@dataclass(frozen=True)
class Category:
    code: str
    label: str


class Categories:
    def __init__(self, items: tuple[Category, ...]):
        self.items = items
        self._by_code = {c.code: c for c in items}
        self._by_words = {_words(c.code): c for c in items} | {_words(c.label): c for c in items}

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self):
        return iter(self.items)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.items)

    def label(self, code: str) -> str | None:
        found = self._by_code.get(code)
        return found.label if found else None

    def match(self, text: str | None) -> str:
        """The code a foreign category name stands for (by code or label, ignoring case,
        spaces and punctuation), `lainnya` when none matches."""
        if not text:
            return OTHER
        found = self._by_words.get(_words(text))
        return found.code if found else OTHER

    def as_list(self) -> list[dict]:
        return [{"code": c.code, "label": c.label} for c in self.items]


def _words(text: str) -> str:
    return " ".join(re.findall(r"[0-9a-z]+", text.casefold()))


def parse(document: object) -> Categories:
    problems = list(_problems(document))
    if problems:
        raise CategoriesFileError("; ".join(problems))
    return Categories(tuple(Category(i["code"], i["label"].strip())
                            for i in document["categories"]))  # type: ignore[index]


def _problems(document: object):
    items = document.get("categories") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        yield "the file must hold an object with a non-empty list `categories`"
        return
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            yield f"categories[{index}] must be an object"
            continue
        code, label = item.get("code"), item.get("label")
        if not isinstance(code, str) or not CODE.match(code):
            yield f"categories[{index}].code must be lower-case letters, digits or _ (at most 64)"
        elif code in seen:
            yield f"category code {code} appears twice"
        else:
            seen.add(code)
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            yield f"categories[{index}].label must be a text of 1 to 100 characters"
    if OTHER not in seen:
        yield f"the category {OTHER!r} must exist"


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Categories:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CategoriesFileError(f"{path}: {error}") from error
    return parse(document)


def load(path: str | Path = "config/lapor_categories.json") -> Categories:
    """The categories file, read once per process and path."""
    return _load_cached(str(resolve(path)))
