from __future__ import annotations

import pytest

from broadsheet.errors import FeedError
from broadsheet.pipeline.opml import Subscription, parse_opml, render_opml

OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="World">
    <outline type="rss" text="Ledger" title="The Ledger" xmlUrl="https://ledger.example/feed"
             htmlUrl="https://ledger.example/"/>
  </outline>
  <outline type="rss" text="Courier" xmlUrl="https://courier.example/atom"/>
  <outline text="no feed here"/>
</body></opml>"""


def test_parse_keeps_categories() -> None:
    assert parse_opml(OPML) == [
        Subscription(
            "https://ledger.example/feed", "The Ledger", "World", "https://ledger.example/"
        ),
        Subscription("https://courier.example/atom", "Courier", None, None),
    ]


def test_round_trip() -> None:
    subs = parse_opml(OPML)
    assert parse_opml(render_opml(subs)) == subs


@pytest.mark.parametrize(
    "content",
    [
        b"not xml at all",
        b"<rss/>",
        # an external entity must not be fetched, and its reference must not resolve
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<opml><body><outline xmlUrl='&x;'/></body></opml>",
    ],
)
def test_hostile_or_wrong_files_are_refused_or_inert(content: bytes) -> None:
    try:
        subs = parse_opml(content)
    except FeedError:
        return
    assert all("root:" not in s.url for s in subs)
