"""pyproject.toml declares what the code imports, and nothing it does not: the runtime list
for services/ and bench/ (the only list the image installs), the `dev` extra for the tools of
`make run` and `make lint`, the `test` extra for the suite."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Development tools inside services/: `make run`'s mail catcher (containers use mailpit).
DEV_MODULES = {ROOT / "services" / "common" / "mailcatcher.py"}
# Declared packages used otherwise than by import: run as a program, or a pytest plugin
# switched on by the `timeout` setting.
NOT_IMPORTED = {
    "gunicorn": ROOT / "services" / "common" / "cli.py",  # `python -m gunicorn`
    "honcho": ROOT / "Makefile",
    "ruff": ROOT / "Makefile",
    "pytest-timeout": ROOT / "pyproject.toml",
}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _distributions(files) -> set[str]:
    """Distributions whose top-level modules the files import (standard library and the
    project's own packages aside)."""
    owners = packages_distributions()
    found = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("services", "bench", "tests"):
                    continue
                assert top in owners, f"{path.relative_to(ROOT)} imports {top}, which nothing installs"
                found.update(_name(d) for d in owners[top])
    return found


RUNTIME = {_name(r) for r in PROJECT["dependencies"]}
DEV = {_name(r) for r in PROJECT["optional-dependencies"]["dev"]}
TEST = {_name(r) for r in PROJECT["optional-dependencies"]["test"]}
CODE = [p for p in (ROOT / "services").rglob("*.py") if p not in DEV_MODULES]
CODE += list((ROOT / "bench").glob("*.py"))
TESTS = list((ROOT / "tests").rglob("*.py"))


def test_the_code_imports_only_runtime_dependencies():
    missing = _distributions(CODE) - RUNTIME
    assert not missing, f"imported by services/ or bench/ but not in dependencies: {missing}"
    assert not _distributions(DEV_MODULES) - RUNTIME - DEV


def test_every_runtime_dependency_is_used():
    used = _distributions(CODE) | {n for n, where in NOT_IMPORTED.items() if n in where.read_text()}
    unused = RUNTIME - used
    assert not unused, f"declared but imported nowhere in services/ or bench/: {unused}"


def test_the_tests_import_only_declared_packages():
    missing = _distributions(TESTS) - RUNTIME - TEST
    assert not missing, f"imported by the tests but in neither dependencies nor the test extra: {missing}"


def test_every_dev_and_test_dependency_is_used():
    used = _distributions(TESTS) | _distributions(DEV_MODULES)
    used |= {n for n, where in NOT_IMPORTED.items() if n in where.read_text()}
    unused = (DEV | TEST) - used
    assert not unused, f"declared extras used nowhere: {unused}"


def test_runtime_and_development_stay_apart():
    assert not RUNTIME & (DEV | TEST), "a package is both a runtime and a development dependency"
    assert {"honcho", "ruff", "aiosmtpd"} <= DEV and {"pytest", "pytest-timeout"} <= TEST
    assert PROJECT["requires-python"] == ">=3.11"
