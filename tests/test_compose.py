"""docker-compose.yml, its PostgreSQL init script and .env.example agree with the code and
the service registry: the compose file is valid, every registered service has its web and
worker containers, every container sets only variables its service reads, each service has
its own database login, and dependencies wait for healthy services.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict

from services.common import compose_file
from services.common.compose_file import settings_class
from services.common.registry import load_registry, parse_registry
from services.common.settings import PROCESS_ENV
from tests.conftest import PG_ADMIN_URL, schema_validator

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
INIT_SCRIPT = ROOT / "deploy" / "postgres" / "init" / "10-service-databases.sh"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"
# Every service the design names; the init script prepares a database for each, built or not.
ALL_SERVICES = ("ppid", "lapor", "siber", "notifier")
_RUNS = re.compile(r"python -m services\.([a-z_]+) (web|worker)\b")
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(:?[-?][^}]*)?\}")
# A URL whose parts may be compose interpolations such as ${X:?message}.
_URL = re.compile(
    r"^(?P<scheme>[a-z+]+)://(?P<user>[^:@]+):(?P<password>\$\{[^}]+\}|[^@]+)"
    r"@(?P<host>[a-z0-9_-]+):(?P<port>\d+)/(?P<path>.*)$"
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def built_services() -> list[str]:
    """The services of config/services.json, the list `make run` and `make migrate` follow."""
    return list(load_registry().names)


def process_of(spec: dict) -> tuple[str, str] | None:
    """(service, web|worker) a compose service runs, from its command."""
    command = spec.get("command") or ""
    text = " ".join(command) if isinstance(command, list) else command
    found = _RUNS.findall(text)
    if not found:
        return None
    services = {svc for svc, _ in found}
    assert len(services) == 1, f"one container runs one service, got {text!r}"
    return found[-1]


def app_containers(compose: dict) -> dict[str, tuple[str, str, dict]]:
    out = {}
    for name, spec in compose["services"].items():
        process = process_of(spec)
        if process:
            out[name] = (*process, spec)
    return out


def test_compose_file_follows_the_compose_specification(schemas_dir, compose):
    schema = json.loads((schemas_dir / "compose-spec.json").read_text())
    errors = sorted(schema_validator(schema, check_formats=False).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:300]}" for e in errors)


def test_a_web_and_a_worker_for_every_registered_service(compose):
    running = {(svc, proc) for svc, proc, _ in app_containers(compose).values()}
    expected = {(entry.name, proc) for entry in load_registry().services.values()
                for proc in entry.processes}
    assert running == expected
    for name, (service, process, _) in app_containers(compose).items():
        assert name == f"{service}-{process}", f"{name} runs {service} {process}"


def test_every_container_of_the_image_builds_it_under_one_tag(compose):
    """`up notifier-web` on a host without the image builds it instead of pulling it, and
    `up --build <any service>` rebuilds the one image every container runs."""
    containers = app_containers(compose)
    builds = {name: spec.get("build") for name, (_, _, spec) in containers.items()}
    assert all(builds.values()), f"containers that would pull the image: {builds}"
    assert all(build == {"context": ".", "dockerfile": "Dockerfile"} for build in builds.values()), builds
    images = {spec.get("image") for _, _, spec in containers.values()}
    assert images == {"simpul:latest"}
    # One build definition shared by anchor, so the containers cannot drift apart.
    text = COMPOSE.read_text()
    assert len(re.findall(r"^\s*context:", text, re.M)) == 1, "one build definition"
    assert re.findall(r"^\s*build:.*$", text, re.M) == ["  build: *build"], "used by one anchor"
    others = [name for name, spec in compose["services"].items()
              if name not in containers and "build" in spec]
    assert not others, f"only the Simpul image is built: {others}"


def test_each_container_sets_only_variables_its_service_reads(compose):
    problems = []
    for name, (service, process, spec) in app_containers(compose).items():
        readable = set(settings_class(service).env_names(service))
        if process != "web":
            readable -= set(PROCESS_ENV)  # gunicorn's settings mean nothing to a worker
        unknown = sorted(set(spec.get("environment") or {}) - readable)
        if unknown:
            problems.append(f"{name} sets variables {service} never reads: {unknown}")
    assert not problems, "\n".join(problems)


def test_containers_run_in_production_mode_with_required_secrets(compose):
    for name, (service, process, spec) in app_containers(compose).items():
        env = spec["environment"]
        assert env["SIMPUL_ENV"] == "production", name
        for secret in ("JWT_SECRET", "JWT_ISSUER"):
            assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), (name, secret)
        if process == "web":
            assert "@" not in env["AMQP_URL"], f"{name}: a web process holds no broker login"
            continue
        amqp = _URL.match(env["AMQP_URL"])
        assert amqp and amqp["host"] == "rabbitmq" and "guest" not in env["AMQP_URL"], name
        assert amqp["user"] == f"{service}-worker", f"{name}: the worker's own broker login"
        assert ":?" in amqp["password"], f"{name}: the broker password must be required"


def test_each_service_has_its_own_database_login(compose):
    logins: dict[str, str] = {}
    for name, (service, _, spec) in app_containers(compose).items():
        url = _URL.match(spec["environment"][f"{service.upper()}_DATABASE_URL"])
        assert url and url["scheme"].startswith("postgresql") and url["host"] == "postgres", name
        user, password, database = url["user"], url["password"], url["path"]
        assert user == database == service, f"{name}: login and database must be {service!r}"
        assert password == f"${{{service.upper()}_DB_PASSWORD:?set {service.upper()}_DB_PASSWORD in .env}}"
        assert logins.setdefault(service, user) == user, f"{service}'s containers disagree"
    assert len(set(logins.values())) == len(logins), logins
    # The PostgreSQL container gets every login's password for its init script.
    postgres_env = compose["services"]["postgres"]["environment"]
    for service in ALL_SERVICES:
        assert f"{service.upper()}_DB_PASSWORD" in postgres_env
        assert ":?" in postgres_env[f"{service.upper()}_DB_PASSWORD"]
    mounts = compose["services"]["postgres"]["volumes"]
    assert "./deploy/postgres/init:/docker-entrypoint-initdb.d:ro" in mounts


def test_healthchecks_and_dependencies(compose):
    services = compose["services"]
    for name in ("rabbitmq", "postgres", "mailpit"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    # "Accepts connections", not `ping` (healthy while a restarted node has no listener yet).
    assert services["rabbitmq"]["healthcheck"]["test"] == [
        "CMD", "rabbitmq-diagnostics", "-q", "check_port_connectivity"
    ]
    for name, spec in services.items():
        assert spec.get("restart") in ("unless-stopped", "always"), f"{name} has no restart policy"
        for dependency, condition in (spec.get("depends_on") or {}).items():
            assert condition.get("condition") == "service_healthy", (name, dependency)
            assert services[dependency].get("healthcheck", {}).get("test"), (
                f"{name} waits for {dependency} to be healthy, which has no healthcheck"
            )
    ports = {name: entry.port for name, entry in load_registry().services.items()}
    for name, (service, process, spec) in app_containers(compose).items():
        depends = spec.get("depends_on") or {}
        assert "postgres" in depends, name
        if process == "web":
            # The chassis command, not a script copied into every block.
            assert spec["healthcheck"]["test"] == [
                "CMD", "python", "-m", "services.common.healthcheck", service
            ], name
            assert f"${{PUBLISH_ADDRESS:-127.0.0.1}}:{ports[service]}:{ports[service]}" in spec["ports"], name
            command = " ".join(spec["command"])
            assert f"python -m services.{service} migrate && exec python -m services.{service} web" in command
        else:
            # The worker starts once its web container has applied the migrations.
            assert f"{service}-web" in depends and "rabbitmq" in depends, name


def test_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    for name, spec in compose["services"].items():
        for mount in spec.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source")
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
    assert {"postgres-data", "rabbitmq-data"} <= declared


def test_env_example_documents_every_variable(compose):
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    interpolated = set(m.group(1) for m in _VARIABLE.finditer(COMPOSE.read_text()))
    read = {n for svc in built_services() for n in settings_class(svc).env_names(svc)}
    # The URLs themselves are assembled by the compose file from the passwords.
    read -= {f"{svc.upper()}_DATABASE_URL" for svc in ALL_SERVICES} | {"AMQP_URL"}
    missing = sorted((interpolated | read) - documented)
    assert not missing, f".env.example does not document {missing}"


def test_readme_configuration_table_lists_every_variable():
    """Every variable in the README's table, or, for a service's own variables, in its page
    docs/<service>.md; the database URLs in the table's one `<SERVICE>_DATABASE_URL` row."""
    text = README.read_text()
    assert "| `<SERVICE>_DATABASE_URL` |" in text
    missing = []
    for svc in built_services():
        page = ROOT / "docs" / f"{svc}.md"
        documented = text + (page.read_text() if page.exists() else "")
        read = set(settings_class(svc).env_names(svc)) - {f"{svc.upper()}_DATABASE_URL"}
        missing += sorted(n for n in read if f"`{n}`" not in documented)
    assert not missing, f"README's configuration table lacks {missing}"


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_init_script_lets_a_login_open_only_its_own_database():
    admin = conninfo_to_dict(PG_ADMIN_URL)
    prefix = f"simpul_init_{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}_a", f"{prefix}_b"]
    env = {
        **os.environ,
        "SIMPUL_DB_SERVICES": " ".join(names),
        "POSTGRES_USER": admin.get("user", "postgres"),
        "PGHOST": admin.get("host", "127.0.0.1"),
        "PGPORT": str(admin.get("port", 5432)),
        **({"PGPASSWORD": admin["password"]} if admin.get("password") else {}),
        **{f"{n.upper()}_DB_PASSWORD": f"pw-{n}" for n in names},
    }

    def connect(user: str, database: str):
        return psycopg.connect(host=env["PGHOST"], port=env["PGPORT"], user=user,
                               password=f"pw-{user}", dbname=database, connect_timeout=5)

    try:
        for _ in range(2):  # a second run over existing databases changes nothing and succeeds
            subprocess.run(["sh", str(INIT_SCRIPT)], env=env, check=True, capture_output=True,
                           timeout=60)
        for own, other in (names, names[::-1]):
            with connect(own, own) as conn:
                conn.execute("CREATE TABLE probe (id int)")
                assert conn.execute("SELECT current_user").fetchone()[0] == own
            with pytest.raises(psycopg.OperationalError, match="permission denied"):
                connect(own, other).close()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for name in names:
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_init_script_refuses_a_missing_password():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DB_PASSWORD")}
    env["SIMPUL_DB_SERVICES"] = "simpul_nopassword"
    result = subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert "SIMPUL_NOPASSWORD_DB_PASSWORD is not set" in result.stderr


@pytest.mark.parametrize(
    ("status", "database", "healthy"),
    [
        (200, "ok", True),
        # A stuck outbox makes /readyz 503, but only the worker drains it: still healthy.
        (503, "ok", True),
        (503, "error: OperationalError", False),
    ],
)
def test_web_healthcheck_reads_the_database_verdict(compose, status, database, healthy):
    """Each web container's healthcheck, run as compose runs it, against a stand-in /readyz
    on the port WEB_BIND names."""
    body = json.dumps({"status": "x", "checks": {"database": database}}).encode()

    class Readyz(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status if self.path == "/readyz" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name, (_, process, spec) in app_containers(compose).items():
            if process != "web":
                continue
            kind, python, *args = spec["healthcheck"]["test"]
            assert (kind, python) == ("CMD", "python")
            env = {**os.environ, "WEB_BIND": f"0.0.0.0:{server.server_port}"}
            result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env,
                                    capture_output=True, timeout=30)
            assert (result.returncode == 0) is healthy, (name, result.stderr)
    finally:
        server.shutdown()


def test_every_worker_container_has_the_worker_healthcheck(compose):
    workers = {name: (service, spec) for name, (service, process, spec) in app_containers(compose).items()
               if process == "worker"}
    assert workers
    for name, (service, spec) in workers.items():
        check = spec.get("healthcheck") or {}
        assert check.get("test") == [
            "CMD", "python", "-m", "services.common.healthcheck", service, "--worker"
        ], name
        # Several heartbeats (every 5 s) pass between two checks' verdicts.
        assert all(key in check for key in ("interval", "timeout", "retries", "start_period")), name


def test_the_broker_healthcheck_is_a_command_of_this_rabbitmq(compose):
    """The stand-in is RabbitMQ 3.10: the command must exist there, not only in 3.13."""
    binary = shutil.which("rabbitmq-diagnostics")
    if binary is None:
        pytest.skip("rabbitmq-diagnostics is not installed here")
    kind, program, *args = compose["services"]["rabbitmq"]["healthcheck"]["test"]
    result = subprocess.run([binary, "help", args[-1]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "connectivity" in result.stdout, result.stdout + result.stderr


def test_worker_healthcheck_reads_the_workers_heartbeats(compose, tmp_path):
    """Each worker container's healthcheck, run as compose runs it with the container's own
    settings (a SQLite database here), before and after its worker's first heartbeat."""
    from sqlalchemy import MetaData

    from services.common.db import make_engine
    from services.common.heartbeat import OK, HeartbeatWriter, Part, heartbeat_table
    from services.common.outbox import plumbing_tables

    for name, (service, process, spec) in app_containers(compose).items():
        if process != "worker":
            continue
        url = f"sqlite:///{tmp_path / (service + '.db')}"
        metadata = MetaData()
        plumbing_tables(metadata)
        beats = heartbeat_table(metadata)
        engine = make_engine(url)
        metadata.create_all(engine)
        kind, python, *args = spec["healthcheck"]["test"]
        assert (kind, python) == ("CMD", "python")
        env = {**os.environ, "SIMPUL_ENV": "development", f"{service.upper()}_DATABASE_URL": url}

        def run() -> int:
            return subprocess.run([sys.executable, *args], cwd=ROOT, env=env,
                                  capture_output=True, timeout=60).returncode

        assert run() == 1, f"{name}: healthy without a heartbeat"
        HeartbeatWriter(engine, beats, [Part("relay", lambda: OK)]).beat()
        assert run() == 0, f"{name}: unhealthy with its heartbeats fresh and ok"
        engine.dispose()


def test_dockerfile_names_no_service_and_installs_the_runtime_only():
    """One image for every service: adding one changes nothing in it."""
    text = (ROOT / "Dockerfile").read_text()
    instructions = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for entry in load_registry().services.values():
        assert entry.name not in instructions and str(entry.port) not in instructions, entry.name
    installs = re.findall(r"pip install (.+?)(?:\s*\\|$|\s*&&)", instructions, re.M)
    assert installs == ["-e ."], installs


# The host ports whose pages need no Simpul login or hold the broker administrator's: never
# anywhere but loopback, whatever PUBLISH_ADDRESS says.
LOOPBACK_ONLY = {"mailpit": {8025}, "rabbitmq": {15672}}
PUBLISHED_ON_THE_SETTING = "${PUBLISH_ADDRESS:-127.0.0.1}:"
# Capabilities an official image's entrypoint needs to hand its data directory to its own
# user and drop to it (the comments in docker-compose.yml say which step needs which).
CAPABILITIES = {
    "postgres": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
    "rabbitmq": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
}


def _defaults(text: str) -> str:
    """A compose string with each ${VAR:-default} replaced by its default (an unset .env)."""
    return re.sub(r"\$\{[A-Z][A-Z0-9_]*:-([^}]*)\}", r"\1", text)


def test_every_published_port_binds_an_address_loopback_by_default(compose):
    """Docker's published ports bypass host firewalls: a port without an address is open to
    every network the host is on."""
    published = []
    for name, spec in compose["services"].items():
        for port in spec.get("ports") or []:
            assert isinstance(port, str), f"{name}: short syntax, so the address is in sight"
            parts = _defaults(port).rsplit(":", 2)
            assert len(parts) == 3, f"{name} publishes {port} on every interface"
            host_ip, _, target = parts
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback by default"
            if int(target) in LOOPBACK_ONLY.get(name, ()):
                assert port.startswith("127.0.0.1:"), f"{name}: {port} must be loopback only"
            else:
                assert port.startswith(PUBLISHED_ON_THE_SETTING), (name, port)
            published.append((name, int(target)))
    # Both UIs and every registered API are among them.
    ports = {f"{name}-web": entry.port for name, entry in load_registry().services.items()}
    expected = {(n, p) for n, targets in LOOPBACK_ONLY.items() for p in targets} | set(ports.items())
    assert expected <= set(published), published


def test_env_example_documents_the_publish_address_and_its_loopback_default():
    text = ENV_EXAMPLE.read_text()
    assert re.search(r"^# PUBLISH_ADDRESS=127\.0\.0\.1$", text, re.M)
    block = text[:text.index("# PUBLISH_ADDRESS=")].rsplit("\n\n", 1)[-1]
    assert "Default: 127.0.0.1" in block and "firewall" in block


def test_every_container_drops_every_capability_and_privilege_escalation(compose):
    for name, spec in compose["services"].items():
        assert "no-new-privileges:true" in (spec.get("security_opt") or []), name
        assert spec.get("cap_drop") == ["ALL"], name
        assert set(spec.get("cap_add") or ()) <= CAPABILITIES.get(name, set()), name
        assert not spec.get("privileged"), name


def test_app_containers_run_on_a_read_only_root_with_named_writable_paths(compose):
    for name, (_, _, spec) in app_containers(compose).items():
        assert spec.get("read_only") is True, name
        assert "/tmp" in (spec.get("tmpfs") or []), f"{name}: gunicorn and Python need /tmp"
        # Their state is in PostgreSQL; the one writable volume is the service's own files.
        service = name.rsplit("-", 1)[0]
        assert spec.get("volumes") == [f"{service}-files:/app/var/files/{service}"], name
        assert "user" not in spec, f"{name}: the image's own non-root user"


def test_the_mail_catcher_runs_unprivileged_on_a_read_only_root(compose):
    mailpit = compose["services"]["mailpit"]
    user = str(mailpit.get("user", "root"))
    assert user.split(":")[0] not in ("root", "0"), user
    assert mailpit.get("read_only") is True and "/tmp" in mailpit.get("tmpfs", [])
    assert compose["services"]["redis"].get("user") == "redis"


def _instructions() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    return [line for line in re.sub(r"\\\n", " ", text).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_pins_its_base_image_to_a_patch_release():
    bases = [line.split()[1] for line in _instructions() if line.startswith("FROM ")]
    assert bases and all(re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", b)
                         for b in bases), bases


def test_the_image_runs_as_a_non_root_user():
    users = [line.split()[1] for line in _instructions() if line.startswith("USER ")]
    assert users, "the image would run as root"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]


@pytest.mark.parametrize("doc", [README, ROOT / "docs" / "operations.md"])
def test_docs_say_the_compose_file_needs_compose_v2(doc):
    text = doc.read_text()
    assert "Compose v2" in text and "`name:`" in text, doc.name
    assert "docker-compose " not in text.replace("docker-compose.yml", ""), (
        f"{doc.name} shows the Compose v1 command"
    )


def test_the_per_service_parts_are_written_from_the_registry():
    """A service joins compose by its registry entry: the generated parts are current."""
    text = COMPOSE.read_text()
    assert compose_file.render(text, load_registry()) == text, "run `make compose-file`"


def test_a_new_registry_entry_gets_its_containers_login_database_and_files(tmp_path):
    registry = parse_registry({"coordinator_opd": "diskominfo", "services": {
        "ppid": {"port": 8001}, "arsip": {"port": 8010, "processes": ["worker"]}}})
    rendered = yaml.safe_load(compose_file.render(COMPOSE.read_text(), registry))
    containers = {name for name in rendered["services"] if name.startswith(("ppid-", "arsip-"))}
    assert containers == {"ppid-web", "ppid-worker", "arsip-worker"}
    worker = rendered["services"]["arsip-worker"]
    assert worker["environment"]["AMQP_URL"].startswith("amqp://arsip-worker:${ARSIP_AMQP_PASSWORD:?")
    assert worker["environment"]["ARSIP_DATABASE_URL"].endswith("@postgres:5432/arsip")
    assert "arsip-files:/app/var/files/arsip" in worker["volumes"]
    assert "arsip-web" not in worker["depends_on"]
    assert "arsip-files" in rendered["volumes"]
