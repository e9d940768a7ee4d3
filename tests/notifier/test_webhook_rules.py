"""Pure webhook rules: topic patterns, OPD scoping, the retry schedule, signing, the SSRF guard."""

from __future__ import annotations

import base64
import ipaddress
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.common.settings import SettingsError, _RecordingEnv
from services.notifier import (
    signing,
    ssrf,
    webhook_routing,
    webhook_schedule,
    webhook_sender,
    webhook_settings,
)
from services.notifier.ssrf import EgressPolicy, UnsafeUrl

# --- topic patterns ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("#", "lapor.report.dispatched.dinkes", True),
        ("#.dinkes", "lapor.report.dispatched.dinkes", True),
        ("#.dinkes", "lapor.report.dispatched.disdik", False),
        ("lapor.#.dinkes", "lapor.report.dispatched.dinkes", True),
        ("lapor.#.dinkes", "lapor.dinkes", True),  # '#' may match no word at all
        ("lapor.#.dinkes", "ppid.report.dispatched.dinkes", False),
        ("ppid.request.*.dinkes", "ppid.request.submitted.dinkes", True),
        ("ppid.request.*.dinkes", "ppid.request.submitted.v2.dinkes", False),
        ("ppid.request.#.dinkes", "ppid.request.submitted.v2.dinkes", True),
        ("*.dinkes", "lapor.report.dispatched.dinkes", False),  # '*' is exactly one word
        ("*.*.*.*", "lapor.report.dispatched.dinkes", True),
        ("*.*.*", "lapor.report.dispatched.dinkes", False),
        ("lapor.report.dispatched.dinkes", "lapor.report.dispatched.dinkes", True),
        ("lapor.report.dispatched", "lapor.report.dispatched.dinkes", False),
        ("#.#", "a", True),
        ("#.*.#", "a.b.c", True),
        ("a.#.b.#.c", "a.x.b.y.z.c", True),
        ("a.#.b.#.c", "a.x.c.y.b", False),
        ("#.dinkes.#", "lapor.dinkes.x.y", True),
    ],
)
def test_topic_matching_follows_amqp(pattern, key, matches):
    assert webhook_routing.topic_matches(pattern, key) is matches


def test_many_hashes_do_not_blow_up():
    started = time.perf_counter()
    assert not webhook_routing.topic_matches(".".join(["#"] * 40 + ["z"]), ".".join(["a"] * 60))
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("patterns", "owner", "error_at"),
    [
        (["#.dinkes", "lapor.#.dinkes", "ppid.request.*.dinkes"], "dinkes", None),
        (["#"], None, None),
        (["lapor.#"], None, None),
        (["#"], "dinkes", "0"),
        (["lapor.#"], "dinkes", "0"),
        (["#.dinkes", "#.disdik"], "dinkes", "1"),
        (["dinkes.*"], "dinkes", "0"),
        (["Lapor.#.dinkes"], "dinkes", "0"),
        (["lapor..dinkes"], "dinkes", "0"),
        (["lapor.re*.dinkes"], "dinkes", "0"),
        ([""], None, "0"),
    ],
)
def test_opd_patterns_must_end_with_the_opd(patterns, owner, error_at):
    errors = webhook_routing.patterns_problems(patterns, owner)
    if error_at is None:
        assert errors == {}
    else:
        assert error_at in errors["patterns"]


def test_pattern_lists_are_bounded_and_unique():
    assert webhook_routing.patterns_problems([], None) == {
        "patterns": ["Sertakan paling sedikit satu pola."]
    }
    assert "patterns" in webhook_routing.patterns_problems(["#"] * 2, None)
    many = [f"lapor.x{i}.#" for i in range(webhook_routing.MAX_PATTERNS + 1)]
    assert "patterns" in webhook_routing.patterns_problems(many, None)


# --- retry schedule ------------------------------------------------------------------------


def test_retry_schedule_is_the_standard_webhooks_one():
    delays = [webhook_schedule.next_delay(n) for n in range(11)]
    assert delays == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=14),
        timedelta(hours=20),
        timedelta(hours=24),
        None,
    ]
    # The first attempt is immediate, so the nine retries follow at these delays.
    total = sum((d for d in delays[1:] if d is not None), timedelta())
    assert total == timedelta(hours=75, minutes=35, seconds=5)


# --- signing -------------------------------------------------------------------------------


def test_secrets_are_whsec_with_32_random_bytes():
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two
    assert one.startswith("whsec_") and signing.is_secret(one)
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32


def test_signature_verifies_with_the_reference_library():
    secret = signing.new_secret()
    body = '{"specversion":"1.0","id":"e1","data":{"n":"é"}}'
    now = int(time.time())
    headers = signing.headers([secret], "0b8e7c1e-1a2b-4c3d-9e8f-123456789abc", now, body)
    assert headers["webhook-timestamp"] == str(now)
    assert Webhook(secret).verify(body, headers) == {
        "specversion": "1.0",
        "id": "e1",
        "data": {"n": "é"},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("e1", "e2"), headers)


def test_signature_matches_the_spec_formula():
    # HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the decoded secret, base64, "v1,".
    import hashlib
    import hmac

    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    expected = base64.b64encode(
        hmac.new(key, b"msg_1.1700000000.{}", hashlib.sha256).digest()
    ).decode()
    assert signing.signature([secret], "msg_1", 1700000000, "{}") == f"v1,{expected}"


def test_rotation_signs_with_every_secret():
    new, old = signing.new_secret(), signing.new_secret()
    body = "{}"
    headers = signing.headers([new, old], "evt-1", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)


def test_message_ids_with_dots_are_refused():
    with pytest.raises(ValueError):
        signing.signature([signing.new_secret()], "a.b", 1, "{}")


# --- SSRF guard ----------------------------------------------------------------------------

STRICT = EgressPolicy(allow_http=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[fd12:3456::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://localhost/hook",
        "http://localhost./hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
        "http://0x7f000001/hook",
    ],
)
def test_internal_targets_are_refused(url):
    with pytest.raises(UnsafeUrl):
        ssrf.resolve(url, STRICT)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/x",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "https://user:pw@93.184.216.34/x",
        "https://93.184.216.34/x#frag",
        "https:///nohost",
        "https://93.184.216.34:0/x",
        "https://93.184.216.34/a b",
        "",
        "https://" + "a" * 2100 + ".example/",
    ],
)
def test_malformed_or_odd_urls_are_refused(url):
    with pytest.raises(UnsafeUrl):
        ssrf.resolve(url, STRICT)


def test_https_is_required_unless_allowed():
    with pytest.raises(UnsafeUrl, match="https"):
        ssrf.resolve("http://93.184.216.34/x", EgressPolicy())
    target = ssrf.resolve("https://93.184.216.34:8443/x", EgressPolicy())
    assert target.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert (target.scheme, target.port, target.host_header) == ("https", 8443, "93.184.216.34:8443")


@pytest.fixture
def fake_dns(monkeypatch):
    """Host names resolved from a table; anything else does not exist."""
    table: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(ssrf, "_getaddrinfo", getaddrinfo)
    return table


def test_every_resolved_address_must_be_public(fake_dns):
    fake_dns["public.example"] = ["93.184.216.34"]
    fake_dns["mixed.example"] = ["93.184.216.34", "10.1.2.3"]
    fake_dns["inside.example"] = ["10.1.2.3"]
    assert ssrf.resolve("https://public.example/x", EgressPolicy()).host == "public.example"
    with pytest.raises(UnsafeUrl, match="10.1.2.3"):
        ssrf.resolve("https://mixed.example/x", EgressPolicy())
    with pytest.raises(UnsafeUrl, match="tidak dapat ditemukan"):
        ssrf.resolve("https://missing.example/x", EgressPolicy())


def test_configuration_can_allow_private_targets(fake_dns):
    fake_dns["inside.example"] = ["10.1.2.3"]
    fake_dns["other.example"] = ["10.9.9.9"]
    ssrf.resolve("http://127.0.0.1:8080/x", EgressPolicy(allow_private=True, allow_http=True))
    by_name = EgressPolicy(allowed_hosts=("Inside.Example",))
    ssrf.resolve("https://inside.example/x", by_name)
    with pytest.raises(UnsafeUrl):
        ssrf.resolve("https://other.example/x", by_name)
    by_network = EgressPolicy(allowed_hosts=("10.1.0.0/16", "127.0.0.1"))
    ssrf.resolve("https://inside.example/x", by_network)
    ssrf.resolve("https://127.0.0.1/x", by_network)
    with pytest.raises(UnsafeUrl):
        ssrf.resolve("https://other.example/x", by_network)


def test_the_delivery_connects_to_the_checked_address_and_keeps_the_host_name():
    adapter = webhook_sender.PinnedAddressAdapter("93.184.216.34", "hooks.dinkes.example")
    prepared = requests.Request("POST", "https://hooks.dinkes.example/in").prepare()
    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(prepared, True)
    assert host_params["host"] == "93.184.216.34"
    assert pool_kwargs["server_hostname"] == "hooks.dinkes.example"
    assert pool_kwargs["assert_hostname"] == "hooks.dinkes.example"


# --- settings ------------------------------------------------------------------------------


def test_webhook_settings_from_the_environment():
    values = webhook_settings.read_webhook_env(
        _RecordingEnv(
            {
                "NOTIFIER_WEBHOOK_ALLOW_PRIVATE": "0",
                "NOTIFIER_WEBHOOK_ALLOWED_HOSTS": "opd.kapuas.go.id, 10.20.0.0/16",
                "NOTIFIER_WEBHOOK_TIMEOUT_SECONDS": "7",
            }
        ),
        dev_mode=False,
    )
    assert values == {
        "webhook_allow_private": False,
        "webhook_allowed_hosts": ("opd.kapuas.go.id", "10.20.0.0/16"),
        "webhook_allow_http": False,
        "webhook_timeout_seconds": 7,
        "webhook_secret_grace_hours": 24,
        "webhook_disable_after_days": 5,
    }
    assert (
        webhook_settings.read_webhook_env(_RecordingEnv({}), dev_mode=True)["webhook_allow_http"]
        is True
    )
    for bad in (
        {"NOTIFIER_WEBHOOK_ALLOW_PRIVATE": "maybe"},
        {"NOTIFIER_WEBHOOK_ALLOWED_HOSTS": "bad host!"},
        {"NOTIFIER_WEBHOOK_TIMEOUT_SECONDS": "0"},
    ):
        with pytest.raises(SettingsError):
            webhook_settings.read_webhook_env(_RecordingEnv(bad), dev_mode=False)


def _response(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_a_retry_after_date_counts_from_the_receivers_own_date():
    # Both dates come from the receiver's clock, however far it is from ours.
    answered = _response(
        503,
        {"Date": "Mon, 02 Mar 2026 09:00:00 GMT", "Retry-After": "Mon, 02 Mar 2026 09:10:00 GMT"},
    )
    assert webhook_sender.retry_after(answered, sent_at=0) == timedelta(minutes=10)
    undated = _response(429, {"Retry-After": "Mon, 02 Mar 2026 09:02:00 GMT"})
    sent_at = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp())
    assert webhook_sender.retry_after(undated, sent_at=sent_at) == timedelta(minutes=2)
    far = _response(429, {"Retry-After": "999999"})
    assert webhook_sender.retry_after(far, sent_at=0) == webhook_schedule.MAX_RETRY_AFTER


def test_what_follows_a_failed_attempt():
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    after = webhook_schedule.next_attempt_after_failure
    assert after(1, now, gone=False, retry_after=None) == now + timedelta(seconds=5)
    assert after(1, now, gone=False, retry_after=timedelta(hours=1)) == now + timedelta(hours=1)
    assert after(3, now, gone=False, retry_after=timedelta(seconds=1)) == now + timedelta(
        minutes=30
    )
    assert after(10, now, gone=False, retry_after=None) is None  # the schedule is spent
    assert after(1, now, gone=True, retry_after=None) is None

    reason = webhook_schedule.disabling_reason
    five_days = timedelta(days=5)
    assert reason(gone=True, failing_since=now, now=now, disable_after=five_days) == (
        "Penerima menjawab 410 Gone."
    )
    assert (
        reason(gone=False, failing_since=now, now=now + timedelta(days=4), disable_after=five_days)
        is None
    )
    assert reason(gone=False, failing_since=now, now=now + five_days, disable_after=five_days) == (
        "Semua pengiriman gagal selama 5 hari."
    )


def test_webhook_modules_take_time_from_the_runtime_or_the_tick():
    """Domain time comes from `rt.clock()` or the tick's `now`, never from the wall clock."""
    import ast
    import inspect

    from services.notifier import webhook_delivery, webhook_subscriptions

    modules = (
        webhook_routing,
        webhook_schedule,
        webhook_sender,
        webhook_delivery,
        webhook_subscriptions,
        webhook_settings,
    )
    calls = [
        f"{module.__name__}:{node.lineno}"
        for module in modules
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"now", "utcnow", "today"}
    ]
    assert calls == []
