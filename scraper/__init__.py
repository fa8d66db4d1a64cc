"""scraper: an RSS-to-archive scraper daemon."""

__version__ = "0.1.0"
