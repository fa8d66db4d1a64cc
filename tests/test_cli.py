"""The command line as a user meets it: the bundled sample, --version, python -m scraper."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from scraper import __version__
from tests.conftest import POSTGRES_URL, run_cli
from tests.local_servers import handler_server

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_bundled_sample_runs_offline(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("_posts", "archive.db*"))
    config = tmp_path / "examples" / "scraper.toml"
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "3 new entries; archived 3" in result.output
    posts = sorted((tmp_path / "examples" / "_posts").glob("*.md"))
    assert len(posts) == 3
    for post in posts:
        text = post.read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---\n", 2)[1])
        assert meta["author"] == "联合早报"
        assert "dfp-ad" not in text and "subscribe." not in text and "订阅联合早报" not in text
    gbk = next(p for p in posts if "新田科技城" in p.name).read_text(encoding="utf-8")
    assert "香港特区政府星期四公布新田科技城的初步规划" in gbk  # a GBK page decoded right

    again = run_cli("once", "--config", str(config))
    assert "1 not modified" in again.output and "wrote 0 posts" in again.output


def test_version_and_module_entry_point() -> None:
    assert run_cli("--version").output.strip() == f"scraper, version {__version__}"
    result = subprocess.run(
        [sys.executable, "-m", "scraper", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in result.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    (tmp_path / "scraper.toml").write_text("[database]\nurl = 'sqlite:///a.db'\n", encoding="utf-8")
    result = run_cli("db", "upgrade", "--config", str(tmp_path / "scraper.toml"))
    assert result.exit_code == 0 and (tmp_path / "a.db").exists()


def test_extract_prints_a_saved_page_with_the_site_rule(tmp_path: Path) -> None:
    page = EXAMPLES / "pages" / "story20210929-1198422.html"
    url = "https://www.zaobao.com.sg/realtime/china/story20210929-1198422"
    result = run_cli(
        "extract", str(page), "--url", url, "--format", "json", "--config", str(tmp_path / "none")
    )
    assert result.exit_code == 2  # an explicit config that does not exist is an error

    result = run_cli("extract", str(page), "--url", url, "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["title"] == "中国拟推动10家物联网成百亿龙头"
    assert record["url"] == url
    assert record["html"].count("<img") == 1 and 'src="https://www.zaobao.com.sg/' in record["html"]
    assert "dfp-ad" not in record["html"] and "订阅" not in record["text"]
    assert record["text"].startswith("中国工业和信息化部")


def test_extract_fetches_a_url_and_tries_a_selector(httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/a").respond_with_data(
        "<html><body><nav>Home | World</nav><div class='x'><p>Kept paragraph one, long enough to count.</p>"
        "<div class='promo'>Buy now</div></div><p>Outside the selector.</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    env = {"SCRAPER_HTTP_ALLOW_PRIVATE_NETWORKS": "true"}
    result = run_cli(
        "extract",
        httpserver.url_for("/a"),
        "--selector",
        ".x",
        "--remove",
        ".promo",
        "--format",
        "text",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Kept paragraph one, long enough to count."


# What each command must not load: a fast start is importing only what the command needs (scraper.cli
# imports inside each command). Checked on the modules loaded, not on a clock, so a busy machine cannot
# make this flaky. (A None entry is a module barred from loading: main() bars httpx's command line.)
_LOADED = """
import sys
sys.argv = ["scraper", *sys.argv[1:]]
from scraper.cli import main
try:
    main()
except SystemExit:
    pass
print("\\nLOADED " + " ".join(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def _modules_loaded_by(*args: str, cwd: Path | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)},
        check=False,
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("LOADED "))
    return set(line.split()[1:])


def _loaded(modules: set[str], *packages: str) -> set[str]:
    return {name for name in modules if name.split(".")[0] in packages or name.startswith(packages)}


def test_version_loads_neither_the_database_nor_the_network_layer() -> None:
    modules = _modules_loaded_by("--version")
    assert not _loaded(modules, "sqlalchemy", "alembic", "httpx", "selectolax", "feedparser", "rich"), modules
    assert not {name for name in modules if name.startswith("scraper.")} - {"scraper.cli", "scraper.logs"}


def test_help_loads_no_command_module() -> None:
    modules = _modules_loaded_by("--help")
    assert not _loaded(modules, "sqlalchemy", "httpx", "selectolax", "feedparser", "scraper.backfill")


def test_status_loads_the_database_but_not_the_fetcher_extractor_or_migrations(tmp_path: Path) -> None:
    """`status` on an archive at the current schema: SQLAlchemy, but neither Alembic (the revision is read
    with one query), nor httpx, the extractor, the exporter or the WARC writer."""
    config = tmp_path / "scraper.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[export]\ndir = "{tmp_path / "_posts"}"\n'
        '[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
    modules = _modules_loaded_by("status", "--config", str(config))
    assert "sqlalchemy" in modules and "scraper.status" in modules  # it did its work
    assert not _loaded(modules, "alembic", "httpx", "selectolax", "feedparser", "warcio"), modules
    assert not modules & {"scraper.fetch", "scraper.pipeline", "scraper.extract.extractor"}
    assert not modules & {"scraper.export.writer", "scraper.capture.writer", "scraper.backfill.runner"}
    # nor the ORM (its Core queries: the mapped classes' import was most of the command's start-up)
    assert not _loaded(modules, "sqlalchemy.orm", "scraper.store.models", "prometheus_client"), modules


def test_the_cheap_schema_check_agrees_with_alembic(tmp_path: Path) -> None:
    """The heads read from the scripts' lines are Alembic's; a database is `at_head` only when its
    alembic_version holds exactly them, and `upgrade` still migrates (through Alembic) one that is not."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from scraper.store.db import alembic_config, at_head, head_revisions, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    assert head_revisions() == frozenset(scripts.get_heads())
    assert not at_head(engine)  # a new database: no alembic_version table
    upgrade(engine)
    assert at_head(engine)
    (head,) = scripts.get_heads()
    before = scripts.get_revision(head).down_revision  # type: ignore[union-attr]
    command.downgrade(alembic_config(engine), str(before))  # one step back: not at head any more
    assert not at_head(engine)
    upgrade(engine)  # Alembic's path, not the shortcut
    assert at_head(engine)
    with engine.connect() as connection:
        assert connection.execute(text("select version_num from alembic_version")).scalar() == head
    engine.dispose()


def test_a_postgres_connection_dropped_while_idle_is_replaced_before_use(
    postgres_engine: Any, monkeypatch: Any
) -> None:
    """No ping per transaction (pool_pre_ping is off), but a pooled connection that sat idle is pinged
    before use: one the server dropped meanwhile is replaced, and the caller never sees it."""
    from sqlalchemy import text

    from scraper.store import db

    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    with postgres_engine.connect() as connection:
        pid = connection.execute(text("select pg_backend_pid()")).scalar()
    admin_engine = db.make_engine(POSTGRES_URL)
    with admin_engine.connect() as admin:
        admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    admin_engine.dispose()  # its pooled connection, else closed (with a warning) when collected
    with postgres_engine.connect() as connection:  # the pooled one is dead: replaced, not raised
        assert connection.execute(text("select pg_backend_pid()")).scalar() != pid


def test_once_with_nothing_new_loads_neither_feedparser_nor_the_extractor_nor_warcio(tmp_path: Path) -> None:
    """A cron run whose feeds all answer 304 parses no feed and extracts no page: it does not import the
    modules that would (feedparser, the extractor), nor Alembic, nor (no [warc] configured) warcio."""
    from http.server import BaseHTTPRequestHandler

    class NotModified(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(304)
            self.send_header("ETag", '"same"')
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with handler_server(NotModified) as server:
        config = tmp_path / "scraper.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[export]\ndir = "{tmp_path / "_posts"}"\n'
            '[http]\nallow_networks = ["127.0.0.1/32"]\ntrust_env = false\n'
            f'[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:{server.server_address[1]}/feed.xml"\n',
            encoding="utf-8",
        )
        assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
        modules = _modules_loaded_by("once", "--config", str(config))
    assert "scraper.poll_stage" in modules and "httpx" in modules  # it polled
    assert not _loaded(modules, "feedparser", "warcio", "alembic"), modules
    assert not modules & {"scraper.extract.extractor", "scraper.capture.writer", "scraper.backfill.runner"}


def test_the_command_does_not_import_httpx_command_line_client() -> None:
    """The `scraper` entry point keeps httpx from importing its own CLI (rich, pygments) at start-up; the
    HTTP client itself works, and httpx.main is httpx's own stub."""
    code = (
        "import sys\n"
        "from scraper.cli import _skip_httpx_command_line\n"
        "_skip_httpx_command_line()\n"
        "import httpx\n"
        "assert httpx.Client is not None and callable(httpx.main)\n"
        "print(sorted(name for name in ('rich', 'pygments', 'httpx._main') if sys.modules.get(name)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
