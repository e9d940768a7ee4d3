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

`--worker` checks a worker container, which serves no HTTP: it reads the service's database
(the worker's own settings) and is healthy only while the worker on this host has written
its heartbeats in the last `heartbeat.STALE_SECONDS`, each part ok (connected to the broker,
the consumers moving, the relay publishing or standing by for another that does), and the
outbox holds no row older than OUTBOX_STUCK_SECONDS: what /readyz judges, for this worker.
It prints its findings, which `docker inspect` shows beside the verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

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


def worker_healthy(service: str, environ: Mapping[str, str], *, host: str | None = None
                   ) -> tuple[bool, dict]:
    """(healthy, findings) of the worker on `host` (this one's by default) of `service`."""
    # Imported here: the web check above stays standard library only.
    from sqlalchemy import MetaData, func, select

    from services.common import heartbeat
    from services.common.db import make_engine
    from services.common.outbox import plumbing_tables
    from services.common.settings import Settings

    if service not in load_registry().services:
        raise SystemExit(f"healthcheck: {service!r} is not in config/services.json")
    settings = Settings.from_env(service, environ)
    metadata = MetaData()
    outbox, _ = plumbing_tables(metadata)
    beats = heartbeat.heartbeat_table(metadata)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            ready, findings = heartbeat.host_readiness(conn, beats, host or socket.gethostname())
            oldest = conn.execute(
                select(func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            ).scalar()
    finally:
        engine.dispose()
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite gives back naive values of what was stored as UTC
            oldest = oldest.replace(tzinfo=UTC)
        age = round((datetime.now(UTC) - oldest).total_seconds(), 1)
        findings["oldest_unsent_seconds"] = age
        if age > settings.outbox_stuck_seconds:
            ready, findings["outbox"] = False, "stuck"
    return ready, findings


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.healthcheck")
    parser.add_argument("service", nargs="?", help="a service of config/services.json")
    parser.add_argument("--live", action="store_true", help="check /healthz instead of /readyz")
    parser.add_argument("--worker", action="store_true",
                        help="check this host's worker from its heartbeats in the database")
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    if args.worker:
        if not args.service:
            parser.error("--worker needs the service's name")
        try:
            ready, findings = worker_healthy(args.service, environ)
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever stops the check makes it unhealthy
            print(f"healthcheck: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(findings, sort_keys=True))
        return 0 if ready else 1
    port = port_of(args.service, environ)
    return 0 if healthy(port, live=args.live) else 1


if __name__ == "__main__":
    sys.exit(main())
