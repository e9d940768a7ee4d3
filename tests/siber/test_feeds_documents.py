"""Feed documents built from plain values, read back with feedparser and checked against the
JSON Feed 1.1 specification's required fields."""

from datetime import UTC, datetime, timedelta, timezone

import feedparser

from services.siber import feeds

WIB = timezone(timedelta(hours=7))
PUBLISHED = datetime(2026, 11, 23, 9, 30, tzinfo=WIB)


def entry(number=1, **overrides):
    values = dict(
        id=feeds.tag_uri("berita.kapuaskab.go.id", PUBLISHED, f"artikel/{number}"),
        url=f"https://berita.kapuaskab.go.id/berita/rapat-koordinasi-{number}",
        title=f"Rapat koordinasi kesehatan ke-{number} & <evaluasi>",
        summary="Dinas Kesehatan menggelar rapat koordinasi.",
        content_html="<p>Rapat <strong>koordinasi</strong> di Kuala Kapuas.</p>",
        published=PUBLISHED + timedelta(hours=number),
        updated=PUBLISHED + timedelta(hours=number, minutes=5),
        author="Dinas Kesehatan",
        tags=("kesehatan", "rapat"),
    )
    values.update(overrides)
    return feeds.FeedEntry(**values)


INFO = feeds.FeedInfo(
    id="tag:berita.kapuaskab.go.id,2026-01-01:siber/feeds/all",
    title="Berita OPD Kabupaten Kapuas",
    description="Berita kegiatan perangkat daerah",
    home_url="https://berita.kapuaskab.go.id/",
    feed_urls={kind: f"https://berita.kapuaskab.go.id/feed.{kind}" for kind in feeds.FORMATS},
    author="Diskominfo Kabupaten Kapuas",
)
BUILT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def test_rss_reads_back_with_ids_dates_and_escaped_titles():
    parsed = feedparser.parse(feeds.rss(INFO, [entry(2), entry(1)], built_at=BUILT))
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "rss20"
    assert parsed.feed.language == "id"
    assert parsed.feed.link == INFO.home_url
    first = parsed.entries[0]
    assert first.id == entry(2).id
    assert first.title == "Rapat koordinasi kesehatan ke-2 & <evaluasi>"
    assert first.link == entry(2).url
    assert datetime(*first.published_parsed[:6], tzinfo=UTC) == entry(2).published
    assert [tag.term for tag in first.tags] == ["kesehatan", "rapat"]
    assert "<strong>koordinasi</strong>" in first.content[0].value


def test_atom_reads_back_with_updated_and_published_apart():
    parsed = feedparser.parse(feeds.atom(INFO, [entry(2), entry(1)], built_at=BUILT))
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.id == INFO.id
    assert datetime(*parsed.feed.updated_parsed[:6], tzinfo=UTC) == entry(2).updated
    second = parsed.entries[1]
    assert second.id == entry(1).id
    assert datetime(*second.published_parsed[:6], tzinfo=UTC) == entry(1).published
    assert datetime(*second.updated_parsed[:6], tzinfo=UTC) == entry(1).updated
    assert any(link.rel == "self" and link.href.endswith("feed.atom") for link in parsed.feed.links)


def test_an_empty_feed_is_valid_and_dated_by_its_build():
    parsed = feedparser.parse(feeds.atom(INFO, [], built_at=BUILT))
    assert not parsed.bozo
    assert parsed.entries == []
    assert datetime(*parsed.feed.updated_parsed[:6], tzinfo=UTC) == BUILT


def test_json_feed_has_every_required_field_of_version_1_1():
    document = feeds.json_feed(INFO, [entry(1)])
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    assert isinstance(document["items"], list)
    assert document["feed_url"].endswith("feed.json")
    item = document["items"][0]
    assert isinstance(item["id"], str) and item["id"]
    assert "content_html" in item or "content_text" in item
    # RFC 3339 dates with their offset.
    assert datetime.fromisoformat(item["date_published"]) == entry(1).published
    assert item["date_published"].endswith("+07:00")
    assert all("name" in author for author in document["authors"] + item["authors"])


def test_etag_follows_the_entries_and_their_updates_only():
    base = feeds.etag(feeds.RSS, INFO.id, [entry(1)])
    assert base.startswith('W/"')
    assert feeds.etag(feeds.RSS, INFO.id, [entry(1)]) == base
    assert feeds.etag(feeds.ATOM, INFO.id, [entry(1)]) != base
    assert feeds.etag(feeds.RSS, INFO.id, [entry(1, updated=BUILT)]) != base
    assert feeds.etag(feeds.RSS, INFO.id, []) != base
    assert feeds.last_modified([entry(1), entry(3)]) == entry(3).updated
    assert feeds.last_modified([]) is None


def test_tag_uri_is_dated_in_utc():
    assert feeds.tag_uri("example.go.id", datetime(2026, 1, 1, 2, 0, tzinfo=WIB), "artikel/7") == (
        "tag:example.go.id,2025-12-31:artikel/7")
