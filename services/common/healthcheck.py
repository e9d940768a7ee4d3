"""`python -m services.common.healthcheck <service> [--live]`: the container health check of
every web process, exit status 0 when healthy and 1 when not.

Ready (the default) means /readyz found the database migrated and reachable. /readyz also
answers 503 while the outbox is stuck or the worker reports no heartbeat, a part
disconnected or stalled; but only the worker drains the outbox and writes heartbeats, and
compose starts the worker once this check passes: so the check reads the database verdict,
not the status code. `--live` asks /healthz instead: is the process answering at all, which
it does whether or not the database is.

The port is the service's own: from `WEB_BIND` when that names one, else from
config/services.json; without a service name, from `PORT`. Standard library only, so the
check costs a container no more than the interpreter it already has.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from services.common.registry import load_registry


def port_of(service: str | None, environ: Mapping[str, str]) -> int:
    bind = environ.get("WEB_BIND", "")
    if service and bind.rpartition(":")[2].isdigit():
        return int(bind.rpartition(":")[2])
    if service:
        entry = load_registry().services.get(service)
        if entry is None:
            raise SystemExit(f"healthcheck: {service!r} is not in config/services.json")
        return entry.port
    if environ.get("PORT", "").isdigit():
        return int(environ["PORT"])
    raise SystemExit("healthcheck: name the service or set PORT")


def healthy(port: int, *, live: bool = False, host: str = "127.0.0.1", timeout: float = 4) -> bool:
    path = "/healthz" if live else "/readyz"
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response:  # noqa: S310 - fixed http URL on loopback
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (OSError, ValueError):
        return False
    if live:
        return status == 200
    try:
        return json.loads(body)["checks"]["database"] == "ok"
    except (ValueError, KeyError, TypeError):
        return False


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.healthcheck")
    parser.add_argument("service", nargs="?", help="a service of config/services.json")
    parser.add_argument("--live", action="store_true", help="check /healthz instead of /readyz")
    args = parser.parse_args(argv)
    port = port_of(args.service, os.environ if environ is None else environ)
    return 0 if healthy(port, live=args.live) else 1


if __name__ == "__main__":
    sys.exit(main())
