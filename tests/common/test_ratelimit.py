"""The public rate limit: fixed windows per endpoint and client, its headers, and its store."""

import logging
import math
import os
import threading
import time
import uuid

import pytest
from flask_smorest import Blueprint
from sqlalchemy import MetaData

import services.common.ratelimit
from services.common.auth import current_principal
from services.common.calendar_sync import calendar_state_table
from services.common.citizen import citizen_rate_limited
from services.common.errors import NotFound
from services.common.http import create_flask_app, public_rate_limited
from services.common.outbox import plumbing_tables
from services.common.ratelimit import RateLimiter, WorkerMemoryStorage
from services.common.settings import SettingsError

T0 = 1_700_000_000.25

metadata = MetaData()
plumbing_tables(metadata)
calendar_state_table(metadata)

blp = Blueprint("limited", __name__, url_prefix="/api/v1/limited")


@blp.route("/a")
@public_rate_limited
def endpoint_a():
    return {"endpoint": "a"}


@blp.route("/b/<int:n>")
@public_rate_limited
def endpoint_b(n):
    if n == 0:
        raise NotFound("Data tidak ditemukan.")
    return {"endpoint": "b"}


@blp.route("/citizen")
@citizen_rate_limited
def citizen_endpoint():
    principal = current_principal()
    return {"sub": principal.sub if principal else None}


class Clock:
    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The wall clock of the limiter and of its memory store, moved by the test."""
    fake = Clock(T0)
    monkeypatch.setattr(services.common.ratelimit, "time", fake)
    return fake


class FlakyStorage(WorkerMemoryStorage):
    """A memory store that can be switched off, as a redis:// store whose server is down."""

    STORAGE_SCHEME = ["simpul-test-flaky"]
    down = False

    @property
    def base_exceptions(self):
        return ConnectionError

    def incr(self, key, expiry, amount=1):
        if FlakyStorage.down:
            raise ConnectionError("connection refused")
        return super().incr(key, expiry, amount)


@pytest.fixture
def flaky():
    FlakyStorage.down = True
    yield FlakyStorage
    FlakyStorage.down = False


@pytest.fixture
def make_app(sqlite_url, make_chassis_runtime):
    def make(**env):
        rt = make_chassis_runtime(metadata, sqlite_url, **{"PUBLIC_RATE_LIMIT": "3/minute", **env})
        return create_flask_app(rt, title="Test", description="test", blueprints=[blp])

    return make


def limit_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith(("X-RateLimit", "Retry-After"))}


def test_every_response_carries_the_limit_and_a_refusal_says_when_to_retry(make_app, clock):
    client = make_app().test_client()
    reset = str(int(T0 + 60) + 1)  # Flask-Limiter's X-RateLimit-Reset: an epoch second
    seen = [limit_headers(client.get("/api/v1/limited/a")) for _ in range(3)]
    assert seen == [
        {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": str(left), "X-RateLimit-Reset": reset}
        for left in (2, 1, 0)
    ]
    refused = client.get("/api/v1/limited/a")
    assert refused.status_code == 429
    assert refused.get_json() == {
        "code": 429,
        "status": "Too Many Requests",
        "message": "Terlalu banyak permintaan. Silakan coba lagi beberapa saat lagi.",
    }
    assert limit_headers(refused) == {
        "X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset, "Retry-After": "60",
    }
    clock.now += 45.5
    assert client.get("/api/v1/limited/a").headers["Retry-After"] == "15"  # 14.5 s, rounded up


def test_the_window_resets(make_app, clock):
    client = make_app().test_client()
    assert [client.get("/api/v1/limited/a").status_code for _ in range(4)] == [200, 200, 200, 429]
    clock.now = T0 + 59.9
    assert client.get("/api/v1/limited/a").status_code == 429
    clock.now = T0 + 60
    fresh = client.get("/api/v1/limited/a")
    assert fresh.status_code == 200
    assert fresh.headers["X-RateLimit-Remaining"] == "2"
    assert fresh.headers["X-RateLimit-Reset"] == str(int(T0 + 120) + 1)


def test_endpoints_and_clients_are_counted_apart(make_app, clock):
    client = make_app().test_client()
    first = {"REMOTE_ADDR": "10.0.0.1"}
    assert [client.get("/api/v1/limited/a", environ_base=first).status_code for _ in range(4)] == [200, 200, 200, 429]
    other_endpoint = client.get("/api/v1/limited/b/1", environ_base=first)
    assert other_endpoint.status_code == 200 and other_endpoint.headers["X-RateLimit-Remaining"] == "2"
    other_client = client.get("/api/v1/limited/a", environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other_client.status_code == 200 and other_client.headers["X-RateLimit-Remaining"] == "2"


def test_errors_the_view_raises_carry_the_headers_too(make_app, clock):
    response = make_app().test_client().get("/api/v1/limited/b/0")
    assert response.status_code == 404
    assert response.headers["X-RateLimit-Remaining"] == "2"
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("limit", ["twenty/minute", "20 a minute", "-1/minute", "20/fortnight"])
def test_an_invalid_limit_stops_app_creation_naming_the_setting(make_app, limit):
    with pytest.raises(SettingsError, match="PUBLIC_RATE_LIMIT"):
        make_app(PUBLIC_RATE_LIMIT=limit)


def test_an_unusable_store_stops_app_creation_without_quoting_its_password(make_app):
    with pytest.raises(SettingsError, match="RATE_LIMIT_STORAGE_URI") as failure:
        make_app(RATE_LIMIT_STORAGE_URI="nosuch://user:s3cret@store:1234")
    assert "s3cret" not in str(failure.value)


def test_a_store_that_is_down_lets_requests_through(make_app, flaky, clock):
    client = make_app(RATE_LIMIT_STORAGE_URI="simpul-test-flaky://").test_client()
    responses = [client.get("/api/v1/limited/a") for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert all(not limit_headers(r) for r in responses)
    flaky.down = False
    clock.now += services.common.ratelimit.RETRY_STORE_SECONDS
    assert client.get("/api/v1/limited/a").headers["X-RateLimit-Remaining"] == "2"


def test_a_store_outage_is_logged_once_and_its_end_too(flaky, caplog, clock):
    limiter = RateLimiter("3/minute", "simpul-test-flaky://")
    with caplog.at_level(logging.INFO, logger="simpul.ratelimit"):
        assert [limiter.hit("ep", "10.0.0.1") for _ in range(3)] == [None] * 3
        flaky.down = False
        clock.now += services.common.ratelimit.RETRY_STORE_SECONDS
        assert limiter.hit("ep", "10.0.0.1").allowed
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "simpul.ratelimit"] == [
        ("WARNING", "rate-limit store unreachable; public endpoints are not limited"),
        ("INFO", "rate-limit store reachable again; public endpoints are limited"),
    ]


def test_several_limits_are_tried_shortest_window_first(clock):
    limiter = RateLimiter("3/minute;2/second", "memory://")
    assert [limiter.hit("ep", "c").allowed for _ in range(3)] == [True, True, False]
    clock.now += 1
    allowed = limiter.hit("ep", "c")
    # The refusal of the second's window did not count against the minute's.
    assert allowed.allowed and allowed.headers["X-RateLimit-Limit"] == "2"
    refused = limiter.hit("ep", "c")
    assert not refused.allowed
    assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.retry_after == math.ceil(T0 + 60 - clock.now)


def test_the_memory_store_starts_no_thread_per_request(make_app, monkeypatch):
    client = make_app(PUBLIC_RATE_LIMIT="1000/minute").test_client()
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda t: (started.append(t), real_start(t)))
    for _ in range(5):
        # Spaced as a busy worker's requests are: past the 10 ms after which limits' own
        # memory store starts a new expiry thread.
        time.sleep(0.015)
        assert client.get("/api/v1/limited/a").status_code == 200
    assert started == []


def test_the_memory_store_drops_counters_of_ended_windows(clock):
    store = WorkerMemoryStorage()
    for client in range(100):
        store.incr(f"endpoint/{client}", expiry=60)
    assert store.get("endpoint/7") == 1
    clock.now += WorkerMemoryStorage.SWEEP_SECONDS + 1
    store.incr("endpoint/new", expiry=60)  # the first count after the sweep time sweeps
    assert store.get("endpoint/7") == 0 and store.get_expiry("endpoint/7") == clock.now
    assert len(store._counters) == 1


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(make_app, clock):
    client = make_app(PUBLIC_RATE_LIMIT="2/minute", TRUSTED_PROXIES="1").test_client()

    def from_(address):
        # The proxy (the connection's peer) appends the address it saw.
        return client.get("/api/v1/limited/a", headers={"X-Forwarded-For": address}).status_code

    assert [from_("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert from_("203.0.113.8") == 200
    # A client sending its own header does not escape: only the proxy's entry is believed.
    assert from_("198.51.100.1, 203.0.113.7") == 429


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(make_app, clock):
    client = make_app(PUBLIC_RATE_LIMIT="2/minute").test_client()
    codes = [
        client.get("/api/v1/limited/a", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


def test_trusted_proxies_must_be_a_small_count(make_app):
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES="-1")


# -- the citizen limit decides on authentication's own result -------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "\xa0",  # one non-breaking space: authentication strips it to nothing
        "\t ",
        "Bearer\xa0",
    ],
    ids=["nbsp", "blank", "bearer-nbsp"],
)
def test_a_header_that_authenticates_no_one_is_counted_like_a_citizen(make_app, clock, authorization):
    client = make_app(PUBLIC_RATE_LIMIT="40/minute").test_client()
    codes = [client.get("/api/v1/limited/citizen", headers={"Authorization": authorization}).status_code
             for _ in range(60)]
    assert codes.count(429) == 20
    assert set(codes[:40]) <= {200, 401} and set(codes[40:]) == {429}


def test_forged_or_unknown_opd_tokens_are_throttled_and_valid_staff_are_not(make_app, clock, auth_header):
    client = make_app(PUBLIC_RATE_LIMIT="3/minute").test_client()
    staff = auth_header("ppid_utama")
    assert [client.get("/api/v1/limited/citizen", headers=staff).status_code for _ in range(6)] == [200] * 6
    forged = {"Authorization": "Bearer not.a.token"}
    assert [client.get("/api/v1/limited/citizen", headers=forged).status_code for _ in range(5)] == [401] * 3 + [429] * 2
    client = make_app(PUBLIC_RATE_LIMIT="3/minute").test_client()
    stranger = auth_header("ppid_pelaksana", opd="nosuchopd")
    assert [client.get("/api/v1/limited/citizen", headers=stranger).status_code for _ in range(5)] == [403] * 3 + [429] * 2


# -- one count for every process: the shared Redis store ------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_namespace():
    """A key prefix of this test's own on the shared Redis, removed afterwards."""
    import redis

    namespace = f"test-{uuid.uuid4().hex}"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"LIMITS/{namespace}/*"))
    if keys:
        client.delete(*keys)


def test_two_processes_share_one_count_in_redis(redis_namespace):
    # Two limiters with their own connections, as two gunicorn workers or containers have.
    first = RateLimiter("5/minute", REDIS_URL, namespace=redis_namespace)
    second = RateLimiter("5/minute", REDIS_URL, namespace=redis_namespace)
    verdicts = [limiter.hit("requests.Requests", "203.0.113.7")
                for limiter in (first, second, first, second, first, second, first)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 2
    assert verdicts[4].headers["X-RateLimit-Remaining"] == "0"
    # Another service's endpoint of the same name counts apart.
    other = RateLimiter("5/minute", REDIS_URL, namespace=f"{redis_namespace}-other")
    assert other.hit("requests.Requests", "203.0.113.7").allowed


def test_web_processes_of_one_service_share_the_limit(make_app, redis_namespace):
    import services.common.http as http

    made = [make_app(PUBLIC_RATE_LIMIT="4/minute", RATE_LIMIT_STORAGE_URI=REDIS_URL) for _ in range(2)]
    for app in made:  # this test's own keys, as if the service had its own name
        app.extensions["simpul_limiter"] = http.RateLimiter("4/minute", REDIS_URL, namespace=redis_namespace)
    clients = [app.test_client() for app in made]
    codes = [clients[n % 2].get("/api/v1/limited/a").status_code for n in range(6)]
    assert codes == [200] * 4 + [429] * 2


def test_an_unreachable_redis_lets_requests_through_at_once(caplog):
    limiter = RateLimiter("1/minute", "redis://127.0.0.1:1/0", namespace="unreachable")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="simpul.ratelimit"):
        assert [limiter.hit("ep", "10.0.0.1") for _ in range(50)] == [None] * 50
    # One attempt, then the store is left alone until RETRY_STORE_SECONDS have passed.
    assert time.monotonic() - started < 1.0
    assert len([r for r in caplog.records if r.name == "simpul.ratelimit"]) == 1


def test_the_memory_stores_one_increment_answers_as_the_librarys_strategy_would(clock):
    # The in-memory counting reads its counter once; `limits`' strategy reads it three times.
    # Both must give every client the same verdicts and headers.
    class CountedByTheStrategy(WorkerMemoryStorage):
        pass

    fast = RateLimiter("3/minute;2/second", "memory://")
    assert type(fast.storage) is WorkerMemoryStorage
    slow = RateLimiter("3/minute;2/second", "memory://")
    slow.storage = CountedByTheStrategy()
    slow._strategy = type(slow._strategy)(slow.storage)
    for step in range(8):
        assert fast.hit("ep", "c") == slow.hit("ep", "c"), step
        clock.now += 0.4
