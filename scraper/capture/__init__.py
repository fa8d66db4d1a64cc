"""Captures: every fetched page written as WARC records (warcio), and packaged as WACZ.

The Fetcher reports each HTTP exchange to an optional observer (`Capture`); `capture_for` builds the WARC
writer the config asks for, or None when `[warc] dir` is not set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scraper import __version__

if TYPE_CHECKING:
    from scraper.capture.exchange import OTHER, PAGE, Capture, CaptureRef, Exchange
    from scraper.capture.writer import WarcWriter
    from scraper.config import Config

__all__ = ["OTHER", "PAGE", "Capture", "CaptureRef", "Exchange", "WarcWriter", "capture_for"]


def capture_for(config: Config) -> WarcWriter | None:
    """The writer of `[warc]`, its warcinfo naming the tool and the settings that shaped the captures."""
    warc = config.warc
    if warc.dir is None:
        return None
    from scraper.capture.failures import FailureLog
    from scraper.capture.writer import WarcWriter

    http = config.http
    info = {
        "software": f"scraper/{__version__}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "http-header-user-agent": http.user_agent.replace("{version}", __version__),
        "robots": "obey" if http.respect_robots else "ignore",
        "scraper-max-body-bytes": str(http.max_body_bytes),
        "scraper-warc-feeds": str(warc.feeds).lower(),
        "scraper-warc-max-file-bytes": str(warc.max_file_bytes),
    }
    return WarcWriter(
        warc.dir,
        info,
        prefix=warc.prefix,
        max_file_bytes=warc.max_file_bytes,
        feeds=warc.feeds,
        on_failure=FailureLog(config.database.url),  # counted in `scraper status`
    )


_EXCHANGE_NAMES = frozenset({"OTHER", "PAGE", "Capture", "CaptureRef", "Exchange"})


def __getattr__(name: str) -> Any:
    """`WarcWriter` (and warcio under it) is imported when first asked for, and so are the names of
    scraper.capture.exchange: a run without `[warc]` loads neither (it imports this package for
    `capture_for`, PEP 562)."""
    if name == "WarcWriter":
        from scraper.capture.writer import WarcWriter

        return WarcWriter
    if name in _EXCHANGE_NAMES:
        from scraper.capture import exchange

        return getattr(exchange, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
