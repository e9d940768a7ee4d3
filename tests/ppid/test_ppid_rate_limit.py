"""The public endpoints refuse a flood from one client with 429; staff are not throttled."""

from __future__ import annotations

from services.ppid.config import PpidSettings
from tests.ppid.support import AMQP_URL, REQUEST_BODY, T0, build_env, staff_headers


def test_default_public_limit_refuses_a_flood(tmp_path):
    environ = {"SIMPUL_ENV": "development", "PPID_DATABASE_URL": "sqlite://", "AMQP_URL": AMQP_URL}
    default = PpidSettings.from_env("ppid", environ).public_rate_limit
    env = build_env(f"sqlite:///{tmp_path / 'rl.db'}", "sqlite", PUBLIC_RATE_LIMIT=default)
    try:
        limit = int(default.split("/")[0])
        # Refused before the body is even read: an empty body costs the flood nothing.
        codes = [env.client.post("/api/v1/requests", json={}).status_code for _ in range(limit + 5)]
        assert codes[:limit] == [422] * limit
        assert set(codes[limit:]) == {429}
        refused = env.client.post("/api/v1/requests", json={})
        assert refused.get_json()["message"] == "Terlalu banyak permintaan. Silakan coba lagi beberapa saat lagi."
        assert "Retry-After" in refused.headers
    finally:
        env.rt.dispose()


def test_configured_limit_counts_submissions_and_spares_staff(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'rl5.db'}", "sqlite", PUBLIC_RATE_LIMIT="5/minute")
    env.clock.set(T0)
    try:
        codes = [env.client.post("/api/v1/requests", json=REQUEST_BODY).status_code for _ in range(7)]
        assert codes == [201] * 5 + [429] * 2
        number = "PPID-2026-000001"
        anonymous = [env.client.get(f"/api/v1/requests/{number}", headers={"X-Access-Token": "x"}).status_code for _ in range(7)]
        assert anonymous[:5] == [403] * 5 and anonymous[5:] == [429, 429]
        staff = [env.client.get(f"/api/v1/requests/{number}", headers=staff_headers("ppid_utama")).status_code for _ in range(10)]
        assert staff == [200] * 10
    finally:
        env.rt.dispose()


def test_asking_for_a_new_token_is_limited_like_any_public_form(tmp_path):
    """A flood of guesses (number, address) is refused with 429; every answer before it is
    the same 202."""
    env = build_env(f"sqlite:///{tmp_path / 'rl-token.db'}", "sqlite", PUBLIC_RATE_LIMIT="3/minute")
    env.clock.set(T0)
    try:
        body = {"email": REQUEST_BODY["email"]}
        answers = [env.client.post(f"/api/v1/requests/PPID-2026-{n:06d}/access-token", json=body)
                   for n in range(1, 6)]
        assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
        assert len({a.get_data() for a in answers[:3]}) == 1
    finally:
        env.rt.dispose()
