"""Safe rendering of user text: Markdown without raw HTML, sanitized links, escaped names."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from ui import render

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[y](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">a</a>',
    "![z](javascript:alert(1))",
    "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<svg onload=alert(1)>",
    "<iframe src=https://example.com></iframe>",
    '<div style="background:url(javascript:alert(1))">s</div>',
]


class TagCollector(HTMLParser):
    """The real elements of an HTML fragment (what a browser would build), with their attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_inert(html: str) -> None:
    for tag, attributes in TagCollector(html).tags:
        assert tag in render.ALLOWED_TAGS, html
        for name, value in attributes:
            assert not name.startswith("on") and name != "style", html
            if name in ("href", "src"):
                assert (value or "").split(":", 1)[0].lower() in render.URL_SCHEMES, html


def test_raw_html_shows_as_text():
    html = render.markdown("<script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_hostile_markdown_is_inert():
    for source in HOSTILE:
        assert_inert(render.markdown(source))
    assert "href" not in render.markdown("[x](javascript:alert(1))")


def test_links_keep_only_safe_schemes_and_get_rel():
    html = render.markdown("[site](https://example.com/a?b=1) [mail](mailto:me@example.com) [rel](/api/v1/me)")
    assert '<a href="https://example.com/a?b=1" target="_blank" rel="nofollow noopener noreferrer">site</a>' in html
    assert 'href="mailto:me@example.com"' in html
    assert "/api/v1/me" not in html  # relative URLs could make page views call the site's own routes
    assert_inert(html)


def test_markdown_formatting_survives():
    html = render.markdown("# Title\n\n**bold** *it* `code` ~~old~~\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                           "- one\n- two\n\n![cover](https://example.com/c.png)")
    for fragment in ("<h1>Title</h1>", "<strong>bold</strong>", "<em>it</em>", "<code>code</code>", "<s>old</s>",
                     "<table>", "<td>1</td>", "<li>one</li>", '<img src="https://example.com/c.png" alt="cover">'):
        assert fragment in html


def test_text_escapes_for_content_and_attributes():
    assert render.text('<b onclick="x">&\'') == "&lt;b onclick=&quot;x&quot;&gt;&amp;&#x27;"
    assert render.text(None) == ""
    assert render.text(42) == "42"


def test_display_helpers():
    assert render.human_size(0, "en") == "0 bytes"
    assert render.human_size(1023, "en") == "1023 bytes"
    assert render.human_size(1023, "zh") == "1023 字节"
    assert render.human_size(1536, "zh") == "1.5 KB"
    assert render.human_size(5 * 1024**3, "en") == "5.0 GB"
    assert render.type_label("lora", "en") == "LoRA"
    assert render.type_label("checkpoint", "zh") == "大模型"
    assert render.base_label("Other", "zh") == "其他"
    assert render.base_label("SDXL 1.0", "zh") == "SDXL 1.0"
    assert render.short_date("2025-01-31T12:00:00.000Z") == "2025-01-31"
    assert render.media_url("2025-01-31/a b.png") == "/media/2025-01-31/a%20b.png"


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(HOSTILE + ["**", "[", "](", ")", "<", ">", '"', "'", "`", "\n", " ", "a", "http:",
                                           "javascript:", "&#106;", "\\"]), max_size=30).map("".join))
def test_any_mix_of_hostile_pieces_stays_inert(source):
    assert_inert(render.markdown(source))
