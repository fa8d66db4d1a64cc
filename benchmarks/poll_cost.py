"""The cost of polling unchanged feeds (all answer 304), measured so that the machine's load does not move it.

    python benchmarks/poll_cost.py [--feeds 1000] [--rounds 3] [--latency 0]
    valgrind --tool=callgrind --instr-atstart=no python benchmarks/poll_cost.py --rounds 1
    python benchmarks/poll_cost.py --baseline DIR [--pairs 3]

benchmarks/poll.py's server and poller: `--feeds` feeds, each on its own host, a first round that gets
every feed (200, ETags kept), a warm-up round of 304s, then `--rounds` measured rounds of 304s (each
`Pipeline.poll_feeds` as `scraper once` runs it, a fresh Fetcher each, 1.1 s apart for the per-host
delay). Printed per measured round: CPU seconds per 1,000 feeds (this process, user + system, every
thread; the server is another process).

Under callgrind (as above) each measured round is counted alone (benchmarks/_callgrind.py): the
instructions per feed, every thread of the poller, user space only (the kernel's share of a connect,
send, close is not in them); the dump files name the functions.

`--baseline DIR` compares two versions of the code in one run, on a shared machine whose load moves
from one minute to the next: DIR holds the other version's source tree (`git archive main | tar -x -C
DIR`); a child process of each, alternated `--pairs` times ("base", "this", "base", ...), each printing
its rounds; then the median CPU s per 1,000 of each.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _code_path(argv: list[str]) -> None:
    """The scraper tree to import: `--code DIR` (a baseline's child) first on the path, else this one."""
    code = argv[argv.index("--code") + 1] if "--code" in argv else str(HERE.parent)
    sys.path[:0] = [code, str(HERE)]
    importlib.import_module("scraper")  # now, before benchmarks/poll.py puts this tree first


def measure(args: argparse.Namespace) -> list[tuple[float, int | None]]:
    """Round 1, a warm-up round, then the measured rounds: (CPU s, instructions or None) per round."""
    from _callgrind import Count, counted
    from poll import control, make_config, ours

    from scraper.pipeline import Pipeline
    from scraper.store.db import make_engine, upgrade

    control(args.port, f"/latency?s={args.latency}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(args.port, args.feeds, Path(tmp))
        engine = make_engine(config.database.url)
        upgrade(engine)
        Pipeline(config, engine, None).sync_feeds()  # type: ignore[arg-type]
        ours(config, engine)  # every feed's body, and its ETag
        for n in range(-1, args.rounds):  # -1: the warm-up round, neither measured nor instrumented
            time.sleep(1.1)  # the per-host delay since the last round
            started = time.process_time()
            with counted(f"round {n + 1}") if n >= 0 else nullcontext(Count()) as count:
                summary = ours(config, engine)
            if n >= 0:
                results.append((time.process_time() - started, count.instructions))
            if summary.feeds_not_modified != args.feeds:
                raise SystemExit(f"only {summary.feeds_not_modified} of {args.feeds} feeds answered 304")
        engine.dispose()
    return results


def start_server(feeds: int) -> tuple[multiprocessing.process.BaseProcess, int]:
    """benchmarks/poll.py's server, spawned (not forked: under valgrind, a forked server would be traced)."""
    from poll import serve

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=serve, args=(send, feeds, 20), daemon=True)
    server.start()
    return server, receive.recv()


def compare(args: argparse.Namespace, port: int) -> None:
    """Alternate child processes of the baseline tree and of this one; the median CPU of each."""
    cpu: dict[str, list[float]] = {"base": [], "this": []}
    for _ in range(args.pairs):
        for code, tree in (("base", args.baseline), ("this", str(HERE.parent))):
            command = [sys.executable, __file__, "--port", str(port), "--code", tree, "--feeds"]
            command += [str(args.feeds), "--rounds", str(args.rounds), "--latency", str(args.latency)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rounds = [float(line.split()[0]) for line in out.splitlines() if "CPU s/1000" in line]
            cpu[code] += rounds
            print(f"{code}: " + ", ".join(f"{r:.3f}" for r in rounds) + " CPU s per 1,000", flush=True)
    for code, values in cpu.items():
        print(f"{code}: median {statistics.median(values):.3f} CPU s per 1,000 unchanged feeds")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds of 304s")
    parser.add_argument("--latency", type=float, default=0.0, help="server delay, seconds")
    parser.add_argument("--baseline", metavar="DIR", help="the source tree of the code to compare with")
    parser.add_argument("--pairs", type=int, default=3, help="with --baseline: children of each, alternated")
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)  # a child's: the parent's server
    parser.add_argument("--code", help=argparse.SUPPRESS)  # a child's: the tree it imports
    args = parser.parse_args()
    server = None
    if args.port is None:
        server, args.port = start_server(args.feeds)
    try:
        if args.baseline:
            compare(args, args.port)
            return
        for cpu, instructions in measure(args):
            counted_part = f"  {instructions / args.feeds:,.0f} instructions per feed" if instructions else ""
            print(f"{cpu / args.feeds * 1000:.3f} CPU s/1000{counted_part}", flush=True)
    finally:
        if server is not None:
            server.terminate()


if __name__ == "__main__":
    _code_path(sys.argv)
    main()
