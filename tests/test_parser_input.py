"""`decode_for_parser`: a page handed to the extractor as its own UTF-8 bytes reads exactly as its decoded
text does, whatever its charset, labels, BOMs or broken bytes; the archive stage and `--reextract` use it."""

from __future__ import annotations

import codecs
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper.charset import ASCII_SUPERSETS, decode, decode_for_parser
from scraper.extract.extractor import extract

BOM = codecs.BOM_UTF8
URL = "https://example.com/news/1"
ARTICLE = "Le président a déclaré « c’est très bien ». 中国工业和信息化部周三发布计划，提出推动企业成长。"


def as_parser_reads(data: str | bytes) -> bytes:
    """What the extractor hands the parser: text encoded, or UTF-8 bytes less one BOM."""
    if isinstance(data, str):
        return data.encode("utf-8", "ignore")
    return data.removeprefix(BOM)


def same_as_text(body: bytes, content_type: str | None = None) -> str | bytes:
    """`decode_for_parser`'s answer, checked against `decode`'s text: the same codec, the same input."""
    data, codec = decode_for_parser(body, content_type)
    text, expected_codec = decode(body, content_type)
    assert codec == expected_codec
    assert as_parser_reads(data) == as_parser_reads(text)
    return data


def page(text: str = ARTICLE, head: str = "") -> str:
    return f"<html><head>{head}<title>標題</title></head><body><article><p>{text}</p></article></body></html>"


def test_utf8_page_stays_bytes() -> None:
    body = page().encode()
    assert same_as_text(body, "text/html; charset=utf-8") == body


def test_utf8_page_under_a_wrong_label_stays_bytes() -> None:
    body = page(head="<meta charset='gbk'>").encode()
    assert same_as_text(body, "text/html; charset=iso-8859-1") == body


def test_bom_is_left_off_and_a_second_one_left_to_the_extractor() -> None:
    body = BOM + page().encode()
    assert same_as_text(body) == page().encode()
    assert same_as_text(BOM + BOM + page().encode()) == BOM + page().encode()


def test_invalid_utf8_is_decoded_as_decode_does() -> None:
    body = page().encode()[:-60] + b"\xff\xc3(" + page().encode()[-60:]
    data = same_as_text(body, "text/html; charset=utf-8")
    assert isinstance(data, str) and "\ufffd" in data


@pytest.mark.parametrize("codec", ["gbk", "big5", "shift_jis"])
def test_other_charsets_are_decoded(codec: str) -> None:
    text = "中央社記者報導，行政院今天通過新的預算案，立法院將於下週審議。" * 3
    data = same_as_text(page(text).encode(codec), f"text/html; charset={codec}")
    assert isinstance(data, str) and text in data


@pytest.mark.parametrize(
    ("label", "as_is"), [("iso-8859-1", True), ("gbk", True), ("utf-7", False), ("hz", False)]
)
def test_ascii_page_stays_bytes_under_a_codec_that_keeps_ascii(label: str, as_is: bool) -> None:
    body = b"<html><body><p>Plain +AGE- text ~{<V~} and more.</p></body></html>"  # UTF-7, HZ escapes
    data = same_as_text(body, f"text/html; charset={label}")
    assert isinstance(data, bytes) is as_is


@pytest.mark.parametrize("codec", sorted(ASCII_SUPERSETS))
def test_ascii_supersets_read_ascii_as_itself(codec: str) -> None:
    every_ascii = bytes(range(128)) * 2
    assert every_ascii.decode(codec) == every_ascii.decode("ascii")


def test_stored_compressed_page_reads_as_its_text() -> None:
    """`--reextract` reads the raw page back from zlib: the same bytes, the same record either way."""
    body = BOM + page().encode()
    stored = zlib.decompress(zlib.compress(body))
    data, _ = decode_for_parser(stored, "text/html")
    text, _ = decode(stored, "text/html")
    charset = "utf-8" if isinstance(data, bytes) else None
    assert extract(data, URL, charset=charset) == extract(text, URL)


# Pieces of a page, in the charsets and the mistakes pages come with.
_PIECES = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='content'>",
        "</div>",
        "<br>",
        "<meta charset='gbk'>",
        "<meta charset='utf-8'>",
        "\ufeff",
        "台风",
        "é",
        "€",
        "𝒳",
        "ok",
        " ",
        ARTICLE,
    ]
)
_BROKEN = st.sampled_from([b"", b"\xff", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\x80abc"])
_CODECS = st.sampled_from(["utf-8", "utf-8", "gbk", "cp1252", "shift_jis", "utf-16"])
_LABELS = st.sampled_from([None, "text/html", "text/html; charset=utf-8", "text/html; charset=gbk",
                           "text/html; charset=iso-8859-1", "text/html; charset=utf-7"])  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(_PIECES, max_size=12),
    codec=_CODECS,
    boms=st.integers(0, 2),
    broken=_BROKEN,
    at=st.integers(0, 10_000),
    label=_LABELS,
)
def test_any_page_reads_the_same_as_bytes_or_text(
    pieces: list[str], codec: str, boms: int, broken: bytes, at: int, label: str | None
) -> None:
    body = page("".join(pieces)).encode(codec, "replace")
    cut = at % (len(body) + 1)
    body = BOM * boms + body[:cut] + broken + body[cut:]
    data = same_as_text(body, label)
    text, _ = decode(body, label)
    charset = "utf-8" if isinstance(data, bytes) else None
    assert extract(data, URL, charset=charset) == extract(text, URL)
