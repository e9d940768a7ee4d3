"""The README and docs/ point only at files the repository has: every relative link and
every repository path written in backticks exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# A path in backticks under one of the repository's top-level folders, or a root file.
_PATH = re.compile(
    r"`((?:services|config|docs|deploy|tests|bench|\.ci)/[^`\s]*|[A-Za-z.]+\.(?:md|toml|example))`"
)
# Files make run and make test write, not kept in the repository.
_MADE = ("var/",)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_and_paths_exist(document):
    text = document.read_text()
    missing = []
    for target in _LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (document.parent / target).exists():
            missing.append(target)
    for path in _PATH.findall(text):
        if "<" in path or "*" in path or "…" in path or path.startswith(_MADE):
            continue  # a pattern such as services/<name>/, not one file
        if not (ROOT / path.split(":")[0]).exists():
            missing.append(path)
    assert not missing, f"{document.name} points at files the repository lacks: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pointer_outside_the_repository(document):
    text = document.read_text()
    # The agreed design and domain notes sit beside the repository, not in it.
    beside = "../" + "sha" + "red"
    assert "DESIGN.md" not in text and beside not in text
