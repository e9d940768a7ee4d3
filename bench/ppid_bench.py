"""PPID benchmark: `POST /api/v1/requests` against a bare Flask echo, same gunicorn setup.

    .venv/bin/python bench/ppid_bench.py [--duration 10] [--connections 16] [--paced-connections 8] [--json]

One run:
1. creates a fresh PostgreSQL database, migrates it with the service's own migrations and
   drops it at the end;
2. starts the PPID web app with gunicorn and `services/common/gunicorn_conf.py`, with the
   web settings `docker-compose.yml` gives its web containers (WEB_CONCURRENCY,
   WEB_THREADS), and the public rate limit raised so the limiter measures its cost
   without refusing the load;
3. starts `bench/echo_app.py`, a bare Flask app that echoes the same JSON body, under the
   same gunicorn configuration;
4. loads each with the same body at the same number of connections (wrk when installed,
   otherwise the small asyncio load generator below) after a short warm-up, in several
   rounds that alternate the two, because a shared machine's speed drifts by more than
   the differences measured;
5. then offers the service a fixed rate of half its own maximum (the median of its rounds'
   rates) at a constant rate: several hey processes of one connection each (`hey -c 1 -q`), each
   sending its share per second, started spread over one interval so that their requests
   interleave (the small asyncio generator below, paced the same way, when hey is missing),
   and takes the p99 latency of that load. The same rate from one `hey -c N`, whose N
   tickers fire together, is measured too and printed as information: bursts of N;
6. prints each round's rates, ratio and p99 latencies, the median round, the paced p99, and
   whether the target is met: the service at no less than 25% of the bare rate (median
   round), with a p99 of at most 20 ms at half its maximum rate. Each round also prints,
   as information, the CPU per answered request of each app's gunicorn workers and of
   PostgreSQL's processes (Linux's /proc, `bench/cpu.py`): both apps are limited by the
   CPU, so the ratio follows these costs, and they say how much of a request's cost is the
   service's Python and how much the database's.

The latency target is judged at a fixed offered rate because at full speed it says nothing
of the implementation: with a fixed number of connections each waiting for its answer
before sending again, the mean latency is connections / rate (Little's law), so at 16
connections a p99 under 20 ms would need more than 800 submissions per second. The p99 at
16 connections is still printed, as information.

Load only ever goes to 127.0.0.1, to the two servers this script started, and every run is
bounded by a duration and a request count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import cpu  # noqa: E402 - after the repository is importable
from bench.summary import record as record_figure  # noqa: E402

HOST = "127.0.0.1"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_RATIO = 0.25
TARGET_P99_MS = 20.0
TARGET_WORKER_RSS_MB = 100
REQUESTS_PATH = "/api/v1/requests"
ECHO_PATH = "/echo"
REQUEST_TIMEOUT = 10.0  # seconds; a slower answer counts as an error

# A complete, valid request as a citizen's browser would send it. The NIK is a made-up
# number of the right shape (the region code of Kapuas, a birth date, a serial).
REQUEST_BODY = {
    "identity_type": "nik",
    "identity_number": "6203014107900001",
    "name": "Siti Rahmawati",
    "address": "Jl. Tambun Bungai No. 12, Kuala Kapuas",
    "phone": "081234567890",
    "email": "siti@example.org",
    "occupation": "Peneliti",
    "information": "Data jumlah puskesmas dan tenaga kesehatan per kecamatan tahun 2025",
    "purpose": "Bahan penelitian tentang akses layanan kesehatan di Kabupaten Kapuas",
    "obtain_method": "soft_copy",
    "requested_opd": "dinkes",
    "delivery_method": "email",
}


@dataclass(frozen=True)
class Target:
    """The public submission of one service: what is measured against the echo app."""

    service: str
    app_spec: str
    path: str
    body: dict


PPID = Target("ppid", "services.ppid.app:create_app()", REQUESTS_PATH, REQUEST_BODY)


@dataclass
class Result:
    name: str
    tool: str
    requests: int
    errors: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    offered: float | None = None  # req/s asked of a paced run; None for a run at full speed
    # CPU per answered request of the app's gunicorn workers and of PostgreSQL's processes
    # during a round at full speed (`run_accounted`); None where not read.
    web_cpu_ms: float | None = None
    database_cpu_ms: float | None = None


# --- servers ---------------------------------------------------------------------------


def compose_web_env() -> dict[str, str]:
    """The gunicorn settings docker-compose.yml gives web containers (their defaults)."""
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    found = dict(re.findall(r"^\s+(WEB_CONCURRENCY|WEB_THREADS): \$\{\1:-(\d+)\}", text, re.M))
    if set(found) != {"WEB_CONCURRENCY", "WEB_THREADS"}:
        raise SystemExit("docker-compose.yml no longer sets WEB_CONCURRENCY and WEB_THREADS")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(app_spec: str, port: int, env: dict[str, str], log_path: Path):
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", "python:services.common.gunicorn_conf",
        "--bind", f"{HOST}:{port}",
        app_spec,
    ]
    log = log_path.open("wb")
    # A process group of its own, so stopping it stops its workers and nothing else.
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return process, log


def worker_rss_mb(master) -> list[float]:
    """Resident memory of a gunicorn master's workers, in MB (Linux's /proc; empty elsewhere).

    Read right after the last round: a Python process rarely gives memory back, so this is
    what the load made of the workers.
    """
    try:
        pids = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    except OSError:
        return []
    sizes = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        sizes += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")]
    return sizes


def report_worker_rss(service: str, master) -> None:
    sizes = worker_rss_mb(master)
    if not sizes:
        return
    largest = max(sizes)
    print(f"  {service} web workers' resident memory after the load: "
          + ", ".join(f"{size:.0f} MB" for size in sizes)
          + f" (target <= {TARGET_WORKER_RSS_MB} MB each)")
    record_figure(service, "web worker resident memory after the load, largest",
                  f"{largest:.0f} MB", f"<= {TARGET_WORKER_RSS_MB} MB",
                  largest <= TARGET_WORKER_RSS_MB, f"{len(sizes)} workers")


def stop(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(port: int, process, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not become ready:\n{log_path.read_text()[-4000:]}")


def post_once(port: int, path: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"http://{HOST}:{port}{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- database --------------------------------------------------------------------------


def create_database() -> tuple[str, str]:
    import psycopg

    name = f"simpul_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(env: dict[str, str], service: str = "ppid") -> None:
    # The service's own `migrate` command: migrations to head, then the calendar seed and
    # the service's reference data, exactly as a deployment starts.
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", f"services.{service}", "migrate"], cwd=ROOT, env=env,
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"migration failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")


# --- load ------------------------------------------------------------------------------


def run_load(name, port, path, body, *, connections, duration, max_requests, use_wrk):
    if use_wrk:
        return run_wrk(name, port, path, body, connections=connections, duration=duration)
    return asyncio.run(
        run_asyncio(name, port, path, body, connections=connections, duration=duration,
                    max_requests=max_requests)
    )


def run_accounted(master, *args, **kwargs) -> Result:
    """`run_load`, with the CPU the app's workers and PostgreSQL spent per answered request.

    Both apps are limited by the CPU, so the rate ratio follows their CPU per request: this
    says where a submission's cost lies, in the web workers' Python or in the database.
    """
    if not cpu.available():
        return run_load(*args, **kwargs)
    web, database = cpu.children_cpu_seconds(master.pid), cpu.processes_cpu_seconds("postgres")
    result = run_load(*args, **kwargs)
    if result.requests:
        result.web_cpu_ms = (cpu.children_cpu_seconds(master.pid) - web) / result.requests * 1000
        result.database_cpu_ms = (cpu.processes_cpu_seconds("postgres") - database) / result.requests * 1000
    return result


def cpu_note(own: Result, echo: Result) -> str:
    """"web 3.66 + PostgreSQL 0.94 ms, echo 0.69 ms": a round's CPU per request."""
    if own.web_cpu_ms is None or echo.web_cpu_ms is None:
        return ""
    return (f"web {own.web_cpu_ms:.2f} + PostgreSQL {own.database_cpu_ms:.2f} ms, "
            f"echo {echo.web_cpu_ms:.2f} ms")


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(name, port, path, body, *, connections, duration) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT.format(body=json.dumps(json.dumps(body))))
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv
            [shutil.which("wrk"), "-t", "2", "-c", str(connections), "-d", f"{int(duration)}s",
             "--latency", "--timeout", f"{int(REQUEST_TIMEOUT)}s", "-s", script.name, f"http://{HOST}:{port}{path}"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    seconds = _wrk_seconds(re.search(r"requests in ([\d.]+\w+),", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        # connect, read, write, timeout (wrk's timeout is 2 s per request)
        errors += sum(int(g) for g in socket_errors.groups())
        print(f"  wrk {name}: {socket_errors.group(0)}", file=sys.stderr)
    if bad:
        print(f"  wrk {name}: {bad.group(0)}", file=sys.stderr)
    return Result(
        name=name, tool="wrk", requests=requests, errors=errors, seconds=seconds,
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_wrk_ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),
        p99_ms=_wrk_ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),
    )


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(number) * _UNITS[unit]


def _wrk_seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


async def run_asyncio(name, port, path, body, *, connections, duration, max_requests,
                      rate: float | None = None) -> Result:
    """`connections` concurrent clients POSTing `body` as JSON to `path`; with `rate`,
    together at most that many requests per second."""
    payload = json.dumps(body).encode()
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    return await run_raw(name, port, raw, connections=connections, duration=duration,
                         max_requests=max_requests, rate=rate)


async def run_raw(name, port, raw: bytes, *, connections, duration, max_requests,
                  ok: bytes | tuple[bytes, ...] = (b"HTTP/1.1 2", b"HTTP/1.0 2"),
                  rate: float | None = None) -> Result:
    """`connections` concurrent clients, each sending the request `raw` once per connection;
    an answer that does not start with `ok` counts as an error. With `rate`, each client
    sends on a schedule of rate/connections requests per second (a late answer delays
    that client's next request, never the others').

    gunicorn's sync workers close the connection after every response, so a fresh
    connection per request is what any client gets from them; wrk does the same.
    """
    latencies: list[float] = []
    errors = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + duration

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(raw)
            return await reader.read()
        finally:
            writer.close()

    interval = connections / rate if rate else 0.0

    async def client(number: int):
        nonlocal errors, sent
        # Paced clients start spread over one interval rather than all at once.
        slot = started + interval * number / connections
        while time.perf_counter() < deadline and sent < max_requests:
            if interval:
                await asyncio.sleep(max(0.0, slot - time.perf_counter()))
                slot = max(slot + interval, time.perf_counter() - interval)
                if time.perf_counter() >= deadline:
                    break
            sent += 1
            t0 = time.perf_counter()
            try:
                response = await asyncio.wait_for(exchange(), REQUEST_TIMEOUT)
            except (OSError, TimeoutError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)
            if not response.startswith(ok):
                errors += 1

    await asyncio.gather(*(client(number) for number in range(connections)))
    seconds = time.perf_counter() - started
    latencies.sort()
    return Result(
        name=name, tool="asyncio", requests=len(latencies), errors=errors, seconds=seconds,
        rate=len(latencies) / seconds if seconds else 0.0,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        offered=rate,
    )


# --- load at a fixed offered rate ------------------------------------------------------


def run_paced(name, port, path, body, *, rate, connections, duration, use_hey) -> Result:
    """`connections` clients together offering `rate` requests per second for `duration`."""
    if use_hey:
        return run_hey(name, port, path, body, rate=rate, connections=connections, duration=duration)
    return asyncio.run(
        run_asyncio(name, port, path, body, connections=connections, duration=duration,
                    max_requests=int(rate * duration) + connections, rate=rate)
    )


def run_hey(name, port, path, body, *, rate, connections, duration) -> Result:
    """`connections` hey processes of one connection each, each sending rate/connections
    requests a second (`-q`), started spread over one interval: a constant rate.

    One hey with `-c N` starts its N workers' tickers together, so its load arrives in
    bursts of N requests at once and the p99 measures how fast a burst is cleared. Measured
    on PPID at 300 req/s over 8 connections: p50 10-11 ms and p99 20-26 ms in bursts, against
    4-5 ms and 10-13 ms for the same rate with the phases spread. The asyncio generator
    below spreads its clients the same way. `run_hey_in_phase` still measures the bursts.
    """
    url = f"http://{HOST}:{port}{path}"
    with tempfile.TemporaryDirectory(prefix="hey-") as tmp:
        payload = Path(tmp) / "body.json"
        payload.write_text(json.dumps(body), encoding="utf-8")
        outputs, processes = [], []
        started = time.perf_counter()
        try:
            for offset in start_offsets(rate, connections):
                time.sleep(max(0.0, started + offset - time.perf_counter()))
                out = (Path(tmp) / f"{len(processes)}.csv").open("w", encoding="utf-8")
                outputs.append(out)
                processes.append(subprocess.Popen(  # noqa: S603 - fixed argv
                    hey_argv(url, payload, per_second=rate / connections, connections=1,
                             duration=duration, csv=True),
                    stdout=out, stderr=subprocess.DEVNULL,
                ))
        finally:
            for process in processes:
                process.wait()
            for out in outputs:
                out.close()
        rows = [row for number in range(len(processes))
                for row in hey_csv_rows((Path(tmp) / f"{number}.csv").read_text(encoding="utf-8"))]
    return paced_result(name, rows, seconds=duration, offered=rate)


def hey_argv(url: str, payload, *, per_second: float, connections: int, duration: float,
             csv: bool = False) -> list[str]:
    """hey POSTing the JSON file `payload` to `url` for `duration` seconds, each of its
    `connections` workers at most `per_second` requests a second; `csv`: one line per answer."""
    return [shutil.which("hey"), "-z", f"{duration:g}s", "-c", str(connections),
            "-q", f"{per_second:.2f}", "-t", f"{int(REQUEST_TIMEOUT)}", *(["-o", "csv"] if csv else []),
            "-m", "POST", "-T", "application/json", "-D", str(payload), url]


def start_offsets(rate: float, connections: int) -> list[float]:
    """When each of `connections` paced clients starts, in seconds from the first: spread
    evenly over one client's interval, so that together they send every 1/rate seconds."""
    return [number / rate for number in range(connections)]


def hey_csv_rows(text: str) -> list[tuple[float, int]]:
    """(latency in seconds, status code) of each answered request in hey's `-o csv` output.

    hey lists only requests that got an answer; one that got none (refused, reset, timed
    out) is missing, which `paced_result` reports as unanswered.
    """
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0].split(",")
    latency, status = header.index("response-time"), header.index("status-code")
    rows = []
    for line in lines[1:]:
        fields = line.split(",")
        if len(fields) == len(header):
            rows.append((float(fields[latency]), int(fields[status])))
    return rows


def paced_result(name: str, rows: list[tuple[float, int]], *, seconds: float, offered: float) -> Result:
    """The answers of a paced run as a Result; an answer other than 2xx is an error.

    hey lists only the requests that got an answer, and its ticker skips a beat while an
    answer is late, so a few requests short of the schedule are a slow answer, not a failure.
    More than a tenth short is a server that stopped answering: all of them count as errors,
    so that a run with hardly any answers cannot show a good p99.
    """
    latencies = sorted(latency for latency, _status in rows)
    failed = sum(1 for _latency, status in rows if not 200 <= status < 300)
    scheduled = int(offered * seconds)
    short = max(0, scheduled - len(rows))
    unanswered = short if short > scheduled / 10 else 0
    if failed or short:
        print(f"  hey {name}: {failed} answers other than 2xx; {len(rows)} answers of {scheduled} "
              f"scheduled", file=sys.stderr)
    return Result(
        name=name, tool="hey", requests=len(rows), errors=failed + unanswered, seconds=seconds,
        rate=len(rows) / seconds if seconds else 0.0,
        p50_ms=_percentile(latencies, 0.50) * 1000, p99_ms=_percentile(latencies, 0.99) * 1000,
        offered=offered,
    )


def run_hey_in_phase(name, port, path, body, *, rate, connections, duration) -> Result:
    """One hey with `-c connections -q rate/connections`: the same rate, in bursts of
    `connections` requests at once (its workers' tickers fire together). Information only."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as payload:
        payload.write(json.dumps(body))
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv
            hey_argv(f"http://{HOST}:{port}{path}", payload.name, per_second=rate / connections,
                     connections=connections, duration=duration),
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(payload.name)
    return parse_hey(name, out, rate)


def parse_hey(name: str, out: str, offered: float) -> Result:
    """hey's summary as a Result: answers other than 2xx and transport errors count as errors."""
    statuses = {int(code): int(count) for code, count in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    # Requests that got no answer at all (refused, reset, timed out), listed after the statuses.
    _, _, failed = out.partition("Error distribution:")
    failures = sum(int(count) for count in re.findall(r"^\s+\[(\d+)\]", failed, re.M))
    requests = sum(statuses.values())
    errors = sum(count for code, count in statuses.items() if not 200 <= code < 300) + failures
    if errors:
        print(f"  hey {name}: statuses {statuses}, {failures} transport errors", file=sys.stderr)
    seconds = float(re.search(r"Total:\s+([\d.]+) secs", out).group(1))

    def percentile(label: str) -> float:
        found = re.search(rf"\s{label}% in ([\d.]+) secs", out)
        return float(found.group(1)) * 1000 if found else 0.0

    return Result(
        name=name, tool="hey", requests=requests, errors=errors, seconds=seconds,
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=percentile("50"), p99_ms=percentile("99"), offered=offered,
    )


def ratio(pair: tuple[Result, Result]) -> float:
    """The service's rate as a share of the bare app's, in one round."""
    return pair[0].rate / pair[1].rate if pair[1].rate else 0.0


def median_pair(rounds: list[tuple[Result, Result]]) -> tuple[Result, Result]:
    """The round of the median ratio: one real round, not an average of several."""
    return sorted(rounds, key=ratio)[len(rounds) // 2]

def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(round(q * len(sorted_values))) - 1))
    return sorted_values[index]


# --- the run ---------------------------------------------------------------------------


def main(argv: list[str] | None = None, target: Target = PPID) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    # Each gunicorn worker pays its first-request costs (holiday tables, statement caches)
    # once; the warm-up keeps them out of the measurement.
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per app")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both apps")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--paced-connections", type=int, default=8,
                        help="connections sharing the fixed rate of the latency run")
    parser.add_argument("--paced-share", type=float, default=0.5,
                        help="the latency run's offered rate, as a share of the measured maximum")
    parser.add_argument("--max-requests", type=int, default=500_000,
                        help="upper bound per run for the built-in load generator")
    parser.add_argument("--tool", choices=("auto", "wrk", "asyncio"), default="auto",
                        help="load generator of the full-speed rounds")
    parser.add_argument("--paced-tool", choices=("auto", "hey", "asyncio"), default="auto",
                        help="load generator of the fixed-rate latency run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 256 or not 0 < args.duration <= 120 or not 1 <= args.rounds <= 9:
        parser.error("use 1-256 connections, a duration of at most 120 s and 1-9 rounds")
    use_wrk = args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk") is not None)
    if use_wrk and shutil.which("wrk") is None:
        parser.error("wrk is not installed")
    use_hey = args.paced_tool == "hey" or (args.paced_tool == "auto" and shutil.which("hey") is not None)
    if use_hey and shutil.which("hey") is None:
        parser.error("hey is not installed")
    if not 1 <= args.paced_connections <= 256 or not 0 < args.paced_share <= 1:
        parser.error("use 1-256 paced connections and a paced share in (0, 1]")

    web = compose_web_env()
    db_name, db_url = create_database()
    name = target.service
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-bench-"))
    env = {
        **os.environ,
        "SIMPUL_ENV": "development",
        f"{name.upper()}_DATABASE_URL": db_url,
        # High enough that no request of the run is refused: the limiter still runs.
        "PUBLIC_RATE_LIMIT": "100000000/minute",
        "PYTHONPATH": str(ROOT),
        **web,
    }
    servers = []
    rounds: list[tuple[Result, Result]] = []
    paced: Result | None = None
    bursts: Result | None = None
    try:
        migrate(env, name)
        ppid_port, echo_port = free_port(), free_port()
        ppid = start_gunicorn(target.app_spec, ppid_port, env, workdir / f"{name}.log")
        echo = start_gunicorn("bench.echo_app:create_app()", echo_port, env,
                              workdir / "echo.log")
        servers = [ppid, echo]
        wait_ready(ppid_port, ppid[0], workdir / f"{name}.log")
        wait_ready(echo_port, echo[0], workdir / "echo.log")

        status, reply = post_once(ppid_port, target.path, target.body)
        if status != 201:
            raise SystemExit(f"POST {target.path} answered {status}: {reply[:2000]!r}")

        common = dict(connections=args.connections, max_requests=args.max_requests, use_wrk=use_wrk)
        if args.warmup > 0:
            run_load(name, ppid_port, target.path, target.body, duration=args.warmup, **common)
            run_load("echo", echo_port, ECHO_PATH, REQUEST_BODY, duration=args.warmup, **common)
        for _ in range(args.rounds):
            rounds.append((
                run_accounted(ppid[0], name, ppid_port, target.path, target.body,
                              duration=args.duration, **common),
                run_accounted(echo[0], "echo", echo_port, ECHO_PATH, REQUEST_BODY,
                              duration=args.duration, **common),
            ))
        # The service's own maximum is the median of its rounds' rates (the round of the
        # median ratio can be its fastest or slowest); the echo app is idle meanwhile.
        offered = statistics.median(own.rate for own, _echo in rounds) * args.paced_share
        paced = run_paced(name, ppid_port, target.path, target.body, rate=offered,
                          connections=args.paced_connections, duration=args.duration, use_hey=use_hey)
        if use_hey:
            bursts = run_hey_in_phase(name, ppid_port, target.path, target.body, rate=offered,
                                      connections=args.paced_connections, duration=args.duration)
        report_worker_rss(name, ppid[0])
    finally:
        for process, log in servers:
            stop(process)
            log.close()
        drop_database(db_name)
        if any(r.errors for pair in rounds for r in pair) or (paced and paced.errors):
            # What the servers said about the failures, before their logs go.
            for log_name in (f"{name}.log", "echo.log"):
                lines = (workdir / log_name).read_text(errors="replace").splitlines()
                problems = [line for line in lines
                            if re.search(r"ERROR|CRITICAL|WARNING|Traceback|Error", line)]
                statuses = Counter(re.findall(r'"status": (\d{3})', "\n".join(lines)))
                print(f"-- {log_name}: responses by status {dict(statuses)}")
                if problems:
                    print(*problems[-15:], sep="\n")
        shutil.rmtree(workdir, ignore_errors=True)

    median = median_pair(rounds)
    ppid_result = median[0]
    errors = sum(r.errors for pair in rounds for r in pair)
    rate_met = ratio(median) >= TARGET_RATIO and not errors
    latency_met = paced.p99_ms <= TARGET_P99_MS and not paced.errors
    met = rate_met and latency_met
    record_figure(name, f"POST {target.path}, rate against a bare Flask echo", f"{ratio(median):.1%}",
                  f">= {TARGET_RATIO:.0%}", rate_met,
                  f"{ppid_result.rate:,.0f} vs {median[1].rate:,.0f} req/s"
                  + (f"; CPU per request: {cpu_note(*median)}" if cpu_note(*median) else "")
                  + (f", {errors} failed requests" if errors else ""))
    record_figure(name, f"POST {target.path}, p99 at {args.paced_share:.0%} of its maximum rate",
                  f"{paced.p99_ms:.1f} ms", f"<= {TARGET_P99_MS:g} ms", latency_met,
                  f"{paced.offered:,.0f} req/s offered by {paced.tool} over {args.paced_connections} "
                  f"connections, {paced.rate:,.0f} answered"
                  + (f", {paced.errors} failed requests" if paced.errors else ""))
    if bursts is not None:
        record_figure(name, f"POST {target.path}, p99 at the same rate in bursts of {args.paced_connections}",
                      f"{bursts.p99_ms:.1f} ms", note=f"one hey -c {args.paced_connections}, tickers in phase"
                      + (f", {bursts.errors} failed requests" if bursts.errors else ""))
    # At full speed the p99 follows from the connections and the rate (Little's law): shown
    # as information, without a target.
    record_figure(name, f"POST {target.path}, p99 at full speed, {args.connections} connections",
                  f"{ppid_result.p99_ms:.1f} ms")
    summary = {
        "connections": args.connections,
        "web": web,
        "rounds": [{name: asdict(p), "echo": asdict(e), "ratio": round(ratio((p, e)), 4)} for p, e in rounds],
        "median_round": rounds.index(median),
        "ratio": round(ratio(median), 4),
        "paced": asdict(paced),
        "paced_in_bursts": asdict(bursts) if bursts else None,
        "target": {"ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS, "met": met},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{name.upper()} benchmark ({ppid_result.tool}, {args.connections} connections, "
              f"{args.duration:g} s per app and round, {web['WEB_CONCURRENCY']} gunicorn workers "
              f"x {web['WEB_THREADS']} thread)")
        for number, (p, e) in enumerate(rounds, 1):
            mark = "  <- median" if (p, e) is median else ""
            print(f"  round {number}: {name} {p.rate:7.1f} req/s (p99 {p.p99_ms:6.2f} ms), "
                  f"echo {e.rate:7.1f} req/s (p99 {e.p99_ms:6.2f} ms), ratio {ratio((p, e)):.1%}{mark}")
            if cpu_note(p, e):
                print(f"           CPU per request: {cpu_note(p, e)}")
        print(f"  at a fixed {paced.offered:.0f} req/s ({args.paced_share:.0%} of its median rate "
              f"{paced.offered / args.paced_share:.0f}; "
              f"{paced.tool}, {args.paced_connections} connections): {name} answered {paced.rate:.1f} req/s, "
              f"p50 {paced.p50_ms:.2f} ms, p99 {paced.p99_ms:.2f} ms, {paced.errors} errors")
        if bursts is not None:
            print(f"  the same rate from one hey -c {args.paced_connections} (bursts of {args.paced_connections} "
                  f"at once): p50 {bursts.p50_ms:.2f} ms, p99 {bursts.p99_ms:.2f} ms, {bursts.errors} errors")
        print(f"  median ratio {name}/echo {ratio(median):.1%}, p99 at {args.paced_share:.0%} of its maximum "
              f"{paced.p99_ms:.2f} ms (target >= {TARGET_RATIO:.0%}, p99 <= {TARGET_P99_MS:g} ms): "
              f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
