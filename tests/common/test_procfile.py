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
