"""Extraction quality gate: Broadsheet against trafilatura's defaults, on pages with ground truth.

Input is the WCXB layout: ``DIR/html/NAME.html.gz`` and ``DIR/ground-truth/NAME.json`` holding
``url`` and ``ground_truth.main_content`` (optional ``title``, ``author``, ``publish_date``).
``eval.convert`` writes the other development sets in this layout.

Scoring is the one in ``../shared/data/README.md``: lower-case, split on white space and
punctuation into word tokens, compare the multisets: precision = common / extracted, recall =
common / truth, F1 their harmonic mean, mean over pages; a page where a tool fails or returns
nothing scores 0. Both tools see the same bytes and URL, page by page in the same process; speed is
pages per CPU-second of this process (pages per second per core). Broadsheet runs through its one
product entry point, ``extract_article``; its time includes metadata, trafilatura's (the plain
``trafilatura.extract`` call) does not, so the speed ratio is conservative.

Leak detectors (``find_leaks``) are defined once here and applied identically to both tools. A
match that the ground truth itself holds is not a leak (a page may be *about* newsletters).

    python -m eval.extraction --data DIR [--limit N] [--json OUT]
    python -m eval.extraction --all [--limit N]          # every development set, converted
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import logging
import math
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "extraction"
FLOORS = Path(__file__).with_name("floors.json")
TOOLS = ("broadsheet", "trafilatura")

# -- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    name: str
    html: bytes
    url: str | None
    truth: str
    title: str | None = None
    author: str | None = None
    date: str | None = None  # YYYY-MM-DD


def select(names: Sequence[str], limit: int | None) -> list[str]:
    """A fixed, evenly spread subset of ``limit`` names (all of them when ``limit`` is None)."""
    names = sorted(names)
    if limit is None or limit >= len(names):
        return list(names)
    return [names[i * len(names) // limit] for i in range(limit)]


def _date(value: object) -> str | None:
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value[:10]
    return None


def load_pages(data_dir: Path, limit: int | None = None) -> tuple[list[Page], int]:
    """Pages of a WCXB-layout folder, and how many were skipped for having no ground truth."""
    truth_dir = data_dir / "ground-truth"
    if not truth_dir.is_dir():
        raise FileNotFoundError(f"{data_dir} is not in the WCXB layout (no ground-truth/)")
    all_names = sorted(p.stem for p in truth_dir.glob("*.json"))
    pages: list[Page] = []
    skipped = 0
    for name in select(all_names, limit):
        record = json.loads((truth_dir / f"{name}.json").read_text(encoding="utf-8"))
        truth = record.get("ground_truth") or {}
        main = truth.get("main_content") or ""
        if not tokens(main):
            skipped += 1
            continue
        html = gzip.decompress((data_dir / "html" / f"{name}.html.gz").read_bytes())
        pages.append(
            Page(
                name=name,
                html=html,
                url=record.get("url") or None,
                truth=main,
                title=truth.get("title") or None,
                author=truth.get("author") or None,
                date=_date(truth.get("publish_date")),
            )
        )
    return pages, skipped


# -- scoring -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens: runs of letters and digits between white space and punctuation."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())


def word_prf(extracted: str, truth: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the token multisets; (0, 0, 0) when either side is empty."""
    got, want = Counter(tokens(extracted)), Counter(tokens(truth))
    common = sum((got & want).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision = common / sum(got.values())
    recall = common / sum(want.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def title_correct(extracted: str | None, truth: str) -> bool:
    return bool(extracted) and tokens(extracted or "") == tokens(truth)


_NAME_NOISE = frozenset({"and", "und", "by", "with", "et", "y"})


def author_correct(extracted: Sequence[str], truth: str) -> bool:
    """Right when every extracted name word is in the ground truth (no roles, dates or junk) and
    the extracted names cover at least half of the ground truth's name words."""
    got = {t for name in extracted for t in tokens(name)} - _NAME_NOISE
    want = set(tokens(truth)) - _NAME_NOISE
    return bool(got) and got <= want and 2 * len(got) >= len(want)


def date_correct(extracted: str | None, truth: str) -> bool:
    return extracted is not None and extracted[:10] == truth


# -- leak detectors ------------------------------------------------------------------------------

_I = re.IGNORECASE
# A short line that is an advert marker or a subscription / channel / newsletter / link-out prompt.
AD_LINE = re.compile(
    r"^\W*(?:advertisement|advertising|sponsored(?: content)?|ad|promoted|"
    r"(?:story|article) continues (?:below|after)\b.*|scroll (?:down )?to continue\b.*|"
    r"continue reading below\b.*|live events|(?:also read|read also|read more|must read|"
    r"more to read|don't miss)\b.*|"
    r".{0,40}\b(?:subscribe|join|follow)\b.{0,60}\b(?:whatsapp|telegram|google news)\b.*|"
    r"(?:sign up|subscribe|register)(?: now)? (?:to|for) (?:our|the)\b.{0,60}"
    r"(?:newsletter|briefing|alerts?|updates)\b.*|"
    r"(?:get|receive) (?:our|the) .{0,40}newsletter\b.*)\W*$",
    _I,
)
AD_INLINE = re.compile(
    r"\bSTORY CONTINUES BELOW\b|\bADVERTISEMENT\b|"
    r"you can now subscribe to our\b.{0,60}\b(?:whatsapp|telegram)",
    0,
)
MAX_AD_LINE = 160
# Markup crumbs: image-CDN query strings, shortcodes, markdown images, bare URLs.
CRUMB = re.compile(
    r"(?:[?&](?:w|h|q|width|height|quality|fit|crop|auto|fm|format|dpr|resize)=[\w%.,:-]{0,60}){2,}"
    r"|\[/?(?:caption|embed|gallery|video|audio|tweet)\b[^\]]{0,200}\]"
    r"|!\[[^\]]{0,200}\]\([^)\s]{0,500}\)"
    r"|\bhttps?://\S+",
    _I,
)
# A sentence end running into the next word or number: "said.23392", "trucks.The".
GLUED_STOP = re.compile(r"\b[a-z]*[a-z]{2}[.!?][\"”’]?(?:[A-Z][a-z]+|\d+)\b")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def page_words(html: bytes) -> frozenset[str]:
    """Every word token of a page's source text: a "glued" word the page writes is a word."""
    return frozenset(tokens(re.sub(r"<[^>]*>", " ", html.decode("utf-8", "replace"))))


def find_leaks(
    text: str, truth: str, written: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """(kind, snippet) for each piece of boilerplate in ``text`` that ``truth`` does not hold.

    Kinds: ``ad`` (advert and subscription lines), ``crumb`` (markup crumbs, stray URLs) and
    ``glued`` (words run together across a removed break: "said.23392", or two adjacent words of
    the ground truth written as one, "ofinexpensive")."""
    truth_squashed = _squash(truth)
    leaks: list[tuple[str, str]] = []

    def add(kind: str, snippet: str) -> None:
        if _squash(snippet) not in truth_squashed:
            leaks.append((kind, snippet.strip()[:80]))

    for line in text.splitlines():
        line = line.strip()
        if line and len(line) <= MAX_AD_LINE and AD_LINE.match(line):
            add("ad", line)
        elif (match := AD_INLINE.search(line)) is not None:
            add("ad", match.group())
    for match in CRUMB.finditer(text):
        add("crumb", match.group())
    for match in GLUED_STOP.finditer(text):
        add("glued", match.group())
    truth_tokens = tokens(truth)
    vocabulary = set(truth_tokens)
    joined = {
        a + b
        for a, b in itertools.pairwise(truth_tokens)
        if len(a) > 1 and len(b) > 1 and not (a + b).isdigit()
    }
    for token in set(tokens(text)):
        if token in joined and token not in vocabulary and token not in written:
            add("glued", token)
    return leaks


# -- running the tools ---------------------------------------------------------------------------


@dataclass(slots=True)
class Output:
    text: str = ""
    title: str | None = None
    authors: tuple[str, ...] = ()
    date: str | None = None
    error: str | None = None  # an error kind ("not_an_article", "crash:ValueError", ...)
    seconds: float = 0.0  # CPU seconds of the timed call


def run_broadsheet(page: Page) -> Output:
    from broadsheet.errors import ExtractionError
    from broadsheet.pipeline.extract import extract_article

    start = time.process_time()
    try:
        article = extract_article(page.html, page.url)
    except ExtractionError as exc:
        return Output(error=exc.kind, seconds=time.process_time() - start)
    except Exception as exc:  # a crash scores 0 and is reported by name
        return Output(error=f"crash:{type(exc).__name__}", seconds=time.process_time() - start)
    seconds = time.process_time() - start
    published = article.published_at.date().isoformat() if article.published_at else None
    return Output(article.text, article.title, article.authors, published, None, seconds)


def run_trafilatura(page: Page) -> Output:
    import trafilatura

    start = time.process_time()
    try:
        text = trafilatura.extract(page.html, url=page.url)  # the defaults, as users call it
    except Exception as exc:
        return Output(error=f"crash:{type(exc).__name__}", seconds=time.process_time() - start)
    seconds = time.process_time() - start
    # metadata is asked for separately, untimed: the timed call is trafilatura's default
    try:
        meta = trafilatura.extract_metadata(page.html.decode("utf-8", "replace"), page.url)
    except Exception:
        meta = None
    authors: tuple[str, ...] = ()
    if meta is not None and meta.author:
        authors = tuple(a.strip() for a in meta.author.split(";") if a.strip())
    return Output(
        text=text or "",
        title=meta.title if meta is not None else None,
        authors=authors,
        date=_date(meta.date) if meta is not None else None,
        error=None if text else "empty",
        seconds=seconds,
    )


RUNNERS: dict[str, Callable[[Page], Output]] = {
    "broadsheet": run_broadsheet,
    "trafilatura": run_trafilatura,
}


# -- one set -------------------------------------------------------------------------------------


@dataclass(slots=True)
class PageScore:
    name: str
    tool: str
    precision: float
    recall: float
    f1: float
    error: str | None
    seconds: float
    title: bool | None
    author: bool | None
    date: bool | None
    leaks: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class ToolSummary:
    pages: int
    f1: float
    precision: float
    recall: float
    failures: int
    crashes: int
    title_accuracy: float | None
    author_accuracy: float | None
    date_accuracy: float | None
    title_pages: int
    author_pages: int
    date_pages: int
    leak_pages: int
    leak_pages_by_kind: dict[str, int]
    pages_per_second: float


@dataclass(slots=True)
class SetResult:
    name: str
    pages: int
    skipped: int
    tools: dict[str, ToolSummary]
    scores: list[PageScore]

    @property
    def speed_ratio(self) -> float:
        b, t = self.tools["broadsheet"], self.tools["trafilatura"]
        return b.pages_per_second / t.pages_per_second if t.pages_per_second else math.inf


def score_page(
    page: Page, tool: str, out: Output, written: frozenset[str] = frozenset()
) -> PageScore:
    precision, recall, f1 = word_prf(out.text, page.truth) if out.text else (0.0, 0.0, 0.0)
    return PageScore(
        name=page.name,
        tool=tool,
        precision=precision,
        recall=recall,
        f1=f1,
        error=out.error,
        seconds=out.seconds,
        title=title_correct(out.title, page.title) if page.title else None,
        author=author_correct(out.authors, page.author) if page.author else None,
        date=date_correct(out.date, page.date) if page.date else None,
        leaks=find_leaks(out.text, page.truth, written) if out.text else [],
    )


def _accuracy(values: Iterable[bool | None]) -> tuple[float | None, int]:
    known = [v for v in values if v is not None]
    return (sum(known) / len(known) if known else None), len(known)


def summarize(scores: list[PageScore]) -> ToolSummary:
    n = len(scores)
    title, title_n = _accuracy(s.title for s in scores)
    author, author_n = _accuracy(s.author for s in scores)
    date, date_n = _accuracy(s.date for s in scores)
    by_kind: Counter[str] = Counter()
    for s in scores:
        by_kind.update({kind for kind, _ in s.leaks})
    seconds = sum(s.seconds for s in scores)
    return ToolSummary(
        pages=n,
        f1=sum(s.f1 for s in scores) / n if n else 0.0,
        precision=sum(s.precision for s in scores) / n if n else 0.0,
        recall=sum(s.recall for s in scores) / n if n else 0.0,
        failures=sum(s.error is not None for s in scores),
        crashes=sum((s.error or "").startswith("crash:") for s in scores),
        title_accuracy=title,
        author_accuracy=author,
        date_accuracy=date,
        title_pages=title_n,
        author_pages=author_n,
        date_pages=date_n,
        leak_pages=sum(bool(s.leaks) for s in scores),
        leak_pages_by_kind=dict(sorted(by_kind.items())),
        pages_per_second=n / seconds if seconds else math.inf,
    )


def evaluate(
    pages: Sequence[Page],
    name: str = "",
    skipped: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SetResult:
    """Run both tools on every page (alternating, so drift hits both alike) and score them."""
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    scores: dict[str, list[PageScore]] = {tool: [] for tool in TOOLS}
    for i, page in enumerate(pages):
        written = page_words(page.html)
        for tool in TOOLS:
            scores[tool].append(score_page(page, tool, RUNNERS[tool](page), written))
        if progress is not None:
            progress(i + 1, len(pages))
    return SetResult(
        name=name,
        pages=len(pages),
        skipped=skipped,
        tools={tool: summarize(s) for tool, s in scores.items()},
        scores=[s for tool in TOOLS for s in scores[tool]],
    )


# -- floors --------------------------------------------------------------------------------------


def check_floors(result: SetResult, floors: dict[str, Any]) -> list[str]:
    """Messages for every floor (or ceiling) ``result`` misses; empty when it passes."""
    b, t = result.tools["broadsheet"], result.tools["trafilatura"]
    failures: list[str] = []

    def below(label: str, value: float | None, floor: float | None) -> None:
        if floor is not None and (value is None or value < floor - 1e-9):
            failures.append(f"{result.name}: {label} {_fmt(value)} < floor {floor}")

    below("broadsheet F1", b.f1, floors.get("f1"))
    below("F1 margin over trafilatura", b.f1 - t.f1, floors.get("margin"))
    below("title accuracy", b.title_accuracy, floors.get("title"))
    below("author accuracy", b.author_accuracy, floors.get("author"))
    below("date accuracy", b.date_accuracy, floors.get("date"))
    if (ceiling := floors.get("leaks")) is not None and b.leak_pages > ceiling:
        failures.append(f"{result.name}: {b.leak_pages} pages leak > ceiling {ceiling}")
    if (ceiling := floors.get("crashes", 0)) is not None and b.crashes > ceiling:
        failures.append(f"{result.name}: {b.crashes} crashes > ceiling {ceiling}")
    return failures


def load_floors(path: Path = FLOORS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# -- report --------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(result: SetResult) -> str:
    header = (
        f"{'tool':<12} {'F1':>6} {'P':>6} {'R':>6} {'fail':>5} {'title':>6} {'author':>6} "
        f"{'date':>6} {'leaks':>5}  {'ad/crumb/glued':<14} {'pages/s/core':>12}"
    )
    lines = [
        f"set {result.name or '-'}: {result.pages} pages"
        + (f" ({result.skipped} without ground truth skipped)" if result.skipped else ""),
        header,
        "-" * len(header),
    ]
    for tool, s in result.tools.items():
        kinds = "/".join(str(s.leak_pages_by_kind.get(k, 0)) for k in ("ad", "crumb", "glued"))
        lines.append(
            f"{tool:<12} {s.f1:>6.3f} {s.precision:>6.3f} {s.recall:>6.3f} {s.failures:>5} "
            f"{_fmt(s.title_accuracy):>6} {_fmt(s.author_accuracy):>6} {_fmt(s.date_accuracy):>6} "
            f"{s.leak_pages:>5}  {kinds:<14} {s.pages_per_second:>12.1f}"
        )
    b = result.tools["broadsheet"]
    lines.append(
        f"(metadata pages: title {b.title_pages}, author {b.author_pages}, date {b.date_pages}; "
        "speed counts broadsheet with metadata, trafilatura without)"
    )
    return "\n".join(lines)


def summary_line(f1_b: float, f1_t: float, ratio: float, leaks: int) -> str:
    return (
        f"broadsheet F1 {f1_b:.3f} trafilatura F1 {f1_t:.3f} speed-ratio {ratio:.2f} leaks {leaks}"
    )


def leak_report(result: SetResult, tool: str = "broadsheet", limit: int = 20) -> str:
    rows = [
        f"  {s.name}: {kind} {snippet!r}"
        for s in result.scores
        if s.tool == tool
        for kind, snippet in s.leaks
    ]
    more = f"\n  ... {len(rows) - limit} more" if len(rows) > limit else ""
    return "\n".join(rows[:limit]) + more


def to_json(results: list[SetResult]) -> dict[str, Any]:
    return {
        "sets": {
            r.name: {
                "pages": r.pages,
                "skipped": r.skipped,
                "speed_ratio": r.speed_ratio,
                "tools": {tool: asdict(s) for tool, s in r.tools.items()},
                "pages_scored": [asdict(s) for s in r.scores],
            }
            for r in results
        }
    }


def _progress(done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        print(f"  {done}/{total}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.extraction", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="a folder in the WCXB layout")
    source.add_argument(
        "--all", action="store_true", help="every set in ../shared/data/extraction (converted)"
    )
    parser.add_argument("--limit", type=int, help="a fixed, evenly spread subset of N pages")
    parser.add_argument("--json", type=Path, help="write every score to this file")
    parser.add_argument("--leaks", action="store_true", help="list broadsheet's leaks")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 below the floors in eval/floors.json"
    )
    args = parser.parse_args(argv)

    if args.all:
        from eval.convert import convert_all

        sets = convert_all(SHARED_DATA)
    else:
        sets = {args.data.resolve().name: args.data}
    floors = load_floors()["full"] if args.check else {}
    results: list[SetResult] = []
    failures: list[str] = []
    for name, folder in sets.items():
        pages, skipped = load_pages(folder, args.limit)
        result = evaluate(pages, name, skipped, progress=_progress)
        results.append(result)
        print(table(result))
        if args.leaks:
            print(leak_report(result))
        if len(sets) > 1:
            b, t = result.tools["broadsheet"], result.tools["trafilatura"]
            print(f"{name}: " + summary_line(b.f1, t.f1, result.speed_ratio, b.leak_pages))
        print()
        if args.check and name in floors:
            failures += check_floors(result, floors[name])
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=1), encoding="utf-8")
    for message in failures:
        print("FLOOR:", message)
    # the last line: pooled over every page of every set
    scores = [s for r in results for s in r.scores]
    pooled = {tool: summarize([s for s in scores if s.tool == tool]) for tool in TOOLS}
    b, t = pooled["broadsheet"], pooled["trafilatura"]
    print(summary_line(b.f1, t.f1, b.pages_per_second / t.pages_per_second, b.leak_pages))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
