"""Duplicates: exact copies and near copies (wire stories republished with small edits).

- ``content_hash``: SHA-256 of the text's normal form (case, accents, punctuation and white
  space folded), so a copy that differs only in typography or spacing hashes the same.
- ``shingles`` and ``MinHasher``: 5-word shingles of the normal form, summarised by a MinHash
  signature of ``num_perm`` 31-bit values (one seeded hash family, stable across processes and
  machines, so signatures can be stored). The share of equal values estimates the Jaccard
  similarity of the shingle sets.
- ``DuplicateIndex``: locality-sensitive hashing over the signatures (``bands`` x ``rows``) finds
  candidates in constant time per article; each candidate is confirmed on its estimated
  Jaccard. The index holds only the articles of a time window (``window``) or the most recent
  ``capacity``, whichever is smaller, so it stays bounded however large the archive.

An article that is a near copy of an earlier one is its duplicate: the caller links it to
the original (the earliest of the group) and does not count it as separate coverage.
Canonical-URL duplicates are already one article (its id is the hash of the canonical URL).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS, ROWS = 32, 4  # candidate at Jaccard ~0.42 with p=0.5, ~0.8 with p>0.99
NEAR_DUPLICATE = 0.7  # estimated Jaccard of 5-word shingles that makes a near copy
MIN_WORDS = 12  # shorter texts are compared by exact hash only

_PRIME = np.uint64((1 << 31) - 1)  # a*x + b stays below 2^63 for a, x, b < 2^31
_WORD = re.compile(r"\w+", re.UNICODE)

Signature = npt.NDArray[np.uint32]


def normal_words(text: str) -> list[str]:
    """Lower-cased, accent-folded words, punctuation and white space dropped."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(folded)


def content_hash(text: str) -> str:
    """Hex SHA-256 of the text's normal form: equal for exact copies."""
    return hashlib.sha256(" ".join(normal_words(text)).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[bytes]:
    words = normal_words(text)
    if len(words) < k:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + k]).encode("utf-8") for i in range(len(words) - k + 1)}


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class MinHasher:
    """MinHash signatures with a fixed, seeded family of universal hashes (a*x+b mod p)."""

    def __init__(self, num_perm: int = NUM_PERM, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self._a = rng.integers(1, int(_PRIME), size=num_perm, dtype=np.uint64)
        self._b = rng.integers(0, int(_PRIME), size=num_perm, dtype=np.uint64)

    def signature(self, text: str) -> Signature:
        return self.signature_of(shingles(text))

    def signature_of(self, items: set[bytes]) -> Signature:
        if not items:
            return np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        base = np.fromiter(
            (int.from_bytes(hashlib.blake2b(s, digest_size=4).digest(), "little") for s in items),
            dtype=np.uint64,
            count=len(items),
        )
        x = (base % _PRIME)[:, None]
        hashed = (self._a[None, :] * x + self._b[None, :]) % _PRIME
        signature: Signature = hashed.min(axis=0).astype(np.uint32)
        return signature


def estimated_jaccard(a: Signature, b: Signature) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What dedupe stores per article: its exact hash, its MinHash signature (None for texts
    too short for near-duplicate detection) and when it was published."""

    article_id: str
    content_hash: str
    signature: Signature | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Match:
    original: str  # the article this one duplicates (the earliest of its group)
    exact: bool
    similarity: float  # 1.0 for an exact copy, else estimated Jaccard of shingles


_DEFAULT_HASHER: MinHasher | None = None


def fingerprint(article_id: str, text: str, at: datetime) -> Fingerprint:
    """An article's fingerprint with the default hasher, the one a ``DuplicateIndex()`` uses:
    computed where the text is at hand (extraction), stored, and indexed later."""
    global _DEFAULT_HASHER
    if _DEFAULT_HASHER is None:
        _DEFAULT_HASHER = MinHasher()
    words = normal_words(text)
    signature = _DEFAULT_HASHER.signature(text) if len(words) >= MIN_WORDS else None
    return Fingerprint(article_id, content_hash(text), signature, at)


def signature_bytes(signature: Signature | None) -> bytes | None:
    """A signature as stored (128 little-endian uint32)."""
    return None if signature is None else signature.astype("<u4").tobytes()


def signature_from(blob: bytes | None) -> Signature | None:
    return None if blob is None else np.frombuffer(blob, dtype="<u4").astype(np.uint32)


class DuplicateIndex:
    """Exact and near-duplicate look-up over a bounded, recent set of articles."""

    def __init__(
        self,
        *,
        window: timedelta = timedelta(days=7),
        capacity: int = 200_000,
        threshold: float = NEAR_DUPLICATE,
        hasher: MinHasher | None = None,
    ) -> None:
        self.window = window
        self.capacity = capacity
        self.threshold = threshold
        self.hasher = hasher or MinHasher()
        if self.hasher.num_perm != BANDS * ROWS:
            raise ValueError(f"num_perm must be {BANDS * ROWS}")
        self._items: OrderedDict[str, Fingerprint] = OrderedDict()  # in insertion order
        self._by_hash: dict[str, str] = {}
        self._buckets: list[dict[bytes, set[str]]] = [defaultdict(set) for _ in range(BANDS)]
        self._original: dict[str, str] = {}  # duplicate -> its original

    def __len__(self) -> int:
        return len(self._items)

    def fingerprint(self, article_id: str, text: str, at: datetime) -> Fingerprint:
        words = normal_words(text)
        signature = self.hasher.signature(text) if len(words) >= MIN_WORDS else None
        return Fingerprint(article_id, content_hash(text), signature, at)

    def find(self, fp: Fingerprint) -> Match | None:
        """The original this fingerprint duplicates, if any (the index is not changed)."""
        exact = self._by_hash.get(fp.content_hash)
        if exact is not None and self._items[exact].at < fp.at - self.window:
            exact = None
        if exact is not None and exact != fp.article_id:
            return Match(self._original.get(exact, exact), True, 1.0)
        if fp.signature is None:
            return None
        best: tuple[float, str] | None = None
        horizon = fp.at - self.window
        for candidate in self._candidates(fp.signature):
            if candidate == fp.article_id or self._items[candidate].at < horizon:
                continue
            other = self._items[candidate].signature
            assert other is not None
            score = estimated_jaccard(fp.signature, other)
            if score >= self.threshold and (best is None or score > best[0]):
                best = (score, candidate)
        if best is None:
            return None
        return Match(self._original.get(best[1], best[1]), False, best[0])

    def add(self, fp: Fingerprint, *, original: str | None = None) -> None:
        """Index an article (``original``: what it was found to duplicate, if anything)."""
        if fp.article_id in self._items:
            return
        self._evict(fp.at)
        self._items[fp.article_id] = fp
        self._by_hash.setdefault(fp.content_hash, fp.article_id)
        if original is not None:
            self._original[fp.article_id] = original
        if fp.signature is not None:
            for band, key in enumerate(_band_keys(fp.signature)):
                self._buckets[band][key].add(fp.article_id)

    def check(self, article_id: str, text: str, at: datetime) -> Match | None:
        """Find the article's original, then index it: the one call per new article."""
        fp = self.fingerprint(article_id, text, at)
        match = self.find(fp)
        self.add(fp, original=match.original if match else None)
        return match

    def _candidates(self, signature: Signature) -> set[str]:
        found: set[str] = set()
        for band, key in enumerate(_band_keys(signature)):
            found |= self._buckets[band].get(key, set())
        return found

    def _evict(self, now: datetime) -> None:
        horizon = now - self.window
        while self._items:
            oldest_id, oldest = next(iter(self._items.items()))
            if len(self._items) < self.capacity and oldest.at >= horizon:
                break
            self._remove(oldest_id, oldest)

    def _remove(self, article_id: str, fp: Fingerprint) -> None:
        del self._items[article_id]
        if self._by_hash.get(fp.content_hash) == article_id:
            del self._by_hash[fp.content_hash]
        self._original.pop(article_id, None)
        if fp.signature is not None:
            for band, key in enumerate(_band_keys(fp.signature)):
                bucket = self._buckets[band].get(key)
                if bucket is not None:
                    bucket.discard(article_id)
                    if not bucket:
                        del self._buckets[band][key]


def _band_keys(signature: Signature) -> list[bytes]:
    return [signature[i * ROWS : (i + 1) * ROWS].tobytes() for i in range(BANDS)]


def duplicate_groups(texts: Sequence[str], threshold: float = NEAR_DUPLICATE) -> list[int]:
    """For a batch: each text's group label (the index of the first text of its group)."""
    index = DuplicateIndex(threshold=threshold, capacity=max(1, len(texts)) + 1)
    labels: list[int] = []
    epoch = datetime(2000, 1, 1).astimezone()
    for i, text in enumerate(texts):
        match = index.check(str(i), text, epoch)
        labels.append(int(match.original) if match else i)
    return labels
