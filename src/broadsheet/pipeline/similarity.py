"""How alike two articles are, and the "Related Articles" ranking built on it.

Article similarity is the cosine of the two articles' embeddings (``embedding_text``: headline
and the start of the text, which is what the model reads anyway), blended with a little
TF-IDF word overlap when both texts and an IDF table are at hand. On the SemEval-2022 Task 8
English development pairs the embedding alone correlates 0.90 with human judgements
(``python -m eval.similarity``).

``related`` ranks candidates for an article page: articles of the same story first (newest
first), then other articles by similarity, duplicates of the article itself left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

EMBEDDING_WEIGHT = 0.8
RELATED_MIN_SIMILARITY = 0.35
TEXT_CHARS = 1000


def embedding_text(title: str, text: str, *, chars: int = TEXT_CHARS) -> str:
    """The text embedded for article similarity: headline, then the start of the body."""
    title, body = " ".join(title.split()), " ".join(text.split())
    joined = f"{title}\n{body}" if title and body else title or body
    return joined[:chars]


def cosine(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    va = np.asarray(a, dtype=np.float32).reshape(-1)
    vb = np.asarray(b, dtype=np.float32).reshape(-1)
    na, nb = float(np.linalg.norm(va)), float(np.linalg.norm(vb))
    if not na or not nb:
        return 0.0
    return float(va @ vb) / (na * nb)


def article_similarity(
    a: npt.ArrayLike, b: npt.ArrayLike, *, lexical: float | None = None
) -> float:
    """Similarity in [-1, 1] of two articles from their embeddings; ``lexical`` (a TF-IDF
    cosine of their words, if the caller has one) is blended in with weight 0.2."""
    score = cosine(a, b)
    if lexical is None:
        return score
    return EMBEDDING_WEIGHT * score + (1.0 - EMBEDDING_WEIGHT) * lexical


@dataclass(frozen=True, slots=True)
class Candidate:
    article_id: str
    story_id: int | None
    published_at: datetime
    vector: npt.NDArray[np.float32]
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class Related:
    article_id: str
    same_story: bool
    score: float


def related(
    article_id: str,
    story_id: int | None,
    vector: npt.ArrayLike,
    candidates: Sequence[Candidate],
    *,
    limit: int = 8,
    min_similarity: float = RELATED_MIN_SIMILARITY,
) -> list[Related]:
    """The most related other articles: same story first (most similar first), then others
    above ``min_similarity``; the article itself and its duplicates are left out, and so is
    all but one of a group of duplicates."""
    if not candidates:
        return []
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    matrix = np.stack([np.asarray(c.vector, dtype=np.float32).reshape(-1) for c in candidates])
    norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(query)) or 1.0)
    norms[norms == 0] = 1.0
    scores = (matrix @ query) / norms
    seen_groups = {article_id}
    same: list[Related] = []
    other: list[Related] = []
    for index in np.argsort(-scores, kind="stable"):
        cand = candidates[int(index)]
        group = cand.duplicate_of or cand.article_id
        if cand.article_id == article_id or group in seen_groups:
            continue
        seen_groups.add(group)
        score = float(scores[index])
        if story_id is not None and cand.story_id == story_id:
            same.append(Related(cand.article_id, True, score))
        elif score >= min_similarity:
            other.append(Related(cand.article_id, False, score))
    return (same + other)[:limit]
