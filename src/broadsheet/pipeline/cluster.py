"""First story grouping: online, over headline and lead, inside a time window.

Each new article joins the open story whose centroid it resembles most (TF-IDF weighted cosine
over headline and lead words, the headline counting double) if that resemblance clears the
threshold, or starts a new story. Only stories seen within the window are held, so the cost of
placing an article depends on the window, not on the size of the archive. The stories issue
replaces the vectors with sentence embeddings and entities and adds merging and splitting; the
interface (add, place, representative title) stays.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_WORD = re.compile(r"[^\W\d_]{2,}|\d+(?:[.,]\d+)*", re.UNICODE)

# Words that say nothing about which event an article covers.
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own said same says she should so some such than that the their theirs them then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours new news live latest update updates
    report reports today year years week day first last two three one amid after says say
    """.split()
)

TITLE_WEIGHT = 2.0


def tokens(text: str) -> list[str]:
    """Lower-cased, accent-folded content words with a light plural/possessive stem."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.replace("'s ", " ").replace("’s ", " ")
    out = []
    for word in _WORD.findall(folded):
        if word in _STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def _term_counts(title: str, lead: str) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    for word in tokens(title):
        counts[word] += TITLE_WEIGHT
    for word in tokens(lead):
        counts[word] += 1.0
    return dict(counts)


@dataclass(slots=True)
class _Story:
    last_seen: datetime
    members: dict[str, tuple[str, dict[str, float]]] = field(default_factory=dict)
    centroid: dict[str, float] = field(default_factory=lambda: defaultdict(float))


class StoryGrouper:
    """The open window of stories, in memory, and the rule that places a new article."""

    def __init__(self, *, threshold: float, window: timedelta) -> None:
        self.threshold = threshold
        self.window = window
        self._stories: dict[int, _Story] = {}
        self._df: Counter[str] = Counter()  # in how many window articles each word appears
        self._docs = 0

    def __len__(self) -> int:
        return len(self._stories)

    def add(self, story_id: int, article_id: str, *, title: str, lead: str, at: datetime) -> None:
        """Record that an article belongs to a story (existing members on start-up, and every
        article once placed)."""
        story = self._stories.setdefault(story_id, _Story(last_seen=at))
        if article_id in story.members:
            return
        counts = _term_counts(title, lead)
        story.members[article_id] = (title, counts)
        for word, weight in counts.items():
            story.centroid[word] += weight
        story.last_seen = max(story.last_seen, at)
        self._df.update(counts.keys())
        self._docs += 1

    def place(self, *, title: str, lead: str, at: datetime) -> int | None:
        """The id of the story this article belongs to, or None when it starts a new one."""
        counts = _term_counts(title, lead)
        if not counts:
            return None
        vector = self._weigh(counts)
        best_id, best_score = None, self.threshold
        for story_id, story in self._stories.items():
            if abs(at - story.last_seen) > self.window:
                continue
            score = _cosine(vector, self._weigh(story.centroid))
            if score >= best_score:
                best_id, best_score = story_id, score
        return best_id

    def representative_title(self, story_id: int) -> str:
        """The member headline closest to the story's centroid."""
        story = self._stories[story_id]
        centroid = self._weigh(story.centroid)
        title, _ = max(
            story.members.values(),
            key=lambda member: (_cosine(self._weigh(member[1]), centroid), -len(member[0])),
        )
        return title

    def _weigh(self, counts: dict[str, float]) -> dict[str, float]:
        n = self._docs + 1
        return {w: c * (math.log((n + 1) / (self._df[w] + 1)) + 1.0) for w, c in counts.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    if not dot:
        return 0.0
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)
