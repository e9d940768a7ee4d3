"""Broker logins with least privilege: one per service worker, one per OPD system.

    python -m services.common.broker_admin setup-services [--env-file .env]
    python -m services.common.broker_admin create-opd dinkes
    python -m services.common.broker_admin revoke-opd dinkes [--delete-queues]

The commands drive `rabbitmqctl` on the broker's machine; `RABBITMQCTL` names the command
(default `rabbitmqctl`; with compose `docker compose exec -T rabbitmq rabbitmqctl`) and
`RABBITMQ_VHOST` the virtual host (default `/`). Passwords go to rabbitmqctl on its standard
input, never on a command line another user of the machine could read.

A worker's login `<service>-worker` configures, writes and reads only the two exchanges and
its own queues `<service>.*`, and publishes on `simpul.events` only routing keys of its own
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
    own = _any_of(re.escape(EXCHANGE), re.escape(DEAD_EXCHANGE), rf"{re.escape(service)}\..+")
    return Grant(
        user=service_user(service),
        # The relay and consumers declare both exchanges and their queues (with `.dead`
        # twins), bind them, consume their own queues and publish dead letters.
        configure=own,
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

    def delete_user(self, user: str) -> None:
        # Deleting a login leaves its open connections working; close them first.
        self.run("close_all_user_connections", user, "login revoked")
        self.run("delete_user", user)

    def queues(self) -> list[str]:
        return [row["name"] for row in self._json("list_queues", "-p", self.vhost, "name")]

    def delete_queue(self, queue: str) -> None:
        self.run("delete_queue", "-p", self.vhost, queue)


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
    for service in services:
        grant = service_grant(service)
        ctl.put_user(grant.user, env[password_variable(service)])
        ctl.grant(grant)
    return [service_user(s) for s in services]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.broker_admin",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup-services", help="create or update every worker's login "
                           "(passwords from <SERVICE>_AMQP_PASSWORD)")
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
