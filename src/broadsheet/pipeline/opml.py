"""OPML subscription lists, in and out (categories kept as the outline folder)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from broadsheet.errors import FeedError

# No entities, no network, no DTD: an OPML file is user input (XXE, billion laughs).
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    title: str | None = None
    category: str | None = None
    site_url: str | None = None


def parse_opml(content: bytes) -> list[Subscription]:
    try:
        root = etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"not a valid OPML file: {exc}") from exc
    if root.tag != "opml":
        raise FeedError("not an OPML file: the root element is not <opml>")
    out: list[Subscription] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        parent = outline.getparent()
        category = None
        if parent is not None and parent.tag == "outline" and not parent.get("xmlUrl"):
            category = parent.get("text") or parent.get("title")
        out.append(
            Subscription(
                url=url,
                title=outline.get("title") or outline.get("text"),
                category=category,
                site_url=outline.get("htmlUrl"),
            )
        )
    return out


def render_opml(subscriptions: Iterable[Subscription], *, title: str = "Broadsheet") -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for sub in subscriptions:
        parent = body
        if sub.category:
            if sub.category not in folders:
                folders[sub.category] = etree.SubElement(
                    body, "outline", text=sub.category, title=sub.category
                )
            parent = folders[sub.category]
        attrs = {"type": "rss", "xmlUrl": sub.url, "text": sub.title or sub.url}
        if sub.title:
            attrs["title"] = sub.title
        if sub.site_url:
            attrs["htmlUrl"] = sub.site_url
        etree.SubElement(parent, "outline", attrs)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return out
