"""The per-service parts of docker-compose.yml, written from the service registry.

Each registered service gets the same containers (`<service>-web`, `<service>-worker`, as its
entry's `processes` say), its own database login and broker login, a volume for its files,
and every variable its settings read, so a new service joins the compose deployment by its
entry in `config/services.json`, not by a copied block. The rest of the file (the broker,
PostgreSQL, Redis, the mail catcher, the shared anchors) is written by hand; the generated
parts sit between marker lines.

    python -m services.common.compose_file           # rewrite docker-compose.yml
    python -m services.common.compose_file --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from services.common.registry import REGISTRY_FILE, Registry, ServiceEntry, load_registry
from services.common.settings import PROCESS_ENV, Settings

COMPOSE_FILE = REGISTRY_FILE.parents[1] / "docker-compose.yml"
# Where the image keeps a service's files (its default `var/files/<service>` under /app).
FILES_DIR = "/app/var/files"
_MARK = "# {edge} generated from config/services.json by `make compose-file` ({part}): edit there"
PARTS = ("environments", "containers", "volumes")


class ComposeFileError(ValueError):
    """docker-compose.yml lacks a marker line, or has one twice."""


def settings_class(service: str) -> type[Settings]:
    """The service's Settings subclass from services/<service>/config.py, else the base."""
    module_name = f"services.{service}.config"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, f"services.{service}"):
            raise
        return Settings
    own = [v for v in vars(module).values()
           if isinstance(v, type) and issubclass(v, Settings) and v is not Settings
           and v.__module__ == module_name]
    if len(own) > 1:
        raise ComposeFileError(f"{module_name} defines several Settings subclasses: {own}")
    return own[0] if own else Settings


def own_variables(service: str) -> list[str]:
    """The variables a service reads beyond the chassis's common ones (`x-common-env`)."""
    common = set(Settings.env_names(service)) | set(PROCESS_ENV)
    return [n for n in settings_class(service).env_names(service) if n not in common]


def _required(name: str) -> str:
    return f"${{{name}:?set {name} in .env}}"


def environment(entry: ServiceEntry) -> str:
    name, upper = entry.name, entry.name.upper()
    lines = [
        f"x-{name}-env: &{name}-env",
        "  <<: *common-env",
        f"  {upper}_DATABASE_URL: postgresql://{name}:{_required(f'{upper}_DB_PASSWORD')}"
        f"@postgres:5432/{name}",
        f"  {upper}_FILES_URL: ${{{upper}_FILES_URL:-{FILES_DIR}/{name}}}",
    ]
    # Empty means unset to the settings, so their documented defaults apply.
    lines += [f"  {var}: ${{{var}:-}}" for var in own_variables(name)]
    return "\n".join(lines) + "\n"


def _web(entry: ServiceEntry) -> list[str]:
    name = entry.name
    return [
        f"  {name}-web:",
        "    <<: *app",
        f'    command: ["sh", "-c", "python -m services.{name} migrate && exec python -m services.{name} web"]',
        "    environment:",
        f"      <<: [*{name}-env, *web-env]",
        "    ports:",
        f'      - "${{PUBLISH_ADDRESS:-127.0.0.1}}:{entry.port}:{entry.port}"',
        "    volumes:",
        f"      - {name}-files:{FILES_DIR}/{name}",
        "    depends_on:",
        "      postgres:",
        "        condition: service_healthy",
        "      redis:",
        "        condition: service_healthy",
        "    stop_grace_period: 30s",
        "    healthcheck:",
        "      <<: *web-healthcheck",
        f'      test: ["CMD", "python", "-m", "services.common.healthcheck", "{name}"]',
    ]


def _worker(entry: ServiceEntry) -> list[str]:
    name, upper = entry.name, entry.name.upper()
    lines = [
        f"  {name}-worker:",
        "    <<: *app",
        f'    command: ["python", "-m", "services.{name}", "worker"]',
        "    environment:",
        f"      <<: *{name}-env",
        f"      AMQP_URL: amqp://{name}-worker:{_required(f'{upper}_AMQP_PASSWORD')}@rabbitmq:5672/%2F",
        "      # The exchanges are the operator's (`make broker-logins`); the worker only checks them.",
        '      AMQP_DECLARE_EXCHANGES: "false"',
        "    volumes:",
        f"      - {name}-files:{FILES_DIR}/{name}",
        "    depends_on:",
    ]
    if "web" in entry.processes:
        lines += [f"      {name}-web:", "        condition: service_healthy  # its migrations are applied"]
    for dependency in ("rabbitmq", "postgres", "mailpit"):
        lines += [f"      {dependency}:", "        condition: service_healthy"]
    return lines + [
        "    # The worker lets its relay and consumers finish what they hold (up to 30 s).",
        "    stop_grace_period: 40s",
        "    healthcheck:",
        "      <<: *worker-healthcheck",
        f'      test: ["CMD", "python", "-m", "services.common.healthcheck", "{name}", "--worker"]',
    ]


def containers(entry: ServiceEntry) -> str:
    blocks = []
    if "web" in entry.processes:
        blocks.append("\n".join(_web(entry)) + "\n")
    if "worker" in entry.processes:
        blocks.append("\n".join(_worker(entry)) + "\n")
    return "\n".join(blocks)


def volumes(registry: Registry) -> str:
    return "".join(f"  {name}-files:\n" for name in registry.names)


def generated(registry: Registry) -> dict[str, str]:
    return {
        "environments": "\n".join(environment(e) for e in registry.services.values()),
        "containers": "\n".join(containers(e) for e in registry.services.values()),
        "volumes": volumes(registry),
    }


def render(text: str, registry: Registry) -> str:
    """`text` (the compose file) with its generated parts written afresh."""
    for part, body in generated(registry).items():
        begin, end = (_MARK.format(edge=e, part=part) + "\n" for e in (">>>", "<<<"))
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ComposeFileError(f"docker-compose.yml needs the marker lines once each:\n{begin}{end}")
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = head + begin + body + end + tail
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.compose_file")
    parser.add_argument("--check", action="store_true", help="only say whether the file is up to date")
    parser.add_argument("--file", type=Path, default=COMPOSE_FILE)
    args = parser.parse_args(argv)
    current = args.file.read_text(encoding="utf-8")
    wanted = render(current, load_registry())
    if args.check:
        if wanted != current:
            print(f"{args.file.name} is out of date: run `make compose-file`", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        args.file.write_text(wanted, encoding="utf-8")
        print(f"{args.file.name} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
