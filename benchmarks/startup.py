"""Start-up and the cheap cron run: `scraper --version`, `scraper once` with nothing new, `scraper status`.

    python benchmarks/startup.py [--feeds 20] [--repeat 5] [--database URL] [--profile]

Each command runs as its own process (`python -m scraper ...`, the installed interpreter, as cron runs it),
`--repeat` times; printed per command: wall seconds and CPU seconds (user + system of the whole child
process, start-up included, from getrusage(RUSAGE_CHILDREN)), median and best. The machine may be shared:
CPU is the figure to compare, wall is only meaningful on a quiet machine.

The `once` case: a local server (its own process, so its CPU is not counted) serves `--feeds` RSS feeds of
two items each on 127.0.0.1, with ETags; a first, unmeasured `scraper once` archives their articles; every
measured run then finds every feed unchanged (304 Not Modified). The archive is SQLite in a temporary
folder unless `--database` names another (a PostgreSQL URL, say: its tables are shared with earlier runs).
The children run without PYTHONDONTWRITEBYTECODE, so the unmeasured first run leaves the bytecode caches
an installed package has.

`--profile` runs each command once more under benchmarks/_profiling.py (pyinstrument if installed, else
cProfile) and prints the top items; that run is not in the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler
from multiprocessing.connection import Connection
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _profiling import add_profile_option, profile_command, profiler_name  # noqa: E402
from _servers import BackloggedHTTPServer  # noqa: E402

ITEMS = 2


def _feed(port: int, n: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i} of feed {n}</title><link>http://127.0.0.1:{port}/page/{n}/{i}</link>"
        f"<guid>story-{n}-{i}</guid><pubDate>Wed, 29 Sep 2021 23:{i:02d}:00 +0800</pubDate></item>"
        for i in range(ITEMS)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>http://127.0.0.1:{port}/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def _page(n: int, i: int) -> bytes:
    text = "".join(
        f"<p>Paragraph {k} of story {i} of feed {n}, with enough words to be text.</p>" for k in range(8)
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Story {i}</title></head>"
        f"<body><nav>menu</nav><article><h1>Story {i}</h1>{text}</article><footer>f</footer></body></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        parts = self.path.strip("/").split("/")
        if parts[0] == "feed":
            n = int(parts[1].split(".")[0])
            etag = f'"feed-{n}"'
            if self.headers.get("If-None-Match") == etag:
                self._answer(304, b"", {"ETag": etag})
            else:
                self._answer(200, _feed(port, n), {"ETag": etag, "Content-Type": "application/rss+xml"})
        elif parts[0] == "page":
            self._answer(
                200, _page(int(parts[1]), int(parts[2])), {"Content-Type": "text/html; charset=utf-8"}
            )
        else:
            self._answer(404, b"not here", {"Content-Type": "text/plain"})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(port_out: Connection) -> None:
    server = BackloggedHTTPServer(("127.0.0.1", 0), _Handler)
    port_out.send(server.server_address[1])
    server.serve_forever()


def write_config(folder: Path, port: int, feeds: int, database: str | None) -> Path:
    url = database or f"sqlite:///{folder / 'archive.db'}"
    lines = [
        f'[database]\nurl = "{url}"\n',
        f'[export]\ndir = "{folder / "_posts"}"\n',
        '[http]\nallow_networks = ["127.0.0.1/32"]\nper_host_delay = 0.0\nper_host_concurrency = 16\n'
        "trust_env = false\n",
        '[daemon]\nlisten = ""\n',
    ]
    lines += [
        f'[[feeds]]\nname = "feed {n}"\nurl = "http://127.0.0.1:{port}/feed/{n}.xml"\n' for n in range(feeds)
    ]
    path = folder / "scraper.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_measured(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system of the child) and exit status of one run.

    `cwd`: where the child runs. `python -m scraper` puts its working directory first on sys.path, so a
    child started inside another checkout would import that checkout's scraper, whatever PYTHONPATH says."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(
            f"  ({' '.join(argv[1:])}: exit {done.returncode}: {done.stderr.decode()[-500:]})",
            file=sys.stderr,
        )
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database", default=None, help="database URL (default: SQLite in a temporary folder)"
    )
    add_profile_option(parser)
    args = parser.parse_args()

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(send,), daemon=True)
    server.start()
    port = receive.recv()
    # Bytecode caches written as an installed package has them (pip compiles on install): with
    # PYTHONDONTWRITEBYTECODE set, every run would compile the modules it imports from source again.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SCRAPER_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPATH"] = str(HERE.parent)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), port, args.feeds, args.database)
            scraper = ["-m", "scraper"]
            here = Path(tmp)  # the children run in the temporary folder: this checkout's code, by PYTHONPATH
            first = run_measured([sys.executable, *scraper, "-c", str(config), "-q", "once"], env, here)
            commands = {
                "--version": [*scraper, "--version"],
                f"once, nothing new ({args.feeds} feeds, 304)": [*scraper, "-c", str(config), "-q", "once"],
                "status": [*scraper, "-c", str(config), "status"],
            }
            print(
                f"Python {sys.version.split()[0]}; first `once` (archives {args.feeds * ITEMS} articles): "
                f"{first[0]:.2f} s wall, {first[1]:.2f} CPU s; then {args.repeat} runs of each command"
            )
            print(f"{'command':<34} {'wall median':>11} {'wall best':>10} {'CPU median':>11} {'CPU best':>9}")
            for name, argv in commands.items():
                runs = [run_measured([sys.executable, *argv], env, here) for _ in range(args.repeat)]
                walls, cpus = [run[0] for run in runs], [run[1] for run in runs]
                print(
                    f"{name:<34} {statistics.median(walls):>11.3f} {min(walls):>10.3f} "
                    f"{statistics.median(cpus):>11.3f} {min(cpus):>9.3f}"
                )
            if args.profile:
                for name, argv in commands.items():
                    print(f"\n{name}: profiled with {profiler_name()}", flush=True)
                    subprocess.run(
                        profile_command(argv, args.profile_top),
                        env=env,
                        cwd=here,
                        stdout=subprocess.DEVNULL,
                        check=False,
                    )
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
