"""Tags for an article: people, organisations, places and hashtags, normalised.

No trustworthy, CI-sized NER model ships on PyPI (spaCy's own models are not on PyPI; the copies
there are third-party re-uploads), so this is a rule- and statistics-based tagger:

1. candidates are runs of capitalised words (with name particles such as "de", "bin", "al-"),
   split at sentence starts that are ordinary words, plus upper-case acronyms;
2. each candidate gets a kind from cues: a gazetteer of countries, capitals and large cities
   and US states (with demonyms: "Ukrainian" tags Ukraine); organisation suffixes ("Inc",
   "Bank", "Ministry", ...) and acronyms; personal titles ("President", "Mr") and
   speech verbs ("X said") for people, and two- to four-word names with a known given name;
3. mentions are normalised (accents folded, hyphens and apostrophes unified, possessives
   dropped) and a short mention is resolved to a longer one of the same article that contains
   it as its last or first word: "Kim Jong Un", "Kim Jong-un" and "Kim" give one tag; "Biden"
   joins "Joe Biden".

``tag_article`` returns tags in order of salience (headline first, then frequency). Story tags
are the union of its articles' tags, merged the same way (``merge_tags``). Slugs use
``tags.slugify``, so a tag page keeps its address when a better tagger arrives.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from broadsheet.pipeline.tags import hashtags as keyword_tags
from broadsheet.pipeline.tags import slugify

PERSON, ORGANISATION, PLACE, TOPIC, OTHER = "person", "organisation", "place", "topic", "other"
MAX_TAGS = 12

_CAP = r"(?:[A-Z][\w'’.-]*|[A-Z]{2,}\b)"
_PARTICLE = r"(?:de|da|del|della|der|den|di|du|van|von|bin|ibn|al|el|la|le|of|the|and|&)"
_NAME_RUN = re.compile(rf"(?<![\w'’]){_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_CAP})*", re.UNICODE)
_HASHTAG = re.compile(r"(?<![\w&#])#([^\W\d_][\w]{1,49})", re.UNICODE)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”]\s+|\n)\s*$")

_GIVEN_NAMES = frozenset(
    """aaron adam adrian ahmed alan albert alex alexander alexandra ali alice amanda amy andrew
    angela anna anne anthony antonio ben benjamin bernie bill bob boris brian bruce carl carlos
    caroline catherine charles charlie chris christian christine christopher claire clare
    daniel david donald edward elizabeth elon emily emma emmanuel eric fernando francis frank
    fred george hillary hugh ian jack jacob james jane janet jason jean jeff jennifer jeremy
    jessica jim joe john jonathan jose joseph juan julia justin karen kate keir kevin kim
    kristen lady laura lee lindsay lisa liz louis lucy luis maria mark martin mary matt
    matthew michael michelle mike mohammed muhammad nancy narendra nicholas nick nicola nikki
    oliver olivia pablo patrick paul peter philip rachel rebecca richard rishi robert ron sam
    sarah scott sean sergei simon sophie stephen steve steven susan thomas tim timothy tom tony
    victoria vladimir volodymyr william xi zac""".split()
)
_TITLES = frozenset(
    """mr mrs ms dr sir dame lord president vice prime minister chancellor senator sen rep
    governor gov mayor king queen prince princess pope judge justice general gen chief ceo
    chairman chairwoman secretary ambassador coach captain rev archbishop""".split()
)
_ORG_WORDS = frozenset(
    """inc inc. corp corp. corporation co co. ltd ltd. llc plc group holdings bank banks
    university college school institute foundation association union party council ministry
    department agency commission committee court police army navy fund trust airlines airways
    motors technologies systems network news times post journal press club fc league federation
    organisation organization authority board service services exchange reserve parliament
    congress senate government administration company""".split()
)
_KNOWN_ORGS = frozenset(
    """apple google microsoft amazon facebook meta netflix twitter ebay paypal tesla nasa fbi
    cia un nato eu ecb imf fed sec who opec abc nbc cbs cnn bbc reuters gm ford toyota honda
    samsung sony nintendo intel ibm oracle uber airbnb walmart mcdonald's""".split()
)
# Countries, large cities and US states: a compact gazetteer; demonyms map to their place.
_PLACES = frozenset(
    """afghanistan albania algeria argentina armenia australia austria azerbaijan bahrain
    bangladesh belarus belgium bolivia bosnia brazil bulgaria cambodia cameroon canada chile
    china colombia congo croatia cuba cyprus czechia denmark ecuador egypt england estonia
    ethiopia finland france georgia germany ghana greece guatemala haiti honduras hungary
    iceland india indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan
    kenya korea kosovo kuwait laos latvia lebanon libya lithuania luxembourg malaysia mali
    malta mexico moldova mongolia montenegro morocco mozambique myanmar nepal netherlands
    nicaragua niger nigeria norway oman pakistan palestine panama paraguay peru philippines
    poland portugal qatar romania russia rwanda scotland senegal serbia singapore slovakia
    slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand tunisia
    turkey uganda ukraine uruguay uzbekistan venezuela vietnam wales yemen zambia zimbabwe
    america britain europe africa asia gaza crimea kashmir tibet hong kong
    london paris berlin madrid rome moscow kyiv kiev beijing shanghai tokyo seoul delhi mumbai
    hyderabad bangalore chennai kolkata karachi lahore islamabad dhaka jakarta manila bangkok
    hanoi sydney melbourne toronto vancouver montreal ottawa chicago boston houston dallas
    atlanta miami seattle denver detroit phoenix philadelphia washington york los angeles
    san francisco vegas brussels amsterdam vienna warsaw prague budapest athens istanbul
    ankara tehran baghdad damascus beirut jerusalem cairo dubai riyadh doha lagos nairobi
    johannesburg dallas geneva zurich dublin edinburgh manchester milan munich frankfurt
    alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii
    idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon
    pennsylvania tennessee texas utah vermont virginia wisconsin wyoming""".split()
)
_MULTI_PLACES = frozenset(
    """united states|united kingdom|new york|los angeles|san francisco|hong kong|new delhi|
    south africa|south korea|north korea|saudi arabia|new zealand|sri lanka|las vegas|
    new jersey|new mexico|north carolina|south carolina|west virginia|rhode island|
    south dakota|north dakota|new hampshire|abu dhabi|tel aviv|buenos aires|rio de janeiro|
    mexico city|cape town|st petersburg|white house|wall street""".replace("\n", "")
    .replace(" |", "|")
    .split("|")
)
_DEMONYMS = {
    "american": "United States",
    "british": "United Kingdom",
    "chinese": "China",
    "russian": "Russia",
    "ukrainian": "Ukraine",
    "french": "France",
    "german": "Germany",
    "indian": "India",
    "japanese": "Japan",
    "israeli": "Israel",
    "palestinian": "Palestine",
    "iranian": "Iran",
    "syrian": "Syria",
    "turkish": "Turkey",
    "mexican": "Mexico",
    "canadian": "Canada",
    "australian": "Australia",
    "italian": "Italy",
    "spanish": "Spain",
    "pakistani": "Pakistan",
    "korean": "Korea",
    "european": "Europe",
    "brazilian": "Brazil",
    "egyptian": "Egypt",
}
_PLACE_ALIASES = {
    "us": "United States",
    "u s": "United States",
    "usa": "United States",
    "u s a": "United States",
    "america": "United States",
    "uk": "United Kingdom",
    "u k": "United Kingdom",
    "britain": "United Kingdom",
    "great britain": "United Kingdom",
    "kiev": "Kyiv",
}
_SPEECH = re.compile(r"^\s*(?:,\s*\w+(?:\s+\w+)?,\s*)?(?:said|says|told|added|argued|wrote)\b")
# Capitalised words that start sentences or headlines without naming anything.
_COMMON_CAPS = frozenset(
    """a an the this that these those it its he she they we i you his her their our my your
    in on at by for from with without after before as when while if but and or so not no yes
    here there what who why how where which breaking update watch video photos exclusive live
    opinion analysis review recap comment editorial report news today tonight yesterday
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december""".split()
)


@dataclass(frozen=True, slots=True)
class Tag:
    slug: str
    name: str
    kind: str  # person, organisation, place, topic (a hashtag or keyword), other

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.slug, self.name, self.kind)


def fold(text: str) -> str:
    """The comparison form of a name: accents folded, hyphens and dots to spaces, possessive
    dropped, lower case, single spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"['’]s\b", "", text)
    text = re.sub(r"[-‐–—_/.'’]+", " ", text)
    return " ".join(text.lower().split())


def _mentions(text: str) -> list[tuple[str, bool, str]]:
    """(surface, at sentence start, following text) for each capitalised run."""
    out = []
    for match in _NAME_RUN.finditer(text):
        start = bool(_SENTENCE_START.search(text[: match.start()]))
        # a possessive ends a name: "Fed's Charles Plosser" is two
        for piece in re.split(r"(?<=['’]s)\s+", match.group(0)):
            surface = re.sub(r"['’]s$", "", piece).strip(" .-'’")
            if surface:
                out.append((surface, start, text[match.end() : match.end() + 40]))
            start = False
    return out


def is_title_case(line: str) -> bool:
    """Whether a headline capitalises its ordinary words (then capitals say little)."""
    words = re.findall(r"[^\W\d_]{4,}", line)
    if len(words) < 3:
        return False
    capitalised: int = sum(w[0].isupper() for w in words)
    return capitalised / len(words) >= 0.75


def _trim(surface: str, at_start: bool) -> str:
    """Drop leading common words ("The", "In", a sentence-initial "Breaking") and trailing
    particles from a run."""
    words = surface.split()
    while words and (words[0].lower().strip(".,") in _COMMON_CAPS):
        words = words[1:]
    while words and re.fullmatch(_PARTICLE, words[-1].lower()):
        words = words[:-1]
    if at_start and len(words) == 1 and words[0].lower() in _COMMON_CAPS:
        return ""
    return " ".join(words)


def _kind(name: str, following: str, preceding_title: bool) -> str:
    key = fold(name)
    words = key.split()
    if key in _PLACE_ALIASES or key in _PLACES or key in _MULTI_PLACES:
        return PLACE
    if key in _KNOWN_ORGS or (words and words[-1] in _ORG_WORDS):
        return ORGANISATION
    if preceding_title or _SPEECH.match(following):
        return PERSON if len(words) <= 4 and not any(w in _ORG_WORDS for w in words) else OTHER
    if 2 <= len(words) <= 4 and words[0] in _GIVEN_NAMES:
        return PERSON
    raw = name.replace(".", "")
    if raw.isupper() and 2 <= len(raw) <= 5:
        return ORGANISATION
    return OTHER


def name_keys(text: str) -> list[str]:
    """Folded proper-name mentions of a text (cheap: no kinds, no resolution); used by the
    story grouper to weigh names above ordinary words."""
    keys = []
    for surface, at_start, _ in _mentions(text):
        name = _trim(surface, at_start)
        if name and (len(name.split()) > 1 or not at_start):
            keys.append(fold(name))
    return keys


def tag_article(
    title: str, text: str = "", keywords: Sequence[str] = (), *, limit: int = MAX_TAGS
) -> list[Tag]:
    """Tags of one article, most salient first: entities from the headline and text, then the
    publisher's keywords and the text's hashtags (kind ``topic``)."""
    counts: Counter[str] = Counter()
    in_title: set[str] = set()
    surfaces: dict[str, Counter[str]] = {}
    kinds: dict[str, Counter[str]] = {}
    folded_text = fold(text)
    for part, weight in ((title, 3), (text, 1)):
        title_case = weight > 1 and is_title_case(part)
        for sentence_text in _sentences(part):
            for surface, at_start, following in _mentions(sentence_text):
                words = surface.split()
                titled = bool(words) and words[0].lower().strip(".") in _TITLES
                name = _trim(
                    " ".join(w for w in words if w.lower().strip(".") not in _TITLES), at_start
                )
                if not name:
                    continue
                key = fold(name)
                if len(key) < 2 or key in _COMMON_CAPS:
                    continue
                if at_start and len(key.split()) == 1 and not _looks_named(key, part):
                    continue
                if title_case and f" {key} " not in f" {folded_text} ":
                    continue  # a title-case headline's runs count only if the text has them
                kind = _kind(name, following, titled)
                demonym = _DEMONYMS.get(key)
                if demonym is not None:
                    name, key, kind = demonym, fold(demonym), PLACE
                alias = _PLACE_ALIASES.get(key)
                if alias is not None:
                    name, key, kind = alias, fold(alias), PLACE
                counts[key] += weight
                surfaces.setdefault(key, Counter())[name] += 1
                kinds.setdefault(key, Counter())[kind] += 1
                if weight > 1:
                    in_title.add(key)
    resolved = _resolve(list(counts))
    merged: Counter[str] = Counter()
    merged_kinds: dict[str, Counter[str]] = {}
    merged_surfaces: dict[str, Counter[str]] = {}
    for key, n in counts.items():
        target = resolved[key]
        merged[target] += n
        merged_kinds.setdefault(target, Counter()).update(kinds[key])
        if key == target:
            merged_surfaces.setdefault(target, Counter()).update(surfaces[key])
    title_keys = {resolved[k] for k in in_title}
    tags: list[Tag] = []
    seen: set[str] = set()
    order = sorted(merged, key=lambda k: (k not in title_keys, -merged[k], k))
    for key in order:
        kind_counts = merged_kinds[key]
        kind = _best_kind(kind_counts)
        if kind == OTHER and merged[key] < 2 and key not in title_keys:
            continue  # a lone capitalised word of unknown kind is more often noise than a name
        display = _display(merged_surfaces.get(key) or surfaces[key])
        slug = slugify(display)
        if not slug or slug in seen:
            continue
        seen.add(slug)
        tags.append(Tag(slug, display, kind))
    for slug, name, kind in keyword_tags([*keywords, *_HASHTAG.findall(f"{title}\n{text}")]):
        if slug not in seen:
            seen.add(slug)
            tags.append(Tag(slug, name, kind))
    return tags[:limit]


def merge_tags(per_article: Iterable[Sequence[Tag]], *, limit: int = MAX_TAGS) -> list[Tag]:
    """A story's tags: its articles' tags, one per entity (short mentions resolved to longer
    ones across articles), most widely used first."""
    by_key: dict[str, list[Tag]] = {}
    support: Counter[str] = Counter()
    for tags in per_article:
        for tag in {fold(t.name): t for t in tags}.values():
            key = fold(tag.name)
            by_key.setdefault(key, []).append(tag)
            support[key] += 1
    resolved = _resolve(list(by_key))
    total: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    names: dict[str, Counter[str]] = {}
    for key, tags in by_key.items():
        target = resolved[key]
        total[target] += support[key]
        kinds.setdefault(target, Counter()).update(t.kind for t in tags)
        if key == target:
            names.setdefault(target, Counter()).update(t.name for t in tags)
    out = []
    for key in sorted(total, key=lambda k: (-total[k], k)):
        name = _display(names.get(key) or Counter({by_key[key][0].name: 1}))
        out.append(Tag(slugify(name), name, _best_kind(kinds[key])))
    return out[:limit]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[\"“A-Z])|\n+", text) if s.strip()]


def _looks_named(key: str, text: str) -> bool:
    """A single sentence-initial capitalised word counts only if it is a known name or appears
    capitalised elsewhere than at a sentence start too."""
    if key in _PLACES or key in _KNOWN_ORGS or key in _DEMONYMS or key in _PLACE_ALIASES:
        return True
    pattern = re.compile(rf"[a-z,;]\s+{re.escape(key)}\b", re.IGNORECASE)
    return any(m.group(0).split()[-1][0].isupper() for m in pattern.finditer(text))


def _resolve(keys: list[str]) -> dict[str, str]:
    """Map each key to the longest key that contains it as whole last or first words ("kim" ->
    "kim jong un", "biden" -> "joe biden"); an ambiguous short key (two different longer
    names) stays itself."""
    out = {}
    for key in keys:
        words = key.split()
        longer = [
            other
            for other in keys
            if other != key
            and len(other.split()) > len(words)
            and (other.split()[-len(words) :] == words or other.split()[: len(words)] == words)
        ]
        longest = {max(longer, key=len)} if longer else set()
        distinct = {o for o in longer if not any(o in p and o != p for p in longer)}
        if len(distinct) > 1:
            # "kim" with both "kim jong un" and "kim kardashian": leave it alone
            out[key] = key
        else:
            out[key] = next(iter(longest)) if longest else key
    return out


def _best_kind(kinds: Counter[str]) -> str:
    specific = [(n, k) for k, n in kinds.items() if k != OTHER]
    return max(specific)[1] if specific else OTHER


def _display(surfaces: Counter[str]) -> str:
    """The most used spelling; among equals the one with hyphens (Kim Jong-un) last, longest
    first."""
    return max(surfaces.items(), key=lambda item: (item[1], len(item[0]), item[0]))[0]
