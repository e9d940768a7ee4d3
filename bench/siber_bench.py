"""SIBER benchmark: the public article list and a feed against bare Flask, with and without
conditional GET.

    .venv/bin/python bench/siber_bench.py [--duration 5] [--connections 16] [--articles 300] [--json]

One run creates a fresh PostgreSQL database, migrates it with `python -m services.siber
migrate`, loads published articles (a body of some 3 kB, tags, spread over the OPDs), and
starts under gunicorn, with `services/common/gunicorn_conf.py` and compose's web settings,
the SIBER web app and a bare Flask app that answers the same bytes the service answered
(the article list as a JSON list it serialises on every request, the feed as a document it
holds). Each pair is loaded in alternating rounds at the same number of connections:

- `GET /api/v1/public/articles` (one page of 20);
- `GET /api/v1/public/feeds/all.atom` (the newest 50 with their bodies), unconditional;
- the same feed with the ETag of the previous answer in `If-None-Match` (the 304 path:
  three columns read, nothing built), against the bare app answering the same 304.

Prints each round's rates and p99 latencies and the median ratio of each pair. Load only
goes to 127.0.0.1, to the servers this script started, bounded by duration and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ppid_bench import (  # noqa: E402 - after the repository is importable
    HOST,
    Result,
    compose_web_env,
    create_database,
    drop_database,
    free_port,
    median_pair,
    migrate,
    ratio,
    report_worker_rss,
    run_raw,
    start_gunicorn,
    stop,
    wait_ready,
)
from bench.summary import record as record_figure  # noqa: E402

LIST_PATH = "/api/v1/public/articles"
FEED_PATH = "/api/v1/public/feeds/all.atom"
PAYLOADS_ENV = "BENCH_SIBER_PAYLOADS"
BODY = "".join(
    f"<p>Paragraf {n}: kegiatan perangkat daerah di Kuala Kapuas dihadiri warga, camat dan "
    "kepala desa; pembangunan jembatan, posyandu dan sekolah dibahas bersama.</p>"
    for n in range(20)
)


def baseline_app():
    """Bare Flask answering the bytes the service answered, read once at start."""
    from flask import Flask, Response, jsonify, request

    payloads = json.loads(Path(os.environ[PAYLOADS_ENV]).read_text(encoding="utf-8"))
    articles, feed, etag = payloads["articles"], payloads["feed"].encode(), payloads["etag"]
    app = Flask("simpul.bench.siber")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get(LIST_PATH)
    def article_list():
        return jsonify(articles)

    @app.get(FEED_PATH)
    def feed_document():
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(feed, content_type="application/atom+xml; charset=utf-8",
                        headers={"ETag": etag})

    return app


def load_articles(db_url: str, count: int) -> None:
    from services.common.runtime import build_runtime
    from services.siber.config import SiberSettings
    from services.siber.models import Article, ArticleTag, Base

    settings = SiberSettings.from_env("siber", {"SIMPUL_ENV": "development", "SIBER_DATABASE_URL": db_url})
    rt = build_runtime(settings, Base.metadata)
    opds = [opd.code for opd in rt.opds][:20]
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    try:
        with rt.uow() as uow:
            for n in range(count):
                at = start + timedelta(hours=3 * n)
                article = Article(
                    opd=opds[n % len(opds)], slug=f"berita-kegiatan-{n}",
                    title=f"Kegiatan perangkat daerah ke-{n} di Kuala Kapuas",
                    lead="Perangkat daerah melaporkan kegiatannya kepada warga.", body_html=BODY,
                    place="Kuala Kapuas", status="published", author_sub="bench",
                    created_at=at, submitted_at=at, published_at=at, updated_at=at,
                )
                article.tags = [ArticleTag(tag="kegiatan"), ArticleTag(tag=f"tema-{n % 7}")]
                uow.session.add(article)
            uow.commit()
    finally:
        rt.dispose()


def fetch(port: int, path: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as response:  # noqa: S310
        return response.read(), response.headers.get("ETag", "")


async def run_get(name, port, path, headers, *, connections, duration, max_requests, ok) -> Result:
    """`connections` clients, each sending one GET per connection (gunicorn's sync workers
    close the connection after every answer)."""
    extra = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    raw = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra}Connection: close\r\n\r\n".encode()
    return await run_raw(name, port, raw, connections=connections, duration=duration, max_requests=max_requests, ok=ok)


@dataclass
class Pair:
    label: str
    path: str
    headers: dict
    ok: bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if (not 1 <= args.connections <= 256 or not 0 < args.duration <= 60
            or not 1 <= args.rounds <= 9 or not 1 <= args.articles <= 5000):
        parser.error("use 1-256 connections, at most 60 s, 1-9 rounds and 1-5000 articles")

    web = compose_web_env()
    db_name, db_url = create_database()
    workdir = Path(tempfile.mkdtemp(prefix="siber-bench-"))
    env = {**os.environ, "SIMPUL_ENV": "development", "SIBER_DATABASE_URL": db_url,
           "PUBLIC_RATE_LIMIT": "100000000/minute", "PYTHONPATH": str(ROOT), **web}
    servers = []
    results: dict[str, list[tuple[Result, Result]]] = {}
    try:
        migrate(env, "siber")
        load_articles(db_url, args.articles)
        port = free_port()
        siber = start_gunicorn("services.siber.app:create_app()", port, env, workdir / "siber.log")
        servers.append(siber)
        wait_ready(port, siber[0], workdir / "siber.log")
        articles, _ = fetch(port, LIST_PATH)
        feed, etag = fetch(port, FEED_PATH)
        payloads = workdir / "payloads.json"
        payloads.write_text(json.dumps({"articles": json.loads(articles), "feed": feed.decode(),
                                        "etag": etag}), encoding="utf-8")
        bare_port = free_port()
        bare = start_gunicorn("bench.siber_bench:baseline_app()", bare_port,
                              {**env, PAYLOADS_ENV: str(payloads)}, workdir / "bare.log")
        servers.append(bare)
        wait_ready(bare_port, bare[0], workdir / "bare.log")

        pairs = [
            Pair("article list", LIST_PATH, {}, b"HTTP/1.1 200"),
            Pair("feed", FEED_PATH, {}, b"HTTP/1.1 200"),
            Pair("feed, If-None-Match", FEED_PATH, {"If-None-Match": etag}, b"HTTP/1.1 304"),
        ]
        common = dict(connections=args.connections, max_requests=args.max_requests)
        for pair in pairs:
            if args.warmup > 0:
                for target in (port, bare_port):
                    asyncio.run(run_get("warm-up", target, pair.path, pair.headers,
                                        duration=args.warmup, ok=pair.ok, **common))
            results[pair.label] = [
                (asyncio.run(run_get("siber", port, pair.path, pair.headers,
                                     duration=args.duration, ok=pair.ok, **common)),
                 asyncio.run(run_get("bare", bare_port, pair.path, pair.headers,
                                     duration=args.duration, ok=pair.ok, **common)))
                for _ in range(args.rounds)
            ]
        report_worker_rss("siber", siber[0])
    finally:
        for process, log in servers:
            stop(process)
            log.close()
        drop_database(db_name)
        shutil.rmtree(workdir, ignore_errors=True)

    summary = {"connections": args.connections, "web": web, "articles": args.articles, "pairs": {}}
    failed = False
    for label, rounds in results.items():
        median = median_pair(rounds)
        failed = failed or any(r.errors for pair in rounds for r in pair)
        summary["pairs"][label] = {
            "rounds": [{"siber": asdict(s), "bare": asdict(b), "ratio": round(ratio((s, b)), 4)}
                       for s, b in rounds],
            "ratio": round(ratio(median), 4),
            "siber_p99_ms": round(median[0].p99_ms, 2),
        }
        record_figure("siber", f"{label}, rate against bare Flask", f"{ratio(median):.1%}",
                      note=f"p99 {median[0].p99_ms:.1f} ms")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"SIBER benchmark (asyncio, {args.connections} connections, {args.duration:g} s per "
              f"app and round, {web['WEB_CONCURRENCY']} gunicorn workers x {web['WEB_THREADS']} "
              f"thread, {args.articles} published articles)")
        for label, rounds in results.items():
            for number, (s, b) in enumerate(rounds, 1):
                print(f"  {label}, round {number}: siber {s.rate:7.1f} req/s (p99 {s.p99_ms:6.2f} ms), "
                      f"bare {b.rate:7.1f} req/s (p99 {b.p99_ms:6.2f} ms), ratio {ratio((s, b)):.1%}")
            data = summary["pairs"][label]
            print(f"  {label}: median ratio siber/bare {data['ratio']:.1%}, "
                  f"siber p99 {data['siber_p99_ms']:.2f} ms")
        if failed:
            print("  some requests failed (errors counted in the rounds above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
