"""The registry of the regency's services (`config/services.json`): the one entry a new
service adds outside its own package.

Process lists (`make run`), ports, container health checks and the notifier's idea of which
staff role acts for a service all follow from it, so none of them names a service in code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REGISTRY_FILE = Path(__file__).resolve().parents[2] / "config" / "services.json"


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    port: int
    title: str
    # Contact role ("officer", "coordinator") -> the JWT role that holds it for this service.
    staff_roles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    services: dict[str, ServiceEntry]
    coordinator_opd: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.services)

    def staff_role(self, service: str, contact_role: str, default: str = "admin") -> str:
        entry = self.services.get(service)
        return entry.staff_roles.get(contact_role, default) if entry else default


def parse_registry(raw: dict) -> Registry:
    services = {}
    for name, spec in raw["services"].items():
        services[name] = ServiceEntry(
            name=name,
            port=int(spec["port"]),
            title=spec.get("title", name),
            staff_roles=dict(spec.get("staff_roles", {})),
        )
    ports = [entry.port for entry in services.values()]
    if len(set(ports)) != len(ports):
        raise ValueError(f"{REGISTRY_FILE.name}: two services share a port")
    return Registry(services=services, coordinator_opd=raw["coordinator_opd"])


@cache
def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    return parse_registry(json.loads(Path(path).read_text(encoding="utf-8")))
