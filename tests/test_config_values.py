"""Every key of the config refuses values that would break a run or stall it silently (issue 12, 13):
non-finite and absurd numbers, fractions where things are counted, numbers spelled as strings in the file,
control characters in strings, garbage feed URLs, duplicate names, unusable database URLs and selectors.
Each is a ConfigError naming the key, and `scraper once` exits 2 with one line."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.config import _SECTIONS, ConfigError, parse_config
from tests.conftest import run_cli, write_config

FEED = {"name": "f", "url": "https://example.org/feed.xml"}
_CHECKS_LATER = {("daemon", "listen"), ("export", "template"), ("database", "url"), ("http", "proxy")}


def _keys(kinds: tuple[type, ...]) -> list[tuple[str, str, Any]]:
    return [
        (section, f.name, f.default)
        for section, cls in _SECTIONS.items()
        for f in fields(cls)
        if type(f.default) in kinds
    ]


NUMBER_KEYS = _keys((int, float))
TEXT_KEYS = [(s, k, d) for s, k, d in _keys((str, type(None))) + _keys((tuple,))] + [("export", "dir", None)]
FEED_NUMBER_KEYS = {
    "interval": int,
    "min_interval": int,
    "max_interval": int,
    "per_host_concurrency": int,
    "per_host_delay": float,
}
FEED_TEXT_KEYS = ("name", "user_agent", "proxy", "selector")

absurd_numbers = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan, 1e30, 99999999999999999, 2**63, -1, -0.5]),
    st.integers(min_value=2**31),
    st.floats(min_value=1e10, allow_infinity=True),
    st.text(alphabet="0123456789.", min_size=1, max_size=6),  # a number as a string, in the file
    st.booleans(),
)
fractions = st.floats(min_value=0.01, max_value=1e6).filter(lambda x: x != int(x))
control = st.sampled_from([chr(c) for c in (*range(0, 32), 127)])


def _parse(raw: dict[str, Any]) -> None:
    parse_config({"feeds": [FEED], **raw}, None, {})


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(NUMBER_KEYS), value=absurd_numbers)
def test_every_numeric_key_refuses_absurd_values(key: tuple[str, str, Any], value: object) -> None:
    section, name, _default = key
    with pytest.raises(ConfigError, match=rf"{section}\.{name}:"):
        _parse({section: {name: value}})


@settings(max_examples=100, deadline=None)
@given(key=st.sampled_from([k for k in NUMBER_KEYS if type(k[2]) is int]), value=fractions)
def test_counted_keys_refuse_fractions(key: tuple[str, str, Any], value: float) -> None:
    section, name, _default = key
    with pytest.raises(ConfigError, match=rf"{section}\.{name}:.*no fraction"):
        _parse({section: {name: value}})


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(list(FEED_NUMBER_KEYS)), value=absurd_numbers)
def test_every_numeric_feed_key_refuses_absurd_values(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"feeds\[0\]\.{key}:"):
        _parse({"feeds": [{**FEED, key: value}]})


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(TEXT_KEYS),
    head=st.text(alphabet="abc/:.", min_size=1, max_size=5),
    bad=control,
    tail=st.text(max_size=5),
)
def test_every_string_key_refuses_control_characters(
    key: tuple[str, str, Any], head: str, bad: str, tail: str
) -> None:
    section, name, default = key
    value: object = f"{head}{bad}x{tail}"
    if isinstance(default, tuple):
        value = [value]
    with pytest.raises(ConfigError, match=rf"{section}\.{name}:"):
        _parse({section: {name: value}})


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(FEED_TEXT_KEYS), bad=control, tail=st.text(max_size=5))
def test_every_string_feed_key_refuses_control_characters(key: str, bad: str, tail: str) -> None:
    with pytest.raises(ConfigError, match=rf"feeds\[0\]\.{key}:"):
        _parse({"feeds": [{**FEED, key: f"a{bad}b{tail}"}]})


def test_a_whole_float_is_a_whole_number() -> None:
    config = parse_config({"http": {"concurrency": 16.0}, "feeds": [{**FEED, "interval": 600.0}]}, None, {})
    assert config.http.concurrency == 16 and isinstance(config.http.concurrency, int)
    assert config.feeds[0].interval == 600 and isinstance(config.feeds[0].interval, int)


def test_numbers_from_the_environment_are_text_and_still_checked() -> None:
    raw = {"feeds": [FEED]}
    env = {"SCRAPER_HTTP_CONCURRENCY": "16", "SCRAPER_HTTP_TIMEOUT": "2.5"}
    config = parse_config(raw, None, env)
    assert (config.http.concurrency, config.http.timeout) == (16, 2.5)
    for key, value in (("CONCURRENCY", "2.7"), ("TIMEOUT", "nan"), ("TIMEOUT", "1e30")):
        with pytest.raises(ConfigError, match=rf"\$SCRAPER_HTTP_{key}"):
            parse_config(raw, None, {f"SCRAPER_HTTP_{key}": value})


@pytest.mark.parametrize(
    "url",
    [
        "http://",
        "https:///feed.xml",
        "htp:/garbage",
        "not a url at all",
        "mailto:x@example.org",
        "http://h:99999/",
    ],
)
def test_garbage_feed_urls_are_config_errors(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.url:"):
        parse_config({"feeds": [{"name": "f", "url": url}]}, tmp_path / "scraper.toml", {})


def test_duplicate_feed_names_are_refused() -> None:
    feeds = [FEED, {"name": "F", "url": "https://example.org/other.xml"}]
    with pytest.raises(ConfigError, match=r"feeds\[1\]\.name: 'F' is already the name of feeds\[0\]"):
        parse_config({"feeds": feeds}, None, {})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://user@host/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@h/db", r"driver \(psycopg2\) is not installed"),
        ("sqlite:////nonexistent/folder/archive.db", "the folder /nonexistent/folder does not exist"),
    ],
)
def test_unusable_database_urls_are_config_errors(url: str, message: str) -> None:
    pytest.importorskip("sqlalchemy")
    with pytest.raises(ConfigError, match=rf"database\.url: .*{message}"):
        parse_config({"database": {"url": url}}, None, {})


def test_postgres_without_its_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'scraper\[postgres\]'"):
        parse_config({"database": {"url": "postgresql://u@h/db"}}, None, {})


@pytest.mark.parametrize("selector", ["div[[[", "p:nth-child(", "a >"])
def test_invalid_selectors_are_config_errors(selector: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.selector: not a valid CSS selector"):
        parse_config({"feeds": [{**FEED, "selector": selector}]}, None, {})
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.remove\[1\]: not a valid CSS selector"):
        parse_config({"feeds": [{**FEED, "remove": [".ad", selector]}]}, None, {})


def test_invalid_selectors_in_rules_are_config_errors() -> None:
    rules = [{"name": "site", "domains": ["example.org"], "body": ["article", "div[[["]}]
    with pytest.raises(ConfigError, match=r"rules\[0\]\.body\[1\]: not a valid CSS selector"):
        parse_config({"rules": rules}, None, {})


def test_unknown_environment_key_is_named_with_the_near_one(caplog: pytest.LogCaptureFixture) -> None:
    parse_config({"feeds": [FEED]}, None, {"SCRAPER_HTTP_TIMEOT": "5", "SCRAPER_CONFIG": "x"})
    assert "SCRAPER_HTTP_TIMEOT is not a setting" in caplog.text
    assert "did you mean SCRAPER_HTTP_TIMEOUT" in caplog.text
    assert "SCRAPER_CONFIG" not in caplog.text


@pytest.mark.parametrize(
    ("section", "text"),
    [
        ("http", "concurrency = 2.7"),
        ("http", 'concurrency = "16"'),
        ("http", "timeout = nan"),
        ("http", "timeout = inf"),
        ("schedule", "max_backoff = 1e30"),
        ("fetch", "max_attempts = 99999999999999999"),
        ("http", 'user_agent = "bot\\r\\nX-Evil: 1"'),
    ],
)
def test_once_exits_2_with_one_line_naming_the_key(tmp_path: Path, section: str, text: str) -> None:
    path = write_config(tmp_path, [dict(FEED)])
    path.write_text(path.read_text(encoding="utf-8") + f"\n[{section}]\n{text}\n", encoding="utf-8")
    if section == "http":  # the file has an [http] table already: put the key in it
        body = path.read_text(encoding="utf-8").replace("\n[http]\n" + text + "\n", "\n")
        path.write_text(body.replace("[http]\n", f"[http]\n{text}\n", 1), encoding="utf-8")
    result = run_cli("once", "--config", str(path))
    assert result.exit_code == 2
    key = text.split(" ")[0]
    (line,) = result.output.strip().splitlines()
    assert f"{section}.{key}:" in line and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://archive.db", "three slashes"),
        ("sqlite://host/archive.db", "three slashes"),
        ("sqlite+pysqlcipher:///archive.db", "unsupported driver 'pysqlcipher'"),
        ("sqlite+aiosqlite:///archive.db", "unsupported driver 'aiosqlite'"),
        ("postgresql+asyncpg://u@h/db", "unsupported driver 'asyncpg'"),
        ("sqlite:///archive.db?foo=bar", "'foo'"),
        ("sqlite://", "keeps nothing"),
        ("sqlite:///:memory:", "keeps nothing"),
    ],
)
def test_database_urls_sqlalchemy_would_take_but_cannot_archive_are_one_line(
    tmp_path: Path, url: str, message: str
) -> None:
    """Forms that got past the URL check and then broke on use: a SQLite URL with two slashes (SQLAlchemy's
    own multi-line message), a driver that is not ours (an async one, a cipher), options SQLite ignores with
    a warning, a database in memory that loses the archive at exit. Each is one line, exit 2."""
    config = write_config(tmp_path, [])
    text = config.read_text(encoding="utf-8").replace('"sqlite:///archive.db"', f'"{url}"')
    config.write_text(text, encoding="utf-8")
    for command in ("once", "status"):
        result = run_cli(command, "--config", str(config))
        assert result.exit_code == 2, result.output
        (line,) = result.output.strip().splitlines()
        assert "database.url" in line and message in line, line


@pytest.mark.parametrize("under", ["a file", "a file's child"])
def test_a_capture_folder_that_cannot_be_written_is_a_config_error(tmp_path: Path, under: str) -> None:
    """Captures start with the first fetch: a `[warc] dir` under a file is said at load, naming the key,
    not a traceback when the fetcher is built."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    folder = blocker if under == "a file" else blocker / "warc"
    with pytest.raises(ConfigError, match=r"warc\.dir.*is a file, not a folder"):
        parse_config({"warc": {"dir": str(folder)}}, tmp_path / "scraper.toml", {})
    parse_config({"warc": {"dir": str(tmp_path / "new" / "warc")}}, tmp_path / "scraper.toml", {})
