"""Broker logins with least privilege: one per service worker, one per OPD system.

    python -m services.common.broker_admin setup-services [--env-file .env]
    python -m services.common.broker_admin create-opd dinkes
    python -m services.common.broker_admin revoke-opd dinkes [--delete-queues]

The commands drive `rabbitmqctl` on the broker's machine; `RABBITMQCTL` names the command
(default `rabbitmqctl`; with compose `docker compose exec -T rabbitmq rabbitmqctl`) and
`RABBITMQ_VHOST` the virtual host (default `/`). Passwords go to rabbitmqctl on its standard
input, never on a command line another user of the machine could read.

`setup-services` declares the two exchanges, `simpul.events` and `simpul.dead`, as the
operator. A worker's login `<service>-worker` configures only its own queues `<service>.*`
(the exchanges it only checks: `AMQP_DECLARE_EXCHANGES=false`), writes and reads the two
exchanges and its own queues, and publishes on `simpul.events` only routing keys of its own
service. An OPD's login `opd-<code>` declares only queues `opd.<code>.*`, cannot publish, and
binds them to `simpul.events` only with binding keys whose last word is its code: the OPD is
the last word of every routing key, so such a binding never matches another OPD's event.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dotenv import dotenv_values

from services.common.events import DEAD_EXCHANGE, EXCHANGE
from services.common.opd import CODE_PATTERN, RESERVED_CODES
from services.common.registry import Registry, load_registry

OPD_QUEUE_PREFIX = "opd"
# A regex no routing key matches: RabbitMQ allows everything to a user with no topic
# permission on an exchange, so "nothing" has to be said.
NOTHING = "^$"


class BrokerAdminError(RuntimeError):
    """rabbitmqctl refused or failed; the message carries its output."""


@dataclass(frozen=True)
class Grant:
    """A login's permissions on the virtual host and its topic permissions on `simpul.events`."""

    user: str
    configure: str
    write: str
    read: str
    topic_write: str
    topic_read: str


def _any_of(*names: str) -> str:
    return "^(" + "|".join(names) + ")$"


def opd_user(opd: str) -> str:
    return f"opd-{opd}"


def service_user(service: str) -> str:
    return f"{service}-worker"


def check_opd_code(opd: str) -> str:
    if not CODE_PATTERN.fullmatch(opd) or opd in RESERVED_CODES:
        raise BrokerAdminError(
            f"{opd!r} is not an OPD code (lower-case letters, digits and _, 2 to 32 characters)"
        )
    return opd


def opd_grant(opd: str) -> Grant:
    code = re.escape(check_opd_code(opd))
    own_queues = rf"{OPD_QUEUE_PREFIX}\.{code}\..+"
    return Grant(
        user=opd_user(opd),
        configure=_any_of(own_queues),
        # Write on a queue is what binding it needs; no exchange is writable, so no publishing.
        write=_any_of(own_queues),
        # Read on the exchange lets it bind there; the topic permission below limits the keys.
        read=_any_of(re.escape(EXCHANGE), own_queues),
        topic_write=NOTHING,
        # `#.dinkes`, `*.*.*.dinkes`, `ppid.#.dinkes`: any words, then the code as the last one.
        topic_read=rf"^([^.]+\.)*{code}$",
    )


def service_grant(service: str) -> Grant:
    own_queues = rf"{re.escape(service)}\..+"
    own = _any_of(re.escape(EXCHANGE), re.escape(DEAD_EXCHANGE), own_queues)
    return Grant(
        user=service_user(service),
        # The exchanges are the operator's (`declare_exchanges`): a worker only checks they
        # exist, so it cannot delete or redeclare what every service and OPD relies on. It
        # declares its own queues (with `.dead` twins), binds them, consumes them and
        # publishes events and dead letters.
        configure=_any_of(own_queues),
        write=own,
        read=own,
        topic_write=rf"^{re.escape(service)}\.",
        # A consumer may follow any service's events (the notifier binds `#`).
        topic_read=".*",
    )


class Rabbitmqctl:
    """The few rabbitmqctl commands these logins need, on one virtual host."""

    def __init__(self, command: Sequence[str] = ("rabbitmqctl",), vhost: str = "/") -> None:
        self.command = list(command)
        self.vhost = vhost

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Rabbitmqctl:
        return cls(shlex.split(env.get("RABBITMQCTL", "rabbitmqctl")), env.get("RABBITMQ_VHOST", "/"))

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(  # noqa: S603 - an argv list from the operator's own setting, no shell
            [*self.command, *args], input=stdin, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise BrokerAdminError(
                f"rabbitmqctl {args[0]} failed: {(done.stderr or done.stdout).strip()}"
            )
        return done.stdout

    def _json(self, *args: str) -> list[dict]:
        out = self.run(*args, "--quiet", "--formatter", "json")
        return json.loads(out) if out.strip() else []

    def users(self) -> set[str]:
        return {row["user"] for row in self._json("list_users")}

    def put_user(self, user: str, password: str) -> None:
        """Create the login, or give an existing one this password."""
        command = "change_password" if user in self.users() else "add_user"
        self.run(command, user, stdin=password)

    def grant(self, grant: Grant) -> None:
        self.run("set_permissions", "-p", self.vhost, grant.user,
                 grant.configure, grant.write, grant.read)
        self.run("set_topic_permissions", "-p", self.vhost, grant.user, EXCHANGE,
                 grant.topic_write, grant.topic_read)

    def import_definitions(self, definitions: dict) -> None:
        self.run("import_definitions", stdin=json.dumps(definitions))

    def exchanges(self) -> dict[str, str]:
        """Name -> type of the virtual host's exchanges."""
        rows = self._json("list_exchanges", "-p", self.vhost, "name", "type")
        return {row["name"]: row["type"] for row in rows}

    def delete_user(self, user: str) -> None:
        # Deleting a login leaves its open connections working; close them first.
        self.run("close_all_user_connections", user, "login revoked")
        self.run("delete_user", user)

    def queues(self) -> list[str]:
        return [row["name"] for row in self._json("list_queues", "-p", self.vhost, "name")]

    def delete_queue(self, queue: str) -> None:
        self.run("delete_queue", "-p", self.vhost, queue)


# The two exchanges every service and OPD system uses; their type is part of the contract.
EXCHANGES = {EXCHANGE: "topic", DEAD_EXCHANGE: "direct"}


def declare_exchanges(ctl: Rabbitmqctl, *, wait_seconds: float = 30.0) -> None:
    """Declare `simpul.events` and `simpul.dead` as the operator, durable.

    rabbitmqctl has no declare command; a definitions import on standard input does it with
    the same rabbitmqctl access as the logins, and leaves existing exchanges as they are.
    The import is asynchronous, so this waits until the broker lists both.
    """
    ctl.import_definitions({"exchanges": [
        {"name": name, "vhost": ctl.vhost, "type": kind, "durable": True, "auto_delete": False,
         "internal": False, "arguments": {}}
        for name, kind in EXCHANGES.items()
    ]})
    deadline = time.monotonic() + wait_seconds
    while True:
        listed = ctl.exchanges()
        if all(listed.get(name) == kind for name, kind in EXCHANGES.items()):
            return
        if time.monotonic() > deadline:
            raise BrokerAdminError(f"the broker did not list {', '.join(EXCHANGES)} after the import")
        time.sleep(0.2)


def create_opd_login(ctl: Rabbitmqctl, opd: str) -> tuple[str, str]:
    """A new OPD login with a generated password; an existing one is refused, never reset."""
    grant = opd_grant(opd)
    if grant.user in ctl.users():
        raise BrokerAdminError(f"login {grant.user} exists; revoke it first to issue a new one")
    password = secrets.token_urlsafe(24)
    ctl.run("add_user", grant.user, stdin=password)
    try:
        ctl.grant(grant)
    except BaseException:
        ctl.run("delete_user", grant.user)
        raise
    return grant.user, password


def revoke_opd_login(ctl: Rabbitmqctl, opd: str, *, delete_queues: bool = False) -> list[str]:
    """Delete the OPD's login (and, if asked, its queues); returns the queues deleted."""
    user = opd_user(check_opd_code(opd))
    if user in ctl.users():
        ctl.delete_user(user)
    if not delete_queues:
        return []
    prefix = f"{OPD_QUEUE_PREFIX}.{opd}."
    doomed = [q for q in ctl.queues() if q.startswith(prefix)]
    for queue in doomed:
        ctl.delete_queue(queue)
    return doomed


def password_variable(service: str) -> str:
    return f"{service.upper()}_AMQP_PASSWORD"


def setup_service_logins(
    ctl: Rabbitmqctl, registry: Registry, env: Mapping[str, str]
) -> list[str]:
    """Create or update `<service>-worker` for every registered service with a worker.

    Each password is `<SERVICE>_AMQP_PASSWORD` from the environment, the value compose puts
    in that worker's `AMQP_URL`; running it again resets passwords and permissions.
    """
    services = [e.name for e in registry.services.values() if "worker" in e.processes]
    if OPD_QUEUE_PREFIX in services:
        # Its queues `opd.*` would be every OPD system's queues.
        raise BrokerAdminError(f"a service may not be named {OPD_QUEUE_PREFIX!r}")
    missing = [password_variable(s) for s in services if not env.get(password_variable(s))]
    if missing:
        raise BrokerAdminError(f"set {', '.join(missing)} (each worker's broker password)")
    declare_exchanges(ctl)
    for service in services:
        grant = service_grant(service)
        ctl.put_user(grant.user, env[password_variable(service)])
        ctl.grant(grant)
    return [service_user(s) for s in services]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.broker_admin",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup-services", help="declare the two exchanges, then create or update "
                           "every worker's login (passwords from <SERVICE>_AMQP_PASSWORD)")
    setup.add_argument("--env-file", help="read the passwords from this file too (compose's .env); "
                       "the environment wins")
    create = sub.add_parser("create-opd", help="create an OPD system's login; prints its password once")
    create.add_argument("opd", help="the OPD code, e.g. dinkes")
    revoke = sub.add_parser("revoke-opd", help="delete an OPD system's login")
    revoke.add_argument("opd")
    revoke.add_argument("--delete-queues", action="store_true",
                        help=f"also delete its queues {OPD_QUEUE_PREFIX}.<opd>.*")
    args = parser.parse_args(argv)
    ctl = Rabbitmqctl.from_env()
    try:
        if args.command == "setup-services":
            env: dict[str, str] = {}
            if args.env_file:
                if not os.path.isfile(args.env_file):
                    raise BrokerAdminError(f"{args.env_file}: no such file")
                env = {k: v for k, v in dotenv_values(args.env_file).items() if v is not None}
            for user in setup_service_logins(ctl, load_registry(), {**env, **os.environ}):
                print(f"{user}: permissions set")
        elif args.command == "create-opd":
            user, password = create_opd_login(ctl, args.opd)
            print(f"login:    {user}\npassword: {password}   (shown once; hand it over safely)\n"
                  f"queues:   {OPD_QUEUE_PREFIX}.{args.opd}.<name>, bound to {EXCHANGE} with keys "
                  f"ending in .{args.opd} (e.g. #.{args.opd})")
        else:
            deleted = revoke_opd_login(ctl, args.opd, delete_queues=args.delete_queues)
            print(f"{opd_user(args.opd)} revoked" + (f"; deleted {', '.join(deleted)}" if deleted else ""))
    except (BrokerAdminError, subprocess.TimeoutExpired, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
