"""Online story grouping: each new article joins the best matching open story or starts one.

An article is compared with every story still open (seen within the window) on three kinds of
evidence, mixed into one score:

- meaning: cosine between the article's sentence embedding (headline and lead, see
  ``cluster_text``) and the story's centroid (the normalised sum of its members' vectors);
- words and names: TF-IDF cosine between the article's content words and the story's word
  counts, the IDF taken over the articles of the open window, so that the names that make a
  story (rare in the window) weigh most and the words every story uses weigh little; proper
  nouns (``entities.name_keys``) count extra;
- time: the score falls by ``decay_per_hour`` for each hour since the story was last seen, so a
  quiet story needs more evidence to reopen than a running one.

The article joins the best story if its score clears ``threshold``. Without embeddings (no
``vector`` given) the words alone decide, as the first grouper did.

Cost: only open stories are held. Each ``add`` or ``place`` first evicts the stories that have
fallen out of the window (with their words' document frequencies), so memory and the cost of one
article depend on the window's traffic, never on the size of the archive. Embedding scores are
one matrix-vector product over the open stories; word scores are computed only for the best
``candidates`` of those (or, without embeddings, for the stories sharing a word).

Evidence changes: ``merge_candidates`` proposes pairs of open stories that now look like one
(a late article bridging them); ``merge`` folds one into the other in memory. Persisting a
merge (moving articles, retiring the old story id) is the caller's job.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from broadsheet.pipeline.entities import name_keys

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
NAME_WEIGHT = 1.0  # extra weight of a word that is part of a proper name
DEFAULT_THRESHOLD = 0.17  # tuned with embeddings on (eval.stories); words alone want 0.15-0.3
EMBEDDING_SHARE = 0.5  # the share of the score that the embedding cosine has, when given
DECAY_PER_HOUR = 0.005
MERGE_THRESHOLD = 0.7
# Characters of the lead that are embedded (bench.stories: all of a 600-character lead costs
# ~1.6x the embedding time of 200; on SemEval-2022 pairs the cosine of such texts correlates
# 0.871 with human judgements against 0.888 for the whole lead)
CLUSTER_LEAD_CHARS = 200

Vector = npt.NDArray[np.float32]


def tokens(text: str) -> list[str]:
    """Lower-cased, accent-folded content words with a light plural/possessive stem."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.replace("'s ", " ").replace("’s ", " ")
    out = []
    for word in _WORD.findall(folded):
        if word in _STOPWORDS:
            continue
        out.append(_stem(word))
    return out


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def cluster_text(title: str, lead: str) -> str:
    """The text embedded for clustering: the headline, then the start of the lead, cut at a
    word before ``CLUSTER_LEAD_CHARS`` (about 64 word pieces in all). Embedding time grows with
    the length of the input, and the lead's later sentences add little to which event an
    article covers; the words of the whole lead still count through ``term_counts``."""
    title, lead = " ".join(title.split()), " ".join(lead.split())
    if len(lead) > CLUSTER_LEAD_CHARS:
        lead = lead[: CLUSTER_LEAD_CHARS + 1].rsplit(" ", 1)[0]
    if not lead:
        return title
    if not title:
        return lead
    return f"{title}. {lead}"


def term_counts(title: str, lead: str) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    for word in tokens(title):
        counts[word] += TITLE_WEIGHT
    for word in tokens(lead):
        counts[word] += 1.0
    for key in name_keys(f"{title}\n{lead}"):
        for word in tokens(key):
            if word in counts:
                counts[word] += NAME_WEIGHT
    return dict(counts)


@dataclass(slots=True)
class _Member:
    title: str
    counts: dict[str, float]
    vector: Vector | None


@dataclass(slots=True)
class _Story:
    id: int
    first_seen: datetime
    last_seen: datetime
    members: dict[str, _Member] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    row: int = -1  # its row in the centroid matrix, -1 while it has no vector
    # (word ids, counts) of ``counts``, for its TF-IDF norm; None when ``counts`` changed
    terms: tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]] | None = None


@dataclass(frozen=True, slots=True)
class MergeProposal:
    keep: int  # the older story, which survives
    absorb: int
    score: float


class StoryGrouper:
    """The open window of stories, in memory, and the rule that places a new article."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        window: timedelta,
        embedding_share: float = EMBEDDING_SHARE,
        decay_per_hour: float = DECAY_PER_HOUR,
        candidates: int = 64,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.embedding_share = embedding_share
        self.decay_per_hour = decay_per_hour
        self.candidates = candidates
        self._stories: dict[int, _Story] = {}
        self._df: Counter[str] = Counter()  # in how many window articles each word appears
        self._docs = 0
        self._postings: dict[str, set[int]] = defaultdict(set)  # word -> open stories using it
        # log(df + 1) of each window word, by word id: a story's TF-IDF norm is then one numpy
        # expression over its word ids instead of a logarithm per word per candidate
        self._word_ids: dict[str, int] = {}
        self._log_df = np.zeros(1024, dtype=np.float64)
        self._free_word_ids = list(range(1023, -1, -1))
        self._now: datetime | None = None  # the latest time seen: the window ends here
        # Centroid sums of open stories with vectors, one row each; rows are reused.
        self._dim: int | None = None
        self._sums: Vector = np.zeros((0, 0), dtype=np.float32)
        self._row_story: list[int] = []  # row -> story id (-1 when free)
        self._free_rows: list[int] = []

    def __len__(self) -> int:
        return len(self._stories)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._stories

    # -- the interface the ingest service uses ------------------------------------------------

    def add(
        self,
        story_id: int,
        article_id: str,
        *,
        title: str,
        lead: str,
        at: datetime,
        vector: npt.ArrayLike | None = None,
    ) -> None:
        """Record that an article belongs to a story (existing members on start-up, and every
        article once placed). ``vector``: its embedding of ``cluster_text(title, lead)``."""
        self._advance(at)
        if self._expired(at):
            return  # older than the open window: it cannot affect placement
        story = self._stories.get(story_id)
        if story is None:
            story = self._stories[story_id] = _Story(story_id, first_seen=at, last_seen=at)
        if article_id in story.members:
            return
        counts = term_counts(title, lead)
        unit = _unit(vector) if vector is not None else None
        story.members[article_id] = _Member(title, counts, unit)
        for word, weight in counts.items():
            story.counts[word] += weight
            self._postings[word].add(story_id)
        story.terms = None
        story.first_seen = min(story.first_seen, at)
        story.last_seen = max(story.last_seen, at)
        self._df.update(counts.keys())
        for word in counts:
            self._df_changed(word)
        self._docs += 1
        if unit is not None:
            row = self._row_of(story, unit.shape[0])
            self._sums[row] += unit

    def place(
        self,
        *,
        title: str,
        lead: str,
        at: datetime,
        vector: npt.ArrayLike | None = None,
    ) -> int | None:
        """The id of the story this article belongs to, or None when it starts a new one."""
        best = self.best_match(title=title, lead=lead, at=at, vector=vector)
        if best is None or best[1] < self.threshold:
            return None
        return best[0]

    def best_match(
        self,
        *,
        title: str,
        lead: str,
        at: datetime,
        vector: npt.ArrayLike | None = None,
    ) -> tuple[int, float] | None:
        """The best open story and its score, whatever the threshold (None if nothing open
        shares any evidence with the article)."""
        self._advance(at)
        counts = term_counts(title, lead)
        unit = _unit(vector) if vector is not None else None
        if not counts and unit is None:
            return None
        scores = self._scores(counts, unit, at)
        if not scores:
            return None
        story_id = max(scores, key=lambda s: (scores[s], self._stories[s].last_seen))
        return story_id, scores[story_id]

    def representative_title(self, story_id: int) -> str:
        """The member headline closest to the story's centre (its embedding centroid when the
        members have vectors, else its weighted words); shorter wins a tie."""
        story = self._stories[story_id]
        if story.row >= 0:
            centroid = _unit(self._sums[story.row])

            def score(m: _Member) -> float:
                return float(m.vector @ centroid) if m.vector is not None else -1.0

        else:
            weighted = self._weigh(story.counts)

            def score(m: _Member) -> float:
                return sparse_cosine(self._weigh(m.counts), weighted)

        best = max(story.members.values(), key=lambda m: (score(m), -len(m.title)))
        return best.title

    # -- merging when evidence changes --------------------------------------------------------

    def merge_candidates(
        self, story_id: int | None = None, *, min_score: float = MERGE_THRESHOLD
    ) -> list[MergeProposal]:
        """Pairs of open stories that now score as one (centroid against centroid, same mix of
        evidence as placing), best first. With ``story_id``: only pairs involving that story,
        which is what to check after adding an article to it."""
        ids = [story_id] if story_id is not None else list(self._stories)
        seen: set[tuple[int, int]] = set()
        out: list[MergeProposal] = []
        for sid in ids:
            story = self._stories.get(sid)
            if story is None:
                continue
            unit = _unit(self._sums[story.row]) if story.row >= 0 else None
            scores = self._scores(dict(story.counts), unit, story.last_seen, exclude=sid)
            for other, score in scores.items():
                pair = (min(sid, other), max(sid, other))
                if score < min_score or pair in seen:
                    continue
                seen.add(pair)
                a, b = self._stories[pair[0]], self._stories[pair[1]]
                keep, absorb = (a, b) if (a.first_seen, a.id) <= (b.first_seen, b.id) else (b, a)
                out.append(MergeProposal(keep.id, absorb.id, score))
        out.sort(key=lambda p: -p.score)
        return out

    def merge(self, keep: int, absorb: int) -> None:
        """Fold story ``absorb`` into ``keep`` (both open)."""
        if keep == absorb:
            return
        target, source = self._stories[keep], self._stories.pop(absorb)
        for article_id, member in source.members.items():
            target.members.setdefault(article_id, member)
        for word, weight in source.counts.items():
            target.counts[word] += weight
            posting = self._postings[word]
            posting.discard(absorb)
            posting.add(keep)
        target.terms = None
        target.first_seen = min(target.first_seen, source.first_seen)
        target.last_seen = max(target.last_seen, source.last_seen)
        if source.row >= 0:
            if target.row < 0:
                target.row = self._take_row()
                self._row_story[target.row] = keep
                self._sums[target.row] = 0.0
            self._sums[target.row] += self._sums[source.row]
            self._release_row(source.row)

    def members(self, story_id: int) -> list[str]:
        return list(self._stories[story_id].members)

    # -- internals ----------------------------------------------------------------------------

    def _scores(
        self,
        counts: dict[str, float],
        unit: Vector | None,
        at: datetime,
        *,
        exclude: int | None = None,
    ) -> dict[int, float]:
        """Score of every candidate open story for these words and this vector."""
        share = self.embedding_share if unit is not None and self._dim is not None else 0.0
        embed_scores: dict[int, float] = {}
        if share:
            assert unit is not None
            live = [r for r, s in enumerate(self._row_story) if s >= 0 and s != exclude]
            if live:
                sums = self._sums[live]
                norms = np.linalg.norm(sums, axis=1)
                norms[norms == 0] = 1.0
                cos = (sums @ unit) / norms
                top = np.argsort(-cos)[: self.candidates]
                embed_scores = {self._row_story[live[i]]: float(cos[i]) for i in top}
            candidates: Iterable[int] = embed_scores
        else:
            found: set[int] = set()
            for word in counts:
                found |= self._postings.get(word, set())
            if exclude is not None:
                found.discard(exclude)
            candidates = found
        # TF-IDF cosine of the article's words and each story's: the article's weight times
        # the IDF once more (the story's weight of a word is its count times the same IDF)
        weighted = self._weigh(counts)
        top_idf = math.log(self._docs + 2) + 1.0  # the IDF of a word in no window article
        twice = {w: v * self._idf(w, top_idf) for w, v in weighted.items()}
        norm = math.sqrt(sum(v * v for v in weighted.values()))
        scores: dict[int, float] = {}
        for sid in candidates:
            story = self._stories[sid]
            if at - story.last_seen > self.window:
                continue
            lexical = 0.0
            if weighted:
                story_counts = story.counts
                dot = sum(v * story_counts.get(w, 0.0) for w, v in twice.items())
                if dot:
                    lexical = dot / (norm * self._norm(story, top_idf))
            score = share * embed_scores.get(sid, 0.0) + (1.0 - share) * lexical
            hours = max(0.0, (at - story.last_seen).total_seconds() / 3600.0)
            scores[sid] = score - self.decay_per_hour * hours
        return scores

    def _weigh(self, counts: dict[str, float]) -> dict[str, float]:
        n = self._docs + 1
        return {w: c * (math.log((n + 1) / (self._df[w] + 1)) + 1.0) for w, c in counts.items()}

    def _idf(self, word: str, top_idf: float) -> float:
        wid = self._word_ids.get(word)
        return top_idf if wid is None else top_idf - float(self._log_df[wid])

    def _norm(self, story: _Story, top_idf: float) -> float:
        """Length of the story's TF-IDF vector (its words' counts times their IDF now)."""
        if story.terms is None:
            ids = np.fromiter((self._word_ids[w] for w in story.counts), np.intp, len(story.counts))
            weights = np.fromiter(story.counts.values(), np.float64, len(story.counts))
            story.terms = (ids, weights)
        ids, weights = story.terms
        weighted = weights * (top_idf - self._log_df[ids])
        return math.sqrt(float(weighted @ weighted))

    def _df_changed(self, word: str) -> None:
        """Keep the word's log(df + 1) in step with ``_df``; free its id when df reaches 0."""
        df = self._df.get(word, 0)
        wid = self._word_ids.get(word)
        if df <= 0:
            if wid is not None:
                del self._word_ids[word]
                self._free_word_ids.append(wid)
            return
        if wid is None:
            if not self._free_word_ids:
                old = self._log_df.shape[0]
                self._log_df = np.concatenate([self._log_df, np.zeros(old)])
                self._free_word_ids = list(range(2 * old - 1, old - 1, -1))
            wid = self._word_ids[word] = self._free_word_ids.pop()
        self._log_df[wid] = math.log(df + 1)

    def _expired(self, at: datetime) -> bool:
        return self._now is not None and self._now - at > self.window

    def _advance(self, at: datetime) -> None:
        """Move the end of the window to ``at`` (if later) and evict what fell out of it."""
        if self._now is not None and at <= self._now:
            return
        self._now = at
        horizon = at - self.window
        for sid in [s for s, story in self._stories.items() if story.last_seen < horizon]:
            self._evict(sid)

    def _evict(self, story_id: int) -> None:
        story = self._stories.pop(story_id)
        for member in story.members.values():
            for word in member.counts:
                self._df[word] -= 1
                if self._df[word] <= 0:
                    del self._df[word]
                self._df_changed(word)
            self._docs -= 1
        for word in story.counts:
            posting = self._postings.get(word)
            if posting is not None:
                posting.discard(story_id)
                if not posting:
                    del self._postings[word]
        if story.row >= 0:
            self._release_row(story.row)

    def _row_of(self, story: _Story, dim: int) -> int:
        if self._dim is None:
            self._dim = dim
            self._sums = np.zeros((16, dim), dtype=np.float32)
            self._row_story = [-1] * 16
            self._free_rows = list(range(15, -1, -1))
        elif dim != self._dim:
            raise ValueError(f"vector of dimension {dim}, expected {self._dim}")
        if story.row < 0:
            story.row = self._take_row()
            self._row_story[story.row] = story.id
            self._sums[story.row] = 0.0
        return story.row

    def _take_row(self) -> int:
        if not self._free_rows:
            old = self._sums.shape[0]
            grown = np.zeros((old * 2, self._sums.shape[1]), dtype=np.float32)
            grown[:old] = self._sums
            self._sums = grown
            self._row_story.extend([-1] * old)
            self._free_rows = list(range(2 * old - 1, old - 1, -1))
        return self._free_rows.pop()

    def _release_row(self, row: int) -> None:
        self._row_story[row] = -1
        self._sums[row] = 0.0
        self._free_rows.append(row)


def _unit(vector: npt.ArrayLike) -> Vector:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


def sparse_cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine of two sparse word-weight vectors (the evaluation's TF-IDF baseline uses it too)."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    if not dot:
        return 0.0
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)
