"""The error tree: one base, one module, the facts a caller needs carried by the error itself."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from hypothesis import given
from hypothesis import strategies as st

import scraper
from scraper import errors
from scraper.errors import (
    FeedError,
    FetchError,
    HostBlockedError,
    ScraperError,
    feed_status_is_transient,
    page_status_fate,
)


def _scraper_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(scraper.__path__, "scraper."):
        if module_info.name.startswith("scraper.migrations") or module_info.name == "scraper.__main__":
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("scraper")
            ):
                found[f"{value.__module__}.{name}"] = value
    return found


def test_every_error_of_the_package_is_in_the_tree_and_named_so() -> None:
    exceptions = _scraper_exceptions()
    assert exceptions, "the walk found no exception at all"
    for where, cls in exceptions.items():
        assert cls.__module__ == "scraper.errors", f"{where} is defined outside scraper.errors"
        assert issubclass(cls, ScraperError), where
        assert cls.__name__.endswith("Error"), where


def test_the_docstring_draws_every_class() -> None:
    doc = errors.__doc__ or ""
    for name, value in vars(errors).items():
        if inspect.isclass(value) and issubclass(value, ScraperError):
            assert name in doc, name


def test_facts_are_read_from_the_error_not_sniffed() -> None:
    assert FetchError("http://a.test/", "reset").transient
    assert not errors.RedirectError("http://a.test/", "loop").transient
    blocked = HostBlockedError("http://a.test/", "wait", 30.0)
    assert blocked.transient and blocked.retry_after == 30.0 and blocked.status is None
    gone = FeedError("HTTP 410", status=410, transient=feed_status_is_transient(410))
    assert not gone.transient and gone.status == 410
    assert errors.ConfigError("x").retry_after is None and not errors.ExtractError("x").transient


@given(st.integers(min_value=100, max_value=999))
def test_a_page_status_has_exactly_one_fate(status: int) -> None:
    fate = page_status_fate(status)
    assert fate == "ok" if 200 <= status < 300 and status != 206 else fate != "ok"  # 206: a part of it
    if status >= 500:
        assert fate == "transient"
    if fate == "gone":
        assert status in (404, 410) and not feed_status_is_transient(status)
    if fate == "transient":  # what is worth a later try for a page is for a feed too
        assert feed_status_is_transient(status)
    assert (status in errors.RETRY_NOW_STATUSES) <= (fate == "transient")
