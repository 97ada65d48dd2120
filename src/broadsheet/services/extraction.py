"""Extract one article on request (`broadsheet extract`): from a file, or fetched politely."""

from __future__ import annotations

from pathlib import Path

from broadsheet.config import Settings
from broadsheet.errors import BroadsheetError
from broadsheet.models import ExtractedArticle
from broadsheet.pipeline import PAGE_ACCEPT
from broadsheet.pipeline.extract import extract_article
from broadsheet.pipeline.fetch import Fetcher


def extract_source(settings: Settings, source: str) -> ExtractedArticle:
    """``source`` is an http(s) URL, fetched with the same guarded client as ingestion, or a
    path to a saved page."""
    if source.startswith(("http://", "https://")):
        with Fetcher.from_settings(settings) as fetcher:
            response = fetcher.get(source, accept=PAGE_ACCEPT)
        return extract_article(response.content, response.url)
    try:
        content = Path(source).read_bytes()
    except OSError as exc:
        raise BroadsheetError(f"cannot read {source}: {exc.strerror}") from exc
    return extract_article(content, None)
