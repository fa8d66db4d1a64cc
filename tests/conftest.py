"""Shared fixtures: a config writer, the CLI runner, and the PostgreSQL test database.

Every test that needs a server uses pytest-httpserver (127.0.0.1): tests never touch the internet.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from scraper.store.db import make_engine, upgrade

if TYPE_CHECKING:
    from tests.daemon_helpers import DaemonProcess


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _loopback_only(connect):  # type: ignore[no-untyped-def]
    def guarded(sock: socket.socket, address: object) -> object:
        internet = sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
        if internet and not _is_loopback(str(address[0])):  # type: ignore[index]
            raise ConnectionRefusedError(f"a test tried to reach {address[0]}: tests stay on loopback")  # type: ignore[index]
        return connect(sock, address)

    return guarded


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the internet: a connection from this process to anything but loopback fails
    at once, so a test that would reach out is found, not silently slow or flaky."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _loopback_only(socket.socket.connect_ex))


@pytest.fixture(autouse=True)
def _quiet_test_servers() -> None:
    """The test servers' access lines (werkzeug logs them at info, from its own thread) are not the
    program's output: the CLI commands under test log to the stderr CliRunner captures."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


POSTGRES_URL = os.environ.get(
    "SCRAPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Test defaults for [http]: the test servers are on loopback, one host for everything, and serve no
# robots.txt (pytest-httpserver answers 500 to an unexpected path); retries come quickly.
TEST_HTTP: dict[str, object] = {
    "allow_private_networks": True,
    "per_host_delay": 0,
    "retry_backoff": 0.01,
    "respect_robots": False,
}


def write_config(folder: Path, feeds: list[dict[str, object]], **sections: dict[str, object]) -> Path:
    """A scraper.toml in `folder`; `http` keys are merged over TEST_HTTP."""
    sections = {**sections, "http": {**TEST_HTTP, **sections.get("http", {})}}
    lines = ['[database]\nurl = "sqlite:///archive.db"\n', '[export]\ndir = "_posts"\n']
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
        lines.append("")
    for feed in feeds:
        lines.append("[[feeds]]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in feed.items())
        lines.append("")
    path = folder / "scraper.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return toml_string(str(value))


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    from scraper.cli import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Every `scraper run` a test starts is killed at the end, whatever happened."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.kill()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A fresh schema in the test PostgreSQL, dropped afterwards; skipped, saying why, without a server."""
    try:
        admin = make_engine(POSTGRES_URL)
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # no server, no driver: say so
        pytest.skip(f"PostgreSQL not available at {POSTGRES_URL}: {type(exc).__name__}: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The archive's engine at the schema's head, once on SQLite and once on PostgreSQL.

    Tests of the store run on both because their SQL differs where it matters (RETURNING, COPY, locks).
    """
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        upgrade(engine)
        yield engine


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for feed.test (openssl; no CA the client trusts by default), and its key,
    for the tests that speak TLS to a local server."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=feed.test"
    command += " -addext subjectAltName=DNS:feed.test"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key
