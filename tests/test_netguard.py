"""The private-network guard: what counts as public, and that it sits in the connection on every hop."""

import asyncio
import http.server
import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

from scraper import netguard
from scraper.config import HttpConfig
from scraper.fetch import BlockedAddressError, Fetcher, FetchError
from scraper.netguard import AddressGuard, _may_be_literal, is_public
from tests.local_servers import handler_server


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata (AWS, GCP, Azure)
        ("100.100.100.200", False),  # Alibaba Cloud metadata, in shared address space
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("64:ff9b::5db8:d70e", True),  # NAT64 of a public address
    ],
)
def test_what_is_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


def test_one_private_answer_refuses_the_host() -> None:
    guard = AddressGuard(resolver=resolver({"mixed.test": ["93.184.215.14", "10.0.0.7"]}))
    with pytest.raises(BlockedAddressError, match=r"non-public address 10\.0\.0\.7"):
        asyncio.run(guard.resolve("mixed.test", 80))


def test_allow_networks_lets_one_network_through() -> None:
    guard = AddressGuard(allow_networks=["10.0.0.0/24"], resolver=resolver({"lan.test": ["10.0.0.7"]}))
    assert asyncio.run(guard.resolve("lan.test", 80)) == ["10.0.0.7"]
    with pytest.raises(BlockedAddressError):
        asyncio.run(guard.resolve("10.0.1.7", 80))


def fetch(url: str, table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    config = HttpConfig(allow_networks=("127.0.0.1/32",), per_host_delay=0, retries=0)

    async def go():  # type: ignore[no-untyped-def]
        async with Fetcher(config, resolver=resolver(table), env={}) as fetcher:
            return await fetcher.get(url)

    return asyncio.run(go())


def test_connections_go_to_the_address_the_guard_checked(httpserver: HTTPServer) -> None:
    # "feed.test" exists only in the guard's resolver: the connection can only have used its answer.
    httpserver.expect_request("/feed").respond_with_data("ok")
    response = fetch(f"http://feed.test:{httpserver.port}/feed", {"feed.test": ["127.0.0.1"]})
    assert response.status == 200 and response.content == b"ok"
    assert httpserver.log[0][0].headers["Host"] == f"feed.test:{httpserver.port}"


@pytest.mark.parametrize(
    ("target", "address"),
    [("http://internal.test:{port}/admin", "10.0.0.5"), ("http://127.0.0.2:{port}/", "127.0.0.2")],
)
def test_every_redirect_hop_is_checked(httpserver: HTTPServer, target: str, address: str) -> None:
    # The first hop is allowed; the redirect points into the private network and is refused.
    location = target.format(port=httpserver.port)
    httpserver.expect_request("/r").respond_with_response(
        WResponse(status=302, headers={"Location": location})
    )
    table = {"feed.test": ["127.0.0.1"], "internal.test": ["10.0.0.5"]}
    with pytest.raises(BlockedAddressError, match=f"non-public address {address}"):
        fetch(f"http://feed.test:{httpserver.port}/r", table)
    assert len(httpserver.log) == 1


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for feed.test (made by openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=feed.test"
    command += " -addext subjectAltName=DNS:feed.test"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"over TLS, Host {self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with handler_server(Handler, wrap=lambda sock: context.wrap_socket(sock, server_side=True)) as server:
        yield server.server_address[1], cert


def test_https_through_the_guard_checks_the_certificate_against_the_name(
    tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guard connects to the address it checked, yet TLS still verifies the certificate for the name.
    port, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    table = {"feed.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}
    response = fetch(f"https://feed.test:{port}/x", table)
    assert response.content == f"over TLS, Host feed.test:{port}".encode()
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED") as info:
        fetch(f"https://other.test:{port}/x", table)
    assert not info.value.retry_now


@given(
    st.one_of(
        st.ip_addresses().map(str), st.text("0123456789.:abcdefxn-%١", max_size=24), st.text(max_size=12)
    )
)
def test_a_host_taken_for_a_name_is_never_an_ip_literal(host: str) -> None:
    """The guard asks the resolver about a host it reads as a name without trying ipaddress on it
    (_may_be_literal): nothing ipaddress takes as an address may be read as a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    assert _may_be_literal(host)


def test_the_guard_keeps_its_verdicts_and_they_are_the_same() -> None:
    guard = AddressGuard(allow_networks=("10.1.0.0/16",))
    addresses = ["93.184.215.14", "10.1.2.3", "10.2.0.1", "127.0.0.1", "fe80::1%eth0", "2606:4700:4700::1111"]
    first = [guard.allowed(a) for a in addresses]
    assert first == [True, True, False, False, False, True]
    assert [guard.allowed(a) for a in addresses] == first
    assert guard._verdicts == dict(zip(addresses, first, strict=True))
    with pytest.raises(ValueError):  # not an address: refused, as before, and nothing kept for it
        guard.allowed("not-an-address")
    assert "not-an-address" not in guard._verdicts


def test_the_guards_kept_verdicts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "MAX_VERDICTS", 3)
    guard = AddressGuard()
    for n in range(10):
        assert guard.allowed(f"93.184.215.{n}")
        assert len(guard._verdicts) <= 3
