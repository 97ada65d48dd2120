"""The vector cache: what a model made of a text, stored once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broadsheet.storage.schema import embeddings
from broadsheet.storage.upsert import insert_ignoring_conflicts

Vector = npt.NDArray[np.float32]
_LE_FLOAT32 = np.dtype("<f4")


def get_many(conn: Connection, model: str, keys: Iterable[str]) -> dict[str, Vector]:
    wanted = sorted(set(keys))
    found: dict[str, Vector] = {}
    for start in range(0, len(wanted), 500):  # stay under every engine's bound-parameter limit
        query = sa.select(embeddings.c.key, embeddings.c.vector).where(
            embeddings.c.model == model, embeddings.c.key.in_(wanted[start : start + 500])
        )
        for key, blob in conn.execute(query):
            found[key] = np.frombuffer(blob, dtype=_LE_FLOAT32).astype(np.float32)
    return found


def put_many(
    conn: Connection, model: str, vectors: Sequence[tuple[str, Vector]], *, now: datetime
) -> int:
    rows = [
        {
            "model": model,
            "key": key,
            "dim": int(vector.shape[0]),
            "vector": np.asarray(vector, dtype=_LE_FLOAT32).tobytes(),
            "created_at": now,
        }
        for key, vector in vectors
    ]
    return insert_ignoring_conflicts(conn, embeddings, rows, ["model", "key"])
