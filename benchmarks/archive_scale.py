"""A big archive costs what a small one does: import, adopt, `once`, `status` and `export` over N posts.

    python benchmarks/archive_scale.py [--posts 1000000] [--backends sqlite postgres]
                                       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test_h16]

Builds, in a temporary folder, an archive of N seed-format posts (6 paragraphs each, the format of
../shared/seed-example.md) in `_posts/`, and an `allurls.dat` of N*3 URLs (the N posts' own and 2N more, as
the old script's list held every URL it had archived). A local HTTP server (a thread here; the commands
run as child processes) serves one feed whose 20 entries are new on every run, and their pages.

Per backend (SQLite in the temporary folder; PostgreSQL at --postgres or $SCRAPER_BENCH_POSTGRES_URL, its
public schema dropped and made again, so give it a database of its own), each command timed from its
start to its exit, its CPU time (user + system) and peak RSS from the kernel (wait4); posts/s are given per
wall second and per CPU second, since on a shared machine the wall time follows the load:

- once, empty: `scraper once` over an empty database and an empty export folder (20 new entries), three
  times (20 new entries each), the median;
- import: `scraper import _posts allurls.dat`, posts/s counting the posts only (as the issue does);
- once, full: the same over the imported archive, and the ratios full / empty (wall, CPU, peak RSS);
- adopt: a fresh database and the N-post folder (a CI checkout that lost its cache): `scraper once`
  adopts the folder first, posts/s over the N posts;
- status: `scraper status` over the full archive (Python's start-up and the CLI's imports included), and
  its report in process; metrics: the /metrics archive gauges' queries, in process;
- export: `scraper export` (rewrite all) after the imported articles are made the program's own, so that
  every post is rendered and compared (an unchanged file is not rewritten; these are all rewritten).

One posts folder serves both backends (not copied: a million files): each backend's `once` runs add their
posts to it and its export rewrites it in place, so the second backend adopts a few dozen more posts.

Targets (issue 16): once ratio <= 1.5 in time and memory; import and adopt >= 5,000 posts/s and peak RSS
<= 300 MB at N = 1,000,000; status < 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TextIO

from _servers import BackloggedHTTPServer
from sqlalchemy import create_engine, text

ENTRIES = 20
ONCE_REPEATS = 3
PARAGRAPH = (
    "The council met on Tuesday to weigh the plan for the river bank, which has been argued over for years; "
    "residents spoke for and against it, and the vote was put off until the next session. "
)


# --- the archive -------------------------------------------------------------------------------------------


def post_name(n: int, when: datetime) -> str:
    return f"{when:%Y-%m-%d}-Story number {n} about the river bank.md"


def post_text(n: int, when: datetime) -> str:
    """Post n in the seed format (its body from a template: a million of these are built)."""
    url = f"https://news.example/story/{n}"
    title = f"Story number {n} about the river bank"
    stamp = f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"
    body = _BODY.format(n=n)
    return (
        f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp}\nauthor: News\nfrom: {url}\n'
        f"tags: [ News ]\ncategories: [ News ]\n---\n<!--{int(when.timestamp() * 1000)}-->\n"
        f"[{title}]({url})\n------\n\n<div>\n{body}\n</div>\n"
    )


_BODY = "".join(f"<p>{PARAGRAPH}({{n}}.{k})</p>" for k in range(6))


def build_archive(root: Path, posts: int) -> tuple[Path, Path]:
    """N posts in root/_posts and the seen list root/allurls.dat. Each post is one open, one write and
    one close relative to the folder's descriptor (Path.write_text stats, seeks and wraps a text layer
    around each of a million files)."""
    folder = root / "_posts"
    folder.mkdir(parents=True)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=7)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n in range(posts):
            when = start + step * n
            handle = os.open(post_name(n, when), flags, 0o644, dir_fd=directory)
            try:
                os.write(handle, post_text(n, when).encode("utf-8"))
            finally:
                os.close(handle)
    finally:
        os.close(directory)
    urls = root / "allurls.dat"
    with urls.open("w", encoding="utf-8") as out:
        _write_lines(out, "https://news.example/story/{}\n", posts)
        _write_lines(out, "https://news.example/seen/{}\n", 2 * posts)
    return folder, urls


def _write_lines(out: TextIO, pattern: str, count: int) -> None:
    """pattern.format(n) for n in range(count), written 10,000 lines at a time."""
    for first in range(0, count, 10_000):
        out.write("".join(map(pattern.format, range(first, min(first + 10_000, count)))))


# --- the feed server ---------------------------------------------------------------------------------------


class FeedHandler(BaseHTTPRequestHandler):
    """/feed/<run>: 20 entries new to that run; /a/<run>/<i>: a small article page."""

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        parts = self.path.strip("/").split("/")
        if parts[0] == "feed":
            run = parts[1]
            items = "".join(
                f"<item><title>New {run} {i}</title><link>http://127.0.0.1:{port}/a/{run}/{i}</link>"
                f"<guid>new-{run}-{i}</guid><pubDate>Wed, 01 May 2024 08:00:00 GMT</pubDate></item>"
                for i in range(ENTRIES)
            )
            body = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{items}</channel></rss>'
            )
            kind = "application/rss+xml"
        else:
            words = " ".join(f"word{k}" for k in range(80))
            body = (
                f"<html><head><title>{self.path}</title></head><body><article><h1>{self.path}</h1>"
                f"<p>{words}</p><p>{PARAGRAPH}</p></article></body></html>"
            )
            kind = "text/html; charset=utf-8"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- running commands --------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float  # wall
    cpu: float  # user + system, the command's own (the machine is shared: wall time varies with load)
    peak_mb: float
    status: int

    def rate(self, posts: int) -> str:
        return (
            f"{self.seconds:.1f} s: {posts / self.seconds:,.0f} posts/s "
            f"({posts / self.cpu:,.0f} per CPU second), {self.peak_mb:.0f} MB"
        )


def median_run(runs: list[Run]) -> Run:
    """The median wall and CPU time, and the highest peak, of repeated runs."""
    middle = len(runs) // 2
    return Run(
        sorted(r.seconds for r in runs)[middle],
        sorted(r.cpu for r in runs)[middle],
        max(r.peak_mb for r in runs),
        max(r.status for r in runs),
    )


class Bench:
    def __init__(self, root: Path, database_url: str, port: int) -> None:
        self.root, self.database_url, self.port = root, database_url, port
        self.runs = 0

    def config(self, folder: Path) -> Path:
        self.runs += 1
        path = self.root / "scraper.toml"
        path.write_text(
            f'[database]\nurl = "{self.database_url}"\n[export]\ndir = "{folder}"\n'
            "[http]\nallow_private_networks = true\nper_host_delay = 0\nper_host_concurrency = 4\n"
            "respect_robots = false\n"
            f'[[feeds]]\nname = "News"\nurl = "http://127.0.0.1:{self.port}/feed/run{self.runs}"\n',
            encoding="utf-8",
        )
        return path

    def scraper(self, folder: Path, *args: str) -> Run:
        command = [
            sys.executable,
            "-m",
            "scraper",
            *args[:1],
            "--config",
            str(self.config(folder)),
            *args[1:],
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)
        _, wait_status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        status = os.waitstatus_to_exitcode(wait_status)
        if status not in (0, 1):
            print(f"  ! {' '.join(args)} exited {status}: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status)

    def reset(self) -> None:
        if self.database_url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(self.database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            return
        engine = create_engine(self.database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()

    def sql(self, statement: str) -> None:
        engine = create_engine(self.database_url)
        with engine.begin() as connection:
            connection.execute(text(statement))
        engine.dispose()


def report_seconds(database_url: str) -> tuple[float, float]:
    """Seconds for the status report and for the metrics' archive gauges, in this process (no start-up)."""
    from scraper.status import feed_status_report
    from scraper.store.reports import archive_gauges

    engine = create_engine(database_url)
    started = time.perf_counter()
    feed_status_report(engine)
    status = time.perf_counter() - started
    with engine.connect() as connection:
        started = time.perf_counter()
        archive_gauges(connection, datetime.now(UTC))
        metrics = time.perf_counter() - started
    engine.dispose()
    return status, metrics


def once_runs(bench: Bench, folder: Path) -> Run:
    """`scraper once` with 20 new entries, ONCE_REPEATS times (each its own new entries): the median."""
    return median_run([bench.scraper(folder, "once") for _ in range(ONCE_REPEATS)])


def measure(name: str, bench: Bench, archive: Path, urls: Path, posts: int) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    empty = bench.root / f"empty-{name}"
    empty.mkdir()
    bench.reset()
    once_empty = once_runs(bench, empty)
    rows.append(
        (
            "once, 20 new entries, empty archive",
            f"{once_empty.seconds:.2f} s ({once_empty.cpu:.2f} s CPU), {once_empty.peak_mb:.0f} MB",
            "",
        )
    )
    folder = archive  # read by import and adopt; the runs add their 20 posts, export rewrites in place
    bench.reset()
    imported = bench.scraper(folder, "import", str(folder), str(urls))
    rows.append(("import posts + seen URLs", imported.rate(posts), ">= 5,000 posts/s, <= 300 MB"))
    once_full = once_runs(bench, folder)
    rows.append(
        (
            "once, 20 new entries, full archive",
            f"{once_full.seconds:.2f} s ({once_full.cpu:.2f} s CPU), {once_full.peak_mb:.0f} MB: ratio "
            f"{once_full.seconds / once_empty.seconds:.2f} in time "
            f"({once_full.cpu / once_empty.cpu:.2f} in CPU), "
            f"{once_full.peak_mb / once_empty.peak_mb:.2f} in memory",
            "<= 1.5 in time and memory",
        )
    )
    status = bench.scraper(folder, "status")
    report, gauges = report_seconds(bench.database_url)
    rows.append(("status (the command, start-up included)", f"{status.seconds:.2f} s", "< 1 s"))
    rows.append(("status report (in process: its queries and table)", f"{report:.2f} s", "< 1 s"))
    rows.append(("/metrics archive gauges (in process)", f"{gauges:.2f} s", "< 1 s"))
    bench.sql("UPDATE articles SET content_source = 'page' WHERE content_source = 'import'")
    exported = bench.scraper(folder, "export")
    rows.append(("export (rewrite all)", exported.rate(posts), ""))
    bench.reset()
    adopted = bench.scraper(folder, "once")
    rows.append(
        (
            "once over the posts folder, no database (adopt)",
            adopted.rate(posts),
            ">= 5,000 posts/s, <= 300 MB",
        )
    )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SCRAPER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test_h16"
        ),
    )
    args = parser.parse_args(argv)
    server = BackloggedHTTPServer(("127.0.0.1", 0), FeedHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = Path(tempfile.mkdtemp(prefix="archive-scale-"))
    try:
        started = time.perf_counter()
        archive, urls = build_archive(root / "source", args.posts)
        print(
            f"built {args.posts:,} posts and {3 * args.posts:,} URLs in {time.perf_counter() - started:.0f} s"
        )
        for backend in args.backends:
            url = f"sqlite:///{root / 'archive.db'}" if backend == "sqlite" else args.postgres
            rows = measure(backend, Bench(root, url, server.server_address[1]), archive, urls, args.posts)
            print(f"\n{backend}, N = {args.posts:,}\n| what | figure | target |\n| --- | --- | --- |")
            for what, figure, target in rows:
                print(f"| {what} | {figure} | {target} |")
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
