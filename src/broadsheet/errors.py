"""The one exception tree of Broadsheet.

Lower-level exceptions (httpx, feedparser, lxml, SQLAlchemy) are translated into these at the
boundary where they happen, so callers catch ``BroadsheetError`` and read ``kind``: the short,
stable name that is stored on a feed or an article row and shown to the user.
"""

from __future__ import annotations


class BroadsheetError(Exception):
    """Base of every error Broadsheet raises on purpose."""

    kind = "error"


class InternalError(BroadsheetError):
    """A bug: an unexpected exception inside a stage, recorded on the row it was working on so
    that one bad input never stalls the run."""

    kind = "internal"


class ConfigError(BroadsheetError):
    """A setting is missing, malformed or out of range."""

    kind = "config"


# -- fetching -------------------------------------------------------------------------------


class FetchError(BroadsheetError):
    """A URL could not be fetched. Subclasses say why; ``kind`` is stored on the feed."""

    kind = "fetch"

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class InvalidURL(FetchError):
    kind = "invalid_url"


class BlockedAddress(FetchError):
    """The URL resolves to a private, loopback, link-local or reserved address."""

    kind = "blocked_address"


class BlockedByRobots(FetchError):
    """The publisher's robots.txt disallows the page for our user agent."""

    kind = "robots"


class DNSError(FetchError):
    kind = "dns"


class ConnectError(FetchError):
    kind = "connect"


class TLSError(FetchError):
    kind = "tls"


class FetchTimeout(FetchError):
    kind = "timeout"


class TooLarge(FetchError):
    """The body (or its decompressed form) is bigger than the configured cap."""

    kind = "too_large"


class TooManyRedirects(FetchError):
    kind = "redirects"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


# -- parsing and extraction ------------------------------------------------------------------


class FeedError(BroadsheetError):
    """A response is not a feed, or the feed cannot be parsed."""

    kind = "parse"


class NotAFeed(FeedError):
    kind = "not_a_feed"


class ParseAborted(FeedError):
    """Parsing the feed ran past its time or memory limit; its worker process was killed."""

    kind = "parse_aborted"


class ExtractionError(BroadsheetError):
    """An article page yields no usable article."""

    kind = "extraction"


class ExtractionAborted(ExtractionError):
    """Extraction ran past its time or memory limit; its worker process was killed."""

    kind = "extraction_aborted"


class NotAnArticle(ExtractionError):
    """The page parsed, but holds no article text worth storing (too short, or empty)."""

    kind = "not_an_article"


class EmbeddingError(BroadsheetError):
    """The embedding model cannot be loaded or fails on its input."""

    kind = "embedding"


# -- storage and services --------------------------------------------------------------------


class StorageError(BroadsheetError):
    kind = "storage"


class NotFound(BroadsheetError):
    """A requested row does not exist (web: 404)."""

    kind = "not_found"
