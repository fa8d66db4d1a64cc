"""Log lines for people (the default) or for log collectors (`--log-format json`, one object a line).

Every line about a feed or an article names it. The daemon runs each poll and each article in its own
asyncio task and sets `log_context` (a ContextVar, so it is private to that task) to the feed or article at
hand; a filter copies it onto every record logged inside that task, whichever module logs it (the pipeline,
the fetcher, httpx). JSON lines carry it as fields (`feed`, `feed_url`, `article`, `article_id`); text lines
get it appended in brackets unless the message already names it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS: tuple[str, ...] = ("text", "json")

# The feed or article the current task works on; empty outside such work.
log_context: ContextVar[Mapping[str, Any]] = ContextVar("scraper_log_context", default={})  # noqa: B039

# Fields a record may carry (from the context, or from `extra=`) that name what it is about.
CONTEXT_FIELDS = ("feed", "feed_url", "article", "article_id")
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


@contextmanager
def logging_about(**fields: Any) -> Iterator[None]:
    """Name a feed or article on every line logged inside the block (in this task only)."""
    token = log_context.set({**log_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        log_context.reset(token)


class ContextFilter(logging.Filter):
    """Copies `log_context` onto the record; fields given with `extra=` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        message = record.getMessage()
        about = [
            f"{key}={value}"
            for key, value in _fields(record).items()
            if key in CONTEXT_FIELDS and key not in ("feed_url", "article_id") and str(value) not in message
        ]
        return f"{line} [{' '.join(about)}]" if about else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            entry[key] = value if isinstance(value, str | int | float | bool) or value is None else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: int, log_format: str = "text") -> None:
    """Replace the root logger's handlers with one on standard error, in the given format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.setLevel(level)  # also for libraries that set their own logger's level lower
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet_below = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, quiet_below))
