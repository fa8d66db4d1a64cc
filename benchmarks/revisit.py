"""Revisits: what fetching archived articles again costs, beside what archiving them cost the first time.

    python benchmarks/revisit.py [--articles 10000] [--changed 0.1] [--database sqlite|postgresql+psycopg://...]

A local server (a separate process, so its CPU is not counted) serves `--articles` article pages (about
6 KB of HTML each, eight paragraphs) listed by one feed. Half the pages carry an ETag and answer a
conditional request with 304 when unchanged; the other half carry no validator and answer 200 with the
same page. Then, in one process, with `[http] concurrency = 16`, per-host limits opened to 16 and no delay:

1. first archive: `once` polls the feed and archives every article (fetch, extract, record, post);
2. revisit round 1: every article made due; the server now serves `--changed` of them (every tenth) with
   a paragraph rewritten, the rest unchanged (304, or 200 with the same text): `once` revisits them all;
3. revisit round 2: made due again; nothing changed since round 1 (every revisit unchanged).

Printed per phase: units, wall seconds, units per second, this process's CPU per unit (ms), the server's
answers (200 / 304), and the versions and changes recorded. Target: an unchanged revisit (round 2) costs at
most a fifth of a first archive's CPU. Checks: round 1 records exactly the changed articles as edits.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text, update

from scraper.cli import _run_once
from scraper.config import load_config
from scraper.store.db import make_engine, session_factory, upgrade
from scraper.store.models import Article, ArticleChange, ArticleVersion, utcnow

WORDS = [
    "council",
    "bridge",
    "river",
    "repairs",
    "engineers",
    "residents",
    "detour",
    "estate",
    "commute",
    "spring",
    "shuttle",
    "pedestrians",
    "owners",
    "rates",
    "minister",
    "budget",
    "hospital",
    "school",
    "teachers",
    "union",
    "transport",
    "station",
    "weather",
    "harbour",
]


def paragraph(i: int, n: int) -> str:
    return " ".join(WORDS[(i * 7 + n * 3 + k) % len(WORDS)] for k in range(60)).capitalize() + "."


def article_html(i: int, changed: bool) -> bytes:
    paragraphs = [paragraph(i, n) for n in range(8)]
    if changed:
        paragraphs[3] = "A correction was published: " + paragraphs[3]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Story {i}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>Story {i}</h1>{body}</article>"
        "<footer>News Example</footer></body></html>"
    ).encode()


def serve(
    port_out: Synchronized, mode: Synchronized, counts: list[Synchronized], articles: int, every: int
) -> None:
    feed_items = "".join(
        f"<item><title>Story {i}</title><link>http://127.0.0.1:{{port}}/a/{i}</link><guid>a-{i}</guid></item>"
        for i in range(articles)
    )

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
            with counts[0 if status == 200 else 1].get_lock():
                counts[0 if status == 200 else 1].value += 1

        def do_GET(self) -> None:
            port = self.server.server_address[1]
            if self.path == "/feed.xml":
                head = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                rss = f"{head}{feed_items}</channel></rss>"
                self.answer(
                    200, rss.replace("{port}", str(port)).encode(), {"Content-Type": "application/rss+xml"}
                )
                return
            i = int(self.path.rsplit("/", 1)[1])
            changed = mode.value >= 1 and i % every == 0
            headers = {"Content-Type": "text/html; charset=utf-8"}
            if i % 2 == 0:
                etag = f'"{i}-{int(changed)}"'
                headers["ETag"] = etag
                if self.headers.get("If-None-Match") == etag:
                    self.answer(304, b"", headers)
                    return
            self.answer(200, article_html(i, changed), headers)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.value = server.server_address[1]
    server.serve_forever()


def write_config(folder: Path, port: int, database: str) -> Path:
    path = folder / "scraper.toml"
    path.write_text(
        f'[database]\nurl = "{database}"\n[export]\ndir = "_posts"\n'
        "[http]\nallow_private_networks = true\nrespect_robots = false\nconcurrency = 16\n"
        "per_host_concurrency = 16\nper_host_delay = 0\n"
        f'[[feeds]]\nname = "Bench"\nurl = "http://127.0.0.1:{port}/feed.xml"\n',
        encoding="utf-8",
    )
    return path


def phase(name: str, config_path: Path, engine: object, counts: list[Synchronized], units: int) -> float:
    for c in counts:
        c.value = 0
    config = load_config(config_path)
    cpu, wall = time.process_time(), time.perf_counter()
    summary = asyncio.run(_run_once(config, engine, False))  # type: ignore[arg-type]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    per_unit = cpu / max(units, 1) * 1000
    print(
        f"{name:<22} {units:>6} {wall:>8.1f} {units / wall:>9.1f} {per_unit:>10.2f} "
        f"{counts[0].value:>6} {counts[1].value:>6}   {summary.line()}"
    )
    return per_unit


def make_due(engine: object) -> None:
    with session_factory(engine).begin() as session:  # type: ignore[arg-type]
        session.execute(update(Article).values(revisit_at=utcnow() - timedelta(seconds=1)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    every = max(1, round(1 / args.changed)) if args.changed > 0 else args.articles + 1
    port, mode = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    counts = [multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)]
    server = multiprocessing.Process(
        target=serve, args=(port, mode, counts, args.articles, every), daemon=True
    )
    server.start()
    while not port.value:
        time.sleep(0.05)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'archive.db'}" if args.database == "sqlite" else args.database
        engine = make_engine(url)
        upgrade(engine)
        config = write_config(Path(folder), port.value, url)
        print(
            f"{args.articles} articles, {args.changed:.0%} changed in round 1, database {engine.dialect.name}"
        )
        print(
            f"{'phase':<22} {'units':>6} {'wall s':>8} {'units/s':>9} {'CPU ms/u':>10} {'200':>6} {'304':>6}"
        )
        first = phase("first archive", config, engine, counts, args.articles)
        make_due(engine)
        mode.value = 1
        phase("revisit, 10% edited", config, engine, counts, args.articles)
        make_due(engine)
        unchanged = phase("revisit, unchanged", config, engine, counts, args.articles)
        with session_factory(engine)() as session:
            edits = session.scalar(select(func.count()).select_from(ArticleChange)) or 0
            versions = session.scalar(select(func.count()).select_from(ArticleVersion)) or 0
            revisits = session.scalar(select(func.sum(Article.revisits))) or 0
            session.execute(text("select 1"))
        expected = len(range(0, args.articles, every))
        print(f"changes recorded {edits} (expected {expected}), versions {versions}, revisits {revisits}")
        ratio = unchanged / first if first else float("inf")
        verdict = "met" if ratio <= 0.2 else "NOT met"
        print(f"unchanged revisit / first archive CPU: {ratio:.2f} (target <= 0.20: {verdict})")
        engine.dispose()  # type: ignore[attr-defined]
        if edits != expected:
            sys.exit("edits recorded differ from the pages changed")
    server.terminate()


if __name__ == "__main__":
    main()
