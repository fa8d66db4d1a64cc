"""Hostile host names: a link's host is a value from a stranger, judged where the link enters.

Found by a hostile feed (task H, session 15): a host with an empty label (`a..b`), a punycode label that
decodes to nothing (`xn--`), or a name IDNA 2008 refuses (`☃.net`, full-width letters) passed the entry
check, then httpx (its IDNA codec) or the resolver (Python's) raised on it, and the article failed as
"internal error" each run. Whatever the host, the link is refused at entry or every layer can take it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.config import HttpConfig
from scraper.fetch import Fetcher, FetchError
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


# --- every URL a fetch is given, whoever gave it ------------------------------------------------------------

# URLs no fetch may be tried with, from wherever they come: a sitemap index's child, robots.txt's Sitemap
# line, a feed's archive link, the command line. None of these hosts is ever resolved: they are refused first.
UNFETCHABLE = [f"http://{host}/x" for host in HOSTS_NO_CLIENT_TAKES.values()] + [
    "http://[::1",
    "http://e.test:99999/",
    "http://e.test/\x00",
    "http://e.test/" + "x" * 3000,
]


@pytest.mark.parametrize("url", UNFETCHABLE)
def test_a_fetch_given_a_url_no_link_may_hold_fails_as_that_fetch(url: str) -> None:
    async def get() -> None:
        async with Fetcher(HttpConfig(allow_private_networks=True)) as fetcher:
            await fetcher.get(url)

    with pytest.raises(FetchError):
        asyncio.run(get())


def test_a_sitemap_index_child_no_client_takes_fails_alone(tmp_path: Path, site: HostileServer) -> None:
    page = "<html><body><article><p>" + "正文足够长，可以抽取。" * 20 + "</p></article></body></html>"
    site.route("/ok", hostile.html(page))
    children = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>" for url in UNFETCHABLE[:7])
    children += f"<sitemap><loc>{site.url('/urls.xml')}</loc></sitemap>"
    site.route(
        "/index.xml",
        hostile.respond(
            200, f'<?xml version="1.0"?><sitemapindex>{children}</sitemapindex>', {"Content-Type": "text/xml"}
        ),
    )
    urlset = f'<?xml version="1.0"?><urlset><url><loc>{site.url("/ok")}</loc></url></urlset>'
    site.route("/urls.xml", hostile.respond(200, urlset, {"Content-Type": "text/xml"}))
    config = write_config(tmp_path, [])

    result = run_cli("backfill", "--sitemap", site.url("/index.xml"), "--config", str(config))

    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    assert "archived 1," in result.output, result.output


@pytest.mark.parametrize("url", ["http://[::1", "http://a..b/", "http://☃.net/sitemap.xml", "javascript:x"])
def test_a_sitemap_given_on_the_command_line_no_client_takes_is_one_line(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path, [])
    result = run_cli("backfill", "--sitemap", url, "--config", str(config))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"sitemap {url}" in result.output
