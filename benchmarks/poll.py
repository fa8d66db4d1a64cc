"""Polling 1,000 feeds: scraper's poller beside a naive loop, in one run, against one local server.

    python benchmarks/poll.py [--feeds 1000] [--changed 0.1] [--items 20] [--latency 0 0.05]

The server (a separate process, so its CPU is not counted) serves `--feeds` RSS feeds of `--items` items
each, with ETags, and answers a matching If-None-Match with 304. After a first round, `--changed` of the
feeds get one new item; the second round is the one compared: 90 % of feeds unchanged by default.

The whole comparison runs once per `--latency`: seconds the server waits before each answer. With 0 it
measures CPU alone (on loopback nothing else costs time, so polls/s is just the inverse of CPU per poll);
a real feed answers after tens to hundreds of milliseconds (round trip and server time), and 0.05 s is a
conservative stand-in for that: there, concurrency is what counts.

- naive: one feed after another, a plain GET (urllib, no conditional headers) and feedparser over the body.
- scraper: `Pipeline.poll_feeds` as `scraper once` runs it: default [http] settings (16 requests in
  flight, 2 per host, 1 s between requests to a host), conditional GET, the address guard on, results
  recorded in SQLite (validators, schedule, new entries queued). A fresh Fetcher each round, as each cron
  run has. Also "fetch+parse only": `poll_feed` alone without the database, to show where time goes.

Every feed is on its own host name (feed-N.bench.test, all resolving to 127.0.0.1 through the Fetcher's
resolver hook; the guard lets 127.0.0.1/32 through), as 1,000 real feeds are on many hosts: on one host the
per-host politeness (2 at a time, 1 s apart) would rightly make the poll take ~500 s.

Printed per poller and round: polls per second (wall clock), CPU seconds per 1,000 polls (this process:
time.process_time, user + system; the server is another process), and bytes on the wire (both
directions, counted by the server). Round 3 repeats the poll with nothing changed: the CPU cost of 1,000
unchanged feeds, also printed as CPU milliseconds per feed.

`--profile` profiles scraper's round 3 (pyinstrument if installed, else cProfile: benchmarks/_profiling.py)
and prints its top items; the figures printed are those of the same, profiled, round, so compare them
only with an unprofiled run's as a rough guide. benchmarks/poll_cost.py measures round 3 alone in ways the
machine's load does not move: instructions under callgrind, or an A/B against another tree.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import feedparser  # noqa: E402
from _profiling import add_profile_option, profiled  # noqa: E402

from scraper.config import Config, DatabaseConfig, ExportConfig, FeedConfig, HttpConfig  # noqa: E402
from scraper.fetch import Fetcher  # noqa: E402
from scraper.pipeline import Pipeline, RunSummary  # noqa: E402
from scraper.poll import FeedError, poll_feed  # noqa: E402
from scraper.store.db import make_engine, upgrade  # noqa: E402

LOREM = (
    "物联网新型基础设施建设三年行动计划提出，推动十家物联网企业成长为产值过百亿的龙头企业。"
    "The plan covers sensing, transmission and processing along the industrial chain. "
) * 3


# --- the server ------------------------------------------------------------------------------------------


def feed_body(n: int, revision: int, items: int) -> bytes:
    entries = []
    for i in range(revision, revision + items):
        link = f"http://feed-{n}.bench.test/article/{n}/{i}"
        entries.append(
            f"<item><title>Story {i} of feed {n}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>Wed, 29 Sep 2021 23:{i % 60:02d}:00 +0800</pubDate>"
            f"<description>{LOREM}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>http://feed-{n}.bench.test/</link><description>d</description>"
        + "".join(reversed(entries))
        + "</channel></rss>"
    ).encode()


def serve(port_out: multiprocessing.connection.Connection, feeds: int, items: int) -> None:
    """A minimal asyncio HTTP/1.1 server with keep-alive. Control: /bump?every=N, /latency?s=X, /stats."""
    revisions = [0] * feeds
    bodies: dict[tuple[int, int], bytes] = {}
    counters = {"in": 0, "out": 0, "requests": 0}
    latency = [0.0]

    def answer(path: str, headers: dict[str, str]) -> bytes:
        if path.startswith("/latency"):
            latency[0] = float(path.split("s=", 1)[1])
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        if path.startswith("/bump"):
            every = int(path.split("every=", 1)[1])
            for n in range(0, feeds, every):
                revisions[n] += 1
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        if path == "/stats":
            body = f"{counters['in']} {counters['out']} {counters['requests']}".encode()
            counters.update({"in": 0, "out": 0, "requests": 0})
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        n = int(path.rsplit("/", 1)[1].split(".", 1)[0])
        etag = f'"{n}-{revisions[n]}"'
        counters["requests"] += 1
        if headers.get("if-none-match") == etag:
            return f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode()
        key = (n, revisions[n])
        body = bodies.get(key) or bodies.setdefault(key, feed_body(n, revisions[n], items))
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
            f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                response = answer(path, headers)
                if not path.startswith(("/stats", "/bump", "/latency")):
                    counters["in"] += len(head)
                    counters["out"] += len(response)
                    if latency[0]:
                        await asyncio.sleep(latency[0])
                writer.write(response)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(client, "127.0.0.1", 0, backlog=2048)
        port_out.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def control(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as response:
        return response.read().decode()


def wire_bytes(port: int) -> tuple[int, int]:
    received, sent, requests = (int(x) for x in control(port, "/stats").split())
    return received + sent, requests


# --- the pollers -----------------------------------------------------------------------------------------


@dataclass
class Measured:
    polls: int
    wall: float
    cpu: float
    wire: int
    note: str = ""

    def row(self, name: str) -> str:
        return (
            f"{name:<34} {self.polls / self.wall:>9.0f} {self.cpu / self.polls * 1000:>12.3f} "
            f"{self.wire / 1e6:>11.2f}  {self.note}"
        )


def measure(port: int, run: Callable[[], object]) -> tuple[Measured, object]:
    wire_bytes(port)  # reset the counters
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    wire, requests = wire_bytes(port)
    return Measured(requests, wall, cpu, wire), result


def naive(port: int, feeds: int) -> int:
    entries = 0
    for n in range(feeds):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/feed/{n}.xml") as response:
            body = response.read()
        entries += len(feedparser.parse(body).entries)
    return entries


async def bench_resolver(host: str, port: int) -> list[str]:
    if host.endswith(".bench.test"):
        return ["127.0.0.1"]
    raise OSError(f"unknown host {host}")


def make_config(port: int, feeds: int, folder: Path) -> Config:
    return Config(
        path=None,
        database=DatabaseConfig(url=f"sqlite:///{folder / 'bench.db'}"),
        export=ExportConfig(dir=folder / "_posts"),
        http=HttpConfig(allow_networks=("127.0.0.1/32",)),
        feeds=tuple(
            FeedConfig(name=f"feed {n}", url=f"http://feed-{n}.bench.test:{port}/feed/{n}.xml")
            for n in range(feeds)
        ),
    )


def ours(config: Config, engine: object) -> RunSummary:
    async def go() -> RunSummary:
        async with Fetcher(config.http, resolver=bench_resolver) as fetcher:
            pipeline = Pipeline(config, engine, fetcher)  # type: ignore[arg-type]
            summary = RunSummary()
            await pipeline.poll_feeds(pipeline.feeds_to_poll(due_only=False), summary)
            return summary

    return asyncio.run(go())


def fetch_and_parse_only(config: Config, validators: dict[str, tuple[str | None, str | None]]) -> int:
    async def go() -> int:
        async with Fetcher(config.http, resolver=bench_resolver) as fetcher:

            async def one(url: str) -> int:
                etag, modified = validators.get(url, (None, None))
                try:
                    result = await poll_feed(fetcher, url, etag=etag, last_modified=modified)
                except FeedError:
                    return 0
                validators[url] = (result.etag, result.last_modified)
                return len(result.entries)

            return sum(await asyncio.gather(*(one(feed.url) for feed in config.feeds)))

    return asyncio.run(go())


def compare(
    port: int, feeds: int, every: int, latency: float, args: argparse.Namespace | None = None
) -> list[tuple[str, Measured]]:
    """Rounds 1-3 of scraper's poller and the naive loop, on a fresh database, at one server latency."""
    control(port, "/bump?every=1")  # every feed changes: round 1 sees new content everywhere
    control(port, f"/latency?s={latency}")
    rows: list[tuple[str, Measured]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(port, feeds, Path(tmp))
        engine = make_engine(config.database.url)
        upgrade(engine)
        Pipeline(config, engine, None).sync_feeds()  # type: ignore[arg-type]
        validators: dict[str, tuple[str | None, str | None]] = {}

        first, summary = measure(port, lambda: ours(config, engine))
        first.note = f"{summary.new_entries} entries queued"  # type: ignore[attr-defined]
        rows.append(("scraper, round 1 (all new)", first))
        light, _ = measure(port, lambda: fetch_and_parse_only(config, validators))
        rows.append(("scraper fetch+parse only, round 1", light))

        control(port, f"/bump?every={every}")
        time.sleep(1.1)  # the per-host delay since round 1 (a real schedule waits minutes)
        second, summary = measure(port, lambda: ours(config, engine))
        second.note = (
            f"{summary.feeds_not_modified} not modified, "  # type: ignore[attr-defined]
            f"{summary.new_entries} entries queued"  # type: ignore[attr-defined]
        )
        rows.append(("scraper, round 2", second))
        light, _ = measure(port, lambda: fetch_and_parse_only(config, validators))
        rows.append(("scraper fetch+parse only, round 2", light))
        naive_run, entries = measure(port, lambda: naive(port, feeds))
        naive_run.note = f"{entries} entries parsed"
        rows.append(("naive loop, round 2", naive_run))
        time.sleep(1.1)
        with profiled(args, f"scraper, round 3 (none changed), {feeds} feeds, latency {latency}s"):
            third, summary = measure(port, lambda: ours(config, engine))
        third.note = f"{summary.feeds_not_modified} not modified"  # type: ignore[attr-defined]
        rows.append(("scraper, round 3 (none changed)", third))
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.1, help="share of feeds changed for round 2")
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05], help="server delay, seconds")
    add_profile_option(parser)
    args = parser.parse_args()
    every = max(1, round(1 / args.changed)) if args.changed > 0 else args.feeds + 1

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(send, args.feeds, args.items), daemon=True)
    server.start()
    port = receive.recv()
    try:
        results = {latency: compare(port, args.feeds, every, latency, args) for latency in args.latency}
    finally:
        server.terminate()

    changed = len(range(0, args.feeds, every))
    print(
        f"{args.feeds} feeds x {args.items} items ({len(feed_body(0, 0, args.items)):,} bytes each), "
        f"{changed} changed for round 2; Python {sys.version.split()[0]}; scraper with default [http] "
        f"settings ({HttpConfig().concurrency} requests in flight)"
    )
    for latency, rows in results.items():
        print(f"\nserver latency {latency * 1000:.0f} ms")
        print(f"{'poller':<34} {'polls/s':>9} {'CPU s/1000':>12} {'MB on wire':>11}")
        for name, measured in rows:
            print(measured.row(name))
        by_name = dict(rows)
        ours2 = by_name["scraper, round 2"]
        naive2 = by_name["naive loop, round 2"]
        ours3 = by_name["scraper, round 3 (none changed)"]
        print(
            f"round 2: scraper {ours2.polls / ours2.wall / (naive2.polls / naive2.wall):.1f}x the naive "
            f"loop's polls/s, {naive2.cpu / naive2.polls / (ours2.cpu / ours2.polls):.1f}x less CPU a poll, "
            f"{naive2.wire / ours2.wire:.1f}x fewer bytes; "
            f"{ours3.cpu / ours3.polls * 1000:.2f} CPU s per 1,000 unchanged feeds "
            f"({ours3.cpu / ours3.polls * 1000:.2f} CPU ms per unchanged feed)"
        )


if __name__ == "__main__":
    main()
