"""`--profile` for the benchmarks: where the CPU of a measured section goes, as a short list of top items.

pyinstrument (a sampling profiler: little overhead, and it sees through asyncio) when it is installed,
else the standard library's cProfile (deterministic, so it inflates small, often-called functions). Neither
is a package dependency: `pip install pyinstrument` to get the better one.

Two ways in:

- in a benchmark's own process: `add_profile_option(parser)`, then `with profiled(args, "label"):` around
  the measured part; it prints the top items when the block ends (and does nothing without `--profile`).
- around a whole command in a child process (start-up included, which an in-process profile cannot see):
  `profile_command(["-m", "scraper", "once"])` gives the argv that runs `python benchmarks/_profiling.py
  --top N -- -m scraper once`, i.e. this module's `main`, which runs the module as `python -m` would.

The figures of a profiled run are not the benchmark's figures: the benchmarks measure unprofiled runs.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the measured part (pyinstrument if installed, else cProfile) and print the top items",
    )
    parser.add_argument("--profile-top", type=int, default=15, help="items printed by --profile")


def profiler_name() -> str:
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        return "cProfile"
    return "pyinstrument"


@contextmanager
def profiled(args: argparse.Namespace | None, label: str, *, top: int | None = None) -> Iterator[None]:
    """Profile the block when `args.profile` is set (always when `args` is None) and print its top items."""
    if args is not None and not getattr(args, "profile", False):
        yield
        return
    count = top or (getattr(args, "profile_top", 15) if args is not None else 15)
    if profiler_name() == "pyinstrument":
        with _pyinstrument(label, count):
            yield
    else:
        with _cprofile(label, count):
            yield


@contextmanager
def _pyinstrument(label: str, top: int) -> Iterator[None]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        session = profiler.last_session
        if session is not None:
            print(_pyinstrument_report(label, session, top), file=sys.stderr)


def _pyinstrument_report(label: str, session: Any, top: int) -> str:
    """Top functions by self time (where the CPU is spent) and by inclusive time (what it is spent for),
    each function counted once per stack so recursion does not count twice."""
    root = session.root_frame()
    own: dict[str, float] = {}
    inclusive: dict[str, float] = {}
    if root is not None:
        _walk(root, own, inclusive, frozenset())
    total = session.duration or 1e-9
    lines = [f"--- profile (pyinstrument, {session.sample_count} samples, {total:.3f} s wall): {label}"]
    lines.append("  self time:")
    lines += _top_lines(own, total, top)
    lines.append("  inclusive time (leaving out the frames nearly every sample passes through):")
    lines += _top_lines({name: t for name, t in inclusive.items() if t < 0.9 * total}, total, top)
    return "\n".join(lines)


def _walk(frame: Any, own: dict[str, float], inclusive: dict[str, float], above: frozenset[str]) -> None:
    stack: list[tuple[Any, frozenset[str]]] = [(frame, above)]
    while stack:
        current, seen = stack.pop()
        if current.is_synthetic:  # pyinstrument's [self] and [await] leaves: counted in their parent
            continue
        key = f"{current.function} ({current.file_path_short}:{current.line_no})"
        own[key] = own.get(key, 0.0) + current.total_self_time
        plumbing = "<frozen " in key or "_profiling.py" in key  # the import system's and runpy's frames
        if key not in seen and not plumbing:
            inclusive[key] = inclusive.get(key, 0.0) + current.time
        stack.extend((child, seen | {key}) for child in current.children)


def _top_lines(times: dict[str, float], total: float, top: int) -> list[str]:
    ranked = sorted(times.items(), key=lambda item: item[1], reverse=True)[:top]
    return [f"  {seconds:8.3f} s {seconds / total:6.1%}  {name}" for name, seconds in ranked]


@contextmanager
def _cprofile(label: str, top: int) -> Iterator[None]:
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    started = time.process_time()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        cpu = time.process_time() - started
        out.write(f"--- profile (cProfile, {cpu:.3f} CPU s): {label}\n")
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        print(_trim_pstats(out.getvalue()), file=sys.stderr)


def _trim_pstats(text: str) -> str:
    """pstats' output without its blank lines and file headers."""
    keep = [line for line in text.splitlines() if line.strip() and "Ordered by" not in line]
    return "\n".join(line for line in keep if not line.lstrip().startswith(("List reduced", "<pstats")))


def profile_command(argv: list[str], top: int = 15) -> list[str]:
    """The argv that runs `python <argv>` (e.g. `-m scraper once`) under the profiler, start-up included."""
    return [sys.executable, str(HERE / "_profiling.py"), "--top", str(top), "--", *argv]


def main() -> None:
    """`python benchmarks/_profiling.py [--top N] -- -m module args...` (or a script path and its args)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("target", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    target = args.target[1:] if args.target[:1] == ["--"] else args.target
    sys.path[0] = str(Path.cwd())  # as `python -m` would have it, not this folder
    code = 0
    with profiled(None, " ".join(target), top=args.top):
        try:
            if target[0] == "-m":
                sys.argv = [target[1], *target[2:]]
                runpy.run_module(target[1], run_name="__main__", alter_sys=True)
            else:
                sys.argv = target
                runpy.run_path(target[0], run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.exit(code)


if __name__ == "__main__":
    main()
