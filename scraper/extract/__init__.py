"""Extraction: an article page to a clean `Record` (selectolax).

`extract()` is the whole stage; `RuleBook` finds a site's rule; `clean_fragment()` cleans a feed's own
HTML the same way; `html_to_text()` turns clean HTML into the plain text the archive indexes.
"""

from scraper.errors import ExtractError, ExtractionBudgetError
from scraper.extract.extractor import clean_fragment, extract, select_body
from scraper.extract.record import Record
from scraper.extract.rules import RuleBook, RuleError, SiteRule
from scraper.extract.text import html_to_text

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
