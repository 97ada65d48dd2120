"""Article HTML to clean paragraphs, safe display HTML and metadata.

trafilatura finds the article body; around it sit the guards and news rules it lacks
(KNOWN-FAULTS): a size and complexity cap before it runs, a DOM pre-clean that removes publisher
furniture and keeps word boundaries, a walk over its XML output that keeps paragraphs apart, the
text rules of ``clean``, a plausibility check (a silently empty result is an error), and nh3 last.
"""

from __future__ import annotations

import functools
import itertools
import re
from copy import deepcopy
from dataclasses import dataclass
from html import escape

import charset_normalizer
import lxml.etree
import lxml.html
import trafilatura
from lxml.html import HtmlElement

from broadsheet.errors import ExtractionError, NotAnArticle
from broadsheet.models import ExtractedArticle
from broadsheet.pipeline import clean
from broadsheet.pipeline.metadata import PageMetadata, extract_metadata
from broadsheet.pipeline.sanitize import sanitize_html

MAX_ELEMENTS = 25_000  # real pages have < 5,000; trafilatura's time grows faster than linearly
MAX_INLINE_CHILDREN = 300  # a paragraph with more inline children is mis-nested markup
MIN_TEXT_CHARS = 200
LARGE_PAGE_CHARS = 5_000  # below this a short text may be the whole page (e.g. a feed's content)

# -- decoding ----------------------------------------------------------------------------------

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.IGNORECASE
)
_SINGLE_BYTE = re.compile(r"^(iso-?8859-?\d+|latin-?\d|l\d|windows-?125\d|cp125\d|us-ascii|ascii)$")
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_html(data: str | bytes, *, max_bytes: int = 5_000_000) -> str:
    """Bytes to text: BOM, then the declared charset, then UTF-8, then detection. Never raises on
    bad bytes; raises ``ExtractionError`` when the page is larger than ``max_bytes``."""
    size = len(data)
    if size > max_bytes:
        raise ExtractionError(f"page too large to extract: {size:,} > {max_bytes:,} bytes")
    if isinstance(data, str):
        return data
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    match = _META_CHARSET.search(data[:4096])
    declared = match.group(1).decode("ascii").lower() if match else None
    candidates: list[str | None] = [declared, "utf-8"]
    if declared and _SINGLE_BYTE.match(declared):
        # A single-byte charset decodes anything, so it cannot be refuted; valid UTF-8 with
        # multi-byte sequences is almost never an accident, and publishers often mislabel it.
        # Browsers read latin-1 and ascii as windows-1252 (WHATWG Encoding), and so do we.
        latin1 = declared in {
            "iso-8859-1",
            "iso8859-1",
            "latin-1",
            "latin1",
            "l1",
            "ascii",
            "us-ascii",
        }
        candidates = ["utf-8", "cp1252" if latin1 else declared]
    for charset in candidates:
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        return data.decode(best.encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


# -- parsing and guards ------------------------------------------------------------------------

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# libxml2 checks duplicate attributes quadratically: 50,000 attributes on one tag cost 11 s.
_HUGE_TAG = re.compile(r"<([a-zA-Z][\w:-]{0,30})[^<>]{50000,}>")

_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
     "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt",
     "u", "var"}
)  # fmt: skip


def parse_html(text: str) -> HtmlElement:
    """Parse untrusted HTML with lxml; refuse or defuse what makes trafilatura slow."""
    text = _CONTROL_CHARS.sub("", _XML_DECLARATION.sub("", text, count=1))
    text = _HUGE_TAG.sub(r"<\1>", text)
    if not text.strip():
        raise NotAnArticle("empty page")
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        tree = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"no parsable HTML: {exc}") from None
    # counted and searched in libxml2 (XPath), not element by element in Python
    if tree.xpath("count(//*)") > MAX_ELEMENTS:
        raise ExtractionError(f"page too complex: more than {MAX_ELEMENTS:,} elements")
    crowded: list[HtmlElement] = [
        el
        for el in tree.xpath(f"//*[count(*) > {MAX_INLINE_CHILDREN}]")
        if sum(isinstance(c.tag, str) and c.tag in _INLINE_TAGS for c in el) > MAX_INLINE_CHILDREN
    ]
    for el in crowded:
        # 50,000 mis-nested <b><i> cost trafilatura 35 s; as plain text they cost nothing
        text_content, tail = el.text_content(), el.tail
        el.clear()
        el.text, el.tail = text_content, tail
    return tree


# -- DOM pre-clean -----------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl",
     "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
     "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
     "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)  # fmt: skip

# Removed with everything inside: never article prose.
# Dropped unless they hold a long, prose-like text: publishers have wrapped whole articles in
# <nav> and <button> (accordions), and trafilatura then found nothing.
_SOFT_DROP_TAGS = frozenset({"nav", "button", "figure", "dialog"})
_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "button", "select", "input", "textarea", "nav", "figure", "picture", "dialog",
)  # fmt: skip

# Words in class/id/aria-label/data-* that mark publisher furniture. Compound class names are
# split into words ("ad-slot" -> ad, slot; "liveEvents" -> live, events) and adjacent words are
# also tried joined ("read-more" -> readmore), so one list covers the spellings.
_FURNITURE_WORDS = frozenset(
    {
        # ad slots
        "ad", "ads", "advert", "adverts", "advertisement", "advertising", "adslot", "adunit",
        "adcontainer", "dfp", "gpt", "sponsored", "sponsor", "promoted", "taboola", "outbrain",
        "mgid", "teads", "storycontinues",
        # newsletter / subscription prompts
        # ("paywall" and "subscription" are left out: publishers put them on the paragraphs of
        # the article itself)
        "newsletter", "newsletters", "signup", "subscribe",
        # related and recommended links
        "related", "recommended", "recommendations", "readmore", "alsoread", "readalso",
        "morestories", "mostread", "mostpopular", "trending", "topstories", "readnext", "upnext",
        "moreon", "morefrom",
        # share bars and social prompts
        "share", "sharing", "sharebar", "social", "socials", "whatsapp", "telegram", "followus",
        # consent banners
        "cookie", "cookies", "consent", "gdpr", "cmp",
        # the Economic Times' "Live Events" widget, bylines/tags/comments and chrome
        "liveevents", "breadcrumb", "breadcrumbs", "comments", "disqus", "hashtags", "byline",
        "authorbio", "signature", "toolbar", "popup", "modal", "overlay", "print", "tag", "tags",
        "categories", "follow", "disclaimer", "donate", "donation",
        # page furniture around the body: kickers, standfirsts shown apart, market tickers
        "kicker", "eyebrow", "dek", "synopsis", "artsyn", "ticker", "mktstrip", "marketdata",
        "nlbox",
    }
)  # fmt: skip
# Furniture words that never name the article's own wrapper: dropped however much text they hold.
_STRONG_WORDS = frozenset(
    {"related", "recommended", "recommendations", "comments", "disqus", "outbrain", "taboola",
     "mostread", "mostpopular", "trending", "morestories", "readnext", "liveevents"}
)  # fmt: skip
_DATA_CELLS = frozenset({"td", "th", "tr", "li", "dd", "dt"})  # a bare number is data there
_NEVER_DROP = frozenset({"html", "body", "main", "article"})
_WORD_SPLIT = re.compile(r"[^a-zA-Z0-9]+|(?<=[a-z])(?=[A-Z])")
_MAX_FURNITURE_TEXT = 2_000


def _furniture_words(el: HtmlElement) -> frozenset[str]:
    attrib = el.attrib
    if not attrib:
        return frozenset()
    label = " ".join(
        v
        for k, v in attrib.items()
        if k in {"class", "id", "aria-label", "role"} or (k.startswith("data-") and len(v) < 80)
    )
    return _label_words(label) if label else frozenset()


@functools.lru_cache(maxsize=4096)
def _label_words(label: str) -> frozenset[str]:
    """Furniture words of a class/id label; cached, as a page repeats its class names."""
    words = [w.lower() for w in _WORD_SPLIT.split(label) if w]
    joined = {a + b for a, b in itertools.pairwise(words)}
    return frozenset((set(words) | joined) & _FURNITURE_WORDS)


def _in_running_text(el: HtmlElement) -> bool:
    """An inline element inside a sentence ("a <a class='tag'>topic</a> link") is prose."""
    parent = el.getparent()
    if el.tag not in _INLINE_TAGS or parent is None:
        return False
    return bool((parent.text or "").strip()) or any((c.tail or "").strip() for c in parent)


def _text_upto(el: HtmlElement, limit: int) -> str | None:
    """The element's text, or None as soon as it is longer than ``limit``."""
    parts: list[str] = []
    size = 0
    for piece in el.itertext():
        size += len(piece)
        if size > limit:
            return None
        parts.append(piece)
    return "".join(parts)


def _link_density(el: HtmlElement) -> float:
    total = sum(len(t) for t in el.itertext())
    linked = sum(len(t) for a in el.iter("a") for t in a.itertext())
    return linked / total if total else 0.0


def _remove(el: HtmlElement) -> None:
    """Remove ``el`` and its content, keeping its tail text apart from the text before it."""
    if el.tail and el.tail.strip() and el.tag in _BLOCK_TAGS:
        # the block boundary survives as a line break, which the XML walk treats as one
        marker = lxml.html.Element("br")
        marker.tail, el.tail = el.tail, None
        el.addnext(marker)
    elif el.tail and not el.tail[:1].isspace():
        el.tail = " " + el.tail
    el.drop_tree()


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _space_at_end(el: HtmlElement) -> bool:
    """Append a space to the last non-blank text inside ``el``; False when it holds none."""
    for node in reversed(list(el.iter())):
        if node is not el and not _blank(node.tail):
            node.tail = (node.tail or "").rstrip() + " "
            return True
        if not _blank(node.text) and (len(node) == 0 or node is el):
            node.text = (node.text or "").rstrip() + " "
            return True
    return False


def _space_at_start(el: HtmlElement | None) -> bool:
    if el is None or el.tag not in _INLINE_TAGS or _blank(el.text):
        return False
    el.text = " " + (el.text or "").lstrip()
    return True


def move_inline_spaces(tree: HtmlElement) -> None:
    """Put the white space that trafilatura would drop into text that it keeps, in place.

    trafilatura drops inline elements holding only white space and white-space-only tails
    between inline elements, so ``he<a> </a><a>said</a>``, ``clouds</a><b> </b>are`` and
    ``<b>airport</b> <b>without</b>`` came out as "hesaid", "cloudsare" and "airportwithout".
    It keeps spaces at the edges of text, so the space moves there."""
    # children before parents: <span><span> </span></span> leaves its parent blank in turn
    for el in reversed(list(tree.iter(*_INLINE_TAGS))):
        parent, previous = el.getparent(), el.getprevious()
        if parent is None or len(el) or not el.text or not _blank(el.text):
            continue
        if previous is not None and not _blank(previous.tail):
            previous.tail = (previous.tail or "").rstrip() + " "
        elif previous is None and not _blank(parent.text):
            parent.text = (parent.text or "").rstrip() + " "
        elif not (previous is not None and _space_at_end(previous)):
            if not _blank(el.tail):
                el.tail = " " + (el.tail or "").lstrip()
            elif not _space_at_start(el.getnext()) and parent.tag in _INLINE_TAGS:
                parent.text = " "  # the parent is blank now, and hands the space on in turn
        el.drop_tree()
    for el in tree.iter(*_INLINE_TAGS):
        following = el.getnext()
        if (
            el.tail
            and _blank(el.tail)
            and following is not None
            and following.tag in _INLINE_TAGS
            and (_space_at_end(el) or _space_at_start(following))
        ):
            el.tail = None


def preclean(tree: HtmlElement) -> None:
    """Remove publisher furniture and make every block boundary a word boundary, in place."""
    keep_word_boundaries(tree)
    remove_furniture(tree)


def keep_word_boundaries(tree: HtmlElement) -> None:
    """Remove code (scripts, styles, embeds) and make every block boundary, and every space
    trafilatura would drop, survive, in place."""
    for el in [el for el in tree.iter(*_DROP_TAGS) if el.tag not in _SOFT_DROP_TAGS]:
        if el.getparent() is not None:
            _remove(el)
    move_inline_spaces(tree)
    for el in tree.iter(*_BLOCK_TAGS):
        # "<div>said.</div><div>23392</div>" must not become "said.23392" once blocks are merged
        if el.tail and not el.tail[:1].isspace():
            el.tail = " " + el.tail
        previous, parent = el.getprevious(), el.getparent()
        if previous is not None:
            if previous.tail and not previous.tail[-1:].isspace():
                previous.tail += " "
        elif parent is not None and parent.text and not parent.text[-1:].isspace():
            parent.text += " "


def remove_furniture(tree: HtmlElement) -> None:
    """Remove publisher furniture (ads, prompts, related lists, chrome), in place."""
    doomed: list[HtmlElement] = [
        el
        for el in tree.iter(*_DROP_TAGS)
        if el.tag not in _SOFT_DROP_TAGS
        or _text_upto(el, _MAX_FURNITURE_TEXT) is not None
        or _link_density(el) > 0.35
    ]
    skip = set(doomed)
    holders = {
        parent
        for el in tree.iter(*_BLOCK_TAGS)
        if el.tag != "br" and (parent := el.getparent()) is not None
    }
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in _NEVER_DROP or el in skip:
            continue
        style = (el.get("style") or "").replace(" ", "").lower()
        if el.get("hidden") is not None or "display:none" in style:
            doomed.append(el)
        elif (words := _furniture_words(el)) and not _in_running_text(el):
            # a large element is only dropped when it is surely furniture: a class such as
            # "sponsored-story" or "subscriber-content" may wrap the article itself
            text = _text_upto(el, _MAX_FURNITURE_TEXT)
            if text is not None or words & _STRONG_WORDS or _link_density(el) > 0.35:
                doomed.append(el)
        elif (
            el.tag in _BLOCK_TAGS
            and el.tag not in _DATA_CELLS
            and el.tag != "br"
            and el not in holders
        ):
            # a block that is only furniture ("Live Events") or a crumb (a view counter "23392");
            # blocks holding blocks are left to their children
            text = el.text_content()
            if len(text) <= clean.MAX_FURNITURE_LINE and text.strip() and clean.is_furniture(text):
                doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            _remove(el)


# -- trafilatura's XML to blocks ---------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    kind: str  # p, h2, h3, h4, li-ul, li-ol, quote, pre
    text: str
    html: str  # inline HTML (escaped text, <a>, <em>, <strong>)


_HEADINGS = {"h1": "h2", "h2": "h2", "h3": "h3", "h4": "h4", "h5": "h4", "h6": "h4"}


_XML_BLOCKS = frozenset({"p", "list", "item", "head", "quote", "table", "row", "cell", "code"})


def _inline(el: lxml.etree._Element) -> list[tuple[str, str]]:
    """(text, html) segments of an element's content; a top-level <lb/> starts a new segment."""
    segments: list[tuple[list[str], list[str]]] = [([], [])]

    def add(text: str | None) -> None:
        if text:
            segments[-1][0].append(text)
            segments[-1][1].append(escape(text, quote=False))

    def walk(node: lxml.etree._Element, top: bool) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "lb":
            if top:
                segments.append(([], []))
            else:
                add(" ")
        elif tag in _XML_BLOCKS:
            # a list or paragraph nested in a paragraph: its items are lines of their own,
            # never "valuablesPermanent markersPlastic baggies"
            segments.append(([], []))
            add(node.text)
            for child in node:
                walk(child, top=False)
            segments.append(([], []))
        else:
            open_tag = close_tag = ""
            if tag == "ref" and node.get("target"):
                open_tag = f'<a href="{escape(node.get("target") or "")}">'
                close_tag = "</a>"
            elif tag == "hi" and node.get("rend") in {"#b", "#i"}:
                name = "strong" if node.get("rend") == "#b" else "em"
                open_tag, close_tag = f"<{name}>", f"</{name}>"
            segments[-1][1].append(open_tag)
            add(node.text)
            for child in node:
                walk(child, top=False)
            segments[-1][1].append(close_tag)
        if not top or tag == "lb":
            add(node.tail)

    add(el.text)
    for child in el:
        walk(child, top=True)
        if child.tag != "lb":
            add(child.tail)
    return [("".join(t), "".join(h).strip()) for t, h in segments if "".join(t).strip()]


def _paragraph_blocks(kind: str, el: lxml.etree._Element) -> list[_Block]:
    """A block per line: publishers separate paragraphs with <br><br> as often as with <p>, and
    a line of furniture ("Also read: ...") must stay apart from the paragraph after it."""
    return [_Block(kind, text, html) for text, html in _inline(el)]


def _code_text(el: lxml.etree._Element) -> str:
    """A code block's text, its line breaks (<lb/>) kept: "// load-add.js" + "const ..."."""
    parts = [el.text or ""]
    for node in el.iterdescendants():
        parts.append("\n" if node.tag == "lb" else (node.text or ""))
        parts.append(node.tail or "")
    return "".join(parts)


_INLINE_XML = frozenset({"hi", "ref", "lb", "del", "graphic"})


def _blocks(main: lxml.etree._Element) -> list[_Block]:
    blocks: list[_Block] = []
    for child in main:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "p":
            blocks.extend(_paragraph_blocks("p", child))
        elif tag == "head":
            blocks.extend(_paragraph_blocks(_HEADINGS.get(child.get("rend") or "", "h3"), child))
        elif tag == "list":
            kind = "li-ol" if child.get("rend") == "ol" else "li-ul"
            for item in child.iter("item"):
                blocks.extend(_paragraph_blocks(kind, item))
        elif tag == "quote":
            inner = [p for p in child if p.tag == "p"] or [child]
            for part in inner:
                blocks.extend(_paragraph_blocks("quote", part))
        elif tag == "code":
            text = _code_text(child)
            if text.strip():
                blocks.append(_Block("pre", text, escape(text, quote=False)))
        elif tag == "table":
            # a table of prose (layout tables, fact boxes): a paragraph per row
            for row in child.iter("row"):
                cells = [" ".join("".join(c.itertext()).split()) for c in row.iter("cell")]
                text = " ".join(c for c in cells if c)
                if text:
                    blocks.append(_Block("p", text, escape(text, quote=False)))
        elif tag in {"div", "main", "section"} or (tag and len(child) and tag not in _INLINE_XML):
            if child.text and child.text.strip():
                blocks.append(_Block("p", child.text, escape(child.text, quote=False)))
            blocks.extend(_blocks(child))  # trafilatura keeps some wrappers: <div><p>...</p></div>
        elif tag and child.text and child.text.strip():
            blocks.extend(_paragraph_blocks("p", child))
        if child.tail and child.tail.strip():  # text trafilatura left between blocks
            blocks.append(_Block("p", child.tail, escape(child.tail, quote=False)))
    return blocks


def _run_trafilatura(tree: HtmlElement, url: str | None, *, recall: bool) -> list[_Block]:
    """trafilatura's main text as blocks. Its element tree is read directly: serializing it to
    XML (with a content fingerprint) and parsing that back cost as much as our own rules."""
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            output_format="xml",
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=True,
            include_formatting=True,
            deduplicate=False,
            favor_recall=recall,
            with_metadata=False,
            as_dict=False,
        )
    except (ValueError, TypeError, RecursionError, lxml.etree.LxmlError) as exc:
        raise ExtractionError(f"extractor failed: {exc}") from None
    body = getattr(document, "body", None)
    return _blocks(body) if body is not None and len(body) else []


# -- assembling the article --------------------------------------------------------------------


def _clean_blocks(
    blocks: list[_Block], title: str | None, words: clean.PageWords | None = None
) -> list[_Block]:
    seen = {clean.dedupe_key(title)} if title else set()
    kept: list[_Block] = []
    for block in blocks:
        original = clean.normalize_whitespace(block.text)
        raw = clean.split_glued_words(original, words) if words is not None else original
        text = clean.clean_paragraph(raw)
        if text is None:
            continue
        key = clean.dedupe_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        # rules that changed the words invalidate the inline markup: fall back to the clean text
        html = block.html if text == original else escape(text, quote=False)
        kept.append(_Block(block.kind, text, html))
    while kept and kept[-1].kind.startswith("h"):  # a heading with nothing under it
        kept.pop()
    return kept


def _render(blocks: list[_Block]) -> str:
    out: list[str] = []
    open_list = ""
    for block in blocks:
        list_tag = block.kind[3:] if block.kind.startswith("li-") else ""
        if list_tag != open_list:
            if open_list:
                out.append(f"</{open_list}>")
            if list_tag:
                out.append(f"<{list_tag}>")
            open_list = list_tag
        if list_tag:
            out.append(f"<li>{block.html}</li>")
        elif block.kind == "quote":
            out.append(f"<blockquote><p>{block.html}</p></blockquote>")
        elif block.kind == "pre":
            out.append(f"<pre><code>{block.html}</code></pre>")
        else:
            out.append(f"<{block.kind}>{block.html}</{block.kind}>")
    if open_list:
        out.append(f"</{open_list}>")
    return "\n".join(out)


_SENTENCE_END = re.compile(r"[.!?…][\"”’)]?(?:\s|$)")


def _implausible(blocks: list[_Block], page_chars: int) -> str | None:
    """Why ``blocks`` cannot be the article of a page of ``page_chars``, or None."""
    text = " ".join(b.text for b in blocks if not b.kind.startswith("h"))
    if not text.strip():
        return "no article text found"
    if page_chars < LARGE_PAGE_CHARS:
        return None
    if len(text) < MIN_TEXT_CHARS:
        return f"only {len(text)} characters of text in a page of {page_chars:,}"
    if len(_SENTENCE_END.findall(text)) < 2 and len(blocks) < 2:
        return "less than two sentences of text"
    return None


def extract_article(
    html: str | bytes, url: str | None = None, *, max_bytes: int = 5_000_000
) -> ExtractedArticle:
    """Extract the article of one page.

    Raises ``ExtractionError`` when the page cannot be processed (too large or too complex) and
    ``NotAnArticle`` when it holds no plausible article text. Never returns an empty article.
    """
    text = decode_html(html, max_bytes=max_bytes)
    tree = parse_html(text)
    meta: PageMetadata = extract_metadata(tree, url)
    base_url = meta.canonical_url or url
    keep_word_boundaries(tree)
    words = clean.PageWords.of(tree.text_content())
    spare = deepcopy(tree)
    remove_furniture(tree)
    blocks = _clean_blocks(_run_trafilatura(tree, url, recall=False), meta.title, words)
    reason = _implausible(blocks, len(text))
    # The furniture rules can take the article with them (a page that wraps its story in a
    # "related" box), and trafilatura's precise pass can miss a plain page: try the page as it
    # came, then trafilatura's recall mode; the text rules still clean every paragraph.
    for recall in (False, True):
        if reason is None:
            break
        tree = deepcopy(spare) if not recall else spare
        retry = _clean_blocks(_run_trafilatura(tree, url, recall=recall), meta.title, words)
        if len("".join(b.text for b in retry)) > len("".join(b.text for b in blocks)):
            blocks, reason = retry, _implausible(retry, len(text))
    if reason is not None:
        raise NotAnArticle(reason)

    paragraphs = tuple(b.text for b in blocks)
    title = meta.title or next((b.text for b in blocks if b.kind.startswith("h")), "")
    return ExtractedArticle(
        title=title,
        text="\n\n".join(paragraphs),
        paragraphs=paragraphs,
        html=sanitize_html(_render(blocks), base_url=base_url),
        authors=meta.authors,
        published_at=meta.published_at,
        updated_at=meta.updated_at,
        image_url=meta.image_url,
        description=meta.description,
        section=meta.section,
        language=meta.language,
        canonical_url=meta.canonical_url,
        site_name=meta.site_name,
        keywords=meta.keywords,
    )
