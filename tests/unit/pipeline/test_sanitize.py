"""sanitize_html against the payloads that trafilatura lets through (KNOWN-FAULTS)."""

from __future__ import annotations

import re

import pytest

from broadsheet.pipeline.sanitize import sanitize_html

BASE = "https://news.example/world/story.html"

# Each payload must come out without anything that can run: no script-ish scheme, no handler.
HOSTILE = [
    pytest.param('<a href="javascript:alert(1)">x</a>', id="javascript"),
    pytest.param('<a href="JaVaScRiPt:alert(1)">x</a>', id="mixed-case"),
    pytest.param('<a href="&#106;avascript:alert(1)">x</a>', id="entity-decimal"),
    pytest.param('<a href="&#x6A;avascript&#x3A;alert(1)">x</a>', id="entity-hex"),
    pytest.param('<a href="javascript&colon;alert(1)">x</a>', id="named-colon"),
    pytest.param('<a href="jav\tascript:alert(1)">x</a>', id="tab"),
    pytest.param('<a href="jav&#x09;ascript:alert(1)">x</a>', id="tab-entity"),
    pytest.param('<a href="java\nscript:alert(1)">x</a>', id="newline"),
    pytest.param('<a href=" javascript:alert(1)">x</a>', id="leading-space"),
    pytest.param(
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', id="data"
    ),
    pytest.param('<img src="data:image/svg+xml,<svg onload=alert(1)>">', id="data-img"),
    pytest.param("<template><s><template><s><img src=x onerror=alert(1)>", id="template-mutation"),
    pytest.param(
        '<svg><a xlink:href="javascript:alert(1)"><text>t</text></a></svg>', id="svg-xlink"
    ),
    pytest.param("<script>alert(1)</script><style>*{}</style>", id="script-style"),
    pytest.param('<iframe src="https://evil.example/"></iframe>', id="iframe"),
    pytest.param('<p onclick="alert(1)" onmouseover="alert(2)">hi</p>', id="handlers"),
    pytest.param('<img src="x" onerror="alert(1)">', id="onerror"),
    pytest.param("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", id="mxss"),
    pytest.param('<a href="vbscript:msgbox(1)">x</a>', id="vbscript"),
    pytest.param('<form action="javascript:alert(1)"><button>go</button></form>', id="form"),
]

_DANGER = re.compile(r"javascript|vbscript|data:|onerror|onclick|onmouseover|onload|<script|<iframe"
                     r"|<svg|<style|<form", re.IGNORECASE)  # fmt: skip


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("base_url", [None, BASE])
def test_hostile_payloads_are_neutralised(payload: str, base_url: str | None) -> None:
    out = sanitize_html(payload, base_url)
    assert not _DANGER.search(out), out


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<a href="/world/other">other</a>',
            '<a href="https://news.example/world/other"'
            ' rel="noopener noreferrer nofollow">other</a>',
        ),
        (
            '<a href="next.html" title="t" class="c" id="i">n</a>',
            '<a href="https://news.example/world/next.html" title="t"'
            ' rel="noopener noreferrer nofollow">n</a>',
        ),
        (
            '<img src="/i.jpg" srcset="/a.jpg 2x" alt="a" width="10" loading="lazy">',
            '<img src="https://news.example/i.jpg" alt="a" width="10">',
        ),
        ('<a href="mailto:desk@news.example">mail</a>',
         '<a href="mailto:desk@news.example" rel="noopener noreferrer nofollow">mail</a>'),
        ("<p>a<br>b</p><h2>h</h2><h1>big</h1><blockquote>q</blockquote>",
         "<p>a<br>b</p><h2>h</h2>big<blockquote>q</blockquote>"),
        ("<div><span style='color:red'>t</span></div>", "t"),
        ("<table><tr><td colspan=2>c</td></tr></table>",
         '<table><tbody><tr><td colspan="2">c</td></tr></tbody></table>'),
        ("", ""),
    ],
)  # fmt: skip
def test_allowlist_and_url_resolution(html: str, expected: str) -> None:
    assert sanitize_html(html, BASE) == expected


def test_links_get_rel_even_without_base() -> None:
    out = sanitize_html('<a href="https://x.example/" rel="opener">x</a>')
    assert out == '<a href="https://x.example/" rel="noopener noreferrer nofollow">x</a>'


def test_protocol_relative_without_base_is_dropped() -> None:
    assert "href" not in sanitize_html('<a href="//evil.example/">x</a>')
