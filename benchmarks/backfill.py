"""Backfill throughput: 5,000 URLs on two hosts that answer in 50 ms, with a limit of 4 requests per host.

The limits set the bound: 2 hosts x 4 in flight / 0.05 s = 160 pages/s (31.25 s for 5,000 pages). The same
URL list is fetched and extracted, in the same run, by

- `scraper backfill --urls urls.txt --per-host 4` (queue, fetch, extract, store in SQLite, write 5,000 posts),
- `trafilatura -i urls.txt --parallel 8 -o DIR` (fetch, extract, write 5,000 text files), trafilatura's own
  command line, with SLEEP_TIME = 0 (its default waits 5 s between two requests to one host, which would
  make this run take hours) and SSRF_PROTECTION = off (the hosts are on loopback, as ours needs
  http.allow_private_networks).

Each is timed from its command's start to its exit, and its CPU per page is the user + system time of the
whole command (every process it started, start-up included: `getrusage(RUSAGE_CHILDREN)` around it)
divided by the URLs. The server runs in another process (so it does not
share a GIL with the tool measured) and records how many requests were in flight per host at most.

    python benchmarks/backfill.py [--urls 5000] [--latency 0.05] [--per-host 4] [--skip-trafilatura]

Needs the `bench` extra (`pip install -e '.[bench]'`) for trafilatura; Linux (127.0.0.2 is loopback there).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from _servers import BackloggedHTTPServer

HOSTS = ("127.0.0.1", "127.0.0.2")
CHINESE = (
    "委员会周三表示，该计划将在2023年底前在主要城市建成新型基础设施，突破关键技术，培育产值过百亿的龙头企业。"
)
WORDS = [
    f"{a}{b}"
    for a in ("ka", "lo", "mi", "ne", "pu", "ro", "sa", "ti", "vu", "ze")
    for b in (
        "ban",
        "cor",
        "dal",
        "fen",
        "gir",
        "hol",
        "jun",
        "kel",
        "mar",
        "nor",
        "pel",
        "rus",
        "sil",
        "tam",
    )
]


def story(number: int) -> str:
    """Eight paragraphs of words drawn per page: pages as different from each other as real stories are
    (trafilatura names its output files by a bag-of-words hash, so look-alike pages would share one file)."""
    draw = random.Random(number)
    return "".join(
        f"<p>{' '.join(draw.choice(WORDS) for _ in range(60)).capitalize()}. {CHINESE}</p>" for _ in range(8)
    )


def page(path: str) -> bytes:
    """A news article page of about 12 KB: navigation, the story, related links, footer."""
    number = path.rsplit("/", 1)[-1]
    text = story(int(number) if number.isdigit() else 0)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Story {number} | Bench News</title>"
        '<meta property="article:published_time" content="2021-09-29T14:34:41+08:00">'
        f'<meta property="og:title" content="Story {number}"><script>var x = 1;</script>'
        "<style>body{font:16px serif}</style></head><body>"
        '<nav><a href="/">Home</a><a href="/world">World</a><a href="/tech">Tech</a></nav>'
        f"<article><h1>Story {number}</h1><p class='byline'>By A. Writer</p>{text}"
        '<figure><img data-src="/img/a.jpg" src="data:image/gif;base64,R0lGOD">'
        "<figcaption>A picture</figcaption>"
        "</figure></article>"
        '<aside class="related">'
        + "".join(f'<a href="/s/{i}">Related {i}</a>' for i in range(20))
        + "</aside>"
        "<footer>© Bench News</footer></body></html>"
    ).encode()


# --- the server (its own process) ---------------------------------------------------------------------------


def serve(port: int, latency: float, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    served: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            host = self.server.server_address[0]  # type: ignore[index]
            if self.path == "/_stats":
                body = json.dumps({"peak": peak, "served": served}).encode()
                self._send(200, "application/json", body)
                return
            if self.path == "/_reset":
                with lock:
                    peak.clear()
                    served.clear()
                self._send(200, "text/plain", b"ok")
                return
            with lock:
                in_flight[host] += 1
                peak[host] = max(peak[host], in_flight[host])
            try:
                time.sleep(latency)
                self._send(200, "text/html; charset=utf-8", page(self.path))
            finally:
                with lock:
                    in_flight[host] -= 1
                    served[host] += 1

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    servers = []
    for host in HOSTS:
        server = BackloggedHTTPServer((host, port), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOSTS[0], 0))
        return int(probe.getsockname()[1])


def stats(port: int, action: str = "_stats") -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(f"http://{HOSTS[0]}:{port}/{action}", timeout=10) as answer:
        return json.loads(answer.read()) if action == "_stats" else {}


# --- the tools ----------------------------------------------------------------------------------------------


def run_scraper(
    work: Path, urls: Path, port: int, per_host: int, env: dict[str, str]
) -> tuple[float, int, str]:
    folder = work / "scraper"
    folder.mkdir()
    config = folder / "scraper.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///archive.db"\n[export]\ndir = "_posts"\n'
        # the bound assumes no pause between a host's requests: the per-host limit alone holds the pace
        "[http]\nallow_private_networks = true\nper_host_delay = 0\n"
        f'[[feeds]]\nname = "Bench"\nurl = "http://{HOSTS[0]}:{port}/feed.xml"\nselector = "article"\n'
        'remove = [".byline"]\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "scraper", "backfill", "--config", str(config), "--urls", str(urls)]
    command += ["--feed", "Bench", "--per-host", str(per_host), "--concurrency", str(per_host * len(HOSTS))]
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"scraper failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    with sqlite3.connect(folder / "archive.db") as db:
        archived = db.execute("select count(*) from articles where status = 'archived'").fetchone()[0]
    posts = len(list((folder / "_posts").glob("*.md")))
    if posts != archived:
        raise SystemExit(f"scraper: {archived} archived but {posts} posts")
    rate_line = next((line for line in reversed(done.stderr.splitlines()) if line.startswith("archive:")), "")
    return elapsed, cpu, archived, rate_line


def children_cpu() -> float:
    """User + system CPU seconds of the child processes ended and waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_trafilatura(work: Path, urls: Path, parallel: int, env: dict[str, str]) -> tuple[float, float, int]:
    binary = shutil.which("trafilatura", path=str(Path(sys.executable).parent)) or shutil.which("trafilatura")
    if binary is None:
        raise SystemExit("trafilatura is not installed: pip install -e '.[bench]' (or --skip-trafilatura)")
    import trafilatura  # the bench extra

    settings = (Path(trafilatura.__file__).parent / "settings.cfg").read_text(encoding="utf-8")
    settings = settings.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace(
        "SSRF_PROTECTION = on", "SSRF_PROTECTION = off"
    )
    config = work / "trafilatura.cfg"
    config.write_text(settings, encoding="utf-8")
    out = work / "trafilatura-out"
    command = [
        binary,
        "-i",
        str(urls),
        "--parallel",
        str(parallel),
        "-o",
        str(out),
        "--config-file",
        str(config),
    ]
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu
    written = sum(1 for path in out.rglob("*") if path.is_file())  # it makes a folder per 1,000 files
    if done.returncode not in (0, 1) or not written:
        raise SystemExit(f"trafilatura failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, cpu, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--skip-trafilatura", action="store_true")
    args = parser.parse_args()

    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, args.latency, ready), daemon=True)
    server.start()
    if not ready.wait(10):
        raise SystemExit("the benchmark server did not start")
    env = {**os.environ, "NO_PROXY": ",".join(HOSTS), "no_proxy": ",".join(HOSTS)}
    bound = len(HOSTS) * args.per_host / args.latency
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
            work = Path(tmp)
            urls = work / "urls.txt"
            # As a sitemap lists them: all of one host, then all of the other.
            per = args.urls // len(HOSTS)
            listing = [
                f"http://{host}:{port}/news/{n * per + i}" for n, host in enumerate(HOSTS) for i in range(per)
            ]
            urls.write_text("\n".join(listing) + "\n", encoding="utf-8")
            total = len(listing)
            rows = []

            stats(port, "_reset")
            elapsed, cpu, archived, rate_line = run_scraper(work, urls, port, args.per_host, env)
            served = stats(port)
            rows.append(("scraper backfill", elapsed, cpu, archived, served))

            if not args.skip_trafilatura:
                stats(port, "_reset")
                t_elapsed, t_cpu, written = run_trafilatura(work, urls, args.per_host * len(HOSTS), env)
                rows.append(("trafilatura -i --parallel", t_elapsed, t_cpu, written, stats(port)))
    finally:
        server.terminate()

    print(
        f"{total} URLs on {len(HOSTS)} hosts, {args.latency * 1000:.0f} ms per page, "
        f"{args.per_host} per host: "
        f"bound {bound:.0f} pages/s ({total / bound:.2f} s)"
    )
    print(
        f"{'tool':<28}{'wall s':>9}{'pages/s':>10}{'of bound':>10}{'CPU/page':>10}{'fetched':>9}"
        f"{'docs out':>10}   peak in flight per host"
    )
    for name, seconds, cpu, out, server in rows:
        per_host = ", ".join(f"{host} {server['peak'].get(host, 0)}" for host in HOSTS)
        fetched = sum(server["served"].values())
        rate = total / seconds
        print(
            f"{name:<28}{seconds:>9.2f}{rate:>10.1f}{rate / bound:>10.0%}{cpu / total * 1000:>7.2f} ms"
            f"{fetched:>9}{out:>10}   {per_host}"
        )
    print("CPU/page: user + system of the whole command (its processes, start-up included) per URL")
    print(f"scraper's own archive phase: {rate_line.removeprefix('archive: ')}")


if __name__ == "__main__":
    main()
