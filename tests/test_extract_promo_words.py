"""The promotion words of an image link: the shortcut for ASCII texts answers as the pattern does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract.promo import _PROMO_STEMS, _PROMO_WORDS, reads_as_promo

# Pieces of the pattern's words, in both cases, and characters around and inside them.
_PIECES = [
    *_PROMO_STEMS,
    *(stem.upper() for stem in _PROMO_STEMS),
    "s",
    "x",
    "-",
    "/",
    "_",
    "1",
    "?",
    "\u017f",
]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_PIECES), max_size=6).map("".join))
def test_reads_as_promo_is_the_pattern(text: str) -> None:
    assert reads_as_promo(text) == bool(_PROMO_WORDS.search(text))


def test_a_promotion_word_in_an_address_or_a_picture_name() -> None:
    assert reads_as_promo("https://shop.example.com/Subscribe?x=1")
    assert reads_as_promo("/img/banner-promo.png")
    assert not reads_as_promo("/img/photo-of-the-harbour.jpg 800w, /img/about-us.jpg 1200w")
    assert reads_as_promo("/\u017fubscribe")  # a long s folds to "s"
