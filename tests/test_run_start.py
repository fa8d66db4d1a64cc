"""What `scraper run` loads before its first poll (issue 15): every worker of a cluster pays its start-up,
so what the daemon needs only later, or never, must not be imported on the way. Checked on the modules
loaded, never on a clock (tests/test_cli.py does the same for `--version`, `--help` and `status`, and
tests/test_quiet_once.py for a `once` with nothing new).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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

# Not before the first poll: Alembic (the archive is at head: one query says so), the terminal UI and
# httpx's command line, the WARC writer, the backfill, the import and the history; and, with no listener
# (`[daemon] listen = ""`), neither Prometheus's client nor the listener (scraper.metrics_off).
NOT_BEFORE_THE_FIRST_POLL = (
    "alembic",
    "prometheus_client",
    "scraper.listener",
    "scraper.revisit_report",
    "rich",
    "pygments",
    "warcio",
    "scraper.backfill",
    "scraper.importer",
    "scraper.history",
    "scraper.capture.writer",
    "scraper.export.rewrite",
)


# The daemon as `scraper run` starts it, stopped once its first archive job has claimed (nothing: the feed
# is never polled), printing the modules loaded by then.
_FIRST_ARCHIVE_CLAIM = """
import sys
sys.argv = ["scraper", *sys.argv[1:]]
from scraper.cli import _skip_httpx_command_line, main
_skip_httpx_command_line()
from scraper.daemon import Daemon

archive_due = Daemon._archive_due

async def first_claim(self):
    await archive_due(self)
    print("\\nLOADED " + " ".join(sorted(name for name, module in sys.modules.items() if module)))
    self.stop("the first archive claim")

async def no_poll(self):
    pass

Daemon._poll_due = no_poll  # nothing fetched
Daemon._archive_due = first_claim
try:
    main()
except SystemExit:
    pass
"""

REVISITS = (
    "scraper.revisit_work",
    "scraper.revisit_recorder",
    "scraper.revisit_outcomes",
    "scraper.revisions",
)


@pytest.mark.parametrize("revisits", [False, True])
def test_run_without_revisits_never_loads_their_work(tmp_path: Path, revisits: bool) -> None:
    """`[revisit] enabled = false`: the archive job claims no revisit, and the revisits' claims, runs,
    recorder and verdicts are not even imported (they are with revisits on: the check sees them)."""
    modules = _loaded_by_run(
        _FIRST_ARCHIVE_CLAIM, tmp_path, f"[revisit]\nenabled = {str(revisits).lower()}\n"
    )
    assert {"scraper.work_loop", "scraper.claims"} <= modules  # it claimed
    assert (set(REVISITS) <= modules) is revisits and (not set(REVISITS) & modules) is (not revisits)


def test_metrics_off_answers_every_call_the_daemon_makes_on_metrics() -> None:
    """`MetricsOff` stands in for `Metrics` without a listener: every public method and series of the one
    is on the other (a counter added to Metrics and used by the daemon must be added there too), and each
    series takes the calls the daemon makes, keeping nothing."""
    from scraper.metrics import Metrics
    from scraper.metrics_off import MetricsOff

    real, off = Metrics(), MetricsOff()
    wanted = {name for name in vars(real) if not name.startswith("_")} - {"registry"}
    wanted |= {name for name in vars(Metrics) if not name.startswith("_")}
    assert wanted <= set(dir(off)), sorted(wanted - set(dir(off)))
    for name in vars(real):
        if not name.startswith("_") and name != "registry":
            series = getattr(off, name).labels("x", "y")
            series.inc()
            series.inc(2)
            series.dec()
            series.observe(0.5)
    assert off.request_hook(lambda: ()) is None  # the fetcher then times nothing


def test_a_daemon_counts_only_when_it_has_a_listener(tmp_path: Path) -> None:
    """With a listener the daemon feeds Prometheus's metrics (its /metrics reads them); without one it
    counts nothing, and gives the pipeline no outcome hook to call."""
    from scraper.config import load_config
    from scraper.daemon import Daemon
    from scraper.metrics import Metrics
    from scraper.metrics_off import MetricsOff

    for listen, kind in (("127.0.0.1:0", Metrics), ("", MetricsOff)):
        config = tmp_path / "scraper.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[export]\ndir = "{tmp_path / "_posts"}"\n'
            f'[daemon]\nlisten = "{listen}"\n',
            encoding="utf-8",
        )
        daemon = Daemon(load_config(config, env={}))
        try:
            assert type(daemon.metrics) is kind
        finally:
            daemon.engine.dispose()


def test_run_loads_no_migrations_nor_tools_of_other_commands_before_its_first_poll(tmp_path: Path) -> None:
    modules = _loaded_by_run(_FIRST_POLL, tmp_path)
    assert {"scraper.daemon", "scraper.daemon_jobs", "httpx", "sqlalchemy"} <= modules  # it started
    early = _loaded(modules, *NOT_BEFORE_THE_FIRST_POLL)
    assert not early, sorted(early)
    assert "scraper.metrics" not in modules and "scraper.metrics_off" in modules


# `scraper once` as main() runs it, reporting the collector's state when the command's work begins
# (`_started`) and at the end.
_COLLECTIONS = """
import gc, sys
sys.argv = ["scraper", *sys.argv[1:]]
default = gc.get_threshold()[0]
import scraper.cli as cli
started = cli._started
seen = {}

def reporting_started():
    seen["full collections while starting"] = gc.get_stats()[2]["collections"]
    seen["threshold while starting"] = gc.get_threshold()[0]
    started()

cli._started = reporting_started
try:
    cli.main()
except SystemExit:
    pass
print("\\nGC", seen["full collections while starting"], seen["threshold while starting"],
      gc.get_threshold()[0], default, gc.get_freeze_count())
"""


def test_start_up_is_not_scanned_by_the_collector_and_the_work_is(tmp_path: Path) -> None:
    """The imports make no garbage worth a collection: while a command starts, the collector runs rarely
    (no full collection over the freshly imported modules), then freezes what start-up made and runs on
    its usual threshold for the work (a refused feed here: the run still starts and ends)."""
    config = tmp_path / "scraper.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[export]\ndir = "{tmp_path / "_posts"}"\n'
        '[http]\nallow_networks = ["127.0.0.1/32"]\n'
        '[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    done = _scraper_in_a_process(_COLLECTIONS, tmp_path, "once", "--config", str(config))
    line = next(line for line in done.stdout.splitlines() if line.startswith("GC "))
    full_while_starting, while_starting, threshold_after, default, frozen = map(int, line.split()[1:])
    assert full_while_starting == 0
    assert while_starting > threshold_after == default  # the interpreter's own, put back
    assert frozen > 10_000  # start-up's objects, out of every later collection


def _loaded_by_run(script: str, folder: Path, more_config: str = "") -> set[str]:
    """The modules a `scraper run` over one feed (SQLite, no listener) has loaded when `script` stops it."""
    config = folder / "scraper.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{folder / "a.db"}"\n[export]\ndir = "{folder / "_posts"}"\n'
        '[daemon]\nlisten = ""\n'
        + more_config
        + '[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
    done = _scraper_in_a_process(script, folder, "run", "--config", str(config))
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("LOADED "))
    return set(line.split()[1:])


def _scraper_in_a_process(script: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`script` (which calls scraper's main) in a fresh interpreter, as a command line starts: nothing the
    test process imported counts."""
    return subprocess.run(
        [sys.executable, "-c", script, "-q", *args],
        capture_output=True,
        text=True,
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=120,
        check=False,
    )


# A command as main() runs it, reporting the collector's first threshold and frozen objects at its end.
_THRESHOLD_AT_THE_END = """
import gc, sys
sys.argv = ["scraper", *sys.argv[1:]]
default = gc.get_threshold()[0]
import scraper.cli as cli
try:
    cli.main()
except SystemExit:
    pass
print("\\nGC", gc.get_threshold()[0], default, gc.get_freeze_count())
"""


@pytest.mark.parametrize(
    "command",
    [["status"], ["export"], ["import", "{posts}"], ["backfill", "--urls", "{urls}"], ["history", "1"]],
)
def test_every_command_that_opens_the_archive_works_on_the_usual_collector_threshold(
    tmp_path: Path, command: list[str]
) -> None:
    """Not only `run` and `once`: a command that opens the archive (an import or a backfill may run for
    hours) ends its start-up as they do, start-up frozen, the interpreter's own threshold put back."""
    config = tmp_path / "scraper.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[export]\ndir = "{tmp_path / "_posts"}"\n'
        '[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    (tmp_path / "old_posts").mkdir()
    (tmp_path / "urls.txt").write_text("", encoding="utf-8")
    assert run_cli("db", "upgrade", "--config", str(config)).exit_code == 0
    args = [arg.format(posts=tmp_path / "old_posts", urls=tmp_path / "urls.txt") for arg in command]
    done = _scraper_in_a_process(_THRESHOLD_AT_THE_END, tmp_path, *args, "--config", str(config))
    line = next(line for line in done.stdout.splitlines() if line.startswith("GC "))
    threshold_after, default, frozen = map(int, line.split()[1:])
    assert threshold_after == default, done.stderr
    assert frozen > 10_000, done.stderr
