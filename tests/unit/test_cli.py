"""The `broadsheet` command through click's CliRunner, against the sample publishers on loopback
and a real SQLite database in a temporary data directory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import httpx
import pytest
from click.testing import CliRunner, Result

from broadsheet.cli import main
from broadsheet.config import SETTINGS
from broadsheet.demo.server import SamplePublishers
from broadsheet.pipeline.opml import parse_opml
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss


@pytest.fixture(scope="module")
def publishers() -> Iterator[SamplePublishers]:
    with SamplePublishers() as pubs:
        yield pubs


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings come from the environment only: ours, not the developer's."""
    for name in list(os.environ):
        if name.startswith("BROADSHEET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BROADSHEET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BROADSHEET_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("BROADSHEET_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("BROADSHEET_PER_HOST_DELAY", "0")
    monkeypatch.setenv("COLUMNS", "250")  # rich tables: one row a line
    return tmp_path


def cli(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, (args, result.output)
    return result


def opml_file(path: Path, feeds: list[tuple[str, str, str | None]]) -> Path:
    """(url, title, category) rows as an OPML file with a folder per category."""
    folders: dict[str | None, str] = {}
    for url, title, category in feeds:
        folders[category] = folders.get(category, "") + (
            f"<outline type='rss' text={quoteattr(title)} xmlUrl={quoteattr(url)}/>"
        )
    body = folders.pop(None, "") + "".join(
        f"<outline text={quoteattr(name or '')}>{lines}</outline>"
        for name, lines in folders.items()
    )
    path.write_text(f"<?xml version='1.0'?><opml version='2.0'><head/><body>{body}</body></opml>")
    return path


def test_config_show_lists_every_setting(data_dir: Path) -> None:
    out = cli("config", "show").stdout
    for setting in SETTINGS:
        assert setting.env in out, setting.env
    data_row = next(line for line in out.splitlines() if "BROADSHEET_DATA_DIR" in line)
    assert str(data_dir) in data_row
    hosts_row = next(line for line in out.splitlines() if "BROADSHEET_ALLOW_HOSTS" in line)
    assert "127.0.0.1" in hosts_row


def test_config_show_rejects_a_bad_value(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROADSHEET_PORT", "eighty")
    result = cli("config", "show", ok=False)
    assert "BROADSHEET_PORT" in result.output


def test_feeds_add_then_list(data_dir: Path, publishers: SamplePublishers) -> None:
    url = publishers.feed_urls()[0]
    name = publishers.publishers[0].name
    assert cli("feeds", "add", url).stdout.strip() == f"added: {url} ({name})"
    assert cli("feeds", "add", url).stdout.strip() == f"already subscribed: {url} ({name})"

    (row,) = json.loads(cli("feeds", "list", "--json").stdout)
    assert (row["url"], row["source_name"], row["error_count"]) == (url, name, 0)

    table = cli("feeds", "list").stdout
    line = next(line for line in table.splitlines() if url in line)
    assert name in line and " ok " in line


def test_feeds_add_by_home_page_discovers_the_feed(
    data_dir: Path, publishers: SamplePublishers
) -> None:
    home = publishers.home_urls()[0]
    out = cli("feeds", "add", home).stdout
    assert f"added: {publishers.feed_urls()[0]} " in out


def test_feeds_add_of_a_missing_feed_fails_with_the_error_kind(data_dir: Path) -> None:
    with ScriptedServer() as srv:
        result = cli("feeds", "add", srv.url("/gone.xml"), ok=False)
    assert "http_status: HTTP 404" in result.output
    assert json.loads(cli("feeds", "list", "--json").stdout) == []


def test_feeds_add_refuses_addresses_not_allowed(data_dir: Path) -> None:
    result = cli("feeds", "add", "http://127.0.0.2:9/feed.xml", ok=False)
    assert "blocked_address" in result.output


def test_feeds_import_then_export_round_trips(
    data_dir: Path, tmp_path: Path, publishers: SamplePublishers
) -> None:
    rows = [
        (url, pub.name, "News" if i % 2 else None)
        for i, (url, pub) in enumerate(
            zip(publishers.feed_urls(), publishers.publishers, strict=True)
        )
    ]
    source = opml_file(tmp_path / "in.opml", [*rows, ("file:///etc/passwd", "Local", None)])
    first = cli("feeds", "import", str(source))
    assert first.stdout.strip() == f"{len(rows)} feeds added, 0 already subscribed, 1 refused"
    assert "file:///etc/passwd" in first.stderr
    assert cli("feeds", "import", str(source)).stdout.strip() == (
        f"0 feeds added, {len(rows)} already subscribed, 1 refused"
    )

    target = tmp_path / "out.opml"
    assert cli("feeds", "export", str(target)).stdout == ""
    exported = parse_opml(target.read_bytes())
    assert {(s.url, s.title, s.category) for s in exported} == set(rows)

    to_stdout = cli("feeds", "export").stdout_bytes
    assert to_stdout == target.read_bytes()


def test_feeds_import_of_a_non_opml_file_fails(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "feeds.opml"
    bad.write_text("<html><body>not opml</body></html>")
    result = cli("feeds", "import", str(bad), ok=False)
    assert "not an OPML file" in result.output


def test_ingest_reports_progress_and_feed_errors(
    data_dir: Path, tmp_path: Path, publishers: SamplePublishers
) -> None:
    with ScriptedServer() as srv:
        broken = srv.url("/gone.xml")
        rows = [
            (url, pub.name, None)
            for url, pub in zip(publishers.feed_urls(), publishers.publishers, strict=True)
        ]
        cli(
            "feeds", "import", str(opml_file(tmp_path / "in.opml", [*rows, (broken, "Gone", None)]))
        )
        out = cli("ingest").stdout
        n = len(publishers.catalog())
        assert f"feeds polled {len(rows) + 1} (1 failed) · " in out
        assert f"articles found {n}, extracted {n}, failed 0 · stories " in out

        listing = cli("feeds", "list").stdout
        line = next(line for line in listing.splitlines() if broken in line)
        assert "http_status ×1: HTTP 404" in line

        again = cli("ingest").stdout  # nothing due: every feed was just checked
        assert "feeds polled 0 (0 failed) · articles found 0, extracted 0" in again


def test_extract_a_saved_page(data_dir: Path, tmp_path: Path, publishers: SamplePublishers) -> None:
    article = publishers.catalog()[0]
    page = tmp_path / "page.html"
    page.write_bytes(httpx.get(article.url, timeout=10).content)

    doc = json.loads(cli("extract", str(page), "--json").stdout)
    assert doc["title"] == article.title
    assert doc["paragraphs"] == list(article.paragraphs)

    plain = cli("extract", str(page)).stdout
    assert plain.startswith(f"{article.title}\n\n{article.paragraphs[0]}")


def test_extract_of_a_missing_file_fails(data_dir: Path, tmp_path: Path) -> None:
    result = cli("extract", str(tmp_path / "nope.html"), ok=False)
    assert "nope.html" in result.output


def test_feeds_refresh_makes_every_feed_due(data_dir: Path, publishers: SamplePublishers) -> None:
    for url in publishers.feed_urls()[:2]:
        cli("feeds", "add", url)
    assert "feeds polled 2" in cli("ingest").stdout
    assert "feeds polled 0" in cli("ingest").stdout  # nothing is due any more
    assert cli("feeds", "refresh").stdout.strip() == "2 feeds due now"
    assert "feeds polled 2" in cli("ingest").stdout


def test_feeds_add_with_several_feeds_asks_or_takes_all(data_dir: Path) -> None:
    links = '<link rel="alternate" type="application/rss+xml" href="/a.xml">' + (
        '<link rel="alternate" type="application/atom+xml" href="/b.xml">'
    )
    with ScriptedServer() as srv:
        srv.routes["/"] = Reply(200, f"<html><head>{links}</head></html>".encode(), HTML_TYPE)
        srv.routes["/a.xml"] = Reply(200, rss("Gazette - News", []), RSS_TYPE)
        srv.routes["/b.xml"] = Reply(200, rss("Gazette - Sport", []), RSS_TYPE)
        refused = cli("feeds", "add", srv.url("/"), ok=False)  # no terminal to ask on
        assert "several feeds found" in refused.output and "--all" in refused.output
        assert srv.url("/b.xml") in refused.output
        added = cli("feeds", "add", srv.url("/"), "--all").stdout
    assert added.count("added:") == 2
