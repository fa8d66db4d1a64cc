"""scraper.http11.validated_headers: h11's validation of a request's headers, kept per distinct header
list, gives what h11 gives (the same Headers, or the same refusal, every time)."""

from __future__ import annotations

import h11
import pytest
from h11._headers import normalize_and_validate
from hypothesis import given
from hypothesis import strategies as st

from scraper import http11
from scraper.http11 import MAX_VALIDATED_HEADERS, validated_headers

_name = st.one_of(
    st.sampled_from(
        [b"Host", b"host", b"Content-Length", b"Transfer-Encoding", b"User-Agent", b"If-None-Match"]
    ),
    st.binary(max_size=8),
)
_value = st.one_of(
    st.sampled_from([b"5", b"5, 5", b"5, 6", b"chunked", b"gzip", b'"etag"', b"", b" x", b"a\r\nb"]),
    st.binary(max_size=12),
)
_headers = st.lists(st.tuples(_name, _value), max_size=5)


def _h11(headers: list[tuple[bytes, bytes]]) -> object:
    try:
        return list(normalize_and_validate(headers)._full_items)
    except h11.LocalProtocolError as exc:
        return (type(exc), str(exc))


def _kept(headers: list[tuple[bytes, bytes]]) -> object:
    try:
        return list(validated_headers(headers)._full_items)
    except h11.LocalProtocolError as exc:
        return (type(exc), str(exc))


@given(_headers)
def test_headers_are_validated_as_h11_validates_them_first_time_and_after(
    headers: list[tuple[bytes, bytes]],
) -> None:
    expected = _h11(headers)
    assert _kept(headers) == expected
    assert _kept(list(headers)) == expected  # a second time: kept (or refused again)


def test_a_refused_list_is_refused_every_time_and_not_kept() -> None:
    bad = [(b"Host", b"example.org"), (b"X-Bad", b"a\nb")]
    for _ in range(2):
        with pytest.raises(h11.LocalProtocolError):
            validated_headers(bad)
    assert tuple(bad) not in http11._VALIDATED


@pytest.mark.parametrize("name", [b"Cookie", b"cookie", b"AUTHORIZATION", b"Proxy-Authorization"])
def test_a_list_carrying_a_secret_is_validated_and_never_kept(name: bytes) -> None:
    headers = [(b"Host", b"example.org"), (name, b"session=s3cret")]
    assert _kept(headers) == _h11(headers)
    assert not any(value == b"session=s3cret" for key in http11._VALIDATED for _, value in key)


def test_the_kept_lists_are_bounded() -> None:
    for n in range(MAX_VALIDATED_HEADERS * 2 + 3):
        validated_headers([(b"Host", b"example.org"), (b"If-None-Match", f'"{n}"'.encode())])
        assert len(http11._VALIDATED) <= MAX_VALIDATED_HEADERS


def test_a_request_sent_with_kept_headers_is_the_bytes_h11_writes() -> None:
    headers = [(b"Host", b"example.org"), (b"User-Agent", b"bot/1"), (b"Accept", b"*/*")]
    written = []
    for made in (headers, validated_headers(headers), validated_headers(headers)):
        connection = h11.Connection(our_role=h11.CLIENT)
        written.append(connection.send(h11.Request(method=b"GET", target=b"/a", headers=made)))
    assert written[0] == written[1] == written[2]
