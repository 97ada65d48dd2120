"""Text-level news rules applied to extracted paragraphs: pure functions over strings.

The DOM pre-clean in ``extract`` removes most publisher furniture before trafilatura sees the page;
these rules catch what survives as text (see ``/work/shared/examples/seed-page.txt``): furniture
lines, furniture glued to the start or end of a real paragraph, crumbs of markup, sentences glued
together, teasers and duplicates. Every rule is data (compiled patterns) with the reason it exists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_I = re.IGNORECASE

# Only paragraphs shorter than this can be a furniture *line*: real prose that merely starts with
# "Sign up for" or "Watch" is long, furniture is short.
MAX_FURNITURE_LINE = 300

# Whole paragraphs that are publisher furniture (matched against the stripped paragraph).
FURNITURE_LINES: tuple[re.Pattern[str], ...] = (
    # ad slot markers left in the body ("STORY CONTINUES BELOW THIS AD" in the seed page)
    re.compile(r"(story|article) continues (below|after)( this)? (ad|advertisement)\W*", _I),
    re.compile(r"\W*(advertisement|advertising|ad|(sponsored|promoted)( content)?)\W*", _I),
    re.compile(r"scroll (down )?to continue( reading| with content)?\W*", _I),
    # Economic Times' events widget heading, left as a bare line ("Live Events" in the seed)
    re.compile(r"live events\W*", _I),
    # messaging-channel prompts: "(You can now subscribe to our ... WhatsApp channel)"
    re.compile(r"\W*(you can now )?(subscribe|join|follow)\b.{0,80}\b(whatsapp|telegram)\b.*", _I),
    # link-out lines pointing at other articles
    re.compile(
        r"(also read|read also|read more|more to read|see also|related( stories| articles"
        r"| coverage| content| reading)?|recommended( for you)?|must read|don't miss|"
        r"read next|up next|more from \w+( \w+)?|trending( now)?|you may also like)\s*[:|>»–—-].*",
        _I,
    ),
    # bare teaser buttons and widgets
    re.compile(
        r"\W*(read more|continue reading|read the full (story|article)|show more|load more|"
        r"view comments|comments|no comments yet\W*|be the first to comment\W*|related articles|"
        r"hashtags|most (read|popular|viewed)|top stories|share( this( article| story)?)?|"
        r"click to expand|back to top|skip to (main )?content)\W*",
        _I,
    ),
    # newsletter and registration boxes
    re.compile(r"(subscribe|sign up|register)( now)? (to|for)\b.*", _I),
    re.compile(r"(get|receive) (our|the) .{0,40}(newsletter|briefing|alerts?)\b.*", _I),
    re.compile(r"click here (to|for)\b.*", _I),
    re.compile(r"(follow|like) us on\b.*", _I),
    re.compile(r"(download|get) (our|the) .{0,30}\bapp\b.*", _I),
    # copyright and reprint notices from the page footer
    re.compile(r"\W*(copyright\b|©|\(c\) \d{4}).*", _I),
    # datelines printed as page furniture ("First Published: 28 Apr 2025, 05:38 AM IST")
    re.compile(
        r"((first |last )?(published|updated|posted)( on| at)?\s*:|(first published|last updated"
        r"|(published|updated|posted) (on|at))\b).{0,60}\d.{0,30}",
        _I,
    ),
)

# Furniture glued to the *start* of a real paragraph (stripped repeatedly): the seed has
# "Live Events (You can now subscribe to our (You can now subscribe to our Economic Times WhatsApp
# channel The targets were ...".
LEADING_FRAGMENTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\s*live events\b[\s:.|-]*", _I),
    re.compile(r"^\s*(advertisement|story continues below( this)? ad)\b[\s:.|-]*", _I),
    re.compile(
        r"^\s*(\(?\s*you can now subscribe to our\s+){1,3}(\w+\s+){0,5}?"
        r"(whatsapp|telegram|google news) channel\b\s*\)?[\s.]*",
        _I,
    ),
)

# Furniture glued to the *end* of a real paragraph.
TRAILING_FRAGMENTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[\s|-]*\b(advertisement|story continues below( this)? ad)\s*$", _I),
    re.compile(
        r"\s*(\(?\s*you can now subscribe to our\s+){1,3}(\w+\s+){0,5}?"
        r"(whatsapp|telegram|google news) channel\b\s*\)?\s*$",
        _I,
    ),
)

# Furniture that can sit anywhere inside a paragraph; matched case-sensitively where the words are
# ordinary English ("advertisement") so only the shouted marker is removed.
INLINE_FRAGMENTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\s*\bSTORY CONTINUES BELOW THIS AD\b\s*"),
    re.compile(r"\s*\bADVERTISEMENT\b\s*"),
    re.compile(
        r"\s*(\(?\s*you can now subscribe to our\s+){1,3}(\w+\s+){0,5}?"
        r"(whatsapp|telegram) channel\b\s*\)?\s*",
        _I,
    ),
)

# A teaser ends in "read more"; the teaser text before a mid-paragraph "read more" duplicates the
# article that follows it (seed: "... among other issues read more Kremlin appears to ...").
TEASER_END = re.compile(r"(\.\.\.|…)?\s*[\[(]?\s*(read more|continue reading)\s*[\])»›>]*\s*$", _I)
TEASER_MID = re.compile(r"^.*?[.?!…\"”’)]\s+(?:read more|continue reading)\s+(?=[A-Z\"“‘])", _I)

# Crumbs of markup left where an image or embed was.
CRUMBS: tuple[re.Pattern[str], ...] = (
    # WordPress caption/embed shortcodes
    re.compile(r"\[caption\b[^\]]*\].*?\[/caption\]", _I | re.DOTALL),
    re.compile(r"\[/?(caption|embed|gallery|video|audio|tweet|youtube|instagram)\b[^\]]*\]", _I),
    # markdown images left by a text renderer
    re.compile(r"!\[[^\]]*\]\([^)\s]*\)"),
    # image-CDN query strings cut off from their URL ("&w=3840&q=100)" in the seed)
    re.compile(
        r"(?<![^\s(])[^\s?&]{0,300}"
        r"(?:[?&](?:w|h|q|width|height|quality|fit|crop|auto|fm|format|dpr|resize)=[\w%.,:-]{0,60}){2,}"
        r"\)?",
        _I,
    ),
)

# Paragraphs that are nothing but a crumb.
CRUMB_LINES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(https?://|www\.)\S+"),  # a bare URL standing alone
    re.compile(r"[^\w]*|[\W\d_]+"),  # no letters at all: counters, bullets, view counts
    re.compile(r"\S+\.(jpe?g|png|gif|webp|avif|svg)(\?\S*)?", _I),  # a file name
)

# A sentence end running into the next token: "said.23392", "trucks.\"Operation". Two lower-case
# letters before the stop keep "e.g." and "U.S." out; domains are lower-case after the dot.
_GLUED = re.compile(r"(?<=[a-z]{2})([.!?])([\"“”’]?)(?=[A-Z0-9])")
# A number glued to the end of the last sentence is a counter from a widget, never prose.
_GLUED_TRAILING_NUMBER = re.compile(r"(?<=[a-z]{2}[.!?])\d+$")

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"\s+")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[\"“‘(]?[A-Z0-9])")


# One pattern for each list above, so that a paragraph is checked in one pass; and cheap hints
# that tell whether the slower rules can match at all (most paragraphs are plain prose).
_FURNITURE_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in FURNITURE_LINES), _I)
_CRUMB_LINE_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in CRUMB_LINES), _I)
_FRAGMENT_HINT = re.compile(r"live events|advertisement|story continues|subscribe", _I)
_TEASER_HINT = re.compile(r"read more|continue reading", _I)


def normalize_whitespace(text: str) -> str:
    """NFC, invisible characters removed, every run of whitespace (nbsp included) one space."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip()


def strip_crumbs(text: str) -> str:
    if "[" not in text and "=" not in text:  # every crumb holds one of them
        return text
    for pattern in CRUMBS:
        text = pattern.sub(" ", text)
    return normalize_whitespace(text)


def strip_furniture_fragments(text: str) -> str:
    """Remove furniture glued to the start or end of a paragraph, or shouted inside it."""
    if not _FRAGMENT_HINT.search(text):
        return text
    for pattern in INLINE_FRAGMENTS:
        text = pattern.sub(" ", text)
    changed = True
    while changed and text:
        before = text
        for pattern in LEADING_FRAGMENTS:
            text = pattern.sub("", text, count=1)
        for pattern in TRAILING_FRAGMENTS:
            text = pattern.sub("", text, count=1)
        changed = text != before
    return normalize_whitespace(text)


def fix_glued_sentences(text: str) -> str:
    """Put the missing space back where a sentence end runs into the next sentence."""
    text = _GLUED_TRAILING_NUMBER.sub("", text)

    def space(match: re.Match[str]) -> str:
        stop, quote = match.group(1), match.group(2)
        if not quote or quote in "”’":
            return f"{stop}{quote} "
        if quote == "“":
            return f"{stop} {quote}"
        # a straight quote closes a quotation if an odd number of them came before it
        closing = text.count('"', 0, match.start()) % 2 == 1
        return f'{stop}" ' if closing else f'{stop} "'

    return _GLUED.sub(space, text)


def is_furniture(text: str) -> bool:
    """True when the whole paragraph is furniture or a crumb."""
    text = text.strip()
    if _CRUMB_LINE_ANY.fullmatch(text):
        return True
    return len(text) < MAX_FURNITURE_LINE and _FURNITURE_ANY.fullmatch(text) is not None


def drop_repeated_sentences(text: str) -> str:
    """Collapse a sentence repeated back to back ("X. X. Y." -> "X. Y.")."""
    sentences = _SENTENCE_SPLIT.split(text)
    kept = [s for i, s in enumerate(sentences) if i == 0 or s != sentences[i - 1]]
    return " ".join(kept)


def clean_paragraph(text: str) -> str | None:
    """One paragraph through every rule; None when nothing worth keeping is left."""
    text = normalize_whitespace(text)
    if not text or is_furniture(text):
        return None
    original = text
    text = strip_crumbs(text)
    text = strip_furniture_fragments(text)
    if _TEASER_HINT.search(text):
        if TEASER_END.search(text):
            return None
        text = TEASER_MID.sub("", text, count=1)
    text = drop_repeated_sentences(fix_glued_sentences(text))
    if text != original:
        text = normalize_whitespace(text)
        if not text or is_furniture(text):
            return None
    return text


_NOT_ALNUM = re.compile(r"[\W_]+")


def dedupe_key(text: str) -> str:
    """Case-, space- and punctuation-insensitive identity of a paragraph."""
    return _NOT_ALNUM.sub("", text.casefold())


def clean_paragraphs(paragraphs: Iterable[str]) -> list[str]:
    """Every rule over a sequence of paragraphs, duplicates (the later copies) dropped."""
    seen: set[str] = set()
    kept: list[str] = []
    for raw in paragraphs:
        text = clean_paragraph(raw)
        if text is None:
            continue
        key = dedupe_key(text)
        if key in seen:
            continue
        seen.add(key)
        kept.append(text)
    return kept


# -- words glued across a dropped space --------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class PageWords:
    """The words of the page itself, to tell a glued pair ("ofinexpensive") from a real word."""

    vocabulary: frozenset[str]

    @classmethod
    def of(cls, page_text: str) -> PageWords:
        return cls(frozenset(_WORD.findall(page_text.casefold())))

    def split(self, word: str) -> str | None:
        """``word`` with a space put back where it is two page words run together; None when it
        is a page word itself or no such pair."""
        key = word.casefold()
        if key in self.vocabulary or len(key) != len(word) or len(key) < 4:
            return None
        for cut in range(2, len(key) - 1):
            if key[:cut] in self.vocabulary and key[cut:] in self.vocabulary:
                return f"{word[:cut]} {word[cut:]}"
        return None


def split_glued_words(text: str, words: PageWords) -> str:
    """Put back the space between two words that the page wrote apart and extraction joined.

    Every word of an extracted paragraph comes from the page; one that the page never writes
    but that is two page words run together can only come from a space lost across markup
    (``clouds</a><b> </b>are`` -> "cloudsare")."""
    vocabulary = words.vocabulary
    found = [w for w in _WORD.findall(text) if w.casefold() not in vocabulary]
    for word in found:
        fixed = words.split(word)
        if fixed is not None:
            text = re.sub(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", fixed, text)
    return text
