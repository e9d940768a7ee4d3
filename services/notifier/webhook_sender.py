"""One signed webhook POST, to an address the SSRF guard checked; never raises.

The body is the CloudEvents envelope in structured mode, `application/cloudevents+json` (the
same bytes an AMQP consumer would receive), signed per `signing`. 2xx is success; anything
else, a timeout, a refused connection, a redirect (never followed) or a target the guard
refuses is a failure for the retry schedule to handle.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter

from services.common.events import CONTENT_TYPE
from services.notifier import signing, ssrf
from services.notifier.webhook_schedule import MAX_RETRY_AFTER

EXCERPT_BYTES = 500
USER_AGENT = "Simpul-Notifier-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    retry_after: timedelta | None = None

    @property
    def gone(self) -> bool:
        return self.status_code == 410


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to an address the SSRF guard checked, while keeping the URL's host name for
    the Host header, TLS SNI and certificate verification (no second DNS lookup)."""

    def __init__(self, address: str, hostname: str):
        self._address = address
        self._hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self._address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return host_params, pool_kwargs


def send(
    url: str,
    secrets_: Sequence[str],
    event_id: str,
    body: str,
    *,
    egress: ssrf.EgressPolicy,
    timeout_seconds: float,
) -> Outcome:
    """One signed POST; never raises for a network or receiver failure."""
    started = time.perf_counter()
    # The signature's timestamp is the real instant of sending, whatever instant drives the
    # schedule: the receiver checks it against its own clock.
    sent_at = int(time.time())

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = ssrf.resolve(url, egress)
    except ssrf.UnsafeUrl as exc:
        return Outcome(False, elapsed(), error=_clip(f"Tujuan ditolak: {exc}"))
    headers = signing.headers(secrets_, event_id, sent_at, body)
    headers.update(
        {
            "Content-Type": f"{CONTENT_TYPE}; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Host": target.host_header,
        }
    )
    http = requests.Session()
    # No proxies from the environment: a proxy would reach the target on our behalf and
    # the address check above would guard nothing.
    http.trust_env = False
    http.mount(f"{target.scheme}://", PinnedAddressAdapter(str(target.addresses[0]), target.host))
    try:
        with http.post(
            url,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=timeout_seconds,
            allow_redirects=False,
            stream=True,
        ) as response:
            excerpt = _excerpt(response)
            code = response.status_code
            ok = 200 <= code < 300
            return Outcome(
                ok,
                elapsed(),
                status_code=code,
                error=None if ok else f"HTTP {code}",
                excerpt=excerpt,
                retry_after=retry_after(response, sent_at) if code in (429, 503) else None,
            )
    except requests.Timeout:
        return Outcome(
            False, elapsed(), error=f"Tidak ada jawaban dalam {timeout_seconds:g} detik."
        )
    except requests.RequestException as exc:
        return Outcome(
            False, elapsed(), error=_clip(f"Gagal terhubung: {type(exc).__name__}: {exc}")
        )
    finally:
        http.close()


def retry_after(response: requests.Response, sent_at: int) -> timedelta | None:
    """The pause a 429/503 asks for: seconds, or an HTTP date.

    A date is counted from the response's own `Date` (both come from the receiver's clock),
    or from the instant of sending when it has none.
    """
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return min(timedelta(seconds=int(raw)), MAX_RETRY_AFTER)
    when = _http_date(raw)
    if when is None:
        return None
    answered = _http_date(response.headers.get("Date") or "")
    pause = (
        when - answered if answered is not None else timedelta(seconds=when.timestamp() - sent_at)
    )
    return min(max(pause, timedelta(0)), MAX_RETRY_AFTER)


def _http_date(raw: str):
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def _excerpt(response: requests.Response) -> str | None:
    try:
        raw = response.raw.read(EXCERPT_BYTES, decode_content=True)
    except Exception:  # noqa: BLE001 - the excerpt is a debugging aid, never a failure
        return None
    return raw.decode("utf-8", errors="replace")[:EXCERPT_BYTES] if raw else None


def _clip(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
