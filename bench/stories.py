"""Stories at scale and speed: ratios that hold on a shared, noisy machine.

Three measurements, each printed as a ratio or beside a reference measured in the same run:

- scale: placing articles (``StoryGrouper.place`` + ``add`` + ``representative_title``, as
  ``services.ingest`` calls them) with an open window that sits on an archive of 1,000,000
  articles, against an archive of 10,000. The archives are synthetic (random story centroids,
  noisy member vectors, made-up headlines and leads) at a steady ``--per-hour`` traffic; each
  grouper is loaded the way the service loads it, from the archive's last open window (two
  windows are replayed, so eviction runs). Blocks of new articles alternate between the two, so
  noise hits both alike. ``scale-ratio`` = CPU per article (1M) / CPU per article (10k), target
  <= 1.5; memory: tracemalloc peak of each grouper's work, and the process RSS.
- related: p95 wall time of one "Related Articles" look-up over the same archives:
  ``embed.VectorIndex.nearest`` (the window's vectors in one matrix, top-k by argpartition) and
  then ``similarity.related`` over those candidates plus the article's story. Beside it the
  current API alone (``similarity.related`` over every candidate), on the window and on a
  sample of the archive, extrapolated to the whole archive. Target p95 < 20 ms.
- throughput: end-to-end enrichment per article (embed the cluster text + dedupe + place/add
  + tags + language) in articles/s, beside the embedding-only rate of the same texts in the
  same run (alternating rounds). Inputs: the demo catalogue and the SemEval-2022 English pairs
  (headline + lead + body). Target >= 20 articles/s.

    python -m bench.stories [--archive N] [--small N] [--rounds R] [--check]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from broadsheet.pipeline.cluster import StoryGrouper, cluster_text
from broadsheet.pipeline.dedupe import DuplicateIndex
from broadsheet.pipeline.embed import VectorIndex, get_embedder
from broadsheet.pipeline.entities import tag_article
from broadsheet.pipeline.language import detect_language
from broadsheet.pipeline.similarity import Candidate, related

REPO = Path(__file__).resolve().parents[1]
SEMEVAL = REPO.parent / "shared" / "data" / "similarity" / "semeval2022-en-dev.jsonl"
WINDOW = timedelta(hours=72)  # the product's default story window
RELATED_HORIZON = timedelta(days=7)
DIM = 384
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SCALE_TARGET, RELATED_TARGET_MS, THROUGHPUT_TARGET = 1.5, 20.0, 20.0
BATCH = 50  # articles per clustering round in services.ingest.cluster_pending


# -- a synthetic archive ------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _word(n: int) -> str:
    out = ""
    n += 26 * 27  # at least three letters
    while n:
        n, r = divmod(n, 26)
        out += _LETTERS[r]
    return out


class Archive:
    """``size`` articles at ``per_hour``, in stories of 1-12 articles spread over a few hours.

    Vectors are materialised for the whole archive (what storage would hold); headlines and
    leads are made up on demand from the story id, so that the words do real work."""

    def __init__(self, size: int, per_hour: float, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.size, self.per_hour = size, per_hour
        self.start = T0
        story_sizes = rng.integers(1, 13, size=size // 2 + 10)
        self.story = np.repeat(np.arange(len(story_sizes)), story_sizes)[:size]
        blocks = self.story[: size - size % 512].reshape(-1, 512)
        rng.permuted(blocks, axis=1, out=blocks)  # a story's articles spread over ~5 hours
        stories = int(self.story.max()) + 1
        centroids = rng.standard_normal((stories, DIM), dtype=np.float32)
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        self.vectors = np.empty((size, DIM), dtype=np.float32)
        for lo in range(0, size, 65536):
            hi = min(size, lo + 65536)
            noise = rng.standard_normal((hi - lo, DIM), dtype=np.float32) * 0.045
            chunk = centroids[self.story[lo:hi]] + noise
            chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
            self.vectors[lo:hi] = chunk
        self._centroids = centroids
        self._rng = rng

    def at(self, i: int) -> datetime:
        return self.start + timedelta(hours=i / self.per_hour)

    @property
    def end(self) -> datetime:
        return self.at(self.size)

    def text(self, i: int) -> tuple[str, str]:
        """Headline and lead of article ``i``: its story's words, shuffled, and common words."""
        return story_text(int(self.story[i]), i)

    def window_rows(self, span: timedelta) -> range:
        first = max(0, self.size - int(span.total_seconds() / 3600 * self.per_hour))
        return range(first, self.size)


def story_text(story: int, salt: int) -> tuple[str, str]:
    rng = np.random.default_rng(story * 1_000_003 + salt)
    own = [_word(story * 7 + k + 20_000) for k in range(7)]
    common = [_word(int(w)) for w in rng.integers(0, 4000, size=18)]
    picks = list(rng.permutation(own)[:4])
    title = " ".join([picks[0].capitalize(), picks[1].capitalize(), *common[:3], *picks[2:]])
    lead = " ".join([*picks, *common[3:], *own[4:]]) + "."
    return title, lead


def new_article(archive: Archive, n: int, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Article ``n`` after the archive's end: joins one of the window's stories or a new one."""
    if rng.random() < 0.6:
        row = int(rng.integers(archive.size - 500, archive.size))
        story = int(archive.story[row])
        base = archive._centroids[story]
    else:
        story = 10_000_000 + n
        base = rng.standard_normal(DIM).astype(np.float32)
        base /= np.linalg.norm(base)
    vector = base + rng.standard_normal(DIM).astype(np.float32) * 0.045
    return story, vector / np.linalg.norm(vector)


# -- scale --------------------------------------------------------------------------------------


@dataclass
class Loaded:
    archive: Archive
    grouper: StoryGrouper
    index: VectorIndex
    story_of: dict[int, int]  # synthetic story -> grouper story id
    members: dict[int, list[int]]  # grouper story id -> archive rows / new ids
    peak: int  # tracemalloc peak while loading, bytes
    cpu_s: float = 0.0
    placed: int = 0
    work_peak: int = 0


def load_window(archive: Archive) -> Loaded:
    """What the service does at start-up: add the open window's members (two windows replayed,
    so the first one is evicted as the clock moves)."""
    tracemalloc.start()
    grouper = StoryGrouper(window=WINDOW)
    story_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for i in archive.window_rows(2 * WINDOW):
        story = story_of.setdefault(int(archive.story[i]), len(story_of) + 1)
        title, lead = archive.text(i)
        grouper.add(
            story, str(i), title=title, lead=lead, at=archive.at(i), vector=archive.vectors[i]
        )
        members.setdefault(story, []).append(i)
    index = VectorIndex(DIM, horizon=RELATED_HORIZON)
    rows = archive.window_rows(RELATED_HORIZON)
    index.add_many(
        [str(i) for i in rows],
        archive.vectors[rows.start : rows.stop],
        [archive.at(i) for i in rows],
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Loaded(archive, grouper, index, story_of, members, peak)


def place_block(loaded: Loaded, start: int, count: int, seed: int, *, trace: bool = False) -> None:
    """Place ``count`` new articles as the service does; CPU time into ``loaded.cpu_s``, or
    (``trace``: tracemalloc slows Python down, so never both) the memory peak."""
    rng = np.random.default_rng(seed)
    archive, grouper = loaded.archive, loaded.grouper
    items = []
    for n in range(start, start + count):
        story, vector = new_article(archive, n, rng)
        title, lead = story_text(story, n)
        at = archive.end + timedelta(seconds=n * 3600 / archive.per_hour)
        items.append((n, title, lead, at, vector))
    if trace:
        tracemalloc.start()
    began = time.process_time()
    for n, title, lead, at, vector in items:
        sid = grouper.place(title=title, lead=lead, at=at, vector=vector)
        if sid is None:
            sid = 1_000_000_000 + n
        grouper.add(sid, f"new{n}", title=title, lead=lead, at=at, vector=vector)
        grouper.representative_title(sid)
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        loaded.work_peak = max(loaded.work_peak, peak)
    else:
        loaded.cpu_s += time.process_time() - began
        loaded.placed += count


def related_p95(loaded: Loaded, queries: Sequence[int]) -> float:
    """p95 wall ms of index top-k + similarity.related over those and the article's story."""
    archive, index = loaded.archive, loaded.index
    times = []
    for i in queries:
        vector = archive.vectors[i]
        began = time.perf_counter()
        top = index.nearest(vector, k=32, exclude={str(i)})
        cands = [
            Candidate(key, None, archive.at(int(key)), archive.vectors[int(key)]) for key, _ in top
        ]
        related(str(i), None, vector, cands, limit=8)
        times.append(time.perf_counter() - began)
    return float(np.percentile(times, 95) * 1000)


def current_api_p95(archive: Archive, rows: range, queries: Sequence[int]) -> float:
    """p95 wall ms of similarity.related given every candidate of ``rows``."""
    cands = [Candidate(str(i), None, archive.at(i), archive.vectors[i]) for i in rows]
    times = []
    for i in queries:
        began = time.perf_counter()
        related(str(i), None, archive.vectors[i], cands, limit=8)
        times.append(time.perf_counter() - began)
    return float(np.percentile(times, 95) * 1000)


def bench_scale(big_n: int, small_n: int, per_hour: float, new: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    began = time.perf_counter()
    archives = {"small": Archive(small_n, per_hour), "big": Archive(big_n, per_hour)}
    out["archive_build_s"] = time.perf_counter() - began
    loaded = {name: load_window(a) for name, a in archives.items()}
    # warm both, then alternate blocks so noise hits both alike
    for name in loaded:
        place_block(loaded[name], 0, 50, seed=1)
        loaded[name].cpu_s, loaded[name].placed = 0.0, 0
    block = 50
    for k, start in enumerate(range(50, 50 + new, block)):
        order = ("small", "big") if k % 2 == 0 else ("big", "small")
        for name in order:
            place_block(loaded[name], start, block, seed=start)
    for name in loaded:
        place_block(loaded[name], 50 + new, block, seed=2, trace=True)
    per = {name: ld.cpu_s / ld.placed for name, ld in loaded.items()}
    out["per_article_ms"] = {name: v * 1000 for name, v in per.items()}
    out["scale_ratio"] = per["big"] / per["small"]
    out["open_stories"] = {name: len(ld.grouper) for name, ld in loaded.items()}
    out["window_articles"] = {
        name: sum(len(s.members) for s in ld.grouper._stories.values())
        for name, ld in loaded.items()
    }
    out["load_peak_mb"] = {name: ld.peak / 2**20 for name, ld in loaded.items()}
    out["work_peak_mb"] = {name: ld.work_peak / 2**20 for name, ld in loaded.items()}
    out["index_rows"] = {name: len(ld.index) for name, ld in loaded.items()}
    out["archive_mb"] = {name: a.vectors.nbytes / 2**20 for name, a in archives.items()}
    # related look-ups: queries from the related horizon of each archive
    rng = np.random.default_rng(3)
    p95: dict[str, float] = {}
    for name, ld in loaded.items():
        rows = ld.archive.window_rows(RELATED_HORIZON)
        queries = rng.integers(rows.start, rows.stop, size=400)
        related_p95(ld, queries[:20])  # warm
        p95[name] = related_p95(ld, queries)
    out["related_p95_ms"] = p95
    out["related_ratio"] = p95["big"] / p95["small"]
    big = archives["big"]
    window = big.window_rows(RELATED_HORIZON)
    queries = list(np.random.default_rng(4).integers(window.start, window.stop, size=30))
    out["current_api_window_p95_ms"] = current_api_p95(big, window, queries)
    sample = range(big.size - min(big.size, 100_000), big.size)
    sampled = current_api_p95(big, sample, queries[:10])
    out["current_api_sample"] = len(sample)
    out["current_api_sample_p95_ms"] = sampled
    out["current_api_archive_p95_ms_est"] = sampled * big.size / len(sample)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# -- throughput ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    lead: str
    text: str
    keywords: tuple[str, ...]
    language: str | None
    at: datetime


def lead_of(description: str | None, text: str | None) -> str:
    """storage.stories.lead_of (the bench may not import storage)."""
    if text:
        return text.split("\n\n", 1)[0][:600]
    return (description or "")[:600]


def split_headline(text: str) -> tuple[str, str]:
    """Headline and body of a SemEval text: its first line, or (three in four of them are one
    line) its first sentence, at most ~150 characters."""
    text = text.strip()
    title, _, body = text.partition("\n")
    if len(title) > 200:
        cut = title.find(". ", 0, 200)
        end = cut + 1 if cut > 20 else title.rfind(" ", 0, 150)
        title, body = title[:end], text[end:]
    return title.strip(), body.strip()


def corpus() -> list[Article]:
    from broadsheet.demo.catalog import build_catalog, load_publishers

    now = datetime.now(UTC)
    out = []
    for a in build_catalog(load_publishers(), now, "http://bench.invalid"):
        text = "\n\n".join(a.paragraphs)
        out.append(
            Article(
                a.canonical_url,
                a.title,
                lead_of(a.summary, text),
                text,
                a.keywords,
                a.language,
                a.published_at,
            )
        )
    if SEMEVAL.exists():
        with SEMEVAL.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                row = json.loads(line)
                for side in ("1", "2"):
                    title, body = split_headline(row[f"text{side}"])
                    out.append(
                        Article(
                            f"semeval/{n}/{side}",
                            title.strip(),
                            lead_of("", body),
                            body,
                            (),
                            row[f"lang{side}"],
                            now,
                        )
                    )
    out.sort(key=lambda a: a.at)
    return out


def enrich(articles: Sequence[Article], embed: Callable[[list[str]], Any]) -> dict[str, float]:
    """The per-article work of ingest, batch by batch; CPU-free wall seconds by stage."""
    dedupe = DuplicateIndex()
    grouper = StoryGrouper(window=WINDOW)
    spent = dict.fromkeys(("embed", "dedupe", "cluster", "tags", "language"), 0.0)
    next_story = 1
    for lo in range(0, len(articles), BATCH):
        batch = articles[lo : lo + BATCH]
        t = time.perf_counter()
        vectors = embed([cluster_text(a.title, a.lead) for a in batch])
        spent["embed"] += time.perf_counter() - t
        for a, vector in zip(batch, vectors, strict=True):
            t0 = time.perf_counter()
            dedupe.check(a.id, f"{a.title}\n{a.text}", a.at)
            t1 = time.perf_counter()
            sid = grouper.place(title=a.title, lead=a.lead, at=a.at, vector=vector)
            if sid is None:
                sid, next_story = next_story, next_story + 1
            grouper.add(sid, a.id, title=a.title, lead=a.lead, at=a.at, vector=vector)
            grouper.representative_title(sid)
            t2 = time.perf_counter()
            tag_article(a.title, a.text, a.keywords)
            t3 = time.perf_counter()
            detect_language(f"{a.title}\n{a.text}", a.language)
            t4 = time.perf_counter()
            spent["dedupe"] += t1 - t0
            spent["cluster"] += t2 - t1
            spent["tags"] += t3 - t2
            spent["language"] += t4 - t3
    return spent


def bench_throughput(rounds: int) -> dict[str, Any]:
    articles = corpus()
    embedder = get_embedder()
    embedder.embed(["warm up"])
    detect_language("warm up the language model now")
    texts = [cluster_text(a.title, a.lead) for a in articles]
    embed_only = full = 0.0
    stages = dict.fromkeys(("embed", "dedupe", "cluster", "tags", "language"), 0.0)
    for r in range(rounds):
        for kind in ("embed", "full") if r % 2 == 0 else ("full", "embed"):
            began = time.perf_counter()
            if kind == "embed":
                for lo in range(0, len(texts), BATCH):
                    embedder.embed(texts[lo : lo + BATCH])
                embed_only += time.perf_counter() - began
            else:
                for stage, s in enrich(articles, embedder.embed).items():
                    stages[stage] += s
                full += time.perf_counter() - began
    n = len(articles) * rounds
    return {
        "articles": len(articles),
        "rounds": rounds,
        "embedder": embedder.name,
        "embed_per_s": n / embed_only,
        "enrich_per_s": n / full,
        "stage_ms": {k: v * 1000 / n for k, v in stages.items()},
    }


# -- report -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stories", description=__doc__)
    parser.add_argument("--archive", type=int, default=1_000_000, help="the large archive")
    parser.add_argument("--small", type=int, default=10_000, help="the reference archive")
    parser.add_argument("--per-hour", type=float, default=50.0, help="traffic, articles/h")
    parser.add_argument("--new", type=int, default=2000, help="articles placed per archive")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds")
    parser.add_argument("--skip", choices=("scale", "throughput"), action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    failed: list[str] = []
    if "scale" not in args.skip:
        s = result["scale"] = bench_scale(args.archive, args.small, args.per_hour, args.new)
        big, small = f"{args.archive:,}", f"{args.small:,}"
        print(
            f"scale: archives {small} and {big} at {args.per_hour:g} articles/h, "
            f"window {WINDOW}, {args.new} new articles each (built in "
            f"{s['archive_build_s']:.0f} s)"
        )
        for name, label in (("small", small), ("big", big)):
            print(
                f"  archive {label:>10}: open stories {s['open_stories'][name]}, window "
                f"articles {s['window_articles'][name]}, place+add "
                f"{s['per_article_ms'][name]:.2f} ms/article CPU, tracemalloc peak load "
                f"{s['load_peak_mb'][name]:.1f} MiB / placing {s['work_peak_mb'][name]:.1f} MiB"
                f", related index rows {s['index_rows'][name]}"
            )
        print(
            f"  archive vectors held by the bench (the 'storage'): "
            f"{s['archive_mb']['big']:.0f} MiB; process max RSS {s['rss_mb']:.0f} MiB"
        )
        print(
            f"  related look-up p95: {s['related_p95_ms']['small']:.2f} ms ({small}), "
            f"{s['related_p95_ms']['big']:.2f} ms ({big}); "
            f"index over the last {RELATED_HORIZON.days} days + similarity.related"
        )
        print(
            f"  current API (similarity.related over every candidate): p95 "
            f"{s['current_api_window_p95_ms']:.1f} ms over the {RELATED_HORIZON.days}-day "
            f"window, {s['current_api_sample_p95_ms']:.0f} ms over {s['current_api_sample']:,}"
            f", ~{s['current_api_archive_p95_ms_est']:.0f} ms extrapolated to {big}"
        )
        ok = s["scale_ratio"] <= SCALE_TARGET
        print(
            f"scale-ratio {s['scale_ratio']:.2f} (target <= {SCALE_TARGET}) "
            f"{'ok' if ok else 'MISS'}"
        )
        mem = s["work_peak_mb"]["big"] / max(s["work_peak_mb"]["small"], 1e-9)
        print(f"memory-ratio {mem:.2f} (placing, tracemalloc peak {big} / {small})")
        related_ok = s["related_p95_ms"]["big"] < RELATED_TARGET_MS
        print(
            f"related-ratio {s['related_ratio']:.2f} ({big} / {small}); p95 "
            f"{s['related_p95_ms']['big']:.2f} ms = "
            f"{s['related_p95_ms']['big'] / RELATED_TARGET_MS:.2f} of the "
            f"{RELATED_TARGET_MS:g} ms budget {'ok' if related_ok else 'MISS'}"
        )
        if not ok:
            failed.append("scale")
        if not related_ok:
            failed.append("related")
    if "throughput" not in args.skip:
        t = result["throughput"] = bench_throughput(args.rounds)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in t["stage_ms"].items())
        print(
            f"throughput: {t['articles']} articles x {t['rounds']} rounds, {t['embedder']}; "
            f"ms/article by stage: {stages}"
        )
        ok = t["enrich_per_s"] >= THROUGHPUT_TARGET
        print(
            f"enrichment {t['enrich_per_s']:.1f} articles/s, embedding only "
            f"{t['embed_per_s']:.1f} articles/s, enrichment/embedding "
            f"{t['enrich_per_s'] / t['embed_per_s']:.2f} (target >= {THROUGHPUT_TARGET:g}/s) "
            f"{'ok' if ok else 'MISS'}"
        )
        if not ok:
            failed.append("throughput")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(f"targets missed: {', '.join(failed)}" if failed else "targets met")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
