"""Extraction speed: pages per second per core, Broadsheet against trafilatura's defaults.

Both run on the same pages in the same process, interleaved page by page so that machine noise
hits both alike; time is CPU time of this process (one core). Broadsheet's time includes its
metadata, trafilatura's plain ``trafilatura.extract`` does not. The last line is
``speed-ratio X`` (Broadsheet's pages/s over trafilatura's); ``--check`` exits 1 below 1.0.

    python -m bench.extraction [--data DIR] [--limit N] [--rounds R] [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from eval.extraction import SHARED_DATA, select

DEFAULT_DATA = SHARED_DATA / "wcxb-dev-articles"


def load_html(data_dir: Path, limit: int | None) -> list[tuple[bytes, str | None]]:
    files = {p.name.removesuffix(".html.gz"): p for p in (data_dir / "html").glob("*.html.gz")}
    return [
        (gzip.decompress(files[name].read_bytes()), None) for name in select(list(files), limit)
    ]


def measure(pages: list[tuple[bytes, str | None]], rounds: int) -> tuple[float, float]:
    """Pages per CPU-second for (broadsheet, trafilatura)."""
    import trafilatura

    from broadsheet.errors import ExtractionError
    from broadsheet.pipeline.extract import extract_article

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    spent = {"broadsheet": 0.0, "trafilatura": 0.0}
    for _ in range(rounds):
        for html, url in pages:
            start = time.process_time()
            with contextlib.suppress(ExtractionError):
                extract_article(html, url)
            middle = time.process_time()
            trafilatura.extract(html, url=url)
            end = time.process_time()
            spent["broadsheet"] += middle - start
            spent["trafilatura"] += end - middle
    n = len(pages) * rounds
    return n / spent["broadsheet"], n / spent["trafilatura"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extraction", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a WCXB-layout folder")
    parser.add_argument("--limit", type=int, default=120, help="pages, evenly spread")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 when the ratio is < 1.0")
    args = parser.parse_args(argv)
    if not (args.data / "html").is_dir():
        print(f"no pages at {args.data}/html", file=sys.stderr)
        return 2
    pages = load_html(args.data, args.limit)
    broadsheet, trafilatura = measure(pages, args.rounds)
    ratio = broadsheet / trafilatura
    print(f"pages {len(pages)} x {args.rounds} from {args.data}")
    print(f"broadsheet   {broadsheet:6.1f} pages/s/core")
    print(f"trafilatura  {trafilatura:6.1f} pages/s/core (default settings)")
    print(f"speed-ratio {ratio:.2f}")
    return 1 if args.check and ratio < 1.0 else 0


if __name__ == "__main__":
    sys.exit(main())
