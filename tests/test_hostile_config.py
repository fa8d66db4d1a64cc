"""A hostile operator's config: any TOML value under any key, and values that load but break a run later.

tests/test_config_values.py holds the absurd numbers and control characters each key refuses; here every
key (each section's, each feed's, the top level's) is given values of every TOML type, so a value of the
wrong kind is a ConfigError naming it, never a traceback. And a value that passes the load must not fail
every article later: a revisit step of 3,000,000 days loaded, then made each archive "not storable"
(OverflowError: the first revisit fell past year 9999) (task H, session 15).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.config import _SECTIONS, MAX_CONFIG_BYTES, ConfigError, FeedConfig, load_config, parse_config
from scraper.revisit_schedule import first_revisit, parse_duration
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer

FEED = {"name": "f", "url": "https://example.org/feed.xml"}
SECTION_KEYS = [(section, f.name) for section, cls in _SECTIONS.items() for f in fields(cls)]
FEED_KEYS = sorted({f.name for f in fields(FeedConfig)} | {"no_such_key"})

# Every kind of value a TOML file can hold, and the odd ones of each kind.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "off", "1h", "0s", "-1h", "1e400", "9" * 400, "ａ", "\u202e", "x,y", "[]"]),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.datetimes(timezones=st.just(UTC)),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
durations = st.builds(
    lambda number, unit: f"{number}{unit}",
    st.one_of(st.integers(0, 10**30), st.floats(0, 1e30).map(lambda f: f"{f:.3f}")),
    st.sampled_from("smhd"),
)


def _loads_or_refuses(raw: dict[str, Any], env: dict[str, str] | None = None) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(raw, None, env or {})


@settings(max_examples=600, deadline=None)
@given(key=st.sampled_from(SECTION_KEYS), value=toml_values)
def test_any_value_under_any_section_key_loads_or_is_a_config_error(
    key: tuple[str, str], value: object
) -> None:
    section, name = key
    _loads_or_refuses({"feeds": [FEED], section: {name: value}})


@settings(max_examples=600, deadline=None)
@given(key=st.sampled_from(FEED_KEYS), value=toml_values)
def test_any_value_under_any_feed_key_loads_or_is_a_config_error(key: str, value: object) -> None:
    _loads_or_refuses({"feeds": [{**FEED, key: value}]})


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from([*_SECTIONS, "feeds", "rules", "no_such_section"]), value=toml_values)
def test_any_value_for_a_whole_section_loads_or_is_a_config_error(key: str, value: object) -> None:
    _loads_or_refuses({"feeds": [FEED], key: value} if key != "feeds" else {key: value})


@settings(max_examples=600, deadline=None)
@given(key=st.sampled_from(SECTION_KEYS), value=st.text(max_size=20))
def test_any_environment_value_for_any_key_loads_or_is_a_config_error(
    key: tuple[str, str], value: str
) -> None:
    section, name = key
    _loads_or_refuses({"feeds": [FEED]}, {f"SCRAPER_{section.upper()}_{name.upper()}": value})


@settings(max_examples=400, deadline=None)
@given(durations)
def test_a_duration_is_refused_or_lands_on_a_date_an_archive_can_hold(text: str) -> None:
    try:
        step = parse_duration(text)
    except ValueError:
        return
    assert first_revisit(datetime(2200, 1, 1, tzinfo=UTC), (step,)) is not None
    assert step > timedelta(0) and not math.isinf(step.total_seconds())


@pytest.mark.parametrize("after", [["3000000d"], ["1h", "99999999999d"], ["1e3d"]])
def test_a_revisit_step_past_any_date_is_a_config_error_naming_the_key(after: list[str]) -> None:
    with pytest.raises(ConfigError, match=r"revisit\.after"):
        parse_config({"feeds": [FEED], "revisit": {"after": after}}, None, {})
    with pytest.raises(ConfigError, match=r"feeds\[0\].*revisit"):
        parse_config({"feeds": [{**FEED, "revisit": after}]}, None, {})


def test_a_config_that_loads_archives_its_articles(tmp_path: Path) -> None:
    """The end-to-end form of the above: what loads must not make each archive fail."""
    site = HostileServer("127.0.0.2")
    page = "<html><body><article><p>" + "正文足够长，可以抽取。" * 20 + "</p></article></body></html>"
    item = (
        f"<item><title>a</title><link>{site.url('/a')}</link><guid>a</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate></item>"
    )
    site.route("/a", hostile.html(page))
    site.route("/feed", hostile.respond(200, f'<rss version="2.0"><channel>{item}</channel></rss>'))
    config = write_config(tmp_path, [{"name": "F", "url": site.url("/feed")}], revisit={"after": ["36500d"]})
    with site.running():
        result = run_cli("once", "--config", str(config))
    assert "archived 1," in result.output and "not storable" not in result.output, result.output


def test_toml_dates_and_times_are_values_of_a_kind_too() -> None:
    for value in (date(1, 1, 1), time(0, 0), datetime(9999, 12, 31)):
        _loads_or_refuses({"feeds": [FEED], "http": {"timeout": value}})


def test_a_config_path_that_never_ends_is_a_config_error(tmp_path: Path) -> None:
    """`--config /dev/zero` read until memory ran out (the process was killed); a config is read up to a
    bound, as a page is. /dev/null stays a config (an empty one: every key from the environment)."""
    with pytest.raises(ConfigError, match="larger than"):
        load_config(Path("/dev/zero"), env={})
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    with pytest.raises(ConfigError, match="larger than"):
        load_config(big, env={})
    assert load_config(Path("/dev/null"), env={}).feeds == ()


# --- values that load but no HTTP client takes (task H, session 16) ---------------------------------------
# A user agent of non-ASCII letters loaded, then every command that fetches ended in a UnicodeEncodeError
# traceback (httpx sends header values as ASCII); a proxy URL urlsplit cannot split ("http://[::1") was a
# ValueError traceback at load, from the file or the environment.

BAD_USER_AGENTS = ["é/1", "scraper/{version} (+https://例え.jp)", "bot\u200b/1"]
BAD_PROXIES = ["http://[::1", "http://proxy.example:99999", "http://proxy.example:port"]


@pytest.mark.parametrize("value", BAD_USER_AGENTS)
def test_a_user_agent_no_header_can_carry_is_a_config_error(tmp_path: Path, value: str) -> None:
    for raw in (
        {"feeds": [FEED], "http": {"user_agent": value}},
        {"feeds": [{**FEED, "user_agent": value}]},
    ):
        with pytest.raises(ConfigError, match=r"user_agent: .*ASCII"):
            parse_config(raw, None, {})
    with pytest.raises(ConfigError, match=r"user_agent: .*ASCII"):
        parse_config({"feeds": [FEED]}, None, {"SCRAPER_HTTP_USER_AGENT": value})


@pytest.mark.parametrize("value", BAD_PROXIES)
def test_a_proxy_url_that_cannot_be_split_is_a_config_error(tmp_path: Path, value: str) -> None:
    for raw in ({"feeds": [FEED], "http": {"proxy": value}}, {"feeds": [{**FEED, "proxy": value}]}):
        with pytest.raises(ConfigError, match="proxy"):
            parse_config(raw, None, {})
    with pytest.raises(ConfigError, match="proxy"):
        parse_config({"feeds": [FEED]}, None, {"SCRAPER_HTTP_PROXY": value})


def test_a_user_agent_no_header_can_carry_is_one_line_from_the_cli(tmp_path: Path) -> None:
    config = write_config(tmp_path, [FEED], http={"user_agent": "é/1"})
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 2 and "http.user_agent" in result.output, result.output
