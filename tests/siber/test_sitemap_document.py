"""The sitemap document: valid XML in the sitemaps.org namespace, URLs escaped, UTC dates."""

from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from services.siber.sitemap import NAMESPACE, sitemap

WIB = timezone(timedelta(hours=7))


def test_urls_and_dates_read_back():
    document = sitemap([
        ("https://berita.example/berita/a?x=1&y=2", datetime(2026, 11, 23, 9, 0, tzinfo=WIB)),
        ("https://berita.example/", None),
    ])
    root = ElementTree.fromstring(document)
    assert root.tag == f"{{{NAMESPACE}}}urlset"
    urls = root.findall(f"{{{NAMESPACE}}}url")
    assert urls[0].findtext(f"{{{NAMESPACE}}}loc") == "https://berita.example/berita/a?x=1&y=2"
    assert urls[0].findtext(f"{{{NAMESPACE}}}lastmod") == "2026-11-23T02:00:00Z"
    assert urls[1].find(f"{{{NAMESPACE}}}lastmod") is None


def test_an_empty_sitemap_is_valid():
    root = ElementTree.fromstring(sitemap([]))
    assert list(root) == []
