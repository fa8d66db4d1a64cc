"""The configuration: one TOML file, every scalar key also settable from the environment.

The file is validated whole before anything runs, and every problem names the file, the key and what is
wrong, because a daemon that starts on a half-understood config loses articles silently. Relative paths
(the SQLite file, the export folder, a feed given as a local path) resolve against the config file's folder,
so a config and its archive can move together.

Environment overrides: `SCRAPER_<SECTION>_<KEY>` for every scalar key of a section
(`SCRAPER_DATABASE_URL`, `SCRAPER_EXPORT_DIR`, `SCRAPER_HTTP_ALLOW_PRIVATE_NETWORKS`, ...).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

CONFIG_ENV = "SCRAPER_CONFIG"
DEFAULT_CONFIG = "scraper.toml"
ENV_PREFIX = "SCRAPER_"

ContentSource = Literal["page", "feed", "auto"]
CONTENT_SOURCES: tuple[str, ...] = ("page", "feed", "auto")


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///archive.db"


@dataclass(frozen=True)
class ExportConfig:
    dir: Path = Path("_posts")
    template: str = "jekyll"


@dataclass(frozen=True)
class HttpConfig:
    user_agent: str = "scraper/{version} (+https://github.com/scraper-archive/scraper)"
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    concurrency: int = 8
    allow_private_networks: bool = False


@dataclass(frozen=True)
class FetchConfig:
    max_attempts: int = 8
    retry_base_seconds: float = 300.0


@dataclass(frozen=True)
class DaemonConfig:
    """`scraper run`: the health/metrics listener, the shutdown grace period, how often jobs wake."""

    listen: str = "127.0.0.1:9180"  # host:port of /healthz and /metrics; "" turns the listener off
    grace_seconds: float = 20.0  # on SIGTERM/SIGINT, how long in-flight fetches may take to finish
    tick_seconds: float = 5.0  # how often the jobs ask the database what is due


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    interval: int = 1800
    enabled: bool = True
    content: ContentSource = "page"
    selector: str | None = None
    remove: tuple[str, ...] = ()

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file:")


@dataclass(frozen=True)
class Config:
    path: Path | None
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    feeds: tuple[FeedConfig, ...] = ()
    rules: tuple[Mapping[str, Any], ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


_SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "export": ExportConfig,
    "http": HttpConfig,
    "fetch": FetchConfig,
    "daemon": DaemonConfig,
}
# String keys where "" is a meaningful value rather than a mistake.
_MAY_BE_EMPTY = {("daemon", "listen")}
_FEED_KEYS = {f.name for f in fields(FeedConfig)}


def find_config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """`--config`, else `$SCRAPER_CONFIG`, else `./scraper.toml`."""
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return Path(DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, override from the environment, validate. Raises ConfigError."""
    env = os.environ if env is None else env
    config_path = find_config_path(path, env)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file (set --config or ${CONFIG_ENV})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from None
    return parse_config(raw, config_path.resolve(), env)


def parse_config(raw: Mapping[str, Any], path: Path | None, env: Mapping[str, str]) -> Config:
    where = str(path) if path else "<config>"
    base = path.parent if path else Path.cwd()
    unknown = set(raw) - set(_SECTIONS) - {"feeds", "rules"}
    if unknown:
        raise ConfigError(f"{where}: unknown section or key {sorted(unknown)[0]!r}")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build_section(where, name, cls, table, env)

    database = sections["database"]
    database = DatabaseConfig(url=resolve_database_url(database.url, base))
    export = sections["export"]
    export = ExportConfig(dir=_resolve_path(export.dir, base), template=export.template)
    if export.template not in ("jekyll",):
        raise ConfigError(f"{where}: export.template: unknown template {export.template!r} (known: 'jekyll')")

    feeds_raw = raw.get("feeds", [])
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"{where}: feeds must be an array of tables ([[feeds]])")
    feeds = tuple(_build_feed(where, i, table, base) for i, table in enumerate(feeds_raw))
    seen: dict[str, int] = {}
    for i, feed in enumerate(feeds):
        if feed.url in seen:
            raise ConfigError(f"{where}: feeds[{i}].url: the same URL as feeds[{seen[feed.url]}]")
        seen[feed.url] = i

    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list) or not all(isinstance(r, Mapping) for r in rules_raw):
        raise ConfigError(f"{where}: rules must be an array of tables ([[rules]])")
    return Config(
        path=path,
        database=database,
        export=export,
        http=sections["http"],
        fetch=sections["fetch"],
        daemon=_check_daemon(where, sections["daemon"]),
        feeds=feeds,
        rules=tuple(rules_raw),
    )


def _build_section(where: str, name: str, cls: type, table: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where}: {name}.{key}: unknown key (known: {', '.join(sorted(known))})")
        values[key] = value
    for key in known:
        env_key = f"{ENV_PREFIX}{name}_{key}".upper()
        if env_key in env:
            values[key] = env[env_key]
            where_key = f"${env_key}"
        else:
            where_key = f"{where}: {name}.{key}"
        if key in values and not ((name, key) in _MAY_BE_EMPTY and values[key] == ""):
            values[key] = _coerce(where_key, values[key], known[key].default)
    return cls(**values)


def _coerce(where_key: str, value: Any, default: Any) -> Any:
    """Bring a TOML or environment value to the type of the key's default."""
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where_key}: expected true or false, got {value!r}")
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where_key}: expected a number, got {value!r}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where_key}: expected a number, got {value!r}") from None
        if number < 0:
            raise ConfigError(f"{where_key}: must not be negative, got {value!r}")
        return number
    if kind is str or isinstance(default, Path):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where_key}: expected a non-empty string, got {value!r}")
        return Path(value) if isinstance(default, Path) else value
    return value


def _build_feed(where: str, index: int, table: Any, base: Path) -> FeedConfig:
    at = f"{where}: feeds[{index}]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{at}: must be a table")
    unknown = set(table) - _FEED_KEYS
    if unknown:
        raise ConfigError(f"{at}.{sorted(unknown)[0]}: unknown key (known: {', '.join(sorted(_FEED_KEYS))})")
    for key in ("name", "url"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise ConfigError(f"{at}.{key}: required, a non-empty string")
    name = table["name"].strip()
    url = resolve_feed_url(table["url"].strip(), base)
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise ConfigError(f"{at}.url: unsupported scheme {scheme!r} in {url!r} (http, https or a local file)")
    interval = table.get("interval", FeedConfig.interval)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ConfigError(f"{at}.interval: seconds between polls, a whole number >= 1, got {interval!r}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{at}.enabled: expected true or false, got {enabled!r}")
    content = table.get("content", "page")
    if content not in CONTENT_SOURCES:
        raise ConfigError(f"{at}.content: one of {', '.join(CONTENT_SOURCES)}, got {content!r}")
    selector = table.get("selector")
    if selector is not None and (not isinstance(selector, str) or not selector.strip()):
        raise ConfigError(f"{at}.selector: a CSS selector string, got {selector!r}")
    remove = table.get("remove", [])
    if isinstance(remove, str):
        remove = [remove]
    if not isinstance(remove, list) or not all(isinstance(r, str) and r.strip() for r in remove):
        raise ConfigError(f"{at}.remove: a list of CSS selectors, got {remove!r}")
    return FeedConfig(
        name=name,
        url=url,
        interval=interval,
        enabled=enabled,
        content=content,
        selector=selector,
        remove=tuple(remove),
    )


def _check_daemon(where: str, daemon: DaemonConfig) -> DaemonConfig:
    if daemon.listen:
        try:
            parse_listen(daemon.listen)
        except ValueError as exc:
            raise ConfigError(f"{where}: daemon.listen: {exc}") from None
    if daemon.tick_seconds <= 0:
        raise ConfigError(f"{where}: daemon.tick_seconds: must be more than 0, got {daemon.tick_seconds!r}")
    return daemon


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); raises ValueError saying what is wrong."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port (such as 127.0.0.1:9180 or [::]:9180), got {listen!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _resolve_path(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def resolve_database_url(url: str, base: Path) -> str:
    """Make a relative SQLite path absolute against the config folder; other URLs pass through."""
    prefix, sep, rest = url.partition(":///")
    if sep and prefix.startswith("sqlite") and rest and not rest.startswith("/") and rest != ":memory:":
        return f"{prefix}:///{_resolve_path(Path(rest), base)}"
    return url


def resolve_feed_url(url: str, base: Path) -> str:
    """A feed may be given as a local path (for the bundled sample, or a feed made by another tool)."""
    if "://" in url or url.startswith("file:"):
        return url
    return _resolve_path(Path(url), base).as_uri()
