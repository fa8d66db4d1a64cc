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
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from scraper.diagnose import export_dir_problem
from scraper.errors import ConfigError
from scraper.revisit_schedule import parse_schedule

log = logging.getLogger(__name__)

CONFIG_ENV = "SCRAPER_CONFIG"
DEFAULT_CONFIG = "scraper.toml"
ENV_PREFIX = "SCRAPER_"

# Environment variables of that prefix that are not config keys.
OTHER_ENV = frozenset({CONFIG_ENV, "SCRAPER_LOG_FORMAT"})
# Every number a key takes must fit a database integer and mean something in seconds or bytes: a bound
# far above any sane value, so a typo (an extra digit, `inf`, `1e30`) is an error rather than a stall.
MAX_INT = 2**31 - 1
MAX_FLOAT = 1e9
# Control characters (CR/LF included) in a header value or a name would split a request or a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
RULE_SELECTOR_KEYS = ("body", "remove", "title", "author", "published")  # CSS selectors in [[rules]]
DATABASE_DRIVERS = {"sqlite": ("sqlite3", None), "postgresql": ("psycopg", "postgres")}
# The drivers the store can run on (synchronous DB-API ones); `None` is the URL without `+driver`.
_SYNC_DRIVERS = {"sqlite": (None, "pysqlite"), "postgresql": (None, "psycopg", "psycopg2")}
# The options pysqlite takes from a SQLite URL's query; any other is ignored with a warning.
_SQLITE_OPTIONS = frozenset({"timeout", "check_same_thread", "cached_statements", "isolation_level", "uri"})

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
    front_matter: tuple[str, ...] = ()  # optional keys: "revised", "removed", "capture"


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
class WarcConfig:
    """WARC captures (scraper.capture): off unless `dir` is set; article pages always, feeds on request."""

    dir: Path | None = None  # relative to the config file's folder
    prefix: str = "scraper"  # the start of each file name
    max_file_bytes: int = 1_000_000_000  # a file is closed and a new one started past this
    feeds: bool = False  # capture feed polls (and robots.txt, sitemaps) too


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
    cookies: bool = False  # keep the cookies its sites set, per site, for this run (scraper.fetch)
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
    warc: WarcConfig = field(default_factory=WarcConfig)
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
    "warc": WarcConfig,
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
        raw = tomllib.loads(_config_text(config_path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    return parse_config(raw, config_path.resolve(), env)


# A config of ten thousand feeds is about a megabyte; a file past this is something else (a device, a dump).
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def _config_text(config_path: Path) -> str:
    """The file's text, or a ConfigError that says what the path is instead of a config: missing, a folder,
    unreadable, not UTF-8 (with the line of the first bad byte). A UTF-8 byte order mark, which Windows
    editors write, is dropped (tomllib calls it an invalid statement)."""
    try:
        with config_path.open("rb") as file:  # a bound: `--config /dev/zero` never ends
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file (set --config or ${CONFIG_ENV})") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{config_path}: is a folder, not a config file "
            "(name the .toml file: --config FOLDER/scraper.toml)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{config_path}: larger than {MAX_CONFIG_BYTES} bytes: not a config file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{config_path}: not UTF-8 text (byte {data[exc.start]:#04x} at line {line}): "
            "save the file as UTF-8"
        ) from None


def parse_config(raw: Mapping[str, Any], path: Path | None, env: Mapping[str, str]) -> Config:
    where = str(path) if path else "<config>"
    base = path.parent if path else Path.cwd()
    unknown = set(raw) - set(_SECTIONS) - {"feeds", "rules"}
    if unknown:
        raise ConfigError(f"{where}: unknown section or key {sorted(unknown)[0]!r}")
    _warn_unknown_env(env)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build_section(where, name, cls, table, env)

    _check_http(where, sections["http"])
    _check_schedule(where, sections["schedule"])
    database = sections["database"]
    database = DatabaseConfig(url=check_database_url(where, resolve_database_url(database.url, base)))
    export = sections["export"]
    export = replace(export, dir=_resolve_path(export.dir, base, f"{where}: export.dir"))
    _check_template(where, export.template)
    _check_revisions(where, export, sections["revisit"])

    feeds = _build_feeds(where, raw.get("feeds", []), base)
    rules_raw = _checked_rules(where, raw.get("rules", []))
    return Config(
        path=path,
        database=database,
        export=export,
        http=sections["http"],
        fetch=sections["fetch"],
        schedule=sections["schedule"],
        daemon=_check_daemon(where, sections["daemon"]),
        cluster=_check_cluster(where, sections["cluster"]),
        warc=_check_warc(where, sections["warc"], base),
        revisit=sections["revisit"],
        feeds=feeds,
        rules=tuple(rules_raw),
    )


def _build_feeds(where: str, feeds_raw: Any, base: Path) -> tuple[FeedConfig, ...]:
    """The [[feeds]] tables, each checked, no URL twice and no name twice."""
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"{where}: feeds must be an array of tables ([[feeds]])")
    feeds = tuple(_build_feed(where, i, table, base) for i, table in enumerate(feeds_raw))
    seen: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, feed in enumerate(feeds):
        if feed.url in seen:
            raise ConfigError(f"{where}: feeds[{i}].url: the same URL as feeds[{seen[feed.url]}]")
        seen[feed.url] = i
        if feed.name.casefold() in names:
            raise ConfigError(
                f"{where}: feeds[{i}].name: {feed.name!r} is already the name of "
                f"feeds[{names[feed.name.casefold()]}] "
                "(a feed's name is its posts' author and category: give each feed its own)"
            )
        names[feed.name.casefold()] = i
    return feeds


def _checked_rules(where: str, rules_raw: Any) -> list[Mapping[str, Any]]:
    """The [[rules]] tables with their selectors checked (the rest of a rule: scraper.extract.rules)."""
    if not isinstance(rules_raw, list) or not all(isinstance(r, Mapping) for r in rules_raw):
        raise ConfigError(f"{where}: rules must be an array of tables ([[rules]])")
    for i, rule in enumerate(rules_raw):
        for key in RULE_SELECTOR_KEYS:
            selectors = rule.get(key, [])
            for j, selector in enumerate([selectors] if isinstance(selectors, str) else selectors):
                if isinstance(selector, str) and selector.strip():
                    check_selector(f"{where}: rules[{i}].{key}[{j}]", selector)
    return rules_raw


def _build_section(where: str, name: str, cls: type, table: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where}: {name}.{key}: unknown key (known: {', '.join(sorted(known))})")
        values[key] = value
    for key in known:
        env_key = f"{ENV_PREFIX}{name}_{key}".upper()
        from_env = env_key in env
        if from_env:
            values[key] = env[env_key]
            where_key = f"${env_key}"
        else:
            where_key = f"{where}: {name}.{key}"
        if key in values and not ((name, key) in _MAY_BE_EMPTY and values[key] == ""):
            values[key] = _coerce(where_key, values[key], known[key].default, from_env=from_env)
    return cls(**values)


def _coerce(where_key: str, value: Any, default: Any, *, from_env: bool = False) -> Any:
    """Bring a TOML or environment value to the type of the key's default.

    A key whose default is None is an optional string; a tuple key is a list of strings (from the
    environment: comma-separated). Only the environment, where everything is text, may spell a number or
    a boolean as a string: in the file `"16"` for a number is a mistake worth naming.
    """
    if default is None:
        return _text(where_key, value)
    if isinstance(default, tuple):
        if isinstance(value, str):  # comma-separated (the environment's only way to give a list)
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where_key}: expected a list of strings, got {value!r}")
        return tuple(_text(where_key, v) for v in value)
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if from_env and isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where_key}: expected true or false, got {value!r}")
    if kind in (int, float):
        return check_number(where_key, value, whole=kind is int, least=0, from_env=from_env)
    if kind is str or isinstance(default, Path):
        text = _text(where_key, value)
        return Path(text) if isinstance(default, Path) else text
    return value


def check_number(where_key: str, value: Any, *, whole: bool, least: float, from_env: bool = False) -> Any:
    """A finite number within [least, MAX_INT or MAX_FLOAT]; whole when the key counts things (a
    fraction is refused, not truncated). Raises ConfigError naming the key."""
    what = "a whole number" if whole else "a number"
    limit = MAX_INT if whole else MAX_FLOAT
    number: Any = value
    if from_env and isinstance(value, str):
        try:
            number = int(value.strip()) if whole else float(value.strip())
        except ValueError:
            raise ConfigError(f"{where_key}: expected {what} >= {least:g}, got {value!r}") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ConfigError(f"{where_key}: expected {what} >= {least:g}, got {value!r}")
    if not math.isfinite(number):
        raise ConfigError(f"{where_key}: expected {what} >= {least:g}, got {value!r}")
    if whole and isinstance(number, float) and not number.is_integer():  # 2.7 threads: refused, not cut
        raise ConfigError(f"{where_key}: expected {what} >= {least:g} (no fraction), got {value!r}")
    if number < least:
        need = "must not be negative" if least == 0 else f"expected {what} >= {least:g}"
        raise ConfigError(f"{where_key}: {need}, got {value!r}")
    if number > limit:
        raise ConfigError(
            f"{where_key}: at most {limit:g}, got {value!r} (a typo? the unit is seconds or bytes)"
        )
    return int(number) if whole else float(number)


MAX_FEED_NAME_CHARS = 512  # the feeds.name column's width
MAX_FEED_URL_CHARS = 2048  # the feeds.url column's


def _text(where_key: str, value: Any) -> str:
    """A non-empty string without control characters (a CR/LF in a header value splits the request)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where_key}: expected a non-empty string, got {value!r}")
    if _CONTROL.search(value):
        raise ConfigError(
            f"{where_key}: control characters (such as a line break) are not allowed: {value!r}"
        )
    return value.strip()


def _warn_unknown_env(env: Mapping[str, str]) -> None:
    """A mistyped `SCRAPER_*` variable would be ignored without a word: say so, with the nearest key."""
    known = {f"{ENV_PREFIX}{name}_{f.name}".upper() for name, cls in _SECTIONS.items() for f in fields(cls)}
    for key in sorted(env):
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known or upper in OTHER_ENV:
            continue
        if upper.startswith(f"{ENV_PREFIX}TEST_"):  # the test suite's own settings
            continue
        import difflib  # here: only a misspelt variable needs it

        near = difflib.get_close_matches(upper, sorted(known | OTHER_ENV), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        log.warning("environment: %s is not a setting and is ignored%s", key, hint)


def _check_http(where: str, http: HttpConfig) -> None:
    for key in ("concurrency", "per_host_concurrency", "max_body_bytes"):
        if getattr(http, key) < 1:
            raise ConfigError(f"{where}: http.{key}: must be at least 1")
    if http.proxy is not None:
        _check_proxy(f"{where}: http.proxy", http.proxy)
    _check_user_agent(f"{where}: http.user_agent", http.user_agent)
    for i, network in enumerate(http.allow_networks):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"{where}: http.allow_networks[{i}]: not an address or network (CIDR): {network!r}"
            ) from None


def _check_proxy(where_key: str, proxy: str) -> None:
    """An http(s) URL with a host and a port a socket can take: urlsplit raised ValueError on `http://[::1`
    and on `:99999` (read by `.port`), a traceback at load or at the client's start."""
    try:
        parts = urlsplit(proxy)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        usable = False
    if not usable:
        raise ConfigError(f"{where_key}: a proxy URL such as http://proxy.example:3128, got {proxy!r}")


def _check_user_agent(where_key: str, user_agent: str) -> None:
    """Printable ASCII, as an HTTP client sends a header value: httpx encodes it as ASCII, and a letter
    past it (`é`, an IDN in the contact URL) failed every command that fetches with a traceback."""
    if not (user_agent.isascii() and user_agent.isprintable()):
        raise ConfigError(
            f"{where_key}: printable ASCII only (it is sent as the User-Agent header; write an IDN "
            f"contact in its xn-- form), got {user_agent!r}"
        )


def _check_template(where: str, template: str) -> None:
    """`export.template` names a registered export target. The names are the composition root's table
    (scraper.compose.EXPORT_TARGETS), so a new target is allowed where it is registered; imported here,
    not at the top, because compose imports this module. Only the name is checked: the target's module
    loads when a post is written."""
    from scraper.compose import check_target_name

    try:
        check_target_name(template)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


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
    name = _text(f"{at}.name", table["name"])
    if len(name) > MAX_FEED_NAME_CHARS:  # PostgreSQL refused the row and with it every feed's run
        raise ConfigError(f"{at}.name: longer than {MAX_FEED_NAME_CHARS} characters ({len(name)})")
    url = check_feed_url(f"{at}.url", _text(f"{at}.url", table["url"]), base)
    interval = table.get("interval", FeedConfig.interval)
    if interval != "auto":
        if isinstance(interval, str):
            raise ConfigError(
                f'{at}.interval: seconds between polls, a whole number >= 1, or "auto", got {interval!r}'
            )
        interval = check_number(f"{at}.interval", interval, whole=True, least=1)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{at}.enabled: expected true or false, got {enabled!r}")
    content = table.get("content", "page")
    if content not in CONTENT_SOURCES:
        raise ConfigError(f"{at}.content: one of {', '.join(CONTENT_SOURCES)}, got {content!r}")
    selector = table.get("selector")
    if selector is not None and (not isinstance(selector, str) or not selector.strip()):
        raise ConfigError(f"{at}.selector: a CSS selector string, got {selector!r}")
    if selector is not None:
        selector = check_selector(f"{at}.selector", selector)
    remove = table.get("remove", [])
    if isinstance(remove, str):
        remove = [remove]
    if not isinstance(remove, list) or not all(isinstance(r, str) and r.strip() for r in remove):
        raise ConfigError(f"{at}.remove: a list of CSS selectors, got {remove!r}")
    remove = [check_selector(f"{at}.remove[{i}]", r) for i, r in enumerate(remove)]
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
    "cookies": (bool, 0),
}


def _feed_override(at: str, key: str, value: Any) -> Any:
    kind, least = _FEED_OVERRIDES[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{at}.{key}: expected true or false, got {value!r}")
        return value
    if kind is str:
        text = _text(f"{at}.{key}", value)
        if key == "proxy":
            _check_proxy(f"{at}.{key}", text)
        if key == "user_agent":
            _check_user_agent(f"{at}.{key}", text)
        return text
    return check_number(f"{at}.{key}", value, whole=kind is int, least=least)


def _check_revisions(where: str, export: ExportConfig, revisit: RevisitConfig) -> None:
    if export.revisions not in ("first", "latest"):
        raise ConfigError(f'{where}: export.revisions: "first" or "latest", got {export.revisions!r}')
    unknown = set(export.front_matter) - {"revised", "removed", "capture"}
    if unknown:
        raise ConfigError(
            f"{where}: export.front_matter: unknown key {sorted(unknown)[0]!r} "
            "(known: capture, removed, revised)"
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


def _check_warc(where: str, warc: WarcConfig, base: Path) -> WarcConfig:
    if not re.fullmatch(r"[a-z0-9.]+(-[a-z0-9.]+)*", warc.prefix):  # what a WACZ allows in a file name
        raise ConfigError(
            f"{where}: warc.prefix: lower-case letters, digits, '.' and single inner '-' only, "
            f"got {warc.prefix!r}"
        )
    if warc.max_file_bytes < 1:
        raise ConfigError(f"{where}: warc.max_file_bytes: at least 1, got {warc.max_file_bytes!r}")
    if warc.dir is None:
        return warc
    folder = _resolve_path(Path(warc.dir), base, f"{where}: warc.dir")
    # Captures are written from the first fetch on: a folder that cannot take them is said now, not as a
    # traceback when the fetcher is built (posts differ: a run archives and they wait in the database).
    problem = export_dir_problem(folder, "warc.dir")
    if problem:
        raise ConfigError(f"{where}: {problem}; fix: make warc.dir a folder this user can write")
    return replace(warc, dir=folder)


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); raises ValueError saying what is wrong."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port (such as 127.0.0.1:9180 or [::]:9180), got {listen!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


# Linux's limits on one name in a path and on a whole path, in bytes: past them every call on the path
# fails (ENAMETOOLONG), in places that expect only a missing or unwritable folder.
_NAME_MAX, _PATH_MAX = 255, 4095


def _resolve_path(path: Path, base: Path, key: str = "path") -> Path:
    """`path` absolute against the config folder. Symlinks are resolved where they can be; a symlink loop
    (Path.resolve raises RuntimeError on one) leaves the path as written, for the folder's own check to
    name; `~user` of a user that does not exist, or a name longer than the file system takes, is a config
    error naming `key`, not a traceback."""
    try:
        path = path.expanduser()
    except RuntimeError:
        raise ConfigError(f"{key}: {str(path)!r}: no such user's home folder (write the full path)") from None
    longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
    if longest > _NAME_MAX or len(os.fsencode(str(base / path))) > _PATH_MAX:
        raise ConfigError(
            f"{key}: a name in {str(path)[:60]!r}... is longer than the file system takes "
            f"({_NAME_MAX} bytes a name, {_PATH_MAX} a path): shorten it"
        )
    if path.is_absolute():
        return path
    try:
        return (base / path).resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(base / path))


def resolve_database_url(url: str, base: Path) -> str:
    """Make a relative SQLite path absolute against the config folder; other URLs pass through."""
    prefix, sep, rest = url.partition(":///")
    if sep and prefix.startswith("sqlite") and rest and not rest.startswith("/") and rest != ":memory:":
        return f"{prefix}:///{_resolve_path(Path(rest), base, 'database.url')}"
    return url


def check_selector(where_key: str, selector: str) -> str:
    """A CSS selector the extractor can use; an invalid one would otherwise be ignored in silence."""
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    selector = _text(where_key, selector)
    try:
        LexborHTMLParser("<p></p>").css(selector)
    except (SelectolaxError, ValueError) as exc:
        raise ConfigError(f"{where_key}: not a valid CSS selector: {selector!r} ({exc})") from None
    return selector


def check_feed_url(where_key: str, url: str, base: Path) -> str:
    """An http(s) URL with a host, a `file:` URL, or the path of a local feed file that exists. Anything
    else (`htp:/x`, `http://`, a typo taken for a file name) is an error now, not a `file://` 404 later."""
    if _SCHEME.match(url) and not url.lower().startswith(("http:", "https:", "file:")):
        scheme = url.split(":", 1)[0]
        raise ConfigError(
            f"{where_key}: unsupported scheme {scheme!r} in {url!r} (http, https or a local file)"
        )
    resolved = resolve_feed_url(url, base)
    if len(resolved) > MAX_FEED_URL_CHARS:  # PostgreSQL refused the row and with it every feed's run
        raise ConfigError(f"{where_key}: longer than {MAX_FEED_URL_CHARS} characters ({len(resolved)})")
    try:
        parts = urlsplit(resolved)
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError as exc:
        raise ConfigError(f"{where_key}: not a URL: {url!r} ({exc})") from None
    if parts.scheme in ("http", "https"):
        if not parts.hostname or not resolved.lower().startswith(f"{parts.scheme}://"):
            raise ConfigError(f"{where_key}: no host in {url!r} (such as https://www.example.org/feed.xml)")
        return resolved
    if parts.scheme != "file":
        raise ConfigError(
            f"{where_key}: unsupported scheme {parts.scheme!r} in {url!r} (http, https or a local file)"
        )
    from urllib.request import url2pathname

    path = Path(url2pathname(parts.path))
    if not _SCHEME.match(url) and not path.is_file():  # a bare path: a typo'd URL is taken for one
        raise ConfigError(
            f"{where_key}: {url!r} is not an http(s) URL, and no such file: {path} "
            "(a feed is https://... or a local feed file)"
        )
    return resolved


def check_database_url(where: str, url: str) -> str:
    """A database URL SQLAlchemy can open, with its driver installed, and for SQLite a folder that exists
    (a typo would otherwise create folders anywhere on disk)."""
    at = f"{where}: database.url"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{at}: not a database URL: {url!r} (such as sqlite:///archive.db or "
            "postgresql://user:password@host/dbname)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in DATABASE_DRIVERS:
        raise ConfigError(
            f"{at}: unsupported database {backend!r} in {_hide_password(url)} (sqlite or postgresql)"
        )
    module, extra = DATABASE_DRIVERS[backend]
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    _check_database_form(at, backend, driver, parsed)
    if backend == "postgresql" and driver not in (None, "psycopg"):
        module = driver or module
    import importlib.util

    if importlib.util.find_spec(module) is None:
        fix = (
            f"pip install 'scraper[{extra}]'"
            if extra and module == "psycopg"
            else f"install the {module} module"
        )
        raise ConfigError(f"{at}: the {backend} driver ({module}) is not installed: {fix}")
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise ConfigError(f"{at}: the folder {folder} does not exist (create it, or fix the path)")
    return url


def _check_database_form(at: str, backend: str, driver: str | None, parsed: URL) -> None:
    """Refuse the URLs SQLAlchemy takes but the archive cannot use: an async or foreign driver (fails deep in
    the first query), `sqlite://host/x` (SQLAlchemy's message is five lines), SQLite options pysqlite
    ignores with a warning, and a database in memory, which loses everything archived when the run ends."""
    if driver not in _SYNC_DRIVERS[backend]:
        raise ConfigError(
            f"{at}: unsupported driver {driver!r} for {backend} "
            f"(write {backend}:// without +{driver}, scraper picks its driver)"
        )
    if backend != "sqlite":
        return
    if parsed.host or parsed.port:
        raise ConfigError(
            f"{at}: a SQLite URL has three slashes before a relative path and four before an absolute one "
            f"(sqlite:///archive.db, sqlite:////srv/archive.db), not {parsed.render_as_string()!r}"
        )
    odd = sorted(set(parsed.query) - _SQLITE_OPTIONS)
    if odd:
        raise ConfigError(f"{at}: SQLite takes no option {odd[0]!r} (remove ?{odd[0]}=... from the URL)")
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigError(
            f"{at}: a SQLite database in memory keeps nothing after the run; name a file, "
            "such as sqlite:///archive.db"
        )


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def resolve_feed_url(url: str, base: Path) -> str:
    """A feed may be given as a local path (for the bundled sample, or a feed made by another tool)."""
    if "://" in url or url.startswith("file:"):
        return url
    return _resolve_path(Path(url), base).as_uri()
