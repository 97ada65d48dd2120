"""Article similarity gate: Pearson correlation with human judgements, beside TF-IDF cosine.

Input: JSON lines with ``text1``, ``text2`` and ``Overall`` (1 = very similar, 4 = very
dissimilar), as ``../shared/data/similarity/semeval2022-en-dev.jsonl`` (SemEval-2022 Task 8).
Broadsheet's similarity is ``pipeline.similarity.article_similarity`` of the default embedder's
vectors of ``embedding_text(title, body)`` (the first line of a text is its headline); the
baseline is TF-IDF cosine (IDF over all texts of the file). Both are correlated with the
negated ``Overall``.

    python -m eval.similarity --data FILE.jsonl [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from broadsheet.pipeline.cluster import sparse_cosine
from broadsheet.pipeline.embed import get_embedder
from broadsheet.pipeline.similarity import article_similarity, embedding_text
from eval.metrics import TfIdf, pearson

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "similarity" / "semeval2022-en-dev.jsonl"


def load(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        pairs = [json.loads(line) for line in fh if line.strip()]
    pairs = [p for p in pairs if p.get("text1") and p.get("text2") and "Overall" in p]
    if limit and limit < len(pairs):  # an evenly spread, fixed subset
        pairs = [pairs[i * len(pairs) // limit] for i in range(limit)]
    return pairs


def _split(text: str) -> tuple[str, str]:
    title, _, body = text.strip().partition("\n")
    return title, body


def evaluate(pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    gold = [-float(p["Overall"]) for p in pairs]
    texts = [embedding_text(*_split(p[k])) for p in pairs for k in ("text1", "text2")]
    embedder = get_embedder()
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    seconds = time.perf_counter() - started
    ours = [article_similarity(vectors[2 * i], vectors[2 * i + 1]) for i in range(len(pairs))]
    model = TfIdf([p[k] for p in pairs for k in ("text1", "text2")])
    base = [sparse_cosine(model.vector(p["text1"]), model.vector(p["text2"])) for p in pairs]
    return {
        "pairs": len(pairs),
        "broadsheet": pearson(ours, gold),
        "baseline": pearson(base, gold),
        "embed_per_s": len(texts) / seconds if seconds else 0.0,
    }


def report(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"pairs {result['pairs']}",
            f"broadsheet (embedding cosine)  pearson {result['broadsheet']:.4f}",
            f"baseline (TF-IDF cosine)       pearson {result['baseline']:.4f}",
            f"speed: embedding {result['embed_per_s']:.1f} texts/s (~1,000 characters each)",
            f"broadsheet pearson {result['broadsheet']:.4f} baseline {result['baseline']:.4f}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Article similarity gate")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    pairs = load(args.data, args.limit)
    if len(pairs) < 2:
        print(f"fewer than two pairs in {args.data}", file=sys.stderr)
        return 2
    result = evaluate(pairs)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
