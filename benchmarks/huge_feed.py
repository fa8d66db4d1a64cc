"""Peak memory of polling and queueing one huge feed: `Pipeline.poll_feeds` as `scraper once` runs it.

    python benchmarks/huge_feed.py [--entries 100000 200000]

For each `--entries`, a child process (so each peak is its own) writes an RSS file of that many minimal
items (about 49 bytes each: 100k entries are a 4.9 MB feed), configures it as a local feed on a fresh
SQLite archive, polls it once (parse, queue every new entry), and prints the feed's size, the entries
queued, the wall time, the CPU per entry queued (user + system of the whole child process: its imports, the
feed file, the poll) and the process's peak resident memory (ru_maxrss). No page is fetched.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path


def _feed(entries: int) -> bytes:
    items = "".join(f"<item><link>http://e.test/{i}</link></item>" for i in range(entries))
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


def _one(entries: int, queue: multiprocessing.Queue[tuple[int, int, float, float, int]]) -> None:
    from scraper.config import load_config
    from scraper.fetch import Fetcher
    from scraper.pipeline import Pipeline, RunSummary
    from scraper.store.db import make_engine, upgrade

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        feed = base / "huge.xml"
        feed.write_bytes(_feed(entries))
        config_path = base / "scraper.toml"
        config_path.write_text(
            '[database]\nurl = "sqlite:///archive.db"\n[export]\ndir = "_posts"\n'
            f'[[feeds]]\nname = "huge"\nurl = "{feed.as_uri()}"\n',
            encoding="utf-8",
        )
        config = load_config(config_path, env={})
        engine = make_engine(config.database.url)
        upgrade(engine)
        summary = RunSummary()

        async def poll() -> None:
            async with Fetcher(config.http) as fetcher:
                pipeline = Pipeline(config, engine, fetcher)
                pipeline.sync_feeds()
                await pipeline.poll_feeds(pipeline.feeds_to_poll(due_only=False), summary)

        started = time.perf_counter()
        asyncio.run(poll())
        elapsed = time.perf_counter() - started
        engine.dispose()
        usage = resource.getrusage(resource.RUSAGE_SELF)  # the whole child: imports, the feed file, the poll
        peak_kb, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        queue.put((feed.stat().st_size, summary.new_entries, elapsed, cpu, peak_kb))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, nargs="+", default=[100_000, 200_000])
    args = parser.parse_args()
    print(f"{'entries':>8} {'feed MB':>8} {'queued':>8} {'seconds':>8} {'CPU/entry':>10} {'peak MB':>8}")
    for entries in args.entries:
        queue: multiprocessing.Queue[tuple[int, int, float, float, int]] = multiprocessing.Queue()
        child = multiprocessing.Process(target=_one, args=(entries, queue))
        child.start()
        size, queued, elapsed, cpu, peak_kb = queue.get()
        child.join()
        per_entry = f"{cpu / max(queued, 1) * 1e6:.0f} us"
        mb = peak_kb / 1024
        print(f"{entries:>8} {size / 1e6:>8.1f} {queued:>8} {elapsed:>8.1f} {per_entry:>10} {mb:>8.0f}")
    print("CPU/entry: user + system of the whole child process (imports, the feed file, the poll) per entry")


if __name__ == "__main__":
    main()
