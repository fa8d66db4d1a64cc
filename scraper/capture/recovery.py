"""Leftover `.open` WARC files of dead processes: cut to their last whole record, then closed.

A writer holds an exclusive flock on its open file for as long as it lives, and the kernel drops the lock
when the process dies (kill -9 included), so a lock we can take is a file nobody writes. Only this host's
files are touched (the host is in the name): flock over a network file system is not to be trusted, and
each node recovers its own leftovers when it starts.

A record pair is written with one write() call, and yet a kill -9 can cut it: Linux stops a write to a file
between two pages when a fatal signal is pending (the kill -9 test sees it). A crash of the machine can
leave a torn tail too. Readers (warcio, pywb's indexer) read every whole record before such a tail and
then a short last one, without error; the tail is cut here, so that the closed file is whole.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
_CHUNK = 1 << 16
_OPEN_NAME = re.compile(r"-\d{17}-\d{5}-(?P<host>.+)-\d+\.warc\.gz\.open$")  # see writer.warc_name


def recover_leftovers(directory: Path, host: str) -> list[Path]:
    """Close every dead `.open` file of this host in `directory`; returns the files closed."""
    closed = []
    for path in sorted(directory.glob(f"*.warc.gz{OPEN_SUFFIX}")):
        match = _OPEN_NAME.search(path.name)
        if match is None or match["host"] != host:
            continue
        try:
            done = _recover(path)
        except OSError as exc:
            log.error("WARC %s: could not recover: %s", path, exc)
            continue
        if done is not None:
            closed.append(done)
    return closed


def _recover(path: Path) -> Path | None:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:  # another process closed it meanwhile
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its writer is alive
            return None
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return None
        except FileNotFoundError:
            return None
        size = os.fstat(fd).st_size
        with os.fdopen(os.dup(fd), "rb") as stream:
            end = whole_records_end(stream)
        if end < size:
            log.warning("WARC %s: a torn record at its end (%d bytes) cut off", path, size - end)
            os.ftruncate(fd, end)
        os.fsync(fd)
        final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
        if end == 0:
            path.unlink()
            return None
        os.rename(path, final)
        log.info("WARC %s: left open by a dead process, closed", final.name)
        return final
    finally:
        os.close(fd)


def whole_records_end(stream: object) -> int:
    """The offset just past the last whole record of a `.warc.gz` (one gzip member per record)."""
    read = stream.read  # type: ignore[attr-defined]
    end = pos = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    record = bytearray()
    while chunk := read(_CHUNK):
        data = chunk
        while data:
            try:
                record += inflater.decompress(data)
            except zlib.error:
                return end
            if not inflater.eof:
                pos += len(data)
                break
            pos += len(data) - len(inflater.unused_data)
            if not _is_whole_record(bytes(record)):
                return end
            end = pos
            data = inflater.unused_data
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            record = bytearray()
    return end


def _is_whole_record(record: bytes) -> bool:
    """WARC headers, a blank line, Content-Length bytes of block, then CRLF CRLF: nothing more or less."""
    if not record.startswith(b"WARC/"):
        return False
    head_end = record.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    length = None
    for line in record[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    return length is not None and len(record) == head_end + 4 + length + 4 and record.endswith(b"\r\n\r\n")
