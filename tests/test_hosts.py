"""The host key of a URL: one function for politeness, claims, the backfill's lines and site names."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from scraper.hosts import HOST_KEY_LENGTH, host_key, site_name, spread_over_hosts


def test_host_key_ignores_case_port_and_userinfo() -> None:
    assert host_key("HTTPS://User:pw@WWW.Example.COM:8443/a?b#c") == "www.example.com"
    assert host_key("http://[2001:DB8::1]:8080/") == "2001:db8::1"
    assert site_name("https://www.zaobao.com.sg/realtime") == "zaobao.com.sg"


def test_host_key_of_what_has_no_host() -> None:
    for url in ("", "/relative/path", "mailto:someone@example.com", "file:///etc/hosts", "http://[::1"):
        assert host_key(url) == ""


@given(st.text(max_size=400))
def test_host_key_never_raises_and_is_a_column_value(url: str) -> None:
    key = host_key(url)
    assert len(key) <= HOST_KEY_LENGTH and key == key.lower()


@given(
    st.from_regex(
        r"https?://[A-Za-z0-9-]{1,20}(\.[A-Za-z]{2,6}){1,2}(:[0-9]{1,5})?/[a-z/]{0,20}", fullmatch=True
    )
)
def test_host_key_agrees_with_what_the_fetcher_connects_to(url: str) -> None:
    assert host_key(url) == urlsplit(url).hostname


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers()), max_size=60), st.integers(0, 5))
def test_spread_over_hosts_is_fair_and_keeps_order_within_a_host(
    items: list[tuple[str, int]], room: int
) -> None:
    ordered = spread_over_hosts(items, lambda item: item[0], lambda _host: room)
    for host in "abcd":
        mine = [item for item in items if item[0] == host]
        assert [item for item in ordered if item[0] == host] == mine[:room]
    # every round visits each host still holding work once, so no host is twice ahead of another
    seen: dict[str, int] = {}
    for index, (host, _) in enumerate(ordered):
        seen[host] = seen.get(host, 0) + 1
        ahead = [h for h in seen if h != host and seen[h] < seen[host] - 1]
        assert not [h for h in ahead if h in {item[0] for item in ordered[index + 1 :]}]
