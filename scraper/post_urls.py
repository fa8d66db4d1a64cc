"""The three things an import needs of each URL (a post's source, a line of a seen list): the URL as the
archive keeps it (scraper.sanitize's `checked_url`), its canonical form (scraper.urls) and its host key
(scraper.hosts), in one pass for the common URL.

An import reads four URLs per post (the post's own and three of the old script's seen list), and each of
those functions splits the URL again: together they were a third of an import's CPU. Nearly every URL an
archive holds is plain: `http(s)://` in lower case, a lower-case ASCII host without port or user, a path of
characters that need no quoting, no query and no fragment. For such a URL all three answers are the URL
itself, `scheme://host/path` and the host, which a single regular expression confirms; every other URL
goes through the three functions as before. tests/test_post_urls.py checks the two ways agree.
"""

from __future__ import annotations

import re

from scraper.errors import RefusedValueError
from scraper.hosts import host_key
from scraper.sanitize import MAX_URL_CHARS, checked_url
from scraper.urls import canonical_url

# Labels of at most 63 characters (RFC 1035, as scraper.sanitize checks); the whole host is checked
# against 253 beside it. The path holds only characters canonical_url keeps as written.
_PLAIN_URL = re.compile(
    r"(https?)://((?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63})(/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?"
)
MAX_HOST_CHARS = 253


def url_keys(url: str) -> tuple[str, str, str]:
    """(URL as kept, canonical URL, host key). Raises ValueError (RefusedValueError) for a URL the archive
    cannot keep, with checked_url's reason."""
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None and len(url) <= MAX_URL_CHARS:
        scheme, host, path = plain.groups()
        if len(host) <= MAX_HOST_CHARS:
            return url, f"{scheme}://{host}{path or '/'}", host
    kept = checked_url(url)
    key = canonical_url(kept)
    if len(key) > MAX_URL_CHARS:  # percent-encoding or punycode grew it past the column, which PostgreSQL
        # enforces (refusing the row's whole batch) and SQLite does not
        raise RefusedValueError(f"URL longer than {MAX_URL_CHARS} characters once canonical: {kept[:200]}")
    return kept, key, host_key(kept)
