"""The WARC file writer: one open file per process, rotated by size, named as Heritrix names them.

Names hold what Heritrix's `${prefix}-${timestamp17}-${serialno}-${pid}~${hostname}` holds, in the order
prefix-timestamp17-serial-host-pid and in lower case, dashes only: a WACZ's datapackage.json names each
file, and its schema allows `[-a-z0-9._/]` only (no `~`). Files of several processes and nodes never
collide in one shared folder, and sort by time. A file is written as `<name>.warc.gz.open` and renamed
when closed (rotation or a clean stop); `recovery` closes those of dead processes when a writer starts.

Each exchange is serialised first, then appended with a single write() (O_APPEND), and the offset handed
back is that of a record already in the file; a kill -9 during the write can still tear the last record
(see `recovery`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from scraper.capture.exchange import PAGE, CaptureRef, Exchange
from scraper.capture.records import exchange_bytes, warcinfo_bytes
from scraper.capture.recovery import OPEN_SUFFIX, recover_leftovers

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 1_000_000_000
FailureHook = Callable[[str, str, datetime], None]  # (url, reason, when): a capture that was not written
_UNSAFE = re.compile(r"[^a-z0-9.-]+")


def host_label() -> str:
    """This machine's name as it goes into a file name (lower-case letters, digits, dot and dash)."""
    return _UNSAFE.sub("-", socket.gethostname().lower()).strip("-.") or "localhost"


def warc_name(prefix: str, when: datetime, serial: int, pid: int, host: str) -> str:
    stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
    return f"{prefix}-{stamp}-{serial:05d}-{host}-{pid}.warc.gz"


class WarcWriter:
    """A capture (see scraper.capture.exchange): article pages always, other fetches if `feeds`.

    `info` goes into the warcinfo record at the head of each file (the tool and its settings). Writing
    is serialised by a lock: the Fetcher calls from the event loop, but nothing forbids threads.
    """

    def __init__(
        self,
        directory: Path,
        info: Mapping[str, str],
        *,
        prefix: str = "scraper",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        feeds: bool = False,
        clock: Callable[[], datetime] | None = None,
        on_failure: FailureHook | None = None,
    ) -> None:
        self.directory = directory
        self.info = dict(info)
        self.prefix = prefix
        self.max_file_bytes = max_file_bytes
        self.feeds = feeds
        self.clock = clock or (lambda: datetime.now(UTC))
        self.on_failure = on_failure
        self.failed = 0  # captures that could not be written (each also given to `on_failure`)
        self.host = host_label()
        self.pid = os.getpid()
        self._serial = 0
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._name = ""
        self._size = 0
        directory.mkdir(parents=True, exist_ok=True)
        recover_leftovers(directory, self.host)

    def __call__(self, exchange: Exchange) -> CaptureRef | None:
        """The observer the Fetcher calls. A failed write costs the capture, never the fetch."""
        if exchange.kind != PAGE and not self.feeds:
            return None
        try:
            return self.write(exchange)
        except Exception as exc:  # a full disk, a folder gone read-only, a record warcio refuses
            self._failed(exchange.url, exc)
            return None

    def _failed(self, url: str, exc: Exception) -> None:
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        reason = f"{type(exc).__name__}: {reason or 'no detail'}"
        log.error("WARC capture of %s failed: %s", url, reason)
        self.failed += 1
        if self.on_failure is not None:
            try:
                self.on_failure(url, reason, self.clock())
            except Exception:
                log.exception("capture failure of %s not recorded", url)

    def write(self, exchange: Exchange) -> CaptureRef:
        return self.append(exchange_bytes(exchange))

    def append(self, data: bytes) -> CaptureRef:
        """Whole records (gzip members), appended in one write; the offset is where `data` starts."""
        with self._lock:
            if self._fd is not None and self._size + len(data) > self.max_file_bytes:
                self._close_file()
            if self._fd is None:
                self._open_file()
            assert self._fd is not None
            offset = self._size
            try:
                _write_all(self._fd, data)
            except OSError:
                self._drop_torn_tail()
                raise
            self._size += len(data)
            return CaptureRef(self._name, offset)

    def _drop_torn_tail(self) -> None:
        """A write that failed half way (a full disk) is cut off, so the file stays readable to its end;
        failing that, the file is given up (left `.open`: the next start on this host cuts and closes it)."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            fd, self._fd = self._fd, None
            os.close(fd)

    @property
    def current_file(self) -> str | None:
        return self._name if self._fd is not None else None

    def close(self) -> None:
        try:
            with self._lock:
                self._close_file()
        finally:
            close = getattr(self.on_failure, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open_file(self) -> None:
        while True:
            name = warc_name(self.prefix, self.clock(), self._serial, self.pid, self.host)
            self._serial += 1
            path = self.directory / (name + OPEN_SUFFIX)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            except FileExistsError:
                continue
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while we live: recovery leaves it alone
            header = warcinfo_bytes(name, self.info)
            _write_all(fd, header)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self._fd, self._name, self._size = fd, name, len(header)

    def _close_file(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        path = self.directory / (self._name + OPEN_SUFFIX)
        try:
            os.fsync(fd)
            os.rename(path, self.directory / self._name)  # still locked: no recovery races the rename
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
