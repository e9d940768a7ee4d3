"""The registry of the regency's services (`config/services.json`): the one entry a new
service adds outside its own package.

Process lists (`make run`), ports, container health checks and the notifier's idea of which
staff role acts for a service all follow from it, so none of them names a service in code.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REGISTRY_FILE = Path(__file__).resolve().parents[2] / "config" / "services.json"
# The long-running processes a service may have; `migrate` and the rest are one-off commands.
PROCESSES = ("web", "worker")
# A service name is its package under services/ and the prefix of its events and variables.
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class RegistryError(ValueError):
    """config/services.json says something impossible; the message names the entry."""


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    port: int
    title: str
    # Contact role ("officer", "coordinator") -> the JWT role that holds it for this service.
    staff_roles: dict[str, str] = field(default_factory=dict)
    # Roles that act for their own OPD only (the officer, and e.g. PPID's Atasan who decides
    # objections); the coordinator acts for every OPD.
    opd_roles: tuple[str, ...] = ()
    # Which of PROCESSES `make run` and compose start for it; both unless the entry says less.
    processes: tuple[str, ...] = PROCESSES


@dataclass(frozen=True)
class Registry:
    services: dict[str, ServiceEntry]
    coordinator_opd: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.services)

    def coordinator_roles(self) -> tuple[str, ...]:
        """The services' coordinators: they act for every OPD."""
        return tuple(dict.fromkeys(
            e.staff_roles["coordinator"] for e in self.services.values() if "coordinator" in e.staff_roles
        ))

    def opd_roles(self) -> tuple[str, ...]:
        """Every service's roles that act for their own OPD, its officer first."""
        roles = []
        for entry in self.services.values():
            officer = entry.staff_roles.get("officer")
            roles += [officer] if officer else []
            roles += entry.opd_roles
        return tuple(dict.fromkeys(roles))

    def staff_role(self, service: str, contact_role: str, default: str = "admin") -> str:
        entry = self.services.get(service)
        return entry.staff_roles.get(contact_role, default) if entry else default


def parse_registry(raw: dict) -> Registry:
    services: dict[str, ServiceEntry] = {}
    owner_of_port: dict[int, str] = {}
    for name, spec in raw["services"].items():
        if not _NAME.fullmatch(name):
            raise RegistryError(f"service name {name!r}: lower-case letters, digits and _ only")
        port = spec.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise RegistryError(f"service {name!r}: port must be a number from 1 to 65535")
        if port in owner_of_port:
            raise RegistryError(f"services {owner_of_port[port]!r} and {name!r} share port {port}")
        owner_of_port[port] = name
        processes = tuple(spec.get("processes", PROCESSES))
        unknown = sorted(set(processes) - set(PROCESSES))
        if unknown or not processes:
            raise RegistryError(f"service {name!r}: processes must be some of {list(PROCESSES)}")
        services[name] = ServiceEntry(
            name=name,
            port=port,
            title=spec.get("title", name),
            staff_roles=dict(spec.get("staff_roles", {})),
            opd_roles=tuple(spec.get("opd_roles", ())),
            processes=processes,
        )
    return Registry(services=services, coordinator_opd=raw["coordinator_opd"])


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # json keeps the last of two equal keys: a service pasted twice would silently lose one.
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise RegistryError(f"{', '.join(map(repr, repeated))} written twice")
    return dict(pairs)


def read_registry(path: Path) -> Registry:
    text = Path(path).read_text(encoding="utf-8")
    try:
        return parse_registry(json.loads(text, object_pairs_hook=_refuse_duplicate_keys))
    except RegistryError as exc:
        raise RegistryError(f"{Path(path).name}: {exc}") from None


@cache
def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    return read_registry(path)


def main(argv: Sequence[str] | None = None) -> int:
    """`names` for shell loops (the Makefile's), `port NAME` for scripts."""
    parser = argparse.ArgumentParser(prog="python -m services.common.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("names", help="the registered services, one a line, in registry order")
    port = sub.add_parser("port", help="the HTTP port of one service")
    port.add_argument("service")
    args = parser.parse_args(argv)
    registry = load_registry()
    if args.command == "names":
        print("\n".join(registry.names))
        return 0
    entry = registry.services.get(args.service)
    if entry is None:
        print(f"{args.service!r} is not in {REGISTRY_FILE.name}", file=sys.stderr)
        return 1
    print(entry.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
