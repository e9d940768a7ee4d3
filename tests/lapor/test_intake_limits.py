"""What LAPOR! answers without a login is rate-limited per client: a flood of reports, of
token guesses and of reads with a wrong token is refused with 429; staff are not throttled;
and the search behind the admins' `q` is the index the migration built."""

from __future__ import annotations

import pytest

from services.common.migrations import upgrade
from services.lapor.models import REPORT_SEARCH, Report
from tests.conftest import create_pg_database, drop_pg_database, pg_url_for
from tests.lapor.support import REPORT_BODY, T0, build_env, lapor_staff
from tests.support import search_plan, unauthenticated_views


@pytest.fixture
def limited(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'limited.db'}", "sqlite", PUBLIC_RATE_LIMIT="3/minute")
    env.clock.set(T0)
    yield env
    env.rt.dispose()


def test_a_flood_of_reports_is_refused(limited):
    codes = [limited.client.post("/api/v1/reports", json=REPORT_BODY).status_code for _ in range(5)]
    assert codes == [201] * 3 + [429] * 2
    refused = limited.client.post("/api/v1/reports", json=REPORT_BODY)
    assert refused.get_json()["message"] == "Terlalu banyak permintaan. Silakan coba lagi beberapa saat lagi."
    assert "Retry-After" in refused.headers
    with limited.rt.uow() as uow:
        assert uow.session.query(Report).count() == 3


def test_token_guesses_and_reads_are_limited_and_staff_are_not(limited):
    guesses = [limited.client.post(f"/api/v1/reports/LPR-2026-{n:06d}/access-token",
                                   json={"email": REPORT_BODY["email"]}) for n in range(1, 6)]
    assert [g.status_code for g in guesses] == [202, 202, 202, 429, 429]
    assert len({g.get_data() for g in guesses[:3]}) == 1
    reads = [limited.client.get("/api/v1/reports/LPR-2026-000001", headers={"X-Access-Token": "x"}).status_code
             for _ in range(5)]
    assert reads[3:] == [429, 429]
    staff = [limited.client.get("/api/v1/admin/reports", headers=lapor_staff()).status_code for _ in range(5)]
    assert staff == [200] * 5


def test_every_endpoint_reached_without_a_login_is_rate_limited(limited):
    public = list(unauthenticated_views(limited.app))
    assert ("/api/v1/reports", "POST") in {(r, m) for r, m, _ in public}
    unlimited = [(r, m) for r, m, f in public if not getattr(f, "rate_limited", False)]
    assert unlimited == []


def test_postgresql_answers_q_from_the_index_the_migration_built():
    name = create_pg_database("simpul_lapor")
    url = pg_url_for(name)
    try:
        upgrade("lapor", url)
        plan = search_plan(url, REPORT_SEARCH, Report.id, "jalan")
    finally:
        drop_pg_database(name)
    assert "ix_reports_search" in plan, plan
