"""Who reaches what in the newsroom: humas act only on their own OPD's articles, editors
on all, heads of office and anonymous callers on none of the staff endpoints; the public
sees a photo only once its article is published, and never after it was taken down."""

from __future__ import annotations

import base64

import pytest

from tests.siber.support import ADMIN, API, EDITOR, HUMAS, OPD_HEAD, headers
from tests.siber.test_photos import png_bytes


@pytest.fixture
def article(siber):
    return siber.create("dinkes")


def staff_paths(article_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"{API}/articles"),
        ("GET", f"{API}/articles/{article_id}"),
        ("GET", f"{API}/articles/{article_id}/revisions"),
        ("GET", f"{API}/articles/{article_id}/revisions/1"),
        ("GET", f"{API}/articles/{article_id}/comments"),
        ("GET", f"{API}/articles/{article_id}/diff?base=1&to=1"),
        ("GET", f"{API}/assignments"),
        ("POST", f"{API}/articles/{article_id}/submit"),
        ("POST", f"{API}/articles/{article_id}/publish"),
        ("PATCH", f"{API}/articles/{article_id}"),
    ]


def test_anonymous_callers_reach_no_staff_endpoint(siber, article):
    for method, path in staff_paths(article["id"]):
        response = siber.http.open(path, method=method, json={})
        assert response.status_code == 401, (method, path)
        assert response.get_json()["message"]


def test_a_head_of_office_has_no_newsroom_role(siber, article):
    for method, path in staff_paths(article["id"]):
        response = siber.http.open(path, method=method, json={}, headers=headers(OPD_HEAD, "dinkes"))
        assert response.status_code == 403, (method, path)


def test_another_opds_humas_finds_nothing_of_this_one(siber, article):
    other = headers(HUMAS, "disdik")
    for method, path in staff_paths(article["id"])[1:6]:
        assert siber.http.open(path, method=method, headers=other).status_code == 404, path
    listed = siber.http.get(f"{API}/articles?page_size=100", headers=other).get_json()
    assert article["id"] not in [a["id"] for a in listed]
    etag = siber.etag(article["id"])
    for action in ("submit",):
        response = siber.http.post(f"{API}/articles/{article['id']}/{action}", headers={**other, "If-Match": etag})
        assert response.status_code == 404


def test_a_humas_without_an_opd_cannot_write(siber):
    response = siber.http.post(f"{API}/articles", json={"title": "Berita tanpa OPD sama sekali"},
                               headers=headers(HUMAS))
    assert response.status_code == 403


def test_editors_and_the_administrator_act_on_every_opd(siber, article):
    siber.submit(article["id"])
    assert siber.act(article["id"], "claim", role=ADMIN).status_code == 200
    assert siber.act(article["id"], "approve", role=EDITOR).status_code == 200
    assert siber.http.post(f"{API}/articles", json={"title": "Redaktur menulis sendiri"},
                           headers=headers(EDITOR)).status_code == 403  # editors edit, OPDs write


def test_the_public_sees_a_photo_only_while_its_article_is_published(siber, article):
    body = {"filename": "a.png", "content_base64": base64.b64encode(png_bytes()).decode(),
            "caption": "Kegiatan posyandu", "credit": "Humas Dinkes"}
    photo = siber.http.post(f"{API}/articles/{article['id']}/photos", json=body,
                            headers=headers(HUMAS, "dinkes")).get_json()
    assert siber.http.get(photo["url"]).status_code == 404
    assert siber.http.get(photo["url"], headers=headers(HUMAS, "disdik")).status_code == 404
    assert siber.http.get(photo["url"], headers=headers(HUMAS, "dinkes")).status_code == 200
    siber.submit(article["id"])
    siber.act(article["id"], "publish")
    assert siber.http.get(photo["url"]).status_code == 200
    siber.act(article["id"], "take-down", {"reason": "Foto memuat data pribadi warga."})
    assert siber.http.get(photo["url"]).status_code == 404
    assert siber.http.get(photo["url"], headers=headers(EDITOR)).status_code == 200


def test_hostile_ids_and_bodies_get_answers_not_errors(siber, article):
    editor = headers(EDITOR)
    assert siber.http.get(f"{API}/articles/99999999999999999999", headers=editor).status_code == 404
    assert siber.http.get(f"{API}/articles/0", headers=editor).status_code == 404
    bad = siber.http.post(f"{API}/articles", data="not json", content_type="application/json",
                          headers=headers(HUMAS, "dinkes"))
    assert bad.status_code == 400
    unknown = siber.http.post(f"{API}/articles", json={"title": "Judul yang cukup", "evil": 1},
                              headers=headers(HUMAS, "dinkes"))
    assert unknown.status_code == 422 and "evil" in unknown.get_json()["errors"]
    huge_tags = siber.http.post(f"{API}/articles", json={"title": "Judul yang cukup", "tags": ["x"] * 50},
                                headers=headers(HUMAS, "dinkes"))
    assert huge_tags.status_code == 422
    bad_diff = siber.http.get(f"{API}/articles/{article['id']}/diff?base=a&to=1", headers=editor)
    assert bad_diff.status_code == 422
    bad_schedule = siber.act(article["id"], "schedule", {"publish_at": "besok"})
    assert bad_schedule.status_code == 422


def test_public_photo_reads_are_rate_limited_per_address(tmp_path):
    from tests.siber.support import T0, SiberClient, build_env

    env = build_env(f"sqlite:///{tmp_path / 'limited.db'}", "sqlite", PUBLIC_RATE_LIMIT="3/minute",
                    SIBER_FILES_URL=str(tmp_path / "files"))
    try:
        env.clock.set(T0)
        path = f"{API}/photos/999/original"
        codes = [env.client.get(path).status_code for _ in range(5)]
        assert codes == [404] * 3 + [429] * 2
        refused = env.client.get(path)
        assert "Retry-After" in refused.headers and refused.get_json()["code"] == 429
        assert SiberClient(env).http.get(path, headers=headers(EDITOR)).status_code == 404  # staff are not throttled
    finally:
        env.rt.dispose()


def test_every_endpoint_reached_without_a_login_is_rate_limited(siber):
    public = []
    for rule in siber.env.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view_class = getattr(siber.env.app.view_functions[rule.endpoint], "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            function = getattr(view_class, method.lower()) if view_class else siber.env.app.view_functions[rule.endpoint]
            if "security" not in getattr(function, "_apidoc", {}).get("manual_doc", {}):
                public.append((rule.rule, method, function))
    assert ("/api/v1/photos/<int:photo_id>/<string:variant>", "GET") in {(r, m) for r, m, _ in public}
    assert [(r, m) for r, m, f in public if not getattr(f, "rate_limited", False)] == []
