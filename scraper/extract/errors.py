"""Why extraction gave up on a page: the archive records the article as failed with this reason."""

from __future__ import annotations


class ExtractionError(Exception):
    """A page extraction cannot read; costs that one article, never the run."""


class ExtractionBudgetError(ExtractionError):
    """A page that would cost more CPU than a page may: nested past what a browser builds, or too slow."""
