"""Soak: `scraper run` over 10,000 articles from a local site; articles per second and the daemon's RSS.

    python benchmarks/soak.py [--articles 10000] [--feeds 20] [--every 1000] [--keep DIR]
                              [--warc off|on|both] [--repeat N]

Twenty feeds, each served from its own loopback address (127.0.0.10, .11, ...: twenty "sites", so per-host
politeness applies per feed as it would on the internet), publish their entries in rounds of 50 while the
daemon runs; each feed lists its newest 100 entries and answers 304 to a conditional poll when nothing is
new. Article pages are 50-100 KB of realistic HTML (inline scripts and styles, navigation, a related-links
box, footer around ~10 paragraphs of text), different for every article. The daemon is the installed
`scraper run`, a subprocess with its own SQLite database and posts folder in a temporary directory.

Every `--every` articles handled it prints the count, the time, articles per second (since the last line and
overall), the daemon's resident memory now (VmRSS) and its peak so far (VmHWM), read from /proc (Linux).
Progress is read from the daemon's own /metrics. At the end it stops the daemon with SIGTERM and checks that
it exits 0 with a post for every archived article. Target: RSS flat after warm-up and under 200 MB.
Only addresses in 127.0.0.0/8 are used; the run is bounded by `--timeout`.

`--warc on` runs the daemon with WARC captures (`[warc] dir`), and checks that it leaves whole, closed WARC
files (no `.open`) with a response record for every page fetched; `--warc both` runs without and with them
in one go (`--repeat` times each, alternating, as the machine's load drifts) and prints the cost of the
captures in articles per second, fastest run against fastest run (target: within 10 %).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

_VOCABULARY = (
    "government economy market report city police court minister election company growth policy health "
    "school water energy climate trade bank price world country people week year month official said new "
    "plan project service public local national security research study data digital network transport "
    "housing budget tax investment industry worker union farm food river bridge station festival museum"
)
WORDS = tuple(_VOCABULARY.split())
FEED_WINDOW = 100
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def _paragraphs(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 90))).capitalize() + "."
        for _ in range(count)
    ]


class PageMaker:
    """Pages of 50-100 KB, each different, cheap to make: paragraphs picked from a pool by the article id."""

    def __init__(self) -> None:
        self.pool = _paragraphs(1, 400)
        rng = random.Random(2)
        self.script = "".join(
            f"window.__cfg{i}={{'id':{i},'k':'{hashlib.sha1(str(i).encode()).hexdigest()}','on':true}};"
            for i in range(400)
        )  # ~30 KB of inline configuration script, as news sites carry
        self.style = "".join(
            f".c{i}{{margin:{rng.randint(0, 20)}px;color:#{rng.randint(0, 0xFFFFFF):06x}}}"
            for i in range(600)
        )
        self.nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in WORDS * 2)

    def page(self, feed: int, number: int, title: str) -> bytes:
        rng = random.Random(feed * 1_000_003 + number)
        target = rng.randint(50_000, 100_000)
        body = [self.pool[rng.randrange(len(self.pool))] for _ in range(rng.randint(8, 14))]
        article = "".join(f"<p>{text} ({feed}-{number}-{i})</p>" for i, text in enumerate(body))
        related = "".join(
            f'<li><a href="/a/{rng.randrange(10_000)}.html">{self.pool[rng.randrange(400)][:60]}</a></li>'
            for _ in range(30)
        )
        head = (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title} | Site {feed}</title>"
            f"<meta property='og:title' content='{title}'>"
            f"<meta property='article:published_time' content='{published(number).isoformat()}'>"
            f"<style>{self.style}</style><script>{self.script}</script></head>"
        )
        page = (
            f"{head}<body><header><ul class='nav'>{self.nav}</ul></header>"
            f"<main><article class='story'><h1>{title}</h1>"
            f"<div class='article-body'>{article}</div></article>"
            f"<aside class='related'><h2>Related</h2><ul>{related}</ul></aside></main>"
            "<footer><p>Copyright Site. All rights reserved.</p></footer>"
        )
        padding = max(target - len(page.encode()), 0)  # more inline script, as real pages vary in size
        page += f"<script>/*{'x' * padding}*/</script></body></html>"
        return page.encode()


def published(number: int) -> datetime:
    return BASE_TIME + timedelta(minutes=number)


@dataclass
class Site:
    """All the feeds' state; `revealed` grows as the run goes on."""

    feeds: int
    per_feed: int
    revealed: int = 0
    pages: PageMaker = field(default_factory=PageMaker)
    bytes_served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def feed_xml(self, feed: int, host: str) -> tuple[bytes, str]:
        with self.lock:
            revealed = self.revealed
        newest = range(revealed - 1, max(revealed - FEED_WINDOW, 0) - 1, -1)
        items = "".join(
            f"<item><title>{title(feed, n)}</title><link>http://{host}/a/{n}.html</link>"
            f"<guid isPermaLink='false'>f{feed}-{n}</guid><pubDate>{format_datetime(published(n))}</pubDate>"
            f"<description>Summary of story {n}.</description></item>"
            for n in newest
        )
        xml = f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Site {feed}</title>"
        return (xml + items + "</channel></rss>").encode(), f'"r{revealed}"'


def title(feed: int, number: int) -> str:
    return f"Site {feed} story {number}: {WORDS[(feed * 7 + number) % len(WORDS)]} news"


def make_handler(site: Site, feed: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            host = self.headers.get("Host", "")
            if self.path == "/feed.xml":
                body, etag = site.feed_xml(feed, host)
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", "application/rss+xml", etag)
                else:
                    self._send(200, body, "application/rss+xml; charset=utf-8", etag)
            elif self.path.startswith("/a/") and self.path.endswith(".html"):
                number = int(self.path[3:-5])
                self._send(
                    200, site.pages.page(feed, number, title(feed, number)), "text/html; charset=utf-8"
                )
            else:
                self._send(404, b"not here", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)
            with site.lock:
                site.bytes_served += len(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) // 1024
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape(url: str) -> dict[str, float]:
    """Sums of the daemon's counters we follow, from its /metrics."""
    totals: dict[str, float] = {}
    text = httpx.get(url, timeout=10, trust_env=False).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "scraper_fetches_total":
                outcome = sample.labels["outcome"]
                totals[outcome] = totals.get(outcome, 0) + sample.value
            elif sample.name in ("scraper_posts_written_total", "scraper_polls_total"):
                totals[sample.name] = totals.get(sample.name, 0) + sample.value
            elif sample.name == "scraper_queue_depth" and sample.labels["state"] == "due":
                totals["due"] = sample.value
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--round", type=int, default=50, help="entries each feed publishes at a time")
    parser.add_argument("--every", type=int, default=1000, help="print a line every this many articles")
    parser.add_argument("--interval", type=int, default=2, help="the feeds' poll interval, seconds")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temp dir)")
    parser.add_argument("--warc", choices=("off", "on", "both"), default="off", help="WARC captures")
    parser.add_argument("--repeat", type=int, default=1, help="with --warc both: runs of each, alternating")
    args = parser.parse_args()
    modes = [False, True] * max(args.repeat, 1) if args.warc == "both" else [args.warc == "on"]
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    all_ok = True
    for warc in modes:
        print(f"--- WARC captures {'on' if warc else 'off'}")
        ok, rate, cpu_ms = soak(args, warc)
        all_ok &= ok
        rates[warc].append(rate)
        cpu[warc].append(cpu_ms)
    if rates[False] and rates[True]:
        off, on = max(rates[False]), max(rates[True])  # the load of a shared machine only ever slows a run
        cost = (off - on) / off * 100
        within = cost <= 10
        print(
            f"WARC cost (fastest runs): {off:.1f} articles/s without, {on:.1f} with ({cost:+.1f} %; runs: "
            f"{', '.join(f'{r:.1f}' for r in rates[False])} / {', '.join(f'{r:.1f}' for r in rates[True])}); "
            f"target (within 10 %): {'met' if within else 'NOT met'}"
        )
        all_ok &= within
        cpu_off, cpu_on = min(cpu[False]), min(cpu[True])
        print(
            f"daemon CPU an article (least of the runs): {cpu_off:.2f} ms without, {cpu_on:.2f} ms with "
            f"({(cpu_on - cpu_off) / cpu_off * 100:+.1f} %)"
        )
    return 0 if all_ok else 1


def soak(args: argparse.Namespace, warc: bool) -> tuple[bool, float, float]:
    """One run of the daemon; whether it met its targets, its articles per second, and the daemon's CPU
    milliseconds an article (a figure the other loads of a shared machine disturb far less)."""
    per_feed = args.articles // args.feeds
    total = per_feed * args.feeds
    site = Site(args.feeds, per_feed, revealed=min(args.round, per_feed))
    port = free_port()
    servers = []
    for feed in range(args.feeds):
        server = ThreadingHTTPServer((f"127.0.0.{10 + feed}", port), make_handler(site, feed))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)

    folder = (args.keep / ("warc-on" if warc else "warc-off")) if args.keep else None
    folder = folder or Path(tempfile.mkdtemp(prefix="scraper-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    listen_port = free_port()
    feeds_toml = "".join(
        f'[[feeds]]\nname = "Site {f}"\nurl = "http://127.0.0.{10 + f}:{port}/feed.xml"\n'
        f"interval = {args.interval}\n\n"
        for f in range(args.feeds)
    )
    config = folder / "scraper.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///archive.db"\n\n[export]\ndir = "_posts"\n\n'
        # the daemon's own pace, not the politeness pause (1 s per host by default) is measured here
        "[http]\nallow_private_networks = true\nper_host_delay = 0\n\n"
        f'[daemon]\nlisten = "127.0.0.1:{listen_port}"\ntick_seconds = 1.0\n\n'
        + ('[warc]\ndir = "warc"\n\n' if warc else "")
        + feeds_toml,
        encoding="utf-8",
    )
    scraper = shutil.which("scraper", path=str(Path(sys.executable).parent)) or "scraper"
    log = (folder / "daemon.log").open("wb")
    daemon = subprocess.Popen([scraper, "run", "--config", str(config)], stdout=log, stderr=log)
    metrics_url = f"http://127.0.0.1:{listen_port}/metrics"
    print(
        f"soak: {total} articles from {args.feeds} feeds (rounds of {args.round} per feed, {FEED_WINDOW} per "
        f"feed listed), pages 50-100 KB; daemon pid {daemon.pid}, folder {folder}"
    )
    print(f"{'articles':>9} {'seconds':>8} {'art/s now':>10} {'art/s all':>10} {'RSS MB':>7} {'peak MB':>8}")

    started = time.monotonic()
    next_mark, last_mark_time, last_mark_count = args.every, started, 0
    marks: list[tuple[int, int, int]] = []
    handled = 0.0
    counts: dict[str, float] = {}
    try:
        while time.monotonic() - started < args.timeout:
            time.sleep(0.25)
            if daemon.poll() is not None:
                print(f"the daemon exited early with {daemon.returncode}; see {folder / 'daemon.log'}")
                return False, 0.0, 0.0
            try:
                counts = scrape(metrics_url)
            except httpx.HTTPError:
                continue  # not listening yet
            handled = sum(counts.get(k, 0) for k in ("archived", "gone", "failed"))
            with site.lock:
                if site.revealed < per_feed and handled >= (site.revealed - args.round / 2) * args.feeds:
                    site.revealed = min(site.revealed + args.round, per_feed)
            while handled >= next_mark:
                now = time.monotonic()
                memory = proc_status(daemon.pid)
                rate_now = (next_mark - last_mark_count) / (now - last_mark_time)
                rate_all = next_mark / (now - started)
                marks.append((next_mark, memory["VmRSS"], memory["VmHWM"]))
                print(
                    f"{next_mark:>9} {now - started:>8.1f} {rate_now:>10.1f} {rate_all:>10.1f} "
                    f"{memory['VmRSS']:>7} {memory['VmHWM']:>8}",
                    flush=True,
                )
                last_mark_time, last_mark_count = now, next_mark
                next_mark += args.every
            if handled >= total and counts.get("scraper_posts_written_total", 0) >= counts.get("archived", 0):
                break
        else:
            print(f"timed out after {args.timeout:.0f} s with {handled:.0f} of {total} articles")
        elapsed = time.monotonic() - started
        memory = proc_status(daemon.pid)
        cpu = cpu_seconds(daemon.pid)
        stop_started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        stop_seconds = time.monotonic() - stop_started
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
        for server in servers:
            server.shutdown()

    posts = sum(1 for _ in (folder / "_posts").glob("*.md"))
    print(
        f"done: {handled:.0f} articles ({counts.get('archived', 0):.0f} archived, "
        f"{counts.get('failed', 0):.0f} failed, {counts.get('gone', 0):.0f} gone) in {elapsed:.1f} s = "
        f"{handled / elapsed:.1f} articles/s; {posts} posts; {site.bytes_served / 1e6:.0f} MB served; "
        f"{counts.get('scraper_polls_total', 0):.0f} polls"
    )
    print(
        f"daemon: RSS {memory['VmRSS']} MB at the end, peak {memory['VmHWM']} MB; SIGTERM -> exit {code} "
        f"in {stop_seconds:.1f} s; CPU {cpu:.1f} s = {cpu / max(handled, 1) * 1000:.2f} ms an article"
    )
    if len(marks) >= 3:
        warm = marks[1]
        growth = marks[-1][1] - warm[1]
        print(
            f"RSS after warm-up ({warm[0]} articles): {warm[1]} MB -> {marks[-1][1]} MB at {marks[-1][0]} "
            f"({growth:+d} MB)"
        )
    ok = code == 0 and posts == counts.get("archived", -1) and memory["VmHWM"] < 200
    print("target (exit 0, a post per archived article, peak RSS < 200 MB):", "met" if ok else "NOT met")
    if warc:
        ok &= check_warcs(folder / "warc", counts.get("archived", 0) + counts.get("failed", 0))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return ok, handled / elapsed, cpu / max(handled, 1) * 1000


def check_warcs(folder: Path, pages: float) -> bool:
    """Closed files only, each read whole by warcio, a response record for every page fetched."""
    from warcio.archiveiterator import ArchiveIterator

    left_open = list(folder.glob("*.open"))
    files = sorted(folder.glob("*.warc.gz"))
    responses = 0
    for path in files:
        with path.open("rb") as stream:
            responses += sum(r.rec_type == "response" for r in ArchiveIterator(stream))
    size = sum(p.stat().st_size for p in files)
    ok = not left_open and responses >= pages
    print(
        f"WARC: {len(files)} files, {size / 1e6:.0f} MB, {responses} responses for {pages:.0f} pages, "
        f"{len(left_open)} left open: {'ok' if ok else 'NOT ok'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
