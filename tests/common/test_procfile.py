"""The process list `make run` starts is written from the registry: a registered service
joins it with no other edit, and honcho reads what is written."""

from __future__ import annotations

import subprocess
import sys

from honcho.environ import parse_procfile

from services.common.procfile import MAIL_CATCHER, process_list, render
from services.common.registry import load_registry, parse_registry
from tests.conftest import ROOT


def test_every_registered_service_has_its_web_and_worker_and_mail_is_caught(tmp_path):
    target = tmp_path / "var" / "Procfile"
    subprocess.run([sys.executable, "-m", "services.common.procfile", "-o", str(target)],
                   cwd=ROOT, check=True, timeout=60)
    processes = dict(parse_procfile(target.read_text()).processes)
    expected = {"mail": MAIL_CATCHER}
    for name in load_registry().names:
        for process in ("web", "worker"):
            expected[f"{name}-{process}"] = f"python -m services.{name} {process}"
    assert processes == expected


def test_a_new_registry_entry_joins_the_list_in_registry_order():
    registry = parse_registry({
        "coordinator_opd": "diskominfo",
        "services": {"ppid": {"port": 8001}, "lapor": {"port": 8002},
                     "siber": {"port": 8003, "processes": ["web"]}},
    })
    processes = process_list(registry)
    assert list(processes) == ["mail", "ppid-web", "ppid-worker", "lapor-web", "lapor-worker",
                               "siber-web"]
    assert dict(parse_procfile(render(processes)).processes) == processes


def test_the_repository_keeps_no_hand_written_procfile():
    assert not (ROOT / "Procfile").exists(), "make run writes var/Procfile from the registry"


def test_make_run_starts_the_written_list_with_mail_going_to_the_catcher():
    """`make -n` prints the recipe without running it."""
    shown = subprocess.run(["make", "-n", "run", "MAIL_PORT=2525"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, check=True).stdout.splitlines()
    written = next(i for i, line in enumerate(shown) if "services.common.procfile -o var/Procfile" in line)
    started = next(i for i, line in enumerate(shown) if "honcho start" in line)
    assert written < started
    assert "-f var/Procfile" in shown[started]
    assert "SMTP_HOST=127.0.0.1 SMTP_PORT=2525" in shown[started]
    # The catcher reads the same variables, so it listens where the services send.
    assert MAIL_CATCHER == "python -m services.common.mailcatcher"


def test_make_migrate_migrates_every_registered_service():
    shown = subprocess.run(["make", "-n", "migrate"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=True).stdout
    assert "for s in $(.venv/bin/python -m services.common.registry names)" in shown
    assert "python -m services.$s migrate" in shown
