"""Pieces of article pages for the extractor's layout tests: prose long enough to score as an article."""

from scraper.extract import extract

URL = "https://news.example/2026/story"


def paragraphs(topic: str, count: int) -> str:
    """`count` paragraphs of plain prose (clauses, no links), each naming `topic` and its number."""
    return "".join(
        f"<p>{topic} paragraph {n}, which goes on for a while, and then, after a pause, it ends with more"
        " words.</p>"
        for n in range(count)
    )


def body_text(body: str, head: str = "") -> str:
    """The plain text the extractor makes of a page of this `body` (and `head`), served from URL."""
    return extract(f"<html><head>{head}</head><body>{body}</body></html>", URL).text
