"""`scraper backfill`: the history a feed no longer shows, from sitemaps, feed archives and pages, URL lists;
and re-extraction of stored pages. One module per source; `runner` joins them to the archive path."""
