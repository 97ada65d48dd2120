"""Every setting in one declarative table: name, environment variable, type, default, help.

Settings are read once, at the entry point (CLI, web app factory, worker), into a frozen
``Settings`` object that is passed down explicitly; no stage reads the environment itself.
``broadsheet config show`` prints this table, and a test fails if a setting lacks help or a
README row.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from broadsheet.errors import ConfigError

ENV_PREFIX = "BROADSHEET_"


def _default_data_dir() -> str:
    return platformdirs.user_data_dir("broadsheet", appauthor=False)


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: str  # "str" | "int" | "float" | "bool" | "list"
    default: Any
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": _parse_bool,
    "list": _parse_list,
}

# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "str", None, "Folder for the database and caches (default: the user's data directory)."),
    Setting("database_url", "str", None, "SQLAlchemy URL; default: SQLite file broadsheet.db in data_dir. postgresql+psycopg://... to scale out."),
    Setting("host", "str", "127.0.0.1", "Address the web server binds to."),
    Setting("port", "int", 8000, "Port the web server listens on."),
    Setting("timezone", "str", "UTC", "IANA time zone in which pages show times (e.g. Asia/Kolkata)."),
    Setting("user_agent", "str", "Broadsheet/0.1 (+https://github.com/broadsheet-news/broadsheet)", "User-Agent sent to publishers."),
    Setting("connect_timeout", "float", 10.0, "Seconds to wait for a TCP/TLS connection."),
    Setting("read_timeout", "float", 15.0, "Seconds to wait for any byte of a response."),
    Setting("request_deadline", "float", 30.0, "Wall-clock seconds for a whole request, redirects included (stops slow drips)."),
    Setting("max_body_bytes", "int", 10_000_000, "Largest response body accepted, after decompression."),
    Setting("max_redirects", "int", 5, "Redirects followed before a fetch fails."),
    Setting("allow_hosts", "list", (), "Hosts or networks (CIDR) fetched even though private or loopback, e.g. 127.0.0.1,10.0.0.0/8."),
    Setting("fetch_workers", "int", 8, "Threads fetching feeds and pages in the in-process runner."),
    Setting("parse_workers", "int", 0, "Worker processes parsing feeds and extracting pages under limits (0: one per CPU core)."),
    Setting("parse_timeout", "float", 20.0, "Wall-clock seconds to parse one feed or extract one page before its worker is killed."),
    Setting("parse_memory_mb", "int", 1024, "Address-space cap of each parsing worker process, in MiB."),
    Setting("per_host_connections", "int", 2, "Requests in flight to one host at most."),
    Setting("per_host_delay", "float", 0.5, "Seconds between the starts of two requests to one host."),
    Setting("respect_robots", "bool", True, "Ask robots.txt before fetching an article page (feeds are meant to be fetched)."),
    Setting("poll_interval", "int", 900, "Seconds between two checks of a new feed; then adapted to how often it publishes."),
    Setting("poll_interval_min", "int", 300, "Shortest interval between two checks of a feed."),
    Setting("poll_interval_max", "int", 86_400, "Longest interval between two checks of a feed."),
    Setting("error_backoff_max", "int", 86_400, "Longest wait, in seconds, before retrying a failing feed."),
    Setting("max_attempts", "int", 5, "Attempts at an article before it is marked dead."),
    Setting("lease_seconds", "int", 600, "How long a claimed feed or article stays leased to one worker."),
    Setting("story_window_hours", "int", 72, "An article joins a story only if the story saw coverage within this many hours."),
    Setting("story_threshold", "float", 0.17, "Minimum headline+lead similarity for an article to join a story."),
    Setting("embedding_model", "str", "all-MiniLM-L6-v2", "Sentence-embedding model: one shipped in a Python package, or a sentence-transformers folder."),
    Setting("log_level", "str", "INFO", "Logging level: DEBUG, INFO, WARNING, ERROR."),
)
# fmt: on

_BY_NAME = {s.name: s for s in SETTINGS}

# Defaults computed at start-up, described in words for the documentation.
_DOC_DEFAULTS = {
    "data_dir": "the user data directory (e.g. ~/.local/share/broadsheet)",
    "database_url": "sqlite:///DATA_DIR/broadsheet.db",
}


def markdown_table() -> str:
    """The settings table as the README shows it (`broadsheet config show --markdown`)."""
    lines = ["| Environment variable | Default | Meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = _DOC_DEFAULTS.get(s.name, s.default)
        if isinstance(default, tuple):
            default = ",".join(default) or "(none)"
        lines.append(f"| `{s.env}` | `{default}` | {s.help} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: str
    database_url: str
    host: str
    port: int
    timezone: str
    user_agent: str
    connect_timeout: float
    read_timeout: float
    request_deadline: float
    max_body_bytes: int
    max_redirects: int
    allow_hosts: tuple[str, ...]
    fetch_workers: int
    parse_workers: int
    parse_timeout: float
    parse_memory_mb: int
    per_host_connections: int
    per_host_delay: float
    respect_robots: bool
    poll_interval: int
    poll_interval_min: int
    poll_interval_max: int
    error_backoff_max: int
    max_attempts: int
    lease_seconds: int
    story_window_hours: int
    story_threshold: float
    embedding_model: str
    log_level: str

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``BROADSHEET_*`` environment variables, then explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            value = setting.default
            raw = env.get(setting.env)
            if raw is not None and raw != "":
                try:
                    value = _PARSERS[setting.type](raw)
                except ValueError as exc:
                    raise ConfigError(f"{setting.env}: {exc}") from exc
            values[setting.name] = value
        for name, value in overrides.items():
            if name not in _BY_NAME:
                raise ConfigError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = value
        if not values["data_dir"]:
            values["data_dir"] = _default_data_dir()
        if not values["database_url"]:
            path = Path(values["data_dir"]) / "broadsheet.db"
            values["database_url"] = f"sqlite:///{path}"
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"BROADSHEET_TIMEZONE: unknown time zone {self.timezone!r}") from exc
        for name in (
            "connect_timeout",
            "read_timeout",
            "request_deadline",
            "max_body_bytes",
            "max_attempts",
            "lease_seconds",
            "fetch_workers",
            "parse_timeout",
            "parse_memory_mb",
            "per_host_connections",
            "poll_interval_min",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be positive")
        if not self.poll_interval_min <= self.poll_interval <= self.poll_interval_max:
            raise ConfigError(
                f"{ENV_PREFIX}POLL_INTERVAL must lie between POLL_INTERVAL_MIN and POLL_INTERVAL_MAX"
            )
        if self.per_host_delay < 0:
            raise ConfigError(f"{ENV_PREFIX}PER_HOST_DELAY must not be negative")
        if not 0 < self.story_threshold < 1:
            raise ConfigError(f"{ENV_PREFIX}STORY_THRESHOLD must be between 0 and 1")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def rows(self) -> list[tuple[Setting, Any]]:
        """Each setting with its current value, secrets masked, for ``config show``."""
        return [
            (s, "********" if s.secret and getattr(self, s.name) else getattr(self, s.name))
            for s in SETTINGS
        ]
