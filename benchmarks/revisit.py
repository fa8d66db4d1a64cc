"""Revisits: what fetching archived articles again costs, beside what archiving them cost the first time.

    python benchmarks/revisit.py [--articles 10000] [--hosts 16] [--database sqlite|postgresql+psycopg://...]

A local server (a separate process, so its CPU is not counted here) serves `--articles` article pages: real
news pages from the article-extraction benchmark's set (`--pages`, those where an added sentence shows in
the extracted text; a synthetic 60 KB page without it), spread over `--hosts` loopback addresses
(127.0.0.10, .11, ...: one site each, so per-host politeness applies as on the internet), listed by one
feed. The pages fall in three kinds, a third each: with an ETag (a conditional request gets 304 when
unchanged), without a validator (200, the same bytes), and without a validator whose view counter moves on
every request (200, the same text but other bytes: only extraction and the normalised text say it is
unchanged).

In one process (`[http] concurrency = 16`, per-host limits at their defaults, no per-host delay):

1. first archive: `once` polls the feed and archives every article (fetch, extract, record, post);
2. revisit, 10 % edited: every article made due; every tenth now has a sentence added, the other
   90 % are unchanged: `once` revisits them all (the run the issue asks for);
3. revisit, unchanged: made due again; nothing changed since (every revisit unchanged).

Printed per phase: units, wall seconds, units per second, this process's CPU per unit (ms), the server's
answers (200 / 304); then the edits recorded. Target: an unchanged revisit (phase 3) costs at most a
fifth of a first archive's CPU (phase 1). Check: phase 2 records exactly the rewritten articles as edits.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import multiprocessing
import pstats
import re
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

from _servers import BackloggedHTTPServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, select, update

from scraper.cli import _run_once
from scraper.config import load_config
from scraper.revisit_recorder import RevisitRecorder
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, ArticleChange, utcnow

FIRST_HOST = 10
DEFAULT_DATA = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "article-extraction" / "html"
)
WORDS = [
    "council", "bridge", "river", "repairs", "engineers", "residents", "detour", "estate", "commute",
    "spring", "shuttle", "pedestrians", "owners", "rates", "minister", "budget", "hospital", "school",
    "teachers", "union", "transport", "station", "weather", "harbour", "ferry", "market", "museum", "library",
]  # fmt: skip
EVERY = 10  # every tenth article is edited in phase 2


def host(n: int) -> str:
    return f"127.0.0.{FIRST_HOST + n}"


def paragraph(i: int, n: int) -> str:
    return " ".join(WORDS[(i * 7 + n * 3 + k * k) % len(WORDS)] for k in range(70)).capitalize() + "."


SCRIPT = "<script>" + "var t=function(a,b){return a+b};" * 120 + "</script>"
STYLE = "<style>" + ".c{margin:0;padding:0;color:#333}" * 200 + "</style>"
NAV = "<nav>" + "".join(f"<a href='/section/{k}'>Section {k}</a>" for k in range(150)) + "</nav>"
SIDE = "<aside>" + "".join(f"<li><a href='/story/{k}'>Related story number {k}</a></li>" for k in range(40))
TAIL = f"{SIDE}</aside><footer>{'News Example. ' * 50}</footer>"


def real_pages(folder: Path, limit: int) -> list[str]:
    """News pages from the article-extraction benchmark's set (the weight and markup of real sites),
    those where the edit made below shows in the extracted text; [] when the set is not there."""
    from scraper.extract import RuleBook, extract

    rules = RuleBook.load(())
    found: list[str] = []
    for path in sorted(folder.glob("*.html.gz")):
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        url = "http://127.0.0.1/a/0"
        try:
            before = extract(html, url, rules.for_url(url, None, ())).text
            after = extract(edit(html), url, rules.for_url(url, None, ())).text
        except Exception:
            continue
        if len(before) > 500 and CORRECTION in after and CORRECTION not in before:
            found.append(html)
        if len(found) >= limit:
            break
    return found


CORRECTION = "A correction was published on this story."


def edit(html: str) -> str:
    """A sentence added to the page's longest paragraph."""
    paragraphs = re.findall(r"<p[^>]*>([^<]{80,})", html)
    if not paragraphs:
        return html
    longest = max(paragraphs, key=len)
    return html.replace(longest, f"{CORRECTION} {longest}", 1)


def real_article(template: str, i: int, edited: bool, views: int | None) -> bytes:
    html = edit(template) if edited else template
    counter = f"<div class='views'>{views} views</div>" if views is not None else ""
    return re.sub(
        r"<body[^>]*>", lambda m: f"{m.group(0)}<!-- story {i} -->{counter}", html, count=1
    ).encode()


def article_html(i: int, edited: bool, views: int | None) -> bytes:
    head, nav, tail = SCRIPT + STYLE, NAV, TAIL
    paragraphs = [paragraph(i, n) for n in range(12)]
    if edited:
        paragraphs[3] = "A correction was published on this story. " + paragraphs[3]
    counter = f"<div class='meta'>{views} views</div>" if views is not None else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Story {i}</title>{head}</head>"
        f"<body>{nav}<article><h1>Story {i}</h1>{counter}{body}</article>{tail}</body></html>"
    ).encode()


def serve(
    out: Connection, hosts: int, articles: int, mode: Synchronized, counts: list[Synchronized], data: str
) -> None:
    views = [0]
    templates = real_pages(Path(data), 40) if data else []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            return None

        def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            counter = counts[0 if status == 200 else 1]
            with counter.get_lock():
                counter.value += 1

        def do_GET(self) -> None:
            if self.path == "/feed.xml":  # conditional, as most feeds are: the runs after the first get a 304
                if self.headers.get("If-None-Match") == '"feed"':
                    self.answer(304, b"", {"ETag": '"feed"'})
                    return
                self.answer(200, feed, {"Content-Type": "application/rss+xml", "ETag": '"feed"'})
                return
            i = int(self.path.rsplit("/", 1)[1])
            edited = mode.value >= 1 and i % EVERY == 0
            kind = (i // EVERY) % 3  # 0: ETag, 1: no validator, same bytes, 2: a moving view counter
            headers = {"Content-Type": "text/html; charset=utf-8"}
            if kind == 0:
                headers["ETag"] = etag = f'"{i}-{int(edited)}"'
                if self.headers.get("If-None-Match") == etag:
                    self.answer(304, b"", headers)
                    return
            views[0] += 1
            moving = views[0] if kind == 2 else None
            if templates:
                page = real_article(templates[i % len(templates)], i, edited, moving)
            else:
                page = article_html(i, edited, moving)
            self.answer(200, page, headers)

    servers = [BackloggedHTTPServer((host(n), 0), Handler) for n in range(hosts)]
    ports = [server.server_address[1] for server in servers]
    items = "".join(
        f"<item><title>Story {i}</title><link>http://{host(i % hosts)}:{ports[i % hosts]}/a/{i}</link>"
        f"<guid>a-{i}</guid></item>"
        for i in range(articles)
    )
    feed = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    out.send(ports[0])
    servers[0].serve_forever()


def write_config(folder: Path, port: int, database: str) -> Path:
    path = folder / "scraper.toml"
    path.write_text(
        f'[database]\nurl = "{database}"\n[export]\ndir = "_posts"\n'
        "[http]\nallow_private_networks = true\nrespect_robots = false\n"
        "concurrency = 16\nper_host_delay = 0\n"
        f'[[feeds]]\nname = "Bench"\nurl = "http://{host(0)}:{port}/feed.xml"\n',
        encoding="utf-8",
    )
    return path


def phase(
    name: str,
    config_path: Path,
    engine: Engine,
    counts: list[Synchronized],
    units: int,
    profile: Path | None = None,
) -> float:
    for counter in counts:
        counter.value = 0
    config = load_config(config_path)
    batches = _count_batches()
    profiler = cProfile.Profile() if profile is not None else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summary = asyncio.run(_run_once(config, engine, False)).summary
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    per_unit = cpu / max(units, 1) * 1000
    print(
        f"{name:<22} {units:>6} {wall:>8.1f} {units / wall:>9.1f} {per_unit:>10.2f} "
        f"{counts[0].value:>6} {counts[1].value:>6}   {summary.line().split('; ', 2)[-1]}"
        + (f"; {batches[1] / batches[0]:.1f} revisits per transaction" if batches[0] else ""),
        flush=True,
    )
    if profiler is not None:  # where the phase's CPU went (cProfile adds its own overhead to the figures)
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return per_unit


def _count_batches() -> list[int]:
    """[transactions, revisits] the revisit recorder writes from now on (its batches' size is what the
    linger buys: each transaction costs its round trips and commit whatever its size)."""
    counted = [0, 0]
    store_many = getattr(RevisitRecorder.store_many, "__wrapped__", RevisitRecorder.store_many)

    def counting(recorder: RevisitRecorder, items: list, summaries: list) -> None:  # type: ignore[type-arg]
        counted[0] += 1
        counted[1] += len(items)
        store_many(recorder, items, summaries)

    counting.__wrapped__ = store_many  # type: ignore[attr-defined]
    RevisitRecorder.store_many = counting  # type: ignore[method-assign]
    return counted


def make_due(engine: Engine) -> None:
    with session_factory(engine).begin() as session:
        session.execute(update(Article).values(revisit_at=utcnow() - timedelta(seconds=1)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument(
        "--pages",
        default=str(DEFAULT_DATA),
        help="a folder of real news pages (*.html.gz) to serve; '' for the synthetic 60 KB page",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="profile the unchanged phase (cProfile) into FILE"
    )
    args = parser.parse_args()
    mode = multiprocessing.Value("i", 0)
    counts = [multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)]
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(
        target=serve,
        args=(send, args.hosts, args.articles, mode, counts, args.pages if Path(args.pages).is_dir() else ""),
        daemon=True,
    )
    server.start()
    port = receive.recv()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'archive.db'}" if args.database == "sqlite" else args.database
        engine = make_engine(url)
        upgrade(engine)
        config = write_config(Path(folder), port, url)
        pages = (
            f"real pages from {args.pages}"
            if Path(args.pages).is_dir() and args.pages
            else "a synthetic page"
        )
        print(f"{args.articles} articles on {args.hosts} hosts ({pages}), database {engine.dialect.name}")
        print(
            f"{'phase':<22} {'units':>6} {'wall s':>8} {'units/s':>9} {'CPU ms/u':>10} {'200':>6} {'304':>6}"
        )
        first = phase("first archive", config, engine, counts, args.articles)
        make_due(engine)
        mode.value = 1
        phase("revisit, 10% edited", config, engine, counts, args.articles)
        make_due(engine)
        unchanged = phase("revisit, unchanged", config, engine, counts, args.articles, args.profile)
        with session_factory(engine)() as session:
            edits = session.scalar(select(func.count()).select_from(ArticleChange)) or 0
        expected = len(range(0, args.articles, EVERY))
        print(f"edits recorded: {edits} (pages rewritten: {expected})")
        ratio = unchanged / first if first else float("inf")
        verdict = "met" if ratio <= 0.2 else "NOT met"
        print(f"unchanged revisit / first archive, CPU: {ratio:.2f} (target <= 0.20: {verdict})")
        engine.dispose()
    server.terminate()
    if edits != expected:
        sys.exit("the edits recorded differ from the pages rewritten")


if __name__ == "__main__":
    main()
