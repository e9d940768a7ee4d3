"""config/services.json: the one entry a service adds outside its package, and what is
refused in it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.common.registry import (
    PROCESSES,
    RegistryError,
    load_registry,
    parse_registry,
    read_registry,
)
from tests.conftest import ROOT


def _raw(**services) -> dict:
    return {"coordinator_opd": "diskominfo", "services": services}


def test_every_service_package_is_registered_and_every_entry_has_its_package():
    packages = {
        path.parent.name for path in (ROOT / "services").glob("*/__main__.py")
    }
    assert set(load_registry().names) == packages


def test_an_entry_gets_a_web_and_a_worker_unless_it_says_less():
    registry = parse_registry(_raw(ppid={"port": 8001}, lapor={"port": 8002, "processes": ["worker"]}))
    assert registry.services["ppid"].processes == PROCESSES == ("web", "worker")
    assert registry.services["lapor"].processes == ("worker",)
    assert registry.services["ppid"].title == "ppid"


def test_a_duplicate_port_is_refused():
    with pytest.raises(RegistryError, match="'ppid' and 'lapor' share port 8001"):
        parse_registry(_raw(ppid={"port": 8001}, lapor={"port": 8001}))


def test_a_service_written_twice_is_refused(tmp_path):
    path = tmp_path / "services.json"
    path.write_text(
        '{"coordinator_opd": "diskominfo", "services": {'
        '"ppid": {"port": 8001}, "ppid": {"port": 8002}}}'
    )
    with pytest.raises(RegistryError, match="services.json: 'ppid' written twice"):
        read_registry(path)


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ({"Lapor!": {"port": 8002}}, "lower-case letters"),
        ({"lapor": {"port": "8002"}}, "port must be a number"),
        ({"lapor": {"port": 70000}}, "port must be a number"),
        ({"lapor": {}}, "port must be a number"),
        ({"lapor": {"port": 8002, "processes": ["web", "cron"]}}, "processes must be some of"),
        ({"lapor": {"port": 8002, "processes": []}}, "processes must be some of"),
    ],
)
def test_impossible_entries_are_refused_with_the_entry_named(services, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(_raw(**services))


def test_the_shipped_registry_is_read_as_written():
    raw = json.loads((ROOT / "config" / "services.json").read_text())
    registry = load_registry()
    assert registry.names == tuple(raw["services"])
    assert registry.coordinator_opd == raw["coordinator_opd"]
    for name, spec in raw["services"].items():
        assert registry.services[name].port == spec["port"]


def test_the_command_line_lists_names_and_ports_for_shell_scripts():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "services.common.registry", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert run("names").stdout.split() == list(load_registry().names)
    assert run("port", "ppid").stdout.strip() == str(load_registry().services["ppid"].port)
    unknown = run("port", "nosuchservice")
    assert unknown.returncode == 1 and "not in services.json" in unknown.stderr


def test_each_service_listens_on_its_registered_port():
    """The CLI's `web` binds ServiceDefinition.port: it must be the registry's, which the
    health check and compose use."""
    import importlib

    for entry in load_registry().services.values():
        definition = importlib.import_module(f"services.{entry.name}.__main__").SERVICE
        assert (definition.name, definition.port) == (entry.name, entry.port)
