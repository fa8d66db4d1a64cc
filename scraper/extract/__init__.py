"""Extraction: an article page to a clean `Record` (selectolax).

`extract()` is the whole stage; `RuleBook` finds a site's rule; `clean_fragment()` cleans a feed's own
HTML the same way; `html_to_text()` turns clean HTML into the plain text the archive indexes.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scraper.errors import ExtractError, ExtractionBudgetError
    from scraper.extract.extractor import clean_fragment, extract, select_body
    from scraper.extract.record import Record
    from scraper.extract.rules import RuleBook, RuleError, SiteRule
    from scraper.extract.text import html_to_text

# Where each name lives: imported on first use (PEP 562), so that importing a light part of this package
# (scraper.extract.rules to check a config, .dates or .record for their values) does not load selectolax
# and the whole extractor; a command with no page to extract never does.
_HOME = {
    "ExtractError": "scraper.errors",
    "ExtractionBudgetError": "scraper.errors",
    "Record": "scraper.extract.record",
    "RuleBook": "scraper.extract.rules",
    "RuleError": "scraper.extract.rules",
    "SiteRule": "scraper.extract.rules",
    "clean_fragment": "scraper.extract.extractor",
    "extract": "scraper.extract.extractor",
    "select_body": "scraper.extract.extractor",
    "html_to_text": "scraper.extract.text",
}

__all__ = [
    "ExtractError",
    "ExtractionBudgetError",
    "Record",
    "RuleBook",
    "RuleError",
    "SiteRule",
    "clean_fragment",
    "extract",
    "html_to_text",
    "select_body",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOME[name]), name)
    globals()[name] = value
    return value
