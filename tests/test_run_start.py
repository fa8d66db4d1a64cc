"""What `scraper run` loads before its first poll (issue 15): every worker of a cluster pays its start-up,
so what the daemon needs only later, or never, must not be imported on the way. Checked on the modules
loaded, never on a clock (tests/test_cli.py does the same for `--version`, `--help` and `status`, and
tests/test_quiet_once.py for a `once` with nothing new).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli
from tests.test_cli import _loaded

# The daemon as `scraper run` starts it (main() bars httpx's command line first), stopped by its first
# poll job, which prints the modules loaded by then instead of polling.
_FIRST_POLL = """
import sys
sys.argv = ["scraper", *sys.argv[1:]]
from scraper.cli import _skip_httpx_command_line, main
_skip_httpx_command_line()
from scraper.daemon import Daemon

async def first_poll(self):
    print("\\nLOADED " + " ".join(sorted(name for name, module in sys.modules.items() if module)))
    self.stop("the first poll")

Daemon._poll_due = first_poll
try:
    main()
except SystemExit:
    pass
"""

# Not before the first poll: a scheduler library (the jobs are the event loop's timers), Alembic (the
# archive is at head: one query says so), the terminal UI and httpx's command line, the WARC writer, the
# backfill, the import and the history.
NOT_BEFORE_THE_FIRST_POLL = (
    "apscheduler",
    "tzlocal",
    "alembic",
    "rich",
    "pygments",
    "warcio",
    "scraper.backfill",
    "scraper.importer",
    "scraper.history",
    "scraper.capture.writer",
    "scraper.export.rewrite",
)


def test_run_loads_no_scheduler_library_nor_migrations_before_its_first_poll(tmp_path: Path) -> None:
    config = tmp_path / "scraper.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[export]\ndir = "{tmp_path / "_posts"}"\n'
        '[daemon]\nlisten = ""\n[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_POLL, "-q", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("LOADED "))
    modules = set(line.split()[1:])
    assert {"scraper.daemon", "scraper.daemon_jobs", "httpx", "sqlalchemy"} <= modules  # it started
    early = _loaded(modules, *NOT_BEFORE_THE_FIRST_POLL)
    assert not early, sorted(early)
