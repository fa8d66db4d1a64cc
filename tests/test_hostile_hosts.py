"""Hostile host names: a link's host is a value from a stranger, judged where the link enters.

Found by a hostile feed (task H, session 15): a host with an empty label (`a..b`), a punycode label that
decodes to nothing (`xn--`), or a name IDNA 2008 refuses (`☃.net`, full-width letters) passed the entry
check, then httpx (its IDNA codec) or the resolver (Python's) raised on it, and the article failed as
"internal error" each run. Whatever the host, the link is refused at entry or every layer can take it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.sanitize import RefusedValueError, checked_url
from tests import hostile
from tests.conftest import run_cli, write_config
from tests.hostile import HostileServer

HOSTS_NO_CLIENT_TAKES = {
    "empty-label": "a..b",
    "leading-dot": ".a.b",
    "bare-ace-prefix": "xn--",
    "ace-ending-in-hyphen": "xn--zz-",
    "ace-of-a-symbol": "xn--n3h.net",
    "symbol": "☃.net",
    "full-width": "ＡＢＣ.com",
}

host_chars = st.one_of(
    st.sampled_from([*"abc-.0_", "xn--", "..", "☃", "ａ", "ß", "\u200d", "例"]),
    st.characters(exclude_categories=("Cs",)),
)


def _client_takes(url: str) -> None:
    """What the fetch does with a URL's host: httpx builds the request (and reads its host back), then
    the resolver encodes the host as getaddrinfo does."""
    request = httpx.Request("GET", url)
    host = request.url.host
    assert host
    if ":" not in host:
        request.url.raw_host.decode("ascii").encode("idna")


@settings(max_examples=400, deadline=None)
@given(st.lists(host_chars, min_size=1, max_size=12).map("".join))
def test_any_host_is_refused_at_entry_or_taken_by_every_layer(host: str) -> None:
    try:
        url = checked_url(f"http://{host}/x")
    except RefusedValueError:
        return
    _client_takes(url)


@pytest.mark.parametrize("host", HOSTS_NO_CLIENT_TAKES.values(), ids=HOSTS_NO_CLIENT_TAKES.keys())
def test_a_host_no_client_takes_is_refused_as_no_domain_name(host: str) -> None:
    with pytest.raises(RefusedValueError, match="domain name"):
        checked_url(f"http://{host}/x")


ORDINARY_HOSTS = ["example.com", "例え.テスト", "ß.de", "xn--r8jz45g.xn--zckzah", "a-b.c", "x.y."]


@pytest.mark.parametrize("host", ORDINARY_HOSTS)
def test_ordinary_and_international_hosts_are_taken(host: str) -> None:
    url = checked_url(f"http://{host}/x")
    _client_takes(url)


@pytest.fixture
def site() -> Iterator[HostileServer]:
    server = HostileServer("127.0.0.2")
    with server.running():
        yield server


def test_entries_linking_to_such_hosts_are_refused_beside_an_archived_one(
    tmp_path: Path, site: HostileServer
) -> None:
    page = "<html><body><article><p>" + "正文足够长，可以抽取。" * 20 + "</p></article></body></html>"
    site.route("/ok", hostile.html(page))
    links = {name: f"http://{host}/x" for name, host in HOSTS_NO_CLIENT_TAKES.items()}
    links["ok"] = site.url("/ok")
    items = "".join(
        f"<item><title>{name}</title><link>{link}</link><guid>{name}</guid>"
        "<pubDate>Wed, 29 Sep 2021 23:11:00 +0800</pubDate></item>"
        for name, link in links.items()
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    site.route("/feed", hostile.respond(200, feed, {"Content-Type": "application/rss+xml"}))
    config = write_config(tmp_path, [{"name": "Hosts", "url": site.url("/feed")}])

    result = run_cli("once", "--config", str(config))

    assert "internal error" not in result.output, result.output
    assert f"{len(HOSTS_NO_CLIENT_TAKES)} entries refused" in result.output, result.output
    assert "archived 1," in result.output, result.output
    assert len(list((tmp_path / "_posts").glob("*.md"))) == 1
