"""Story clustering gate: Broadsheet's StoryGrouper against a TF-IDF cosine baseline, BCubed.

Input: JSON lines with ``id``, ``title``, ``timestamp_ms`` and ``story`` (the aggregator's own
story id, the reference), as ``../shared/data/stories/uci-headlines-dev.jsonl``. Items are
processed in time order; ``story`` is read only after clustering, for scoring.

Broadsheet runs the product's code path: the default embedder (``pipeline.embed``) embeds
``cluster_text(title, lead)`` in batches, then each item goes through ``StoryGrouper.place``
and, joined or new, ``StoryGrouper.add``, exactly as ``services.ingest`` calls them.

The baseline (``eval.metrics.online_tfidf_clusters``): single pass, nearest TF-IDF centroid by
cosine. Its threshold is swept and the best score is reported, which flatters the baseline.

Control (``--controls``): the same run with every timestamp set equal. Each gold story of the UCI
file arrives as one burst of a few minutes (a crawl artefact), so a grouper that leaned on
minute-scale time could look better than it is; the control shows how much time contributes.

    python -m eval.stories --data FILE.jsonl [--limit N] [--threshold T] [--controls]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from broadsheet.pipeline.cluster import DEFAULT_THRESHOLD, StoryGrouper, cluster_text
from broadsheet.pipeline.embed import Embedder, get_embedder
from eval.metrics import BCubed, bcubed, online_tfidf_clusters

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_DATA = SHARED / "stories" / "uci-headlines-dev.jsonl"
FLOORS = Path(__file__).with_name("floors_stories.json")
WINDOW = timedelta(hours=72)  # the product's default story window
BASELINE_THRESHOLDS = (0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    title: str
    at: datetime
    story: str


def load(path: Path, limit: int | None = None) -> list[Item]:
    """Items in time order (ties by id). ``limit``: the first N of the stream."""
    items = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            at = datetime.fromtimestamp(row["timestamp_ms"] / 1000, tz=UTC)
            items.append(Item(str(row["id"]), row["title"], at, str(row["story"])))
    items.sort(key=lambda it: (it.at, _numeric(it.id)))
    return items[:limit] if limit else items


def _numeric(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)


def broadsheet_clusters(
    items: Sequence[Item],
    embedder: Embedder | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    same_time: bool = False,
    vectors: np.ndarray[Any, Any] | None = None,
) -> list[int]:
    """Story ids for the items, through StoryGrouper.place/add in the given (time) order."""
    if vectors is None and embedder is not None:
        vectors = embedder.embed([cluster_text(it.title, "") for it in items])
    grouper = StoryGrouper(threshold=threshold, window=WINDOW)
    labels: list[int] = []
    next_id = 1
    t0 = items[0].at if items else datetime.now(UTC)
    for i, item in enumerate(items):
        at = t0 if same_time else item.at
        vector = vectors[i] if vectors is not None else None
        story = grouper.place(title=item.title, lead="", at=at, vector=vector)
        if story is None:
            story, next_id = next_id, next_id + 1
        grouper.add(story, item.id, title=item.title, lead="", at=at, vector=vector)
        labels.append(story)
    return labels


def baseline(items: Sequence[Item]) -> tuple[float, BCubed]:
    gold = [it.story for it in items]
    texts = [it.title for it in items]
    times = [it.at.timestamp() for it in items]
    best: tuple[float, BCubed] | None = None
    for threshold in BASELINE_THRESHOLDS:
        labels = online_tfidf_clusters(
            texts, times, threshold=threshold, window=WINDOW.total_seconds()
        )
        score = bcubed(labels, gold)
        if best is None or score.f1 > best[1].f1:
            best = (threshold, score)
    assert best is not None
    return best


def evaluate(
    items: Sequence[Item], *, threshold: float = DEFAULT_THRESHOLD, controls: bool = False
) -> dict[str, Any]:
    gold = [it.story for it in items]
    embedder = get_embedder()
    started = time.perf_counter()
    vectors = embedder.embed([cluster_text(it.title, "") for it in items])
    embed_s = time.perf_counter() - started
    started = time.perf_counter()
    labels = broadsheet_clusters(items, embedder, threshold=threshold, vectors=vectors)
    cluster_s = time.perf_counter() - started
    ours = bcubed(labels, gold)
    base_threshold, base = baseline(items)
    result: dict[str, Any] = {
        "items": len(items),
        "gold_stories": len(set(gold)),
        "broadsheet": {
            "precision": ours.precision,
            "recall": ours.recall,
            "f1": ours.f1,
            "stories": len(set(labels)),
            "threshold": threshold,
        },
        "baseline": {
            "precision": base.precision,
            "recall": base.recall,
            "f1": base.f1,
            "threshold": base_threshold,
        },
        "embed_per_s": len(items) / embed_s if embed_s else 0.0,
        "cluster_per_s": len(items) / cluster_s if cluster_s else 0.0,
    }
    if controls:
        same = bcubed(
            broadsheet_clusters(items, None, threshold=threshold, vectors=vectors, same_time=True),
            gold,
        )
        result["control_same_time"] = {
            "precision": same.precision,
            "recall": same.recall,
            "f1": same.f1,
        }
    return result


def report(result: dict[str, Any]) -> str:
    ours, base = result["broadsheet"], result["baseline"]
    lines = [
        f"items {result['items']}, gold stories {result['gold_stories']}",
        f"{'system':<28}{'B3-P':>8}{'B3-R':>8}{'B3-F1':>8}",
        f"{'broadsheet (StoryGrouper)':<28}{ours['precision']:8.3f}{ours['recall']:8.3f}"
        f"{ours['f1']:8.3f}   stories {ours['stories']}, threshold {ours['threshold']}",
        f"{'baseline (TF-IDF cosine)':<28}{base['precision']:8.3f}{base['recall']:8.3f}"
        f"{base['f1']:8.3f}   best of thresholds {BASELINE_THRESHOLDS}: {base['threshold']}",
    ]
    if "control_same_time" in result:
        c = result["control_same_time"]
        lines.append(
            f"{'control: all times equal':<28}{c['precision']:8.3f}{c['recall']:8.3f}{c['f1']:8.3f}"
        )
    lines.append(
        f"speed: embedding {result['embed_per_s']:.0f} headlines/s, "
        f"grouping {result['cluster_per_s']:.0f} headlines/s"
    )
    lines.append(f"broadsheet B3-F1 {ours['f1']:.4f} baseline {base['f1']:.4f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--controls", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    items = load(args.data, args.limit)
    if not items:
        print(f"no items in {args.data}", file=sys.stderr)
        return 2
    result = evaluate(items, threshold=args.threshold, controls=args.controls)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
