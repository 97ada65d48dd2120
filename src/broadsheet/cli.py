"""The `broadsheet` command. Thin: parse arguments, open the runtime, call a service."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from broadsheet import __version__
from broadsheet.config import Settings, markdown_table
from broadsheet.errors import BroadsheetError
from broadsheet.models import Progress
from broadsheet.services import extraction, subscriptions
from broadsheet.services.ingest import utcnow
from broadsheet.services.runtime import Runtime

console = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.load(**overrides)
    except BroadsheetError as exc:
        raise click.ClickException(str(exc)) from exc


def _progress_line(p: Progress) -> str:
    return (
        f"feeds polled {p.feeds_polled} ({p.feeds_failed} failed) · "
        f"articles found {p.articles_discovered}, extracted {p.articles_extracted}, "
        f"failed {p.articles_failed} · stories {p.stories}"
    )


class _ProgressDisplay:
    """A live status line on a terminal; one log line every few seconds elsewhere."""

    def __init__(self) -> None:
        self._live: Live | None = None
        self._last = 0.0

    def __enter__(self) -> _ProgressDisplay:
        if console.is_terminal:
            self._live = Live(console=console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def __call__(self, progress: Progress) -> None:
        line = _progress_line(progress)
        if self._live is not None:
            self._live.update(line)
        elif time.monotonic() - self._last > 5:
            self._last = time.monotonic()
            console.print(line, highlight=False)


@click.group()
@click.version_option(__version__, prog_name="broadsheet")
def main() -> None:
    """Broadsheet: a self-hostable AI news desk."""


@main.command()
@click.option("--host", default=None, help="Address to bind (default: setting HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: setting PORT).")
def run(host: str | None, port: int | None) -> None:
    """Ingest the feeds you added and serve the site, in one process."""
    from broadsheet.workers.embedded import serve

    with Runtime.open(_settings(host=host, port=port)) as runtime, _ProgressDisplay() as show:
        serve(runtime, on_progress=show, on_started=_announce)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for the site.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port for the site.")
@click.option("--publishers-port", type=int, default=0, help="Port for the sample publishers.")
def demo(host: str, port: int, publishers_port: int) -> None:
    """Serve sample publishers on loopback, subscribe to them, ingest and serve the site."""
    from broadsheet.demo.server import SamplePublishers
    from broadsheet.workers.embedded import serve

    base = _settings()
    data_dir = Path(base.data_dir) / "demo"
    database = data_dir / "demo.db"
    for stale in data_dir.glob("demo.db*"):  # every demo starts from an empty desk
        stale.unlink()
    settings = base.replace(
        host=host,
        port=port,
        data_dir=str(data_dir),
        database_url=f"sqlite:///{database}",
        allow_hosts=(*base.allow_hosts, "127.0.0.1"),
        per_host_delay=min(base.per_host_delay, 0.05),  # all sample publishers share one host
    )
    with SamplePublishers(port=publishers_port) as publishers:
        console.print(f"Sample publishers at {publishers.base_url}/", highlight=False)
        with Runtime.open(settings) as runtime, _ProgressDisplay() as show:
            now = utcnow()
            for url in publishers.feed_urls():
                subscriptions.add(runtime.db, runtime.fetcher, settings, url, now=now)
            serve(runtime, on_progress=show, on_started=_announce)


def _announce(url: str) -> None:
    console.print(f"Broadsheet is serving at [bold]{url}[/bold] (Ctrl-C to stop)")


@main.command()
def ingest() -> None:
    """Poll every due feed and process what it finds, then exit (for cron or a one-off run)."""
    from broadsheet.workers.runner import Runner

    settings = _settings()
    with (
        Runtime.open(settings) as runtime,
        _ProgressDisplay() as show,
        Runner(runtime.ingestor(), workers=settings.fetch_workers, on_progress=show) as runner,
    ):
        progress = runner.run_until_idle()
    click.echo(_progress_line(progress))


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()
    with Runtime.open(settings):
        pass
    click.echo(f"database at {settings.database_url} is up to date")


@main.group()
def feeds() -> None:
    """Add, list, import and export feeds."""


@feeds.command("add")
@click.argument("url")
@click.option("--category", default=None, help="Folder to file the feed under.")
@click.option("--all", "take_all", is_flag=True, help="Subscribe to every feed URL leads to.")
def feeds_add(url: str, category: str | None, take_all: bool) -> None:
    """Subscribe to URL: a feed, or a site page that links to its feeds (asks which when there
    are several, unless --all)."""
    settings = _settings()
    with Runtime.open(settings) as runtime:
        try:
            added = subscriptions.add(
                runtime.db, runtime.fetcher, settings, url, now=utcnow(), category=category,
                choose=None if take_all else _choose_feeds,
            )  # fmt: skip
        except BroadsheetError as exc:
            raise click.ClickException(f"{exc.kind}: {exc}") from exc
    for a in added:
        state = "added" if a.created else "already subscribed"
        click.echo(f"{state}: {a.feed.url} ({a.feed.source_name})")


def _choose_feeds(found: list[subscriptions.Found]) -> list[subscriptions.Found]:
    listing = "\n".join(f"  {i}. {f.feed.title or '(untitled)'}  {f.url}" for i, f in
                        enumerate(found, 1))  # fmt: skip
    if not sys.stdin.isatty():
        raise click.ClickException(
            f"several feeds found:\n{listing}\nadd one of them by its URL, or pass --all"
        )
    click.echo(f"Several feeds found:\n{listing}")
    picked = click.prompt(
        "Which to add (numbers separated by commas, or 'all')", default="1", show_default=True
    )
    if picked.strip().lower() == "all":
        return found
    try:
        return [found[int(n) - 1] for n in picked.split(",") if n.strip()]
    except (ValueError, IndexError):
        raise click.ClickException(f"not a choice: {picked!r}") from None


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def feeds_list(as_json: bool) -> None:
    """Show every feed with its health: the last error is kept on the feed."""
    with Runtime.open(_settings()) as runtime:
        rows = subscriptions.list_feeds(runtime.db)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], default=_json_default, indent=2))
        return
    table = Table("publisher", "feed", "health", "last success", "next check")
    for r in rows:
        health = "ok" if r.healthy else f"{r.error_kind} ×{r.error_count}: {r.error_message}"
        table.add_row(
            r.source_name, r.url, health, _when(r.last_success_at), _when(r.next_check_at)
        )
    Console().print(table)


@feeds.command("refresh")
def feeds_refresh() -> None:
    """Make every feed due now (the next `run` or `ingest` polls them all)."""
    with Runtime.open(_settings()) as runtime:
        n = subscriptions.refresh_all(runtime.db, now=utcnow())
    click.echo(f"{n} feeds due now")


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def feeds_import(path: Path) -> None:
    """Subscribe to every feed in an OPML file."""
    settings = _settings()
    with Runtime.open(settings) as runtime:
        try:
            added, refused = subscriptions.import_opml(
                runtime.db, settings, path.read_bytes(), now=utcnow()
            )
        except BroadsheetError as exc:
            raise click.ClickException(str(exc)) from exc
    for refusal in refused:
        click.echo(f"refused: {refusal}", err=True)
    new = sum(a.created for a in added)
    click.echo(f"{new} feeds added, {len(added) - new} already subscribed, {len(refused)} refused")


@feeds.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def feeds_export(path: Path | None) -> None:
    """Write every subscription as OPML to PATH (or standard output)."""
    with Runtime.open(_settings()) as runtime:
        content = subscriptions.export_opml(runtime.db)
    if path is None:
        sys.stdout.buffer.write(content)
    else:
        path.write_bytes(content)


@main.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print all fields as JSON.")
def extract(source: str, as_json: bool) -> None:
    """Extract the article from a file or URL and print its text."""
    try:
        article = extraction.extract_source(_settings(), source)
    except BroadsheetError as exc:
        raise click.ClickException(f"{exc.kind}: {exc}") from exc
    if as_json:
        click.echo(json.dumps(asdict(article), default=_json_default, indent=2, ensure_ascii=False))
    else:
        click.echo(f"{article.title}\n\n{article.text}")


@main.group()
def config() -> None:
    """Inspect settings."""


@config.command("show")
@click.option("--markdown", is_flag=True, help="Print the defaults as the README's table.")
def config_show(markdown: bool) -> None:
    """Every setting: its environment variable, current value and meaning."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    settings = _settings()
    table = Table("setting", "environment variable", "value", "help")
    for setting, value in settings.rows():
        shown = ",".join(value) if isinstance(value, tuple) else str(value)
        table.add_row(setting.name, setting.env, shown, setting.help)
    Console(width=200).print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
