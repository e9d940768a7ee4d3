"""`python -m services.<name> web|worker|migrate|makemigration|deadletters|…`

One command line for every service. A service describes itself once (`ServiceDefinition`)
and adds its own commands (the notifier's `tick`, say) without repeating the common ones.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.common.logs import configure_logging
from services.common.registry import load_registry
from services.common.runtime import Runtime
from services.common.settings import Settings


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Runtime, argparse.Namespace], int | None]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    settings_class: type[Settings]
    build_runtime: Callable[[Settings], Runtime]
    run_worker: Callable[[Runtime], None]
    seed: Callable[[Runtime], None] | None = None
    commands: dict[str, Command] = field(default_factory=dict)

    @property
    def port(self) -> int:
        """The service's port, as the registry gives it to every other tool."""
        return load_registry().services[self.name].port

    @property
    def app_factory(self) -> str:
        return f"services.{self.name}.app:create_app()"

    def settings(self) -> Settings:
        return self.settings_class.from_env(self.name)


def main(service: ServiceDefinition, argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    web = sub.add_parser("web", help="serve the HTTP API with gunicorn")
    web.add_argument("--bind", default=os.environ.get("WEB_BIND", f"0.0.0.0:{service.port}"))
    sub.add_parser("worker", help="run the outbox relay, consumers and timers")
    sub.add_parser("migrate", help="apply database migrations and load reference data")
    make = sub.add_parser("makemigration", help="autogenerate a migration from the models")
    make.add_argument("-m", "--message", required=True)
    make.add_argument("--rev-id", help="revision id, e.g. 0002 (default: random)")
    dead = sub.add_parser(
        "deadletters", help="list, show, replay or purge dead letters (see its --help)"
    )
    dead.add_argument("rest", nargs=argparse.REMAINDER)
    for name, command in service.commands.items():
        command.configure(sub.add_parser(name, help=command.help))
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["deadletters"]:
        # Its own parser reads the rest, `--help` included (which lists its commands).
        # Same AMQP_URL variable and default as the settings; no database needed.
        from services.common import deadletters

        return deadletters.main(argv[1:], prog=f"python -m services.{service.name} deadletters")
    args = parser.parse_args(argv)

    settings = service.settings()
    configure_logging(service.name, settings.log_level)
    if args.command == "web":
        return _exec_gunicorn(service, args.bind)
    if args.command == "migrate":
        migrate(service, settings)
        return 0
    if args.command == "makemigration":
        from services.common import migrations

        migrations.revision(service.name, settings.database_url, args.message, args.rev_id)
        return 0
    rt = service.build_runtime(settings)
    try:
        if args.command == "worker":
            service.run_worker(rt)
            return 0
        return service.commands[args.command].run(rt, args) or 0
    finally:
        rt.dispose()


def migrate(service: ServiceDefinition, settings: Settings) -> None:
    # alembic and pika are the commands' own: a web worker imports this module with a
    # service's command list and must not carry them (some 10 MB each worker).
    from services.common import migrations

    migrations.upgrade(service.name, settings.database_url)
    rt = service.build_runtime(settings)
    try:
        with rt.uow() as uow:
            rt.calendar_sync.seed(uow.session)
            uow.commit()
        if service.seed is not None:
            service.seed(rt)
    finally:
        rt.dispose()


def _exec_gunicorn(service: ServiceDefinition, bind: str) -> int:
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", "python:services.common.gunicorn_conf",
        "--bind", bind,
        "--name", f"simpul-{service.name}",
        service.app_factory,
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, no shell
    return 0  # not reached: execv replaces the process


def aware_instant(raw: str) -> datetime:
    """An argparse type for `--now`: an ISO 8601 instant with its offset (or `Z`)."""
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs an offset, e.g. 2026-03-30T09:00:00+07:00")
    return value
