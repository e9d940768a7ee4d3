"""`make compose-check`: the compose deployment tried as an operator would, on this machine.

From a clean copy of the repository (the tracked and new, not ignored, files of the working
tree, so an uncommitted change to the Dockerfile, docker-compose.yml or deploy/ is what gets
tried; `--ref` tries a commit instead) it fills `.env` from `.env.example` with generated
secrets, starts the broker, creates the workers' broker logins (`make broker-logins`),
starts everything with `docker compose up --build` and waits for every container to be
healthy, then:

1. creates an OPD system's login (`make opd-login OPD=dinkes`), whose queue on the
   published AMQP port may be bound with `#.dinkes` and not with `#`;
2. submits a PPID request for that OPD through the published API and finds its clock in the
   notifier (`GET /api/v1/clocks/…` with an administrator token minted inside a container)
   and its event in the OPD's queue;
3. files a LAPOR! report with a photo, restarts lapor-web, downloads the photo again (it
   lives in lapor's files volume) and finds the report's verification clock in the notifier;
4. keeps submitting requests while the broker and then a worker restart, and finds every
   one's clock: nothing in flight is lost;
5. backs up the PPID database and restores it into the stopped service as
   docs/operations.md says, and sees the service resume (the request is still there, a new
   one reaches the notifier);
6. `docker compose down -v`, whatever happened before.

It prints each step with its duration and the total, and exits non-zero at the first step
that fails (with the containers' states and the last log lines). It runs under its own
compose project name (`simpul-check`), so the volumes of a deployment on the same host are
not touched, but it publishes the same ports: stop such a deployment first.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pika
import pika.exceptions
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROJECT = "simpul-check"
OPD_QUEUE = "opd.dinkes.compose-check"
BASE_IMAGE_PATTERN = re.compile(r"^FROM\s+(\S+)", re.MULTILINE)
# A citizen's report in Kuala Kapuas (kecamatan Selat), with an e-mail for its mail.
REPORT = {
    "classification": "pengaduan", "category": "infrastruktur",
    "title": "Lampu jalan padam", "description": "Lampu jalan di depan sekolah padam sejak sepekan.",
    "latitude": -3.0, "longitude": 114.39, "kecamatan": "62.03.01", "privacy": "public",
    "name": "Pelapor Uji", "email": "pelapor@example.org",
}
APPLICANT = {
    "identity_type": "nik",
    "identity_number": "6203015203900001",
    "name": "Uji Kompos",
    "address": "Jl. Tambun Bungai No. 12, Kuala Kapuas",
    "phone": "0812-5555-1234",
    "email": "uji.kompos@example.org",
    "occupation": "Peneliti",
    "information": "Salinan laporan realisasi anggaran Dinas Kesehatan tahun 2025.",
    "purpose": "Memeriksa pemasangan docker compose sebelum perubahan dikirim.",
    "obtain_method": "soft_copy",
    "delivery_method": "email",
    "requested_opd": "dinkes",
}


class CheckFailed(RuntimeError):
    pass


def sh(argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
    # Argument lists, never a shell; docker, git and make are found on PATH as an operator's are.
    return subprocess.run(argv, **kw)  # noqa: S603


class Check:
    def __init__(self, workdir: Path, timeout: float, in_flight: int) -> None:
        self.workdir = workdir
        self.timeout = timeout
        self.in_flight = in_flight
        self.env = {**os.environ, "COMPOSE_PROJECT_NAME": PROJECT}
        self.started = time.monotonic()
        self.admin_token = ""
        self.ppid = "http://127.0.0.1:8001"
        self.lapor = "http://127.0.0.1:8002"
        self.notifier = "http://127.0.0.1:8004"

    # -- plumbing ---------------------------------------------------------------------

    def run(self, *args: str, stdin: bytes | None = None, capture: bool = True,
            timeout: float | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        result = sh(
            args, cwd=cwd or self.workdir, env=self.env, input=stdin,
            stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
            timeout=timeout or self.timeout,
        )
        if result.returncode != 0:
            err = (result.stderr or b"").decode(errors="replace")[-3000:]
            raise CheckFailed(f"`{' '.join(args)}` exited {result.returncode}\n{err}")
        return result

    def compose(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run("docker", "compose", *args, **kw)

    def step(self, title: str, action: Callable[[], str | None]) -> None:
        print(f"==> {title}", flush=True)
        began = time.monotonic()
        note = action()
        took = time.monotonic() - began
        print(f"    ok in {took:.0f} s{': ' + note if note else ''}", flush=True)

    def eventually(self, what: str, probe: Callable[[], object], timeout: float | None = None,
                   every: float = 2.0):
        deadline = time.monotonic() + (timeout or self.timeout)
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = probe()
            except (requests.RequestException, CheckFailed) as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(every)
        raise CheckFailed(f"timed out waiting for {what} (last: {last!r})")

    # -- steps ------------------------------------------------------------------------

    def images(self) -> str:
        """The images compose needs that this host cannot pull, made locally where it can."""
        notes = []
        base = BASE_IMAGE_PATTERN.search((self.workdir / "Dockerfile").read_text()).group(1)
        if not self.have(base) and not self.pull(base) and self.have("python:3.11-slim"):
            # The stand-ins carry the minor release's tag only; the Dockerfile pins a patch
            # release, which a registry resolves and a stand-in host cannot.
            self.run("docker", "tag", "python:3.11-slim", base)
            notes.append(f"tagged python:3.11-slim as {base}")
        if not self.have("redis:7") and not self.pull("redis:7"):
            base_debian = "debian:bookworm-local" if self.have("debian:bookworm-local") else "debian:bookworm-slim"
            self.run("docker", "build", "-q", "-t", "redis:7", "--build-arg", f"BASE={base_debian}",
                     "-f", str(HERE / "redis.Dockerfile"), str(HERE), cwd=HERE)
            notes.append(f"built the redis:7 stand-in on {base_debian}")
        return "; ".join(notes) or "all present"

    def have(self, image: str) -> bool:
        return sh(["docker", "image", "inspect", image], env=self.env,
                  capture_output=True).returncode == 0

    def pull(self, image: str) -> bool:
        try:
            return sh(["docker", "pull", "-q", image], env=self.env,
                      capture_output=True, timeout=120).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def fill_env(self) -> str:
        """`.env` as the README says: `.env.example` with every empty secret generated."""
        lines, filled = [], []
        for line in (self.workdir / ".env.example").read_text().splitlines():
            match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=", line)
            if match:
                name = match.group(1)
                value = "simpul-compose-check" if name == "JWT_ISSUER" else secrets.token_hex(32)
                line = f"{name}={value}"
                filled.append(name)
            lines.append(line)
        # The host's own RabbitMQ may hold 5672; and the in-flight step submits more requests
        # from one address than the public rate limit allows in a minute.
        self.amqp_port = free_port(5672)
        lines += [f"AMQP_PUBLISH_PORT={self.amqp_port}", "PUBLIC_RATE_LIMIT=1000/minute"]
        (self.workdir / ".env").write_text("\n".join(lines) + "\n")
        return f"generated {', '.join(filled)}"

    def up(self) -> str:
        # compose's progress output is kept for the failure message only; `up` may build the
        # image before its --wait-timeout starts counting.
        build_and_wait = 2 * self.timeout
        self.compose("up", "--build", "--detach", "--wait", "--wait-timeout", str(int(self.timeout)),
                     "rabbitmq", timeout=build_and_wait)
        # What `make up` does between the broker and the rest, with this checkout's Makefile.
        # Its Python is this one (the copy has no .venv), which make must not try to install.
        self.make("broker-logins", capture=False)
        self.compose("up", "--build", "--detach", "--wait", "--wait-timeout", str(int(self.timeout)),
                     timeout=build_and_wait)
        return f"{self.health()}; {self.loopback_only()}"

    def make(self, *targets: str, **kw) -> subprocess.CompletedProcess:
        # This checkout's Makefile with this Python (the copy has no .venv, which make must
        # not try to install).
        python = Path(sys.executable)
        return self.run("make", "--no-print-directory", f"--assume-old={python}", *targets,
                        f"BIN={python.parent}", f"STAMP={python}", **kw)

    def opd_login(self) -> str:
        """`make opd-login OPD=dinkes`, then what README tells the OPD's system to do, over
        the published AMQP port: its queue bound with `#.dinkes`; `#` is refused."""
        out = self.make("opd-login", "OPD=dinkes").stdout.decode()
        password = re.search(r"^password:\s+(\S+)", out, re.MULTILINE).group(1)
        self.opd_credentials = pika.PlainCredentials("opd-dinkes", password)
        with self.opd_channel() as (_, channel):
            channel.queue_declare(OPD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
            channel.queue_bind(OPD_QUEUE, "simpul.events", routing_key="#.dinkes")
        with self.opd_channel() as (_, channel):
            try:
                channel.queue_bind(OPD_QUEUE, "simpul.events", routing_key="#")
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != 403:
                    raise CheckFailed(f"binding # closed the channel with {exc}") from exc
            else:
                raise CheckFailed("opd-dinkes bound its queue with # and would read every OPD's events")
        return f"opd-dinkes bound {OPD_QUEUE} with #.dinkes; # refused"

    @contextlib.contextmanager
    def opd_channel(self):
        params = pika.ConnectionParameters("127.0.0.1", self.amqp_port, "/", self.opd_credentials,
                                           connection_attempts=3, retry_delay=2)
        connection = pika.BlockingConnection(params)
        try:
            yield connection, connection.channel()
        finally:
            if connection.is_open:
                connection.close()

    def opd_event(self, number: str) -> str | None:
        """The routing key of the event about `number` in the OPD's queue, if it is there."""
        with self.opd_channel() as (_, channel):
            while True:
                method, _, body = channel.basic_get(OPD_QUEUE, auto_ack=True)
                if method is None:
                    return None
                if number in body.decode(errors="replace"):
                    return method.routing_key

    def health(self) -> str:
        states = self.states()
        bad = {name: state for name, state in states.items() if state != "healthy"}
        if bad:
            raise CheckFailed(f"not healthy: {bad}")
        return f"{len(states)} containers healthy"

    def containers(self) -> list[dict]:
        out = self.compose("ps", "--all", "--format", "json").stdout.decode()
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        if len(rows) == 1 and isinstance(rows[0], list):
            rows = rows[0]
        return rows

    def states(self) -> dict[str, str]:
        return {row["Service"]: row.get("Health") or row.get("State", "?") for row in self.containers()}

    def loopback_only(self) -> str:
        """With PUBLISH_ADDRESS unset, nothing may be published beyond this machine."""
        published = [(row["Service"], p.get("URL"), p.get("PublishedPort"))
                     for row in self.containers() for p in row.get("Publishers") or []
                     if p.get("PublishedPort")]
        wide = [p for p in published if p[1] != "127.0.0.1"]
        if wide or not published:
            raise CheckFailed(f"published beyond loopback: {wide or 'nothing published at all'}")
        return f"{len(published)} ports published, all on 127.0.0.1"

    def wait_healthy(self) -> str:
        return self.eventually("every container healthy", lambda: self.health())

    def mint_admin_token(self) -> str:
        # docs/operations.md, "Staff tokens": minted inside a container, which has the
        # deployment's JWT_SECRET and JWT_ISSUER.
        out = self.compose("exec", "-T", "ppid-web", "python", "-m", "services.common.auth", "token",
                           "--sub", "compose-check", "--role", "admin", "--role", "ppid_utama")
        self.admin_token = out.stdout.decode().strip().splitlines()[-1]
        return None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def submit(self) -> dict:
        response = requests.post(f"{self.ppid}/api/v1/requests", json=APPLICANT, timeout=30)
        if response.status_code != 201:
            raise CheckFailed(f"submission answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def clock_of(self, number: str, subject: str = "requests") -> list | None:
        response = requests.get(f"{self.notifier}/api/v1/clocks/{subject}/{number}",
                                headers=self.headers(), timeout=30)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CheckFailed(f"clock of {number}: {response.status_code} {response.text[:300]}")
        return response.json()["clocks"] or None

    def first_request(self) -> str:
        self.first = self.submit()
        number = self.first["number"]
        self.eventually(f"the clock of {number} in the notifier", lambda: self.clock_of(number), timeout=120)
        key = self.eventually(f"the event of {number} in {OPD_QUEUE}", lambda: self.opd_event(number), timeout=60)
        return f"{number}'s clock is in the notifier, its event ({key}) in the OPD's queue"

    def lapor_report(self) -> str:
        """A citizen's report with a photo: the photo is kept in lapor's files volume, across
        a restart of lapor-web, and the report's verification clock reaches the notifier."""
        photo = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 40, 40)).save(photo, "JPEG")
        body = {**REPORT, "attachments": [{"filename": "jalan.jpg",
                                           "content_base64": base64.b64encode(photo.getvalue()).decode()}]}
        response = requests.post(f"{self.lapor}/api/v1/reports", json=body, timeout=30)
        if response.status_code != 201:
            raise CheckFailed(f"report answered {response.status_code}: {response.text[:500]}")
        number, token = response.json()["number"], response.json()["access_token"]
        self.compose("restart", "lapor-web")
        self.wait_healthy()
        reporter = {"X-Access-Token": token}
        listed = requests.get(f"{self.lapor}/api/v1/reports/{number}/attachments", headers=reporter, timeout=30)
        if listed.status_code != 200 or len(listed.json()) != 1:
            raise CheckFailed(f"attachments of {number}: {listed.status_code} {listed.text[:300]}")
        kept = requests.get(f"{self.lapor}/api/v1/reports/{number}/attachments/{listed.json()[0]['id']}",
                            headers=reporter, timeout=30)
        if kept.status_code != 200 or not kept.content.startswith(b"\xff\xd8"):
            raise CheckFailed(f"the photo of {number} after the restart: {kept.status_code}")
        self.eventually(f"the clock of {number} in the notifier",
                        lambda: self.clock_of(number, subject="reports"), timeout=120)
        return f"{number}'s photo survived a lapor-web restart ({len(kept.content)} bytes); its clock is in the notifier"

    def restarts(self) -> str:
        submitted: list[str] = []
        errors: list[BaseException] = []

        def keep_submitting():
            try:
                for _ in range(self.in_flight):
                    submitted.append(self.submit()["number"])
                    time.sleep(0.5)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        feeder = threading.Thread(target=keep_submitting)
        feeder.start()
        time.sleep(1)
        self.compose("restart", "rabbitmq")
        time.sleep(2)
        self.compose("restart", "notifier-worker")
        feeder.join()
        if errors:
            raise CheckFailed(f"a submission failed during the restarts: {errors[0]}")
        self.wait_healthy()
        missing = list(submitted)

        def all_arrived():
            missing[:] = [n for n in missing if not self.clock_of(n)]
            return not missing

        self.eventually(f"the clocks of {len(submitted)} requests", all_arrived, timeout=240, every=5)
        return f"{len(submitted)} requests submitted across a broker and a worker restart, every clock arrived"

    def backup_restore(self) -> str:
        dump = self.workdir / "backup-ppid.dump"
        # docs/operations.md, "Backups", word for word but for the file name.
        dumped = self.compose("exec", "-T", "postgres", "pg_dump", "-U", "postgres", "-Fc", "ppid")
        dump.write_bytes(dumped.stdout)
        self.compose("stop", "ppid-web", "ppid-worker")
        self.compose("exec", "-T", "postgres", "pg_restore", "-U", "postgres", "-d", "ppid",
                     "--clean", "--if-exists", stdin=dump.read_bytes())
        self.compose("up", "--detach", "--wait", "--wait-timeout", str(int(self.timeout)),
                     "ppid-web", "ppid-worker", timeout=self.timeout + 60)
        self.wait_healthy()
        number = self.first["number"]
        response = requests.get(f"{self.ppid}/api/v1/requests/{number}",
                                headers={"X-Access-Token": self.first["access_token"]}, timeout=30)
        if response.status_code != 200:
            raise CheckFailed(f"{number} after the restore: {response.status_code} {response.text[:300]}")
        after = self.submit()["number"]
        self.eventually(f"the clock of {after}", lambda: self.clock_of(after), timeout=120)
        return (f"dump of {len(dumped.stdout)} bytes restored; {number} is there and "
                f"{after}, submitted after, reached the notifier")

    def down(self) -> str:
        # Not bound by --timeout: whatever failed, the containers and volumes must go.
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=max(self.timeout, 180))
        return None

    def report_failure(self) -> None:
        try:
            print(f"    states: {self.states()}", file=sys.stderr)
            logs = self.compose("logs", "--no-color", "--tail", "30", timeout=120).stdout.decode(errors="replace")
            print(logs[-12000:], file=sys.stderr)
        except (CheckFailed, subprocess.TimeoutExpired, OSError) as exc:
            print(f"    (no logs: {exc})", file=sys.stderr)


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise CheckFailed(f"no free port near {preferred}")


def copy_tree(dest: Path, ref: str | None) -> str:
    """A checkout as a fresh clone would have it: git's files only (no .env, .venv or var/)."""
    if ref:
        archive = sh(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        sh(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return f"git archive {ref}"
    listed = sh(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=ROOT, check=True, capture_output=True).stdout.decode()
    files = [f for f in listed.split("\0") if f and (ROOT / f).exists()]
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)
    return f"{len(files)} files of the working tree"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make compose-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", help="try this commit instead of the working tree")
    parser.add_argument("--in-flight", type=int, default=20,
                        help="requests submitted while the broker and a worker restart (default 20)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take")
    args = parser.parse_args(argv)
    if sh(["docker", "compose", "version"], capture_output=True).returncode != 0:
        print("compose-check needs Docker with Compose v2 (`docker compose version`)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="simpul-compose-check-") as tmp:
        workdir = Path(tmp)
        check = Check(workdir, args.timeout, args.in_flight)
        ok = False
        try:
            check.step("a clean copy of the repository", lambda: copy_tree(workdir, args.ref))
            check.step(".env from .env.example, every secret generated", check.fill_env)
            check.step("images this host cannot pull", check.images)
            check.step("compose up --build: broker, broker logins, everything healthy", check.up)
            check.step("an administrator token minted in ppid-web", check.mint_admin_token)
            check.step("an OPD system's broker login (make opd-login OPD=dinkes)", check.opd_login)
            check.step("a request's clock reaches the notifier, its event the OPD", check.first_request)
            check.step("a LAPOR! report with a photo: the file in its volume, the clock in the notifier",
                       check.lapor_report)
            check.step(f"{args.in_flight} requests while the broker and notifier-worker restart",
                       check.restarts)
            check.step("ppid's database backed up and restored, the service resumes",
                       check.backup_restore)
            ok = True
        except (CheckFailed, subprocess.TimeoutExpired, requests.RequestException) as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            check.report_failure()
        finally:
            try:
                check.step("compose down -v", check.down)
            except (CheckFailed, subprocess.TimeoutExpired) as exc:
                ok = False
                print(f"FAILED: {exc}\n`COMPOSE_PROJECT_NAME={PROJECT} docker compose down -v` "
                      "from a checkout removes what is left", file=sys.stderr)
        total = time.monotonic() - check.started
        print(f"compose-check {'passed' if ok else 'FAILED'} in {total / 60:.1f} min", flush=True)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
