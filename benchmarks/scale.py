"""Several workers on one PostgreSQL: articles per second with 1, 2 and 4 `scraper run` processes.

    python benchmarks/scale.py [--workers 1 2 4] [--articles 2000] [--hosts 40] [--latency 0.05]
                               [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
                               [--profile DIR] [--baseline DIR] [--callgrind DIR] [--folder DIR]

A local server (a separate process, so its CPU is not counted against the workers) answers on `--hosts`
loopback addresses (127.0.0.10, .11, ...: one "site" each, so per-host politeness applies as it would on the
internet), each with one feed listing its share of `--articles` small article pages; every answer comes
after `--latency` seconds. For each worker count, a fresh PostgreSQL schema, then that many `scraper run`
processes (each `[http] concurrency = 4`, per-host limits left at their defaults, no per-host delay), all
pointed at it and at one posts folder. The feeds stay empty until every worker is up (its `nodes` row is
live); then they publish everything at once.

Printed per worker count: the steady rate, articles per second from the first post written to the last
(`post_written_at`: the workers' start-up and first polls are not in it), beside the whole-run rate (from
starting the worker processes to the last post written); the bound `workers x 4 / latency` (each worker
never has more than 4 requests in flight), the steady rate's share of it, the speed-up over one worker
(steady rates), the CPU busy on the whole machine while archiving, the workers' CPU per article (user +
system of each whole process, start-up included, read just before it is stopped; and of the archiving
alone, from publishing to the last archived), and the TCP connections the server accepted (keep-alive at
work: far fewer than the articles). Checks, as the cluster tests do: every article archived once, one post
each. Target: 4 workers at least 3.5x one worker on the steady rate, and at most 4 ms of worker CPU per
article, whole process. Only 127.0.0.0/8 is used. Under the table, the same whole-process CPU per article
split by thread, user and system apart: the event loop's (fetching, extracting) against the worker
threads' (the database, feed parsing, post files), from /proc/PID/task; where a system call costs more
than its Python, this says which side pays.

`--profile DIR` samples each worker with py-spy (a benchmark tool, not a dependency: `pip install py-spy`;
every thread, idle time left out, so the samples are CPU) into DIR and prints the top items per worker
count (all workers of a run added up): by own samples (the function on top of the stack) and by inclusive
samples of scraper's functions. py-spy runs beside the workers, so its cost lands in "CPU busy", not in the
workers' CPU; measure the figures without it all the same. Its samples over-weight a system call made
holding the GIL: `time.thread_time()` in the extractor's Budget (1.4 us a call) showed as 4-5% of the
samples, psycopg's executemany of the outcomes' UPDATE as 7% (issue 15, session 15: one statement per batch
instead cost more CPU); weigh a suspect with `--callgrind` or a micro-benchmark before working on it.

`--callgrind DIR` runs the first worker of each run under valgrind's callgrind, uninstrumented through
its start-up and first polls (`--instr-atstart=no`); instrumentation is switched on when the feeds publish
(`callgrind_control -i on`) and the counters dumped when every article is archived, into DIR. Printed: that
worker's instructions per article it archived (user space only: the kernel's share of a send or a connect
is not in them), split by the library that ran them (each shared object's own instructions: on this
machine nine tenths are the interpreter's, running Python code, the HTML parser and zlib a few percent),
then the top C functions by inclusive instructions (`callgrind_annotate --inclusive=yes`). Under CPython
3.11 Python functions show only as the interpreter's frames: for a split by Python function, `--profile`
(py-spy) on a run without valgrind, or `benchmarks/article_parts.py`, which counts each part of the
archiving (poll, claims, fetch, extract, record, post files) alone. The worker is some fifty times slower
under valgrind, so what it does so many times a second (the scheduler's ticks, the heartbeat, claims that
find nothing) weighs that much more per article than at its native rate; and use few
articles (`--workers 1 --articles 200`); its wall-time and CPU figures mean nothing then, its
instructions do, within a percent or two from run to run (what the loop does while waiting, and how the
outcomes batch, follow the wall clock). With `--baseline` and `--rounds`, an A/B by instructions per article.

`--baseline DIR` compares two versions of the code in one run, since on a shared machine the load changes
from one minute to the next: DIR holds the other version's source tree (`git archive main | tar -x -C DIR`),
put first on the workers' PYTHONPATH; each worker count is run with it, then with this tree, and again in
that order `--rounds` times, each row printed with its code ("base" or "this").

Before the runs, each tree's `scraper` package is compiled to bytecode (`compileall`, as an installed
package is): a worker started with PYTHONDONTWRITEBYTECODE on a tree without caches would compile every
module of its start-up, a fifth of a second of CPU per worker that a deployed daemon never pays, and a
tree just extracted for `--baseline` has none while a working tree may have some.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

FIRST_HOST = 10  # 127.0.0.10 upwards


def host(n: int) -> str:
    return f"127.0.0.{FIRST_HOST + n}"


# --- the server ------------------------------------------------------------------------------------------


def serve(out: Connection, hosts: int, articles: int, latency: float) -> None:
    """HTTP/1.1 with keep-alive on every host address, one port. Control (on the first host): /go publishes
    the feeds, /stats gives the first and last article request times and the count."""
    per_host = [list(range(n, articles, hosts)) for n in range(hosts)]
    state = {"go": False, "first": 0.0, "last": 0.0, "count": 0, "connections": 0}

    def feed(n: int, port: int) -> bytes:
        items = "".join(
            f"<item><title>Story {i}</title><link>http://{host(n)}:{port}/a/{i}</link><guid>a-{i}</guid>"
            f"<pubDate>Wed, 01 May 2024 08:00:00 GMT</pubDate></item>"
            for i in (per_host[n] if state["go"] else [])
        )
        channel = f"<channel><title>H{n}</title>{items}</channel>"
        return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()

    def page(i: int) -> bytes:
        words = " ".join(f"w{k}" for k in range(60))
        return (
            f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            f"<p>Story {i} begins: {words}.</p><p>And ends here.</p></article></body></html>"
        ).encode()

    def response(status: str, body: bytes, kind: str, etag: str = "", max_age: int = 0) -> bytes:
        head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        if etag:
            head += f"ETag: {etag}\r\n"
        if max_age:
            head += f"Cache-Control: max-age={max_age}\r\n"
        return (head + "\r\n").encode() + body

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local, port = writer.get_extra_info("sockname")[:2]
        state["connections"] += 1
        n = int(local.rsplit(".", 1)[1]) - FIRST_HOST
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if path == "/go":
                    state["go"] = True
                    answer = response("200 OK", b"ok", "text/plain")
                elif path == "/stats":  # and reset, for the next run
                    stats = f"{state['first']} {state['last']} {state['count']} {state['connections']}"
                    state.update(go=False, first=0.0, last=0.0, count=0, connections=0)
                    stats = stats.encode()
                    answer = response("200 OK", stats, "text/plain")
                elif path == "/feed.xml":
                    await asyncio.sleep(latency)
                    etag = f'"{state["go"]}"'
                    if headers.get("if-none-match") == etag:
                        answer = f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode()
                    else:
                        # Published: come back in an hour (as a feed's cache lifetime says), so the feeds
                        # are polled once and the run measures the articles.
                        max_age = 3600 if state["go"] else 0
                        answer = response("200 OK", feed(n, port), "application/rss+xml", etag, max_age)
                else:
                    now = time.time()
                    state["first"] = state["first"] or now
                    state["last"], state["count"] = now, state["count"] + 1
                    await asyncio.sleep(latency)
                    answer = response("200 OK", page(int(path.rsplit("/", 1)[1])), "text/html; charset=utf-8")
                writer.write(answer)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        for _ in range(20):  # a free port on every address
            probe = await asyncio.start_server(client, host(0), 0)
            port = probe.sockets[0].getsockname()[1]
            probe.close()
            await probe.wait_closed()
            try:
                server = await asyncio.start_server(
                    client, [host(n) for n in range(hosts)], port, backlog=1024, reuse_address=True
                )
                break
            except OSError:
                continue
        else:
            raise OSError("no port free on every loopback address")
        out.send(port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def control(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://{host(0)}:{port}{path}", timeout=10) as answer:
        return answer.read().decode()


# --- one measurement ------------------------------------------------------------------------------------


@dataclass
class Measured:
    code: str  # "this" tree, or the "base" one of --baseline
    workers: int
    steady: float  # articles per second, first post written to the last
    whole: float  # articles per second, worker processes started to the last post written
    posts_after: float  # seconds from the first article request to the last post written
    refetched: int
    busy: float  # CPU cores busy (every process on the machine) while the articles were archived
    worker_cpu_ms: float  # the workers' CPU per article, whole processes (start-up included)
    archiving_cpu_ms: float  # the workers' CPU per article from publishing to the last archived
    startup_cpu: float  # CPU seconds of one worker (the mean) from its start to publishing
    connections: int  # TCP connections the server accepted (feeds and pages), from publishing to the end
    split: ThreadSplit  # the whole workers' CPU per article, by thread and by user or system
    instructions: float | None = None  # with --callgrind: the first worker's per article it archived


@dataclass
class ThreadSplit:
    """The workers' CPU (whole processes), milliseconds per article: the event loop's thread (the main
    one: fetching, extracting) against the worker threads (the database, feed parsing, post files), each
    user and system."""

    loop_user: float = 0.0
    loop_system: float = 0.0
    threads_user: float = 0.0
    threads_system: float = 0.0

    def add(self, pid: int, per: float) -> None:
        """Add a running process's threads, their CPU seconds times `per`, from /proc (Linux)."""
        tick = os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile: its CPU is in no thread's figure
                continue
            user, system = int(fields[11]) / tick * per, int(fields[12]) / tick * per
            if task.name == str(pid):
                self.loop_user += user
                self.loop_system += system
            else:
                self.threads_user += user
                self.threads_system += system


def run(workers: int, port: int, args: argparse.Namespace, admin: Engine, base: bool = False) -> Measured:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    folder = Path(tempfile.mkdtemp(prefix="scale-", dir=args.folder))
    processes: list[subprocess.Popen[bytes]] = []
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        config = write_config(folder, port, args.hosts, args.lease)
        env = {**os.environ, "SCRAPER_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
        if base:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.baseline, env.get("PYTHONPATH")]))
        scraper = [sys.executable, "-m", "scraper"]
        subprocess.run(
            [*scraper, "db", "upgrade", "--config", str(config)],
            env=env,
            cwd=folder,  # not this tree: `python -m` puts the working directory first on the path
            check=True,
            capture_output=True,
        )
        started = time.time()
        dump = None
        for n in range(workers):
            log = (folder / f"worker-{n}.log").open("wb")
            command = [*scraper, "-q", "run", "--config", str(config)]
            if args.callgrind and n == 0:
                dump = (
                    Path(args.callgrind).resolve()
                    / f"{'base' if base else 'this'}-{workers}-{uuid.uuid4().hex[:6]}"
                )
                command = [*callgrind_command(dump), *command]
            processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    cwd=folder,
                    stdout=log,
                    stderr=log,
                )
            )
            if args.profile:
                profilers.append(sample(processes[-1].pid, Path(args.profile) / f"workers{workers}-{n}.txt"))
        wait(lambda: count(engine, LIVE_WORKERS) >= workers, 60, "workers")
        if dump is not None:
            callgrind_control(processes[0].pid, "-i", "on")
        control(port, "/go")
        machine_before = machine_cpu()
        workers_before = sum(process_cpu(process.pid) for process in processes)
        total = args.articles
        wait(lambda: count(engine, ARCHIVED) >= total, 900 if dump else 300, "archive")
        instructions = None
        if dump is not None:
            instructions = dumped_instructions(processes[0].pid, dump, total)
        machine_after = machine_cpu()
        worker_cpu = sum(process_cpu(process.pid) for process in processes) - workers_before
        wait(lambda: count(engine, POSTS_WRITTEN) >= total, 600 if dump else 120, "posts")
        posts_done = time.time()
        whole_cpu = sum(process_cpu(process.pid) for process in processes)
        split = ThreadSplit()
        for process in processes:
            split.add(process.pid, 1000 / total)
        first, _, requests, connections = (float(x) for x in control(port, "/stats").split())
        with engine.connect() as connection:
            first_post, last_post = connection.execute(text(POSTS_SPAN)).one()
            again = connection.execute(text(NOT_ONCE)).scalar()
        files = len(list((folder / "_posts").glob("*.md")))
        if again or files != total:
            raise AssertionError(f"{workers} workers: {again} articles not archived once, {files} posts")
        busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1e-9)
        return Measured(
            "base" if base else "this",
            workers,
            (total - 1) / max(float(last_post) - float(first_post), 1e-9),
            total / max(float(last_post) - started, 1e-9),
            posts_done - first,
            int(requests) - total,
            busy * (os.cpu_count() or 1),
            whole_cpu / total * 1000,
            worker_cpu / total * 1000,
            workers_before / workers,
            int(connections),
            split,
            instructions,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        for profiler in profilers:  # it ends with its worker, writing its samples
            profiler.wait(60)
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        args.made.append(folder)  # removed at the end (see `create_cost`)


# A post file written (temp file created, written, fsynced, renamed) costs some 0.2 ms of CPU on this VM's
# disk; past this, file creation in that folder is slow for a reason of the machine's, not the workers'.
SLOW_CREATE_SECONDS = 0.0005


def create_cost(parent: Path, files: int = 200) -> float:
    """CPU seconds (user + system) of writing one small file as the post writer does, in a new folder under
    `parent` (which is where the runs' posts go).

    On ext4 without a journal (this VM's root) a new inode is not taken from those freed in the last 5 s
    (300 s while their inode table is unwritten): each create scans past them, and after a test suite or a
    benchmark deleted thousands of files in that part of the disk a create costs a millisecond of CPU
    instead of 20 us, a quarter of a worker's CPU per article. So the runs' folders are removed at the end,
    not between runs, and this figure is printed beside the results; `--folder` puts them elsewhere."""
    from scraper.export.files import write_atomic  # the post writer's own: temp file, fsync, rename

    folder = Path(tempfile.mkdtemp(prefix="scale-probe-", dir=parent))
    text = "x" * 3000
    try:
        started = time.process_time()
        for n in range(files):
            write_atomic(folder / f"{n}.md", text)
        return (time.process_time() - started) / files
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_config(folder: Path, port: int, hosts: int, lease: float) -> Path:
    feeds = "".join(
        f'[[feeds]]\nname = "H{n}"\nurl = "http://{host(n)}:{port}/feed.xml"\ninterval = 1\n\n'
        for n in range(hosts)
    )
    path = folder / "scraper.toml"
    path.write_text(
        '[export]\ndir = "_posts"\n\n'
        "[http]\nconcurrency = 4\nper_host_delay = 0\nrespect_robots = false\n"
        'allow_networks = ["127.0.0.0/8"]\n\n'
        '[daemon]\nlisten = ""\ntick_seconds = 0.2\n\n'
        f"[cluster]\nlease_seconds = {lease}\n\n" + feeds,
        encoding="utf-8",
    )
    return path


LIVE_WORKERS = "select count(*) from nodes where command = 'run'"
ARCHIVED = "select count(*) from articles where status = 'archived'"
POSTS_WRITTEN = "select count(*) from articles where post_written_at is not null and lease_owner is null"
POSTS_SPAN = (
    "select extract(epoch from min(post_written_at)), extract(epoch from max(post_written_at)) from articles"
)
NOT_ONCE = "select count(*) from articles where attempts <> 1"


def callgrind_command(dump: Path) -> list[str]:
    """valgrind's callgrind, uninstrumented until switched on, writing to `dump` (its folder made)."""
    dump.parent.mkdir(parents=True, exist_ok=True)
    return [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={dump}",
        "--trace-children=no", "--quiet",
    ]  # fmt: skip


def callgrind_control(pid: int, *options: str) -> None:
    subprocess.run(["callgrind_control", *options, str(pid)], check=True, capture_output=True)


def dumped_instructions(pid: int, dump: Path, articles: int) -> float | None:
    """Dump the counters since publishing, switch instrumentation off; instructions per article (the
    worker is alone: `--callgrind` runs one)."""
    callgrind_control(pid, "-d", "archived")
    callgrind_control(pid, "-i", "off")
    files = sorted(dump.parent.glob(f"{dump.name}*"), key=lambda path: path.stat().st_mtime)
    if not files:
        return None
    dumped = files[-1].read_text(errors="replace")  # totals first: see _callgrind._total
    match = re.search(r"^totals:\s*(\d+)", dumped, re.M) or re.search(r"^summary:\s*(\d+)", dumped, re.M)
    if not match:
        return None
    return int(match.group(1)) / articles


def compile_tree(package: Path) -> None:
    """Bytecode caches for a source tree's package, as an installed package has (see the docstring)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env, check=True)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat (Linux)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count(engine: Engine, query: str) -> int:
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(query)).scalar() or 0)
    except Exception:  # the schema is still being created
        return 0


def wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError(f"waited {timeout} s for the {what}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    parser.add_argument("--lease", type=float, default=60.0, help="[cluster] lease_seconds")
    parser.add_argument("--profile", metavar="DIR", help="sample the workers with py-spy, output here")
    parser.add_argument("--baseline", metavar="DIR", help="the source tree of the code to compare with")
    parser.add_argument("--callgrind", metavar="DIR", help="one worker under callgrind, dumps here")
    parser.add_argument("--top", type=int, default=30, help="with --callgrind: functions printed")
    parser.add_argument("--rounds", type=int, default=1, help="with --baseline: runs of each, alternated")
    parser.add_argument(
        "--folder",
        metavar="DIR",
        help="where each run's folder (config, logs, posts) is made: the temp folder",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SCRAPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    if args.hosts > 200:
        parser.error("--hosts: at most 200 (127.0.0.10 to 127.0.0.209)")
    if args.callgrind and args.workers != [1]:
        parser.error("--callgrind: with --workers 1 (the instructions are one worker's, per article)")

    for tree in filter(None, [str(Path(__file__).resolve().parent.parent), args.baseline]):
        compile_tree(Path(tree) / "scraper")
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(
        target=serve, args=(send, args.hosts, args.articles, args.latency), daemon=True
    )
    server.start()
    port = receive.recv()
    admin = create_engine(args.postgres)
    results = []
    args.made = []
    creates = create_cost(Path(args.folder or tempfile.gettempdir()))
    try:
        for _ in range(args.rounds if args.baseline else 1):
            for workers in args.workers:
                if args.baseline:
                    results.append(run(workers, port, args, admin, base=True))
                results.append(run(workers, port, args, admin))
    finally:
        server.terminate()
        admin.dispose()
        for folder in args.made:
            shutil.rmtree(folder, ignore_errors=True)

    cores = os.cpu_count()
    print(
        f"{args.articles} articles on {args.hosts} hosts answering after {args.latency * 1000:.0f} ms; "
        f"each worker a `scraper run` with [http] concurrency 4; one PostgreSQL; {cores} CPU cores; "
        f"Python {sys.version.split()[0]}"
    )
    print(
        f"posts folder: {args.folder or tempfile.gettempdir()}, a new file there (created, written, fsynced, "
        f"renamed) {creates * 1e6:.0f} us of CPU"
        + (" (SLOW: see --folder)" if creates > SLOW_CREATE_SECONDS else "")
    )
    print(
        f"{'code':>4} {'workers':>7} {'steady/s':>9} {'whole/s':>8} {'bound':>6} {'of bound':>9} "
        f"{'speed-up':>9} {'posts done':>11} {'CPU busy':>10} {'worker CPU/article':>19} "
        f"{'(archiving)':>12} {'start-up':>9} {'connections':>12}"
    )
    one: dict[str, float] = {}  # each code's last single-worker steady rate: the speed-up's base
    for measured in results:
        if measured.workers == 1:
            one[measured.code] = measured.steady
        base = one.get(measured.code)
        bound = measured.workers * 4 / args.latency
        speedup = f"{measured.steady / base:.2f}x" if base else "-"
        print(
            f"{measured.code:>4} {measured.workers:>7} {measured.steady:>9.1f} {measured.whole:>8.1f} "
            f"{bound:>6.0f} {measured.steady / bound:>8.0%} {speedup:>9} {measured.posts_after:>10.1f}s "
            f"{measured.busy:>4.2f} of {cores} {measured.worker_cpu_ms:>16.2f} ms "
            f"{measured.archiving_cpu_ms:>9.2f} ms "
            f"{measured.startup_cpu:>7.2f} s "
            f"{measured.connections:>12}"
            + (f"  ({measured.refetched} pages fetched twice)" if measured.refetched else "")
            + (f"  {measured.instructions:,.0f} instructions/article" if measured.instructions else "")
        )
    mine = [m for m in results if m.code == "this"][: len(args.workers)]
    base = mine[0].steady if mine and mine[0].workers == 1 else None
    if base and mine[-1].workers == 4:
        ok = mine[-1].steady >= 3.5 * base and all(m.worker_cpu_ms <= 4.0 for m in mine)
        print(
            "target (4 workers >= 3.5x one on the steady rate, worker CPU <= 4 ms per article, whole "
            f"process; this tree's first round): {'met' if ok else 'NOT met'}"
        )
    print(
        "CPU busy: cores in use on the whole machine (workers, PostgreSQL, the server) while archiving; "
        "at the machine's cores the run is bound by CPU, not by the workers' 4 requests in flight. "
        "Worker CPU: user + system of the worker processes, whole (start-up included), and (archiving) "
        "from publishing to the last archived."
    )
    print(
        "Worker CPU per article by thread (ms, whole processes): the event loop's thread, user + system; "
        "the worker threads (database, feed parsing, post files), user + system"
    )
    for measured in results:
        split = measured.split
        print(
            f"{measured.code:>4} {measured.workers:>7}   loop {split.loop_user:5.2f} + "
            f"{split.loop_system:4.2f}   worker threads {split.threads_user:5.2f} + "
            f"{split.threads_system:4.2f}"
        )
    if args.profile:
        print_profiles(Path(args.profile), args.workers)
    if args.callgrind:
        print_callgrind(Path(args.callgrind), args.articles, args.top)


def print_callgrind(folder: Path, articles: int, top: int) -> None:
    """Each dump's instructions per article, split by the library that ran them (own instructions of each
    shared object: the interpreter, lxml, libpq, libc, zlib...), then its top C functions by inclusive
    instructions (callgrind_annotate; Python functions show as the interpreter's frames)."""
    for dump in sorted(folder.glob("*-*.*"), key=lambda path: path.stat().st_mtime):
        print(f"\n{dump.name}: instructions per article, own, by library")
        for name, number in sorted(own_by_object(dump).items(), key=lambda item: -item[1])[:12]:
            print(f"  {number / articles:>12,.0f}  {name}")
        annotated = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        rows = [line for line in annotated.splitlines() if re.match(r"^\s*[\d,]+ \(", line)]
        print(f"{dump.name}: instructions per article, inclusive, top {top}")
        for line in rows[:top]:
            number, _, rest = line.strip().partition(" ")
            print(f"  {int(number.replace(',', '')) / articles:>12,.0f} {rest}")


def own_by_object(dump: Path) -> Counter[str]:
    """A callgrind dump's own (exclusive) instructions per shared object: its cost lines, less those
    following a `calls=` line (a call's inclusive cost, counted in the callee)."""
    names: dict[str, str] = {}
    own: Counter[str] = Counter()
    current, after_call = "?", False
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("ob=", "cob=")):  # an object's name is given once, where first seen
            match = re.match(r"c?ob=(\(\d+\))?\s*(.*)", line)
            assert match is not None
            key, name = match.group(1), match.group(2)
            if key and name:
                names[key] = name
            if line.startswith("ob="):
                current = Path(name or names.get(key or "", "?")).name
        elif line.startswith("calls="):
            after_call = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if not after_call:
                fields = line.split()
                own[current] += int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
            after_call = False
    return own


def sample(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling this process (every thread, idle left out) until it ends: collapsed stacks."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250"]
    return subprocess.Popen(
        [*command, "--nonblocking", "--gil", "--threads", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def print_profiles(folder: Path, counts: list[int], top: int = 20) -> None:
    """Per worker count, the top items of its workers' samples added up: own (on top of the stack) and
    inclusive (anywhere on it, scraper's own functions only), as shares of all samples."""
    for workers in counts:
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        total = 0
        for path in sorted(folder.glob(f"workers{workers}-*.txt")):
            for line in path.read_text().splitlines():
                stack, _, number = line.rpartition(" ")
                if not stack or not number.isdigit():
                    continue
                frames = [frame for frame in stack.split(";") if not frame.startswith("thread")]
                if not frames:
                    continue
                total += int(number)
                own[frames[-1]] += int(number)
                for frame in {re.sub(r":\d+\)$", ")", f) for f in frames if "(scraper/" in f}:
                    inclusive[frame] += int(number)
        if not total:
            continue
        print(f"\nprofile, {workers} workers: {total} samples (every thread, holding the GIL)")
        print("  own:")
        for frame, n in own.most_common(top):
            print(f"    {n / total:6.1%}  {frame}")
        print("  inclusive (scraper's functions):")
        for frame, n in inclusive.most_common(top):
            print(f"    {n / total:6.1%}  {frame}")


if __name__ == "__main__":
    main()
