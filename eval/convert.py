"""Write the development sets that are not in the WCXB layout into it, in a gitignored cache.

- ``fundus-eval``: ``html/NAME.html.gz`` + ``ground_truth.json`` (``{NAME: {url, body: [...]}}``):
  the body paragraphs, joined by new lines, are the main content.
- ``readability-testpages``: ``pages/NAME/source.html`` + ``expected.html`` (the article as
  Readability extracts it: its text, blocks kept apart, is the main content) +
  ``expected-metadata.json`` (``title``, ``byline`` as author, ``publishedTime`` as date). The
  pages carry no URL; Readability's own tests use ``http://fakehost/test/page.html``.

``wcxb-dev-articles`` is already in the layout and is read in place. The converted copies are
derived data: never commit them (``artifacts/`` is gitignored).

    python -m eval.convert [--src ../shared/data/extraction] [--out artifacts/eval-data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lxml.html

from eval.extraction import REPO, SHARED_DATA

CACHE = REPO / "artifacts" / "eval-data"
FORMAT_VERSION = "1"  # bump when the conversion changes, to rebuild the cache
READABILITY_URL = "http://fakehost/test/page.html"
_BLOCKS = (
    "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "td",
    "th", "dt", "dd", "figcaption", "section", "article", "table", "ul", "ol", "hr",
)  # fmt: skip


def html_text(markup: str) -> str:
    """The text of an HTML fragment with every block on its own line."""
    tree = lxml.html.fragment_fromstring(markup, create_parent="div")
    for el in tree.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
        el.text = "\n" + (el.text or "")
    lines = (" ".join(line.split()) for line in tree.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _write(out: Path, name: str, html: bytes, record: dict[str, Any]) -> None:
    (out / "html" / f"{name}.html.gz").write_bytes(gzip.compress(html, mtime=0))
    (out / "ground-truth" / f"{name}.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8"
    )


def _record(url: str | None, main: str, **truth: str | None) -> dict[str, Any]:
    fields = {k: v for k, v in truth.items() if v}
    return {"url": url, "ground_truth": {"main_content": main, **fields}}


def convert_fundus(src: Path, out: Path) -> int:
    truth = json.loads((src / "ground_truth.json").read_text(encoding="utf-8"))
    for filename, entry in sorted(truth.items()):
        name = filename.removesuffix(".html.gz")
        html = gzip.decompress((src / "html" / filename).read_bytes())
        main = "\n".join(entry.get("body") or [])
        _write(out, name, html, _record(entry.get("url"), main, title=entry.get("title")))
    return len(truth)


def convert_readability(src: Path, out: Path) -> int:
    count = 0
    for folder in sorted(p for p in (src / "pages").iterdir() if p.is_dir()):
        source, expected = folder / "source.html", folder / "expected.html"
        if not source.is_file() or not expected.is_file():
            continue
        meta_path = folder / "expected-metadata.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        main = html_text(expected.read_text(encoding="utf-8"))
        record = _record(
            READABILITY_URL,
            main,
            title=meta.get("title"),
            author=meta.get("byline"),
            publish_date=meta.get("publishedTime"),
        )
        _write(out, folder.name, source.read_bytes(), record)
        count += 1
    return count


CONVERTERS = {"fundus-eval": convert_fundus, "readability-testpages": convert_readability}


def convert_all(src: Path = SHARED_DATA, cache: Path = CACHE) -> dict[str, Path]:
    """Every set as a WCXB-layout folder, converting into ``cache`` what is not up to date."""
    if not src.is_dir():
        raise FileNotFoundError(f"no development data at {src}")
    sets: dict[str, Path] = {}
    wcxb = src / "wcxb-dev-articles"
    if (wcxb / "ground-truth").is_dir():
        sets[wcxb.name] = wcxb
    for name, convert in CONVERTERS.items():
        if not (src / name).is_dir():
            continue
        out = cache / name
        stamp = out / ".converted"
        if not stamp.is_file() or stamp.read_text() != FORMAT_VERSION:
            (out / "html").mkdir(parents=True, exist_ok=True)
            (out / "ground-truth").mkdir(parents=True, exist_ok=True)
            convert(src / name, out)
            stamp.write_text(FORMAT_VERSION)
        sets[name] = out
    return sets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.convert", description=__doc__)
    parser.add_argument("--src", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    for name, folder in convert_all(args.src, args.out).items():
        count = len(list((folder / "ground-truth").glob("*.json")))
        print(f"{name}: {count} pages in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
