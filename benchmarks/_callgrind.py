"""Count the instructions of one section of a benchmark under callgrind, every thread included.

`valgrind --tool=callgrind --instr-atstart=no python benchmarks/x.py` runs the start-up and warm-up
uninstrumented (a few times slower than native, not fifty); `with counted("label"):` switches the
instrumentation on, zeroes the counters, and at the end of the block dumps them (callgrind.out.PID.N,
named in the output) and switches it off again. Unlike `--toggle-collect=<function>`, which counts only the
thread that entered the function, this counts a section's worker threads too (database writes handed to
`asyncio.to_thread`).

Callgrind's controls are client requests (valgrind/callgrind.h), C macros that Python cannot issue; a few
lines of C are compiled for them on first use (a C compiler and valgrind's headers are needed only under
valgrind). Outside valgrind the block just runs. Instructions are user-space only: what the kernel does
for a system call (a socket's connect, send, close) is not in them, so say so beside them.
"""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SOURCE = r"""
#include <valgrind/callgrind.h>
int on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void stop(const char *label) { CALLGRIND_DUMP_STATS_AT(label); CALLGRIND_STOP_INSTRUMENTATION; }
"""


@dataclass
class Count:
    """What a counted block left: its instructions (None outside valgrind) and the dump holding them."""

    instructions: int | None = None
    dump: Path | None = None


def _library() -> ctypes.CDLL:
    folder = Path(tempfile.mkdtemp(prefix="callgrind-requests-"))
    (folder / "requests.c").write_text(_SOURCE)
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", "-o", str(folder / "requests.so"), str(folder / "requests.c")],
        check=True,
    )
    return ctypes.CDLL(str(folder / "requests.so"))


def on_valgrind() -> bool:
    """Whether this process runs under valgrind (its tool's name in the loader's environment)."""
    return "vgpreload" in os.environ.get("LD_PRELOAD", "")


@contextmanager
def counted(label: str) -> Iterator[Count]:
    """Instrument, zero, run the block, dump: the Count's instructions are the block's, all threads."""
    count = Count()
    if not on_valgrind():
        yield count
        return
    library = _library()
    if not library.on_valgrind():
        yield count
        return
    before = set(Path.cwd().glob(f"callgrind.out.{os.getpid()}*"))
    library.start()
    try:
        yield count
    finally:
        library.stop(label.encode())
    dumps = sorted(set(Path.cwd().glob(f"callgrind.out.{os.getpid()}*")) - before)
    if dumps:
        count.dump = dumps[-1]
        count.instructions = _total(dumps[-1])


def _total(dump: Path) -> int | None:
    """The dump's totals (or summary) line: its first event, instructions (Ir). Totals first: with
    several threads, callgrind 3.19's summary line can wrap below zero (2**64 less a few), its totals not."""
    match = re.search(r"^totals:\s*(\d+)", dump.read_text(errors="replace"), re.M)
    match = match or re.search(r"^summary:\s*(\d+)", dump.read_text(errors="replace"), re.M)
    return int(match.group(1)) if match else None
