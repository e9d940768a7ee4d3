"""The public endpoints' rate limit (PUBLIC_RATE_LIMIT per endpoint and client address).

Flask-Limiter, which this replaces, rebuilt its limit objects and request filters on every
check and spent far more CPU on that than on counting; the submission endpoint is the
service's hot path. Here the limit is parsed once, and a check is the counter increments of
the `limits` library plus one read of the window for the headers. Flask-Limiter's behaviour
is kept: fixed windows, limits tried shortest window first and stopping at the first one
refused, and the same X-RateLimit-* header values.

The count is only the documented limit when every process of a service counts in one
place: gunicorn runs several workers, and a deployment several web containers, so `make run`
and compose give every process one Redis (`RATE_LIMIT_STORAGE_URI=redis://…`). Each service
counts under its own key prefix there, so two services' endpoints of the same name stay
apart. A store that cannot be reached lets requests through (the limit is a flood guard, not
a gate a citizen's form may depend on) and is tried again a few seconds later, so an outage
costs each request nothing rather than a connection attempt.

For memory:// the `limits` library's own memory store is not used: it starts a timer thread
whenever its previous one has ended, which a web worker under load hits on nearly every
request, and each start cost more CPU than the rest of the request's limiting. The store
below counts the same fixed windows in the worker and drops stale counters inline instead.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import NamedTuple
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from services.common.settings import SettingsError

log = logging.getLogger("simpul.ratelimit")


class Verdict(NamedTuple):
    allowed: bool
    headers: dict[str, str]
    # Seconds until the refusing window is over; 0 when the request is allowed.
    retry_after: int


class WorkerMemoryStorage(Storage):
    """Fixed-window counters in this process's memory (memory://), without a timer thread.

    Counts per process: with several web workers a client gets the limit from each.
    """

    STORAGE_SCHEME = None  # used for memory:// by RateLimiter; not registered globally
    # Stale counters are dropped at most this often, in one pass under the lock.
    SWEEP_SECONDS = 60.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._counters: dict[str, list[float]] = {}  # key -> [count, expiry]
        self._lock = threading.Lock()
        self._next_sweep = time.time() + self.SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return self.count(key, expiry, amount)[0]

    def count(self, key: str, expiry: float, amount: int = 1) -> tuple[int, float]:
        """`incr`, also answering when the window ends: what `get` and `get_expiry` would
        say right after it, without looking the counter up twice more."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            counter = self._counters.get(key)
            if counter is None or counter[1] <= now:
                counter = self._counters[key] = [0, now + expiry]
            counter[0] += amount
            return int(counter[0]), counter[1]

    def get(self, key: str) -> int:
        counter = self._counters.get(key)
        if counter is None or counter[1] <= time.time():
            return 0
        return int(counter[0])

    def get_expiry(self, key: str) -> float:
        counter = self._counters.get(key)
        now = time.time()
        return counter[1] if counter is not None and counter[1] > now else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._counters)
            self._counters.clear()
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._counters.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._counters = {k: c for k, c in self._counters.items() if c[1] > now}
        self._next_sweep = now + self.SWEEP_SECONDS


# Redis answers a counter increment in well under a millisecond; a store that takes longer
# than this is treated as down rather than holding a web worker.
STORE_TIMEOUT_SECONDS = 0.25
# After a failure the store is left alone this long: requests pass unlimited meanwhile.
RETRY_STORE_SECONDS = 5.0
_REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix"})


class RateLimiter:
    def __init__(self, limit: str, storage_uri: str, *, namespace: str = "simpul") -> None:
        try:
            # A day's window must not be used up before the minute's says no, so the
            # shortest window is tried first (as Flask-Limiter did).
            self.limits: list[RateLimitItem] = sorted(parse_many(limit))
        except ValueError:
            raise SettingsError(
                f"PUBLIC_RATE_LIMIT must look like 20/minute or 60/minute;500/day, got {limit!r}"
            ) from None
        scheme = urlsplit(storage_uri).scheme
        options: dict[str, object] = {}
        if scheme in _REDIS_SCHEMES:
            options = {
                "key_prefix": f"LIMITS/{namespace}",
                "socket_connect_timeout": STORE_TIMEOUT_SECONDS,
                "socket_timeout": STORE_TIMEOUT_SECONDS,
            }
        try:
            # Wrapped, a store's own connection errors all arrive as StorageError.
            storage = (
                WorkerMemoryStorage()
                if scheme == "memory"
                else storage_from_string(storage_uri, wrap_exceptions=True, **options)
            )
        except ConfigurationError as exc:
            # The URI may carry a password, so only its scheme is repeated.
            reason = str(exc).replace(storage_uri, "…")
            raise SettingsError(
                f"RATE_LIMIT_STORAGE_URI ({urlsplit(storage_uri).scheme}://…) cannot be used: {reason}"
            ) from None
        self.storage = storage
        self._strategy = FixedWindowRateLimiter(storage)
        self._store_down = False
        self._retry_at = 0.0

    def hit(self, *identifiers: str) -> Verdict | None:
        """Counts one request of `identifiers`; None when the store cannot be reached.

        A store that is down lets every request through rather than refusing them all:
        citizens' forms stay open, and the flood protection is lost only for the outage.
        """
        if self._store_down and time.time() < self._retry_at:
            return None
        try:
            verdict = self._count(identifiers)
        except StorageError:
            self._retry_at = time.time() + RETRY_STORE_SECONDS
            if not self._store_down:
                # Once per outage: every request of it would otherwise log the same line.
                log.warning("rate-limit store unreachable; public endpoints are not limited",
                            exc_info=True)
                self._store_down = True
            return None
        if self._store_down:
            log.info("rate-limit store reachable again; public endpoints are limited")
            self._store_down = False
        return verdict

    def _count(self, identifiers: tuple[str, ...]) -> Verdict:
        # Exactly this store: a subclass may count otherwise (its own `incr`).
        if type(self.storage) is WorkerMemoryStorage:
            return self._count_in_memory(self.storage, identifiers)
        for item in self.limits:
            if not self._strategy.hit(item, *identifiers):
                return self._verdict(item, identifiers, allowed=False)
        return self._verdict(self.limits[0], identifiers, allowed=True)

    def _count_in_memory(self, storage: WorkerMemoryStorage, identifiers: tuple[str, ...]) -> Verdict:
        # The strategy's hit, then its window statistics, read the counter three times
        # under keys built twice; in this process's memory one increment answers all.
        first = None
        for item in self.limits:
            count, reset = storage.count(item.key_for(*identifiers), item.get_expiry())
            stats = (reset, max(0, item.amount - count))
            if count > item.amount:
                return self._verdict(item, identifiers, allowed=False, stats=stats)
            first = first or (item, stats)
        item, stats = first
        return self._verdict(item, identifiers, allowed=True, stats=stats)

    def _verdict(
        self,
        item: RateLimitItem,
        identifiers: tuple[str, ...],
        *,
        allowed: bool,
        stats: tuple[float, int] | None = None,
    ) -> Verdict:
        reset, remaining = stats or self._strategy.get_window_stats(item, *identifiers)
        headers = {
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": str(remaining),
            # Flask-Limiter's value, kept for clients that read it: the epoch second after
            # the one in which the window ends.
            "X-RateLimit-Reset": str(int(reset) + 1),
        }
        retry_after = 0 if allowed else max(1, math.ceil(reset - time.time()))
        return Verdict(allowed, headers, retry_after)
