"""The public reading API on SQLite and PostgreSQL: only published articles, never drafts,
comments, revisions or a taken-down body; filters, Indonesian search, hostile query strings."""

from datetime import timedelta

import pytest

from tests.siber.support import API, EDITOR, HUMAS, T0, headers

PUBLIC = f"{API}/public"


def listed(siber, **query) -> list[dict]:
    response = siber.http.get(f"{PUBLIC}/articles", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_only_published_articles_are_public(siber):
    tags = ["uji-publik"]
    draft = siber.create("dinkes", title="Draf yang belum diajukan", tags=tags)
    waiting = siber.create("dinkes", title="Berita menunggu redaktur", tags=tags)
    siber.submit(waiting["id"])
    shown = siber.published("dinkes", at=T0 + timedelta(hours=1), title="Berita yang terbit",
                            tags=tags)
    down = siber.published("dinkes", at=T0 + timedelta(hours=2), title="Berita yang diturunkan",
                           tags=tags)
    response = siber.act(down["id"], "take-down", {"reason": "Foto tanpa izin narasumber."})
    assert response.status_code == 200, response.get_json()
    siber.http.post(f"{API}/articles/{shown['id']}/comments", json={"body": "Catatan internal"},
                    headers=headers(EDITOR))

    assert [a["slug"] for a in listed(siber, tag="uji-publik")] == [shown["slug"]]

    article = siber.http.get(f"{PUBLIC}/articles/{shown['slug']}").get_json()
    assert article["body_html"].startswith("<p>")
    assert not {"status", "author_sub", "author_name", "editor_name", "comments", "revisions",
                "revision_notes", "rejection_reason", "takedown_reason"} & set(article)

    for hidden in (draft, waiting):
        response = siber.http.get(f"{PUBLIC}/articles/{hidden['slug']}")
        assert response.status_code == 404
        assert response.get_json()["message"] == "Berita tidak ditemukan."

    gone = siber.http.get(f"{PUBLIC}/articles/{down['slug']}")
    assert gone.status_code == 410
    body = gone.get_json()
    assert "Foto tanpa izin narasumber." in body["message"]
    assert "2 Maret 2026" in body["message"]
    assert "Kegiatan dimulai" not in gone.get_data(as_text=True)


def test_lists_by_opd_and_tag_newest_first(siber):
    older = siber.published("disdik", at=T0 + timedelta(days=1), title="Sekolah penggerak dimulai",
                            tags=["pendidikan-dasar"])
    newer = siber.published("disdik", at=T0 + timedelta(days=2), title="Guru penggerak dilantik",
                            tags=["pendidikan-dasar", "guru"])
    other = siber.published("dinkes", at=T0 + timedelta(days=3), title="Imunisasi campak anak",
                            tags=["guru"])
    assert [a["slug"] for a in listed(siber, opd="disdik")][:2] == [newer["slug"], older["slug"]]
    assert {a["opd"] for a in listed(siber, opd="disdik")} == {"disdik"}
    assert [a["slug"] for a in listed(siber, tag="guru")] == [other["slug"], newer["slug"]]
    assert [a["slug"] for a in listed(siber, tag="Pendidikan Dasar")] == [newer["slug"], older["slug"]]
    first = listed(siber, opd="disdik")[0]
    assert first["opd_name"] == "Dinas Pendidikan"
    assert first["url"].endswith(f"/berita/{newer['slug']}")


def test_search_finds_words_of_title_lead_and_body(siber):
    bridge = siber.published(
        "dpupr", at=T0 + timedelta(days=4), title="Jembatan Tumbang Nusa diresmikan",
        lead="Bupati meresmikan jembatan.",
        body_html="<p>Pembangunan jembatan selesai tepat waktu.</p>", tags=["infrastruktur"])
    assert [a["slug"] for a in listed(siber, q="jembatan tumbang")] == [bridge["slug"]]
    assert [a["slug"] for a in listed(siber, q="JEMBATAN selesai")] == [bridge["slug"]]
    assert listed(siber, q="jembatan kapal") == []
    if siber.env.backend == "postgresql":
        # The Indonesian configuration stems: `membangun` and `pembangunan` share `bangun`.
        assert [a["slug"] for a in listed(siber, q="membangun")] == [bridge["slug"]]


def test_a_correction_is_shown_with_its_note(siber):
    article = siber.published("dishub", at=T0 + timedelta(days=5), title="Uji kir kendaraan umum",
                              tags=["transportasi"])
    siber.clock.set(T0 + timedelta(days=6))
    response = siber.act(article["id"], "correct", {"note": "Lokasi uji kir diperbaiki."})
    assert response.status_code == 200, response.get_json()
    shown = siber.http.get(f"{PUBLIC}/articles/{article['slug']}").get_json()
    assert shown["correction_note"] == "Lokasi uji kir diperbaiki."
    assert shown["corrected"] is True
    assert shown["updated_at"] > shown["published_at"]


@pytest.mark.parametrize("query", [
    {"q": "x" * 101},
    {"opd": "bukan-opd"},
    {"page": "0"},
    {"page": "-1"},
    {"page_size": "100000"},
    {"page": "99999999999999999999"},
    {"tag": "t" * 51},
    {"q": "a\x00b"},
])
def test_hostile_query_strings_are_refused_in_indonesian(siber, query):
    response = siber.http.get(f"{PUBLIC}/articles", query_string=query)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == 422 and body["message"]


@pytest.mark.parametrize("query", [
    {"q": "'; DROP TABLE articles; --"},
    {"q": "&|!:*()<>"},
    {"q": "yang dan di"},
    {"tag": "%%%"},
    {"q": "ü ß 漢字"},
])
def test_odd_but_valid_queries_answer_a_list(siber, query):
    assert isinstance(listed(siber, **query), list)


@pytest.mark.parametrize("slug", ["tidak-ada", "..", "%00", "a" * 500, "berita'--"])
def test_unknown_slugs_are_404(siber, slug):
    response = siber.http.get(f"{PUBLIC}/articles/{slug}")
    assert response.status_code == 404


def test_staff_endpoints_stay_closed_to_the_public(siber):
    article = siber.published("dinkes", at=T0 + timedelta(days=7), title="Berita dengan revisi")
    for path in (f"{API}/articles/{article['id']}", f"{API}/articles/{article['id']}/revisions",
                 f"{API}/articles"):
        assert siber.http.get(path).status_code == 401
    assert siber.http.get(f"{API}/articles/{article['id']}",
                          headers=headers(HUMAS, "dinkes")).status_code == 200


def jpeg(size=(320, 200)) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


def test_photos_appear_once_their_renditions_exist(siber):
    import base64

    from services.siber import photos

    siber.clock.set(T0 + timedelta(days=8))
    article = siber.create("disbudparpora", title="Festival budaya Isen Mulang",
                           tags=["festival-foto"])
    upload = siber.http.post(
        f"{API}/articles/{article['id']}/photos", headers=headers(HUMAS, "disbudparpora"),
        json={"filename": "festival.jpg", "content_base64": base64.b64encode(jpeg()).decode(),
              "caption": "Tarian pembukaan festival", "credit": "Humas Disbudparpora"})
    assert upload.status_code == 201, upload.get_json()
    siber.submit(article["id"], "disbudparpora")
    assert siber.act(article["id"], "publish").status_code == 200

    assert siber.http.get(f"{PUBLIC}/articles/{article['slug']}").get_json()["photos"] == []
    photos.make_renditions(siber.rt)

    shown = siber.http.get(f"{PUBLIC}/articles/{article['slug']}").get_json()
    [photo] = shown["photos"]
    assert (photo["caption"], photo["credit"]) == ("Tarian pembukaan festival", "Humas Disbudparpora")
    assert listed(siber, tag="festival-foto")[0]["thumb_url"] == photo["thumb_url"]
    picture = siber.http.get(photo["url"])
    assert picture.status_code == 200 and picture.content_type == "image/jpeg"
    item = siber.http.get(f"{PUBLIC}/feeds/tags/festival-foto.json").get_json()["items"][0]
    assert item["image"].endswith(photo["url"])
