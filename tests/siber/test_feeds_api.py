"""Feeds over HTTP on SQLite and PostgreSQL: read back with feedparser, JSON Feed 1.1's
required fields, stable ids across formats, and 304 on a conditional GET."""

from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from tests.siber.support import API, T0

FEEDS = f"{API}/public/feeds"


def fetch(siber, path, **request_headers):
    return siber.http.get(f"{FEEDS}/{path}", headers=request_headers)


def test_one_article_has_one_id_and_its_dates_in_every_format(siber):
    article = siber.published("dinsos", at=T0 + timedelta(hours=3), title="Bantuan sosial disalurkan",
                              tags=["bansos-feed"])
    rss = fetch(siber, "tags/bansos-feed.rss")
    atom = fetch(siber, "tags/bansos-feed.atom")
    json_feed = fetch(siber, "tags/bansos-feed.json")
    assert rss.content_type.startswith("application/rss+xml")
    assert atom.content_type.startswith("application/atom+xml")
    assert json_feed.content_type.startswith("application/feed+json")

    parsed_rss, parsed_atom = feedparser.parse(rss.data), feedparser.parse(atom.data)
    assert not parsed_rss.bozo and not parsed_atom.bozo
    document = json_feed.get_json()
    ids = {parsed_rss.entries[0].id, parsed_atom.entries[0].id, document["items"][0]["id"]}
    assert len(ids) == 1 and ids.pop().startswith("tag:localhost,2026-03-02:siber/articles/")

    published = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 12:00 WIB
    assert datetime(*parsed_rss.entries[0].published_parsed[:6], tzinfo=UTC) == published
    assert datetime(*parsed_atom.entries[0].updated_parsed[:6], tzinfo=UTC) == published
    assert datetime.fromisoformat(document["items"][0]["date_published"]) == published
    assert parsed_atom.entries[0].link.endswith(f"/berita/{article['slug']}")


def test_json_feed_carries_the_specifications_required_fields(siber):
    siber.published("dinsos", at=T0 + timedelta(hours=4), title="Rumah layak huni dibagikan")
    document = fetch(siber, "all.json").get_json()
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    assert document["feed_url"].endswith("/api/v1/public/feeds/all.json")
    assert document["items"], "the feed lists what was published"
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html") or item.get("content_text"), str)


def test_conditional_get_answers_304_until_something_is_published(siber):
    siber.published("dishub", at=T0 + timedelta(hours=5), title="Jadwal kapal feri", tags=["feri"])
    first = fetch(siber, "opd/dishub.atom")
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('W/"')

    again = fetch(siber, "opd/dishub.atom", **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert fetch(siber, "opd/dishub.atom", **{"If-Modified-Since": modified}).status_code == 304
    # If-None-Match decides when both are sent (RFC 9110).
    assert fetch(siber, "opd/dishub.atom", **{"If-None-Match": '"lain"',
                                              "If-Modified-Since": modified}).status_code == 200
    # Another format of the same feed is another document.
    assert fetch(siber, "opd/dishub.rss", **{"If-None-Match": etag}).status_code == 200

    siber.published("dishub", at=T0 + timedelta(hours=6), title="Jadwal kapal feri berubah")
    changed = fetch(siber, "opd/dishub.atom", **{"If-None-Match": etag,
                                                 "If-Modified-Since": modified})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert len(feedparser.parse(changed.data).entries) == 2


def test_a_taken_down_article_leaves_the_feeds(siber):
    article = siber.published("dlh", at=T0 + timedelta(hours=7), title="Bersih sungai Kapuas")
    before = fetch(siber, "opd/dlh.rss")
    assert len(feedparser.parse(before.data).entries) == 1
    response = siber.act(article["id"], "take-down", {"reason": "Data lokasi keliru."})
    assert response.status_code == 200, response.get_json()
    after = fetch(siber, "opd/dlh.rss", **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert feedparser.parse(after.data).entries == []


def test_a_correction_changes_the_entry_and_shows_its_note(siber):
    article = siber.published("distan", at=T0 + timedelta(hours=8), title="Panen raya padi")
    before = fetch(siber, "opd/distan.json")
    siber.clock.set(T0 + timedelta(days=1))
    assert siber.act(article["id"], "correct", {"note": "Luas panen 120 hektare."}).status_code == 200
    after = fetch(siber, "opd/distan.json", **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    item = after.get_json()["items"][0]
    assert "Koreksi: Luas panen 120 hektare." in item["content_html"]
    assert item["date_modified"] > item["date_published"]


@pytest.mark.parametrize("path", ["all.xml", "opd/bukan-opd.rss", "tags/Bukan Tag.rss",
                                  "tags/.rss", "opd/dinkes.RSS", "all.json/extra"])
def test_unknown_feeds_are_404(siber, path):
    response = fetch(siber, path)
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


@pytest.mark.parametrize("value", ["bukan tanggal", "Mon, 99 Xyz 2026 99:99:99 GMT", "\u00ff" * 40])
def test_malformed_conditional_headers_are_ignored(siber, value):
    assert fetch(siber, "all.rss", **{"If-Modified-Since": value}).status_code == 200


def test_sitemap_lists_published_articles_only(siber):
    shown = siber.published("bpbd", at=T0 + timedelta(hours=9), title="Siaga banjir Kapuas")
    draft = siber.create("bpbd", title="Draf siaga banjir")
    response = siber.http.get(f"{API}/public/sitemap.xml")
    assert response.status_code == 200
    assert response.content_type.startswith("application/xml")
    text = response.get_data(as_text=True)
    assert f"/berita/{shown['slug']}</loc>" in text
    assert draft["slug"] not in text
