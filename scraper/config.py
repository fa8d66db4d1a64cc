"""The configuration: one TOML file, every scalar key also settable from the environment.

The file is validated whole before anything runs, and every problem names the file, the key and what is
wrong, because a daemon that starts on a half-understood config loses articles silently. Relative paths
(the SQLite file, the export folder, a feed given as a local path) resolve against the config file's folder,
so a config and its archive can move together.

Environment overrides: `SCRAPER_<SECTION>_<KEY>` for every scalar key of a section
(`SCRAPER_DATABASE_URL`, `SCRAPER_EXPORT_DIR`, `SCRAPER_HTTP_ALLOW_PRIVATE_NETWORKS`, ...).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from scraper.errors import ConfigError
from scraper.revisit_schedule import parse_schedule

CONFIG_ENV = "SCRAPER_CONFIG"
DEFAULT_CONFIG = "scraper.toml"
ENV_PREFIX = "SCRAPER_"

ContentSource = Literal["page", "feed", "auto"]
CONTENT_SOURCES: tuple[str, ...] = ("page", "feed", "auto")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///archive.db"


@dataclass(frozen=True)
class ExportConfig:
    dir: Path = Path("_posts")
    template: str = "jekyll"
    revisions: str = "first"  # what a post shows once a revisit found an edit: "first" or "latest"
    changes_feed: str | None = None  # an Atom feed of edits and removals, in the export folder
    front_matter: tuple[str, ...] = ()  # optional keys: "revised", "removed"


@dataclass(frozen=True)
class RevisitConfig:
    """Revisits of archived articles (scraper.revisit_schedule): when, from the first archive, and how
    much of the request slots they may take from new work."""

    after: tuple[str, ...] = ("1h", "1d", "7d", "30d")
    enabled: bool = True
    share: float = 0.25  # of the work loop's tasks, at most; new work always comes first


@dataclass(frozen=True)
class HttpConfig:
    """The HTTP layer; politeness keys (per_host_*, user_agent, proxy, respect_robots) can be set per feed."""

    user_agent: str = "scraper/{version} (+https://github.com/scraper-archive/scraper)"
    timeout: float = 30.0  # the whole request: connect, redirects, body
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # between two reads of the socket
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    concurrency: int = 16  # requests in flight at once, all hosts together (Miniflux's worker default)
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0  # seconds between the starts of two requests to one host
    retries: int = 2  # immediate retries of a reset connection or a 5xx, within the run
    retry_backoff: float = 1.0  # seconds before the first of those, doubled for the next
    max_retry_wait: float = 10.0  # a Retry-After up to this is waited out; a longer one defers the work
    respect_robots: bool = True
    proxy: str | None = None
    trust_env: bool = True  # proxies from HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY
    allow_private_networks: bool = False
    allow_networks: tuple[str, ...] = ()  # CIDRs let through although private (a feed on your LAN)


@dataclass(frozen=True)
class FetchConfig:
    max_attempts: int = 8
    retry_base_seconds: float = 300.0


@dataclass(frozen=True)
class ScheduleConfig:
    """When feeds are polled, and how failures slow them down (seconds throughout)."""

    min_interval: int = 300  # bounds of interval = "auto", and of what a server's hints can ask
    max_interval: int = 86400
    retry_base: float = 300.0  # wait after a first failed poll; doubled per failure in a row
    max_backoff: float = 21600.0
    broken_after: float = 7 * 86400.0  # failing this long marks a feed broken (it is still polled)


@dataclass(frozen=True)
class DaemonConfig:
    """`scraper run`: the health/metrics listener, the shutdown grace period, how often jobs wake."""

    listen: str = "127.0.0.1:9180"  # host:port of /healthz and /metrics; "" turns the listener off
    grace_seconds: float = 20.0  # on SIGTERM/SIGINT, how long in-flight fetches may take to finish
    tick_seconds: float = 5.0  # how often the jobs ask the database what is due


@dataclass(frozen=True)
class ClusterConfig:
    """Several nodes on one database: how long a claim on a unit of work lasts, how often a node says so.

    A node renews its leases and its `nodes` row every `heartbeat_seconds`; a node that stops (killed, cut
    off) loses its leases `lease_seconds` after its last renewal, and another node takes the work over.
    """

    lease_seconds: float = 60.0
    heartbeat_seconds: float = 0.0  # 0: a third of lease_seconds; else at most half of it

    @property
    def heartbeat(self) -> float:
        return self.heartbeat_seconds or self.lease_seconds / 3


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    interval: int | Literal["auto"] = 1800
    enabled: bool = True
    content: ContentSource = "page"
    selector: str | None = None
    remove: tuple[str, ...] = ()
    min_interval: int | None = None  # override [schedule] for this feed
    max_interval: int | None = None
    # Override [http] for this feed's polls and its article pages.
    per_host_concurrency: int | None = None
    per_host_delay: float | None = None
    user_agent: str | None = None
    proxy: str | None = None
    respect_robots: bool | None = None
    revisit: tuple[str, ...] | Literal["off"] | None = None  # None: [revisit] after

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
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    revisit: RevisitConfig = field(default_factory=RevisitConfig)
    feeds: tuple[FeedConfig, ...] = ()
    rules: tuple[Mapping[str, Any], ...] = ()


_SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "export": ExportConfig,
    "http": HttpConfig,
    "fetch": FetchConfig,
    "schedule": ScheduleConfig,
    "daemon": DaemonConfig,
    "cluster": ClusterConfig,
    "revisit": RevisitConfig,
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

    _check_http(where, sections["http"])
    _check_schedule(where, sections["schedule"])
    database = sections["database"]
    database = DatabaseConfig(url=resolve_database_url(database.url, base))
    export = sections["export"]
    export = replace(export, dir=_resolve_path(export.dir, base))
    if export.template not in ("jekyll",):
        raise ConfigError(f"{where}: export.template: unknown template {export.template!r} (known: 'jekyll')")
    _check_revisions(where, export, sections["revisit"])

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
        schedule=sections["schedule"],
        daemon=_check_daemon(where, sections["daemon"]),
        cluster=_check_cluster(where, sections["cluster"]),
        revisit=sections["revisit"],
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
    """Bring a TOML or environment value to the type of the key's default.

    A key whose default is None is an optional string; a tuple key is a list of strings (from the
    environment: comma-separated).
    """
    if default is None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where_key}: expected a non-empty string, got {value!r}")
        return value.strip()
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where_key}: expected a list of strings, got {value!r}")
        return tuple(v.strip() for v in value)
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


def _check_http(where: str, http: HttpConfig) -> None:
    for key in ("concurrency", "per_host_concurrency", "max_body_bytes"):
        if getattr(http, key) < 1:
            raise ConfigError(f"{where}: http.{key}: must be at least 1")
    if http.proxy is not None:
        _check_proxy(f"{where}: http.proxy", http.proxy)
    for i, network in enumerate(http.allow_networks):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"{where}: http.allow_networks[{i}]: not an address or network (CIDR): {network!r}"
            ) from None


def _check_proxy(where_key: str, proxy: str) -> None:
    parts = urlsplit(proxy)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where_key}: a proxy URL such as http://proxy.example:3128, got {proxy!r}")


def _check_schedule(where: str, schedule: ScheduleConfig) -> None:
    if schedule.min_interval < 1:
        raise ConfigError(f"{where}: schedule.min_interval: at least 1 second")
    if schedule.max_interval < schedule.min_interval:
        raise ConfigError(f"{where}: schedule.max_interval: less than schedule.min_interval")


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
    if interval != "auto" and (isinstance(interval, bool) or not isinstance(interval, int) or interval < 1):
        raise ConfigError(
            f'{at}.interval: seconds between polls, a whole number >= 1, or "auto", got {interval!r}'
        )
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
    overrides = {key: _feed_override(at, key, table[key]) for key in _FEED_OVERRIDES if key in table}
    if "revisit" in table:
        overrides["revisit"] = _feed_revisit(at, table["revisit"])
    low, high = overrides.get("min_interval"), overrides.get("max_interval")
    if low is not None and high is not None and high < low:
        raise ConfigError(f"{at}.max_interval: less than min_interval")
    return FeedConfig(
        name=name,
        url=url,
        interval=interval,
        enabled=enabled,
        content=content,
        selector=selector,
        remove=tuple(remove),
        **overrides,
    )


# Optional per-feed keys: the expected type, and the least allowed number.
_FEED_OVERRIDES: dict[str, tuple[type, float]] = {
    "min_interval": (int, 1),
    "max_interval": (int, 1),
    "per_host_concurrency": (int, 1),
    "per_host_delay": (float, 0),
    "user_agent": (str, 0),
    "proxy": (str, 0),
    "respect_robots": (bool, 0),
}


def _feed_override(at: str, key: str, value: Any) -> Any:
    kind, least = _FEED_OVERRIDES[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{at}.{key}: expected true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{at}.{key}: expected a non-empty string, got {value!r}")
        if key == "proxy":
            _check_proxy(f"{at}.{key}", value.strip())
        return value.strip()
    number_ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and not isinstance(value, int):
        number_ok = False
    if not number_ok or value < least:
        whole = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{at}.{key}: {whole} >= {least:g}, got {value!r}")
    return kind(value)


def _check_revisions(where: str, export: ExportConfig, revisit: RevisitConfig) -> None:
    if export.revisions not in ("first", "latest"):
        raise ConfigError(f'{where}: export.revisions: "first" or "latest", got {export.revisions!r}')
    unknown = set(export.front_matter) - {"revised", "removed"}
    if unknown:
        raise ConfigError(
            f"{where}: export.front_matter: unknown key {sorted(unknown)[0]!r} (known: removed, revised)"
        )
    if export.changes_feed is not None and (
        Path(export.changes_feed).is_absolute() or ".." in Path(export.changes_feed).parts
    ):
        raise ConfigError(
            f"{where}: export.changes_feed: a file name inside the export folder, got {export.changes_feed!r}"
        )
    try:
        parse_schedule(list(revisit.after))
    except ValueError as exc:
        raise ConfigError(f"{where}: revisit.after: {exc}") from None
    if not 0 < revisit.share <= 1:
        raise ConfigError(
            f"{where}: revisit.share: a fraction of the work loop's tasks (0 < share <= 1), "
            f"got {revisit.share!r}"
        )


def _feed_revisit(at: str, value: Any) -> tuple[str, ...] | Literal["off"]:
    if value == "off":
        return "off"
    try:
        parse_schedule(value)
    except ValueError as exc:
        raise ConfigError(f'{at}.revisit: "off" or {exc}') from None
    return tuple(value)


def _check_daemon(where: str, daemon: DaemonConfig) -> DaemonConfig:
    if daemon.listen:
        try:
            parse_listen(daemon.listen)
        except ValueError as exc:
            raise ConfigError(f"{where}: daemon.listen: {exc}") from None
    if daemon.tick_seconds <= 0:
        raise ConfigError(f"{where}: daemon.tick_seconds: must be more than 0, got {daemon.tick_seconds!r}")
    return daemon


def _check_cluster(where: str, cluster: ClusterConfig) -> ClusterConfig:
    if cluster.lease_seconds < 1:
        raise ConfigError(f"{where}: cluster.lease_seconds: at least 1 second, got {cluster.lease_seconds!r}")
    if cluster.heartbeat_seconds > cluster.lease_seconds / 2:
        raise ConfigError(
            f"{where}: cluster.heartbeat_seconds: at most half of lease_seconds ({cluster.lease_seconds:g}), "
            f"got {cluster.heartbeat_seconds!r}: a lease must outlive one late renewal"
        )
    return cluster


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
