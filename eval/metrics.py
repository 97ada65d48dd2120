"""Scoring helpers shared by the story and similarity gates: BCubed and Pearson, plus a plain
TF-IDF model for the baselines. Standard library and NumPy only; no project imports."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from broadsheet.pipeline.cluster import sparse_cosine


@dataclass(frozen=True, slots=True)
class BCubed:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> BCubed:
    """BCubed precision and recall, averaged over items (Bagga and Baldwin 1998; Amigó et al.
    2009). ``predicted[i]`` and ``gold[i]`` are item i's cluster labels.

    For each item: precision = |pred cluster ∩ gold cluster| / |pred cluster|, recall =
    |pred cluster ∩ gold cluster| / |gold cluster|. Computed by counting, in O(n)."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold differ in length")
    if not predicted:
        return BCubed(0.0, 0.0)
    pred_size = Counter(predicted)
    gold_size = Counter(gold)
    both = Counter(zip(predicted, gold, strict=True))
    p = sum(n * n / pred_size[pl] for (pl, _), n in both.items())
    r = sum(n * n / gold_size[gl] for (_, gl), n in both.items())
    n = len(predicted)
    return BCubed(p / n, r / n)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("need two equally long sequences of at least two values")
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if not sxx or not syy:
        return 0.0
    return sxy / math.sqrt(sxx * syy)


# -- the TF-IDF baseline: deliberately plain, so the comparison means something --------------

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    """a an and are as at be by for from has have he her his in is it its of on or that the
    their they this to was were will with""".split()
)


def baseline_tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).lower()
    return [t for t in _TOKEN.findall(folded) if t not in _STOP]


class TfIdf:
    """Smoothed IDF over a fixed corpus (scikit-learn's default formula) and sparse cosine."""

    def __init__(self, corpus: Sequence[str]) -> None:
        df: Counter[str] = Counter()
        for text in corpus:
            df.update(set(baseline_tokens(text)))
        n = len(corpus)
        self.idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
        self._default = math.log(1 + n) + 1.0

    def vector(self, text: str) -> dict[str, float]:
        counts = Counter(baseline_tokens(text))
        vec = {w: c * self.idf.get(w, self._default) for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {w: v / norm for w, v in vec.items()} if norm else {}


def online_tfidf_clusters(
    texts: Sequence[str], times: Sequence[float], *, threshold: float, window: float
) -> list[int]:
    """The baseline clusterer: single pass in the given order, each item joins the open cluster
    whose TF-IDF centroid is most cosine-similar if that clears ``threshold`` (IDF over the
    whole stream, as a batch TF-IDF would have it), else starts a new cluster. ``window`` in the
    units of ``times``."""
    model = TfIdf(texts)
    centroids: list[dict[str, float]] = []
    last: list[float] = []
    labels: list[int] = []
    for text, at in zip(texts, times, strict=True):
        vec = model.vector(text)
        best, best_score = -1, threshold
        for k, centroid in enumerate(centroids):
            if at - last[k] > window:
                continue
            score = sparse_cosine(vec, centroid)
            if score >= best_score:
                best, best_score = k, score
        if best < 0:
            centroids.append(defaultdict(float))
            last.append(at)
            best = len(centroids) - 1
        for w, v in vec.items():
            centroids[best][w] += v
        last[best] = at
        labels.append(best)
    return labels
