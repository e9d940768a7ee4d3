"""Libraries a web worker rarely needs are imported where they are used, not with the app.

Each web worker keeps every module it ever imported: reportlab, openpyxl, Pillow, PyJWT with
cryptography and the `holidays` package's 250-odd countries cost a worker that answers
citizens tens of megabytes it never uses. These tests keep that so, and make sure an import
deferred into a function still fails here, in the suite, rather than in a citizen's request
when a package is missing.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ppid", "lapor", "siber", "notifier")
# Imported by the first request that prints, exports, inspects an upload or reads a token.
DEFERRED = (
    "reportlab",
    "openpyxl",
    "PIL",
    "jwt",
    "cryptography",
    "holidays.countries",
    "nh3",
    "alembic",
    "pika",
)


def _deferred_imports() -> set[str]:
    """Every module an `import` inside a function of services/ names."""
    found = set()
    for path in (ROOT / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module)
                    # `from package import module` may name a submodule.
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_every_import_made_inside_a_function_resolves():
    missing = []
    for name in sorted(_deferred_imports()):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # `from package import name` where name is an attribute, not a module.
            if exc.name != name:
                missing.append(f"{name}: {exc}")
    assert not missing, missing


def test_the_calendars_country_module_is_the_librarys():
    # The calendar loads Indonesia from its file, bypassing the package's list of countries.
    from services.common.calendar import _country

    assert _country().__name__ == "Indonesia"
    assert _country().country == "ID"


@pytest.mark.parametrize("service", SERVICES)
def test_an_app_built_and_asked_for_its_health_loads_none_of_the_deferred_libraries(
    service, tmp_path
):
    if not (ROOT / "services" / service / "app.py").exists():
        pytest.skip(f"{service} has no web app")
    script = f"""
import json, sys
from services.{service}.app import create_app
app = create_app()
app.test_client().get("/healthz")
print(json.dumps(sorted(m for m in sys.modules)))
"""
    env = {
        **os.environ,
        "SIMPUL_ENV": "development",
        f"{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    found = sorted(
        name for name in loaded
        if any(name == lib or name.startswith(lib + ".") for lib in DEFERRED)
        # The calendar's own country module alone is expected.
        and name != "holidays.countries.indonesia"
    )
    assert not found, found
