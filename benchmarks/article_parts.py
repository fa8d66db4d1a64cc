"""One archived article's instructions on the cluster path, split by part: poll, claim, fetch, extract,
record (the outcome's transaction, the post rendered), post file, posts marked written.

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/parts.%p \\
        python benchmarks/article_parts.py [--articles 200] [--hosts 40] [--postgres URL | --sqlite]

`scale.py --callgrind` counts a worker's archiving as a whole (14.4M instructions an article, of which the
interpreter runs nine tenths, so callgrind cannot say which Python code). This runs the same parts in one
process, one after the other, each under its own count (`_callgrind.counted`: instrumentation on for the
block only, every thread), and prints each part's instructions per article: what the extractor costs
against the fetch, the database and the post file decides what is reachable elsewhere.

The parts are those of `scraper run` (scraper.daemon), called as it calls them, on the same server as
`scale.py` (a separate process, not counted): the feeds polled once with every article in them; the
articles claimed `archive_window // 2` at a time (the daemon's claim batch); fetched `[http] concurrency`
at a time through the Fetcher (politeness, address guard and all); extracted as `archive_article` does;
their outcomes recorded in batches of a dozen (the quarter second a batch lingers at 50 articles a
second), the posts written and marked written as the recorder does. What `scale.py` counts beside these
is the event loop's own work between them (tasks, wake-ups, the scheduler's ticks, the heartbeat): the
difference between its figure and this total. Each part runs once warm-up first (a few articles: the
lazy imports and first statements of a part are a worker's start-up, not its per-article cost).

Outside valgrind the script runs and prints nothing but the checks (every article archived once).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import pstats
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _callgrind import Count, counted
from scale import control, serve, write_config
from sqlalchemy import create_engine, text

from scraper import compose
from scraper.archive import ArchiveOutcome, ArticleJob, archive_article
from scraper.config import load_config
from scraper.fetch import Response
from scraper.store.db import make_engine, upgrade
from scraper.summary import RunSummary
from scraper.work_loop import archive_window

OUTCOME_BATCH = 12  # articles per outcome transaction at 50 a second and a 0.25 s linger
WARM = 8  # articles of each part run before its count


class _Given:
    """A fetcher that answers what was fetched before: the extraction part counts no fetch."""

    def __init__(self, responses: dict[str, Response]) -> None:
        self.responses = responses

    async def get(self, url: str, *_: Any, **__: Any) -> Response:
        return self.responses[url]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SCRAPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--profile", nargs="+", default=[], metavar="PART", help="cProfile these parts")
    args = parser.parse_args()
    PROFILED.update(args.profile)
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(send, args.hosts, args.articles, 0.0), daemon=True)
    server.start()
    port = receive.recv()
    folder = Path(tempfile.mkdtemp(prefix="parts-"))
    schema = f"parts_{uuid.uuid4().hex[:10]}"
    admin = None if args.sqlite else create_engine(args.postgres)
    if admin is not None:
        with admin.begin() as connection:
            connection.execute(text(f'create schema "{schema}"'))
    url = (
        f"sqlite:///{folder}/archive.db"
        if args.sqlite
        else f"{args.postgres}?options=-csearch_path%3D{schema}"
    )
    try:
        figures = asyncio.run(measure(folder, port, args, url))
    finally:
        server.terminate()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'drop schema "{schema}" cascade'))
    if all(value is None for value in figures.values()):
        print("not under valgrind: nothing counted (the run's checks passed)")
        return
    total = sum(value or 0 for value in figures.values())
    print(f"{args.articles} articles, {'SQLite' if args.sqlite else 'PostgreSQL'}: instructions per article")
    for part, value in figures.items():
        print(f"  {part:<28} {value or 0:>12,.0f}  {(value or 0) / total:6.1%}")
    print(f"  {'total':<28} {total:>12,.0f}")


async def measure(folder: Path, port: int, args: argparse.Namespace, url: str) -> dict[str, float | None]:
    env = {"SCRAPER_DATABASE_URL": url, "SCRAPER_EXPORT_DIR": str(folder / "_posts")}
    config = load_config(write_config(folder, port, args.hosts, 60.0), env=env)
    engine = make_engine(url)
    upgrade(engine)
    leases = compose.new_leases(config, engine)
    leases.join("run")
    figures: dict[str, float | None] = {}
    async with compose.new_fetcher(config) as fetcher:
        pipeline = compose.new_pipeline(config, engine, fetcher, leases)
        pipeline.sync_feeds()
        # A first poll of the empty feeds (as a worker's, before scale.py publishes): its imports and
        # first statements are start-up. Then every feed's one poll with its articles, per article queued.
        await pipeline.poll_feeds(pipeline.feeds_to_poll(due_only=False), RunSummary())
        control(port, "/go")
        with part("poll") as count:
            await pipeline.poll_feeds(pipeline.feeds_to_poll(due_only=False), RunSummary())
        figures["poll (feed read, queued)"] = per(count.instructions, args.articles)

        stage = pipeline.archiving
        batch = archive_window(config.http.concurrency) // 2
        jobs: list[ArticleJob] = []
        warm = stage.claim_more({}, batch, batch=1)
        with part("claims") as count:
            while claimed := stage.claim_more({}, batch, batch=1):
                jobs += claimed
        figures["claims"] = per(count.instructions, len(jobs))
        jobs = warm + jobs

        responses: dict[str, Response] = {}
        limit = asyncio.Semaphore(config.http.concurrency)

        async def fetch(job: ArticleJob) -> None:
            async with limit:
                responses[job.url] = await fetcher.get(
                    job.url,
                    {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
                    policy=job.policy,
                    check_robots=True,
                )

        await each(jobs[:WARM], fetch)
        with part("fetch") as count:
            await each(jobs[WARM:], fetch)
        figures["fetch"] = per(count.instructions, len(jobs) - WARM)

        given = _Given(responses)
        outcomes: list[ArchiveOutcome] = []

        async def extract(job: ArticleJob) -> None:
            outcomes.append(await archive_article(job, given, pipeline.rules))  # type: ignore[arg-type]

        await each(jobs[:WARM], extract, one_by_one=True)
        with part("extract") as count:
            await each(jobs[WARM:], extract, one_by_one=True)
        figures["extract"] = per(count.instructions, len(jobs) - WARM)

        recorder = pipeline.recorder
        items = list(zip(jobs, outcomes, strict=True))
        batches = [items[start : start + OUTCOME_BATCH] for start in range(0, len(items), OUTCOME_BATCH)]
        posts = []
        warm_posts = recorder.record_outcomes(batches[0], [RunSummary() for _ in batches[0]])
        with part("record") as count:
            for chunk in batches[1:]:
                posts += recorder.record_outcomes(chunk, [RunSummary() for _ in chunk])
        counted_items = len(items) - len(batches[0])
        figures["record (outcomes, render)"] = per(count.instructions, counted_items)
        for post in warm_posts:
            recorder.writer.write_reserved(leases, post)
        recorder.writer.flush(leases)
        with part("post files") as count:
            for post in posts:
                recorder.writer.write_reserved(leases, post)
        figures["post files"] = per(count.instructions, counted_items)
        with part("marked written") as count:
            recorder.writer.flush(leases)
        figures["marked written"] = per(count.instructions, counted_items)
    with engine.connect() as connection:
        done = connection.execute(
            text("select count(*) from articles where status = 'archived' and post_written_at is not null")
        ).scalar()
    leases.leave()
    engine.dispose()
    files = len(list((folder / "_posts").glob("*.md")))
    if done != args.articles or files != args.articles:
        raise AssertionError(f"{done} of {args.articles} archived and written, {files} post files")
    return figures


PROFILED: set[str] = set()  # --profile: the parts profiled by cProfile (outside valgrind)


@contextmanager
def part(name: str) -> Iterator[Count]:
    """The block counted by callgrind; with `--profile NAME`, profiled by cProfile (this thread only:
    the parts this script runs in a worker thread are the poll's recording, and nothing else)."""
    profiler = cProfile.Profile() if name in PROFILED else None
    with counted(name) as count:
        if profiler is not None:
            profiler.enable()
        try:
            yield count
        finally:
            if profiler is not None:
                profiler.disable()
    if profiler is not None:
        print(f"--- {name}, cProfile")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(50)
        stats.sort_stats("tottime").print_stats(25)


def per(instructions: int | None, articles: int) -> float | None:
    return None if instructions is None else instructions / max(articles, 1)


async def each(
    jobs: list[ArticleJob], work: Callable[[ArticleJob], Awaitable[None]], *, one_by_one: bool = False
) -> None:
    if one_by_one:
        for job in jobs:
            await work(job)
    else:
        await asyncio.gather(*(work(job) for job in jobs))


if __name__ == "__main__":
    main()
