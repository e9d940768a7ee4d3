"""The article body keeps structure and emphasis; no script, style, event handler or
dangerous URL survives, whatever the disguise (an XSS corpus after OWASP's cheat sheet)."""

from __future__ import annotations

import re

import pytest

from services.siber.sanitize import plain_text, sanitize_html
from tests.siber.support import API, HUMAS, headers

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;\">klik</a>",
    "<a href=\"jav&#x09;ascript:alert('XSS');\">klik</a>",
    "<a href=\" &#14;  javascript:alert('XSS');\">klik</a>",
    "<SCRIPT/XSS SRC=\"http://xss.example/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.example/xss.js?< B >",
    "<iframe src=http://xss.example/scriptlet.html <",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<STYLE>@import'http://xss.example/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<p style=\"color:red\" onclick=\"alert(1)\">teks</p>",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.example/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3LnczLm9yZy8xOTk5L3hs aW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0iMjAw IiBpZD0ieHNzIj48c2NyaXB0IHR5cGU9InRleHQvZWNtYXNjcmlwdCI+YWxlcnQoIlh TUyIpOzwvc2NyaXB0Pjwvc3ZnPg==\" AllowScriptAccess=\"always\"></EMBED>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "<a href=\"vbscript:msgbox(1)\">vb</a>",
    "<form action=\"javascript:alert(1)\"><button>kirim</button></form>",
    "<details open ontoggle=alert(1)>",
    "<img src=1 onerror=alert(1)//",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<template><script>alert(1)</script></template>",
    "<base href=\"javascript:/a/-alert(1)///////\"><a href=../lol/safari.html>test</A>",
    "<a href=\"https://contoh.go.id\" target=\"_blank\" onclick=\"steal()\">tautan</a>",
]
DANGEROUS = re.compile(
    r"<\s*(script|style|iframe|object|embed|svg|math|form|input|img|link|meta|base|body|details|template|noscript)\b"
    r"|\son\w+\s*=|javascript:|vbscript:|data:|expression\(|style\s*=",
    re.IGNORECASE,
)


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_no_payload_of_the_corpus_survives(payload):
    clean = sanitize_html(payload)
    assert not DANGEROUS.search(clean), clean
    assert sanitize_html(clean) == clean  # stable: cleaning twice changes nothing


def test_news_markup_survives_and_links_are_made_safe():
    html = ('<h2>Posyandu</h2><p>Dinas <strong>Kesehatan</strong> dan <em>kader</em>:</p>'
            '<ul><li>1.200 balita</li></ul><blockquote>Sehat itu murah.</blockquote>'
            '<a href="https://kapuaskab.go.id/berita" target="_blank">tautan</a>')
    clean = sanitize_html(html)
    assert clean.startswith("<h2>Posyandu</h2><p>Dinas <strong>Kesehatan</strong> dan <em>kader</em>:</p>")
    assert "<ul><li>1.200 balita</li></ul><blockquote>Sehat itu murah.</blockquote>" in clean
    assert 'href="https://kapuaskab.go.id/berita"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean and "target" not in clean


def test_script_and_style_contents_are_dropped_not_shown_as_text():
    assert sanitize_html("<p>a</p><script>alert('x')</script><style>p{}</style>") == "<p>a</p>"
    assert plain_text("<p>Bupati <b>meresmikan</b></p><script>x()</script>") == "Bupati meresmikan"


def test_the_api_stores_the_body_sanitised(siber):
    created = siber.create("dinkes", body_html='<p onclick="steal()">Isi</p><script>alert(1)</script><img src=x onerror=alert(1)>')
    assert created["body_html"] == "<p>Isi</p>"
    update = siber.update(created["id"], {"body_html": '<a href="javascript:alert(1)">x</a><p>Baru</p>'})
    assert update.get_json()["body_html"] == "<a rel=\"noopener noreferrer nofollow\">x</a><p>Baru</p>"
    hostile_title = siber.http.post(f"{API}/articles", headers=headers(HUMAS, "dinkes"),
                                    json={"title": "<script>alert(1)</script> Judul"})
    # the title is plain text, shown escaped by every client: kept as written, never markup
    assert hostile_title.status_code == 201
