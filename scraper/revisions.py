"""What a revisit found: a real edit, nothing, a removal (suspected, then confirmed), or a restore.

Pure functions over plain data, so that what counts as an edit or a removal is tested without a server.
A page is compared with its last version by its clean text, normalised so that what changes on every
visit (whitespace, the page's clock, view and comment counters, ad slots) is not an edit; a title change
is. A removal is a 404/410, a redirect to a page that is not the article (the home page, a section, a
login wall), or a page that no longer holds the article; it is only confirmed on a second visit, so one
bad minute of a site is not a takedown. 5xx answers and timeouts never count as removals.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from posixpath import normpath
from urllib.parse import urlsplit

from scraper.revisit_counters import MAYBE, line_spans, without

# A share of the old text's distinct words below this in the new page: it no longer holds the article.
MIN_KEPT_WORDS = 0.2

_AD_SLOT = re.compile(
    r"^\s*(?:advertisement|advertising|sponsored(?: content)?|ad|ads"
    r"|广告|廣告|推广|広告|スポンサーリンク)\s*$",
    re.I | re.M,
)
# A CJK character alone (Chinese and Japanese are not written with spaces), or a run of other word characters.
_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+"
)
_LOGIN = re.compile(
    r"(?:^|[/._-])(?:login|log-in|signin|sign-in|sign_in|auth|sso|account|subscribe|paywall|register)"
    r"(?:$|[/._?-])",
    re.I,
)


def normalise_text(text: str) -> str:
    """The text as compared: Unicode-normalised, ad slots out, the counters and clocks of its counter
    elements out (scraper.revisit_counters: never a figure inside a sentence), whitespace single."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = _AD_SLOT.sub(" ", text)
    if MAYBE.search(text) is not None:
        text = "\n".join(_normalised_line(line) for line in text.splitlines())
    return " ".join(text.split())


def _normalised_line(line: str) -> str:
    """A line as the extracted text lays it out (white space single), without its counters."""
    line = " ".join(line.split())
    return without(line, line_spans(line))


def normalise_title(title: str | None) -> str:
    """A title as compared: as a text is (a clock or counter in a headline moves like one in the text, and
    scraper.revisit_digest relies on both being left out alike)."""
    return normalise_text(title or "")


@dataclass(frozen=True)
class Snapshot:
    """A version as compared: its title and clean text."""

    title: str | None
    text: str


def is_real_edit(before: Snapshot, after: Snapshot) -> bool:
    """Did the article change, as a reader would say: its normalised text or its title."""
    if normalise_title(before.title) != normalise_title(after.title) and (after.title or "").strip():
        return True
    return before.text != after.text and normalise_text(before.text) != normalise_text(after.text)


def _words(text: str) -> set[str]:
    """Words, and single CJK characters."""
    return set(_TOKEN.findall(normalise_text(text)))


def still_holds_article(before: Snapshot, after: Snapshot) -> bool:
    """Is the new page still this article? Not if it kept almost none of the old text's words: an error
    page served with 200, a "this story has been removed" notice, a section front."""
    old = _words(before.text)
    if not old:
        return bool(after.text.strip())
    return len(old & _words(after.text)) / len(old) >= MIN_KEPT_WORDS


def redirect_away(url: str, final_url: str | None) -> str | None:
    """Why a redirect from the article's URL leads to a page that is not the article (None: it does not):
    the home page, a section above the article, a login or subscription wall."""
    if not final_url or final_url == url:
        return None
    source, target = urlsplit(url), urlsplit(final_url)
    path = normpath(target.path or "/").rstrip("/")
    if _LOGIN.search(target.path) or _LOGIN.search(target.query) or _LOGIN.search(target.hostname or ""):
        return f"redirected to a login or subscription page ({final_url})"
    if not path:
        return f"redirected to the home page ({final_url})"
    original = normpath(source.path or "/").rstrip("/")
    same_site = (target.hostname or "").removeprefix("www.") == (source.hostname or "").removeprefix("www.")
    if same_site and original.startswith(path + "/"):
        return f"redirected to a section page ({final_url})"
    return None


# What one visit saw.
UNCHANGED = "unchanged"  # 304, or the same text
EDITED = "edited"
ABSENT = "absent"  # a removal signal: gone, redirected away, no longer the article
OUTAGE = "outage"  # 5xx, a timeout, a refused connection: says nothing about the article


@dataclass(frozen=True)
class RemovalState:
    suspected_at: datetime | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class Judgement:
    """A visit's meaning: the removal state after it, and the change to record (if any)."""

    state: RemovalState
    change: str | None = None  # "edited", "removed", "restored"; None: nothing a reader would note


def judge_visit(seen: str, state: RemovalState, now: datetime) -> Judgement:
    """The removal state machine. Absent once: suspected. Absent again: confirmed (a removal). Present
    after a confirmed removal: restored. Present after a mere suspicion: cleared, nothing recorded (it was
    a bad moment of the site). An outage changes nothing."""
    if seen == OUTAGE:
        return Judgement(state)
    if seen == ABSENT:
        if state.confirmed_at is not None:
            return Judgement(state)
        if state.suspected_at is not None:
            return Judgement(RemovalState(state.suspected_at, now), "removed")
        return Judgement(RemovalState(now, None))
    restored = state.confirmed_at is not None
    change = "edited" if seen == EDITED else None
    if restored:
        change = "restored" if change is None else "restored+edited"
    return Judgement(RemovalState(), change)
