from pathlib import Path

import pytest

from scraper.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scraper.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
[database]
url = "sqlite:///archive.db"
[export]
dir = "_posts"
[http]
allow_private_networks = false
[[feeds]]
name = "联合早报"
url = "https://example.org/rss.xml"
"""


def test_documented_keys_and_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), env={})
    assert config.database.url == f"sqlite:///{tmp_path.resolve() / 'archive.db'}"
    assert config.export.dir == tmp_path.resolve() / "_posts"
    assert config.http.allow_private_networks is False
    (feed,) = config.feeds
    assert (feed.name, feed.url, feed.content, feed.enabled) == (
        "联合早报",
        "https://example.org/rss.xml",
        "page",
        True,
    )


def test_environment_overrides_scalar_keys(tmp_path: Path) -> None:
    env = {
        "SCRAPER_DATABASE_URL": "postgresql://db.example/archive",
        "SCRAPER_HTTP_ALLOW_PRIVATE_NETWORKS": "true",
        "SCRAPER_HTTP_TIMEOUT": "5",
        "SCRAPER_EXPORT_DIR": "out",
    }
    config = load_config(write(tmp_path, MINIMAL), env=env)
    assert config.database.url == "postgresql://db.example/archive"
    assert config.http.allow_private_networks is True
    assert config.http.timeout == 5.0
    assert config.export.dir == tmp_path.resolve() / "out"


def test_config_path_from_environment_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_config(None, env={"SCRAPER_CONFIG": str(path)}).path == path.resolve()
    monkeypatch.chdir(tmp_path)
    assert load_config(None, env={}).path == path.resolve()


def test_local_feed_path_becomes_file_url(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "a.xml").write_text("<rss/>", encoding="utf-8")
    config = load_config(
        write(tmp_path, MINIMAL.replace("https://example.org/rss.xml", "feeds/a.xml")), env={}
    )
    assert config.feeds[0].url == (tmp_path.resolve() / "feeds" / "a.xml").as_uri()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[http]", "[http]\ntimeout = 'soon'"), "http.timeout: expected a number"),
        (("[http]", "[http]\nbogus = 1"), "http.bogus: unknown key"),
        (('name = "联合早报"', 'name = ""'), "feeds[0].name: required"),
        (('name = "联合早报"', 'name = "x"\ncontent = "rss"'), "feeds[0].content: one of page, feed, auto"),
        (('name = "联合早报"', 'name = "x"\ninterval = 0'), "feeds[0].interval"),
        (("https://example.org/rss.xml", "ftp://example.org/rss.xml"), "unsupported scheme"),
        (("[export]", "[export]\ntemplate = 'wordpress'"), "export.template"),
        (("[[feeds]]", "[unknown]\n[[feeds]]"), "unknown section"),
        (("[database]", "[database"), "not valid TOML"),
        (("[http]", "[http]\nproxy = 'socks5://p:1080'"), "http.proxy: a proxy URL"),
        (("[http]", "[http]\nallow_networks = ['10.0.0.0/33']"), "http.allow_networks[0]: not an address"),
        (("[http]", "[http]\nper_host_concurrency = 0"), "http.per_host_concurrency: must be at least 1"),
        (("[[feeds]]", "[schedule]\nmax_interval = 100\n[[feeds]]"), "schedule.max_interval: less than"),
        (('name = "联合早报"', 'name = "x"\ninterval = "often"'), 'or "auto"'),
        (('name = "联合早报"', 'name = "x"\nper_host_delay = -1'), "per_host_delay: must not be negative"),
        (('name = "联合早报"', 'name = "x"\nper_host_concurrency = 1.5'), "a whole number >= 1"),
        (('name = "联合早报"', 'name = "x"\nrespect_robots = "no"'), "feeds[0].respect_robots: expected"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$SCRAPER_HTTP_CONCURRENCY: expected a whole number"):
        load_config(write(tmp_path, MINIMAL), env={"SCRAPER_HTTP_CONCURRENCY": "many"})


def test_duplicate_feed_urls_are_refused(tmp_path: Path) -> None:
    text = MINIMAL + '[[feeds]]\nname = "again"\nurl = "https://example.org/rss.xml"\n'
    with pytest.raises(ConfigError, match=r"feeds\[1\]\.url: the same URL as feeds\[0\]"):
        load_config(write(tmp_path, text), env={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", env={})


def test_example_config_is_valid() -> None:
    example = Path(__file__).parent.parent / "config.example.toml"
    config = load_config(example, env={})
    assert config.feeds


def test_politeness_and_schedule_keys_with_feed_overrides(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "[http]",
        '[http]\nper_host_delay = 2.5\nproxy = "http://proxy.example:3128"\nallow_networks = ["10.1.0.0/16"]',
    ).replace(
        'name = "联合早报"',
        'name = "联合早报"\ninterval = "auto"\nmax_interval = 7200\nper_host_concurrency = 1\n'
        'user_agent = "Other/1"\nrespect_robots = false',
    )
    config = load_config(write(tmp_path, text), env={"SCRAPER_SCHEDULE_BROKEN_AFTER": "86400"})
    assert config.http.per_host_delay == 2.5 and config.http.proxy == "http://proxy.example:3128"
    assert config.http.allow_networks == ("10.1.0.0/16",) and config.http.per_host_concurrency == 2
    assert config.schedule.broken_after == 86400.0 and config.schedule.min_interval == 300
    (feed,) = config.feeds
    assert (feed.interval, feed.max_interval, feed.min_interval) == ("auto", 7200, None)
    assert (feed.per_host_concurrency, feed.user_agent, feed.respect_robots) == (1, "Other/1", False)


def test_list_keys_from_the_environment_are_comma_separated(tmp_path: Path) -> None:
    env = {"SCRAPER_HTTP_ALLOW_NETWORKS": "10.0.0.0/8, 192.168.1.0/24", "SCRAPER_HTTP_PROXY": "http://p:1"}
    config = load_config(write(tmp_path, MINIMAL), env=env)
    assert config.http.allow_networks == ("10.0.0.0/8", "192.168.1.0/24")
    assert config.http.proxy == "http://p:1"


def test_daemon_section_defaults_overrides_and_empty_listen(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    daemon = load_config(path, env={}).daemon
    assert (daemon.listen, daemon.grace_seconds, daemon.tick_seconds) == ("127.0.0.1:9180", 20.0, 5.0)
    daemon = load_config(
        write(tmp_path, MINIMAL + "[daemon]\nlisten = ''\ngrace_seconds = 3\n"), env={}
    ).daemon
    assert (daemon.listen, daemon.grace_seconds) == ("", 3.0)
    env = {"SCRAPER_DAEMON_LISTEN": "[::]:9999", "SCRAPER_DAEMON_TICK_SECONDS": "0.5"}
    daemon = load_config(path, env=env).daemon
    assert (daemon.listen, daemon.tick_seconds) == ("[::]:9999", 0.5)
    assert load_config(path, env={"SCRAPER_DAEMON_LISTEN": ""}).daemon.listen == ""


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("listen = '9180'", "daemon.listen: expected host:port"),
        ("listen = 'localhost:http'", "daemon.listen: expected host:port"),
        ("tick_seconds = 0", "daemon.tick_seconds: must be more than 0"),
        ("grace_seconds = -1", "daemon.grace_seconds: must not be negative"),
    ],
)
def test_bad_daemon_keys(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, f"{MINIMAL}[daemon]\n{table}\n"), env={})


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "is a folder, not a config file"),
        (lambda d: _write_bytes(d / "bin.toml", b"\x00\xff\xfe\x89PNG"), "not UTF-8 text"),
        (lambda d: _write_bytes(d / "latin1.toml", b'[export]\ndir = "caf\xe9"\n'), "line 2"),
    ],
)
def test_config_that_is_a_folder_or_not_text_is_one_line_from_option_and_env(
    tmp_path: Path, make: object, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--config and $SCRAPER_CONFIG naming a folder, or a file that is not UTF-8, say the same one line
    (click's four-line usage error for --config, a codec's complaint for the file, before)."""
    from tests.conftest import run_cli

    target = make(tmp_path)  # type: ignore[operator]
    result = run_cli("status", "--config", str(target))
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("scraper: config error:") and message in line, line
    monkeypatch.setenv("SCRAPER_CONFIG", str(target))
    result = run_cli("status")
    (line,) = result.output.strip().splitlines()
    assert result.exit_code == 2 and message in line, line


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM; tomllib calls that an invalid statement at line 1."""
    path = tmp_path / "scraper.toml"
    path.write_bytes(b'\xef\xbb\xbf[export]\ndir = "posts"\n')
    assert load_config(path, env={}).export.dir == tmp_path / "posts"
