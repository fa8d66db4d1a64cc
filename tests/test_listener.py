"""The health listener stays bounded whatever clients do (issue 12): a thousand idle connections held open
neither lock out /healthz nor pile up open files in the daemon, and slow clients are cut off."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scraper.listener import MAX_CONNECTIONS

SERVE = """
import sys, time
from prometheus_client import CollectorRegistry
from scraper.listener import Listener
timeout = float(sys.argv[1])
listener = Listener("127.0.0.1:0", CollectorRegistry(), lambda: (True, {}), request_timeout=timeout)
listener.start()
print(listener.url, flush=True)
time.sleep(600)
"""
IDLE = 1000


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A listener in its own process (so its open files are its own), cutting idle clients after 3 s."""
    with subprocess.Popen(  # leaving it closes the pipe
        [sys.executable, "-c", SERVE, "3"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield process, url
        finally:
            process.kill()
            process.wait()


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files through /proc")
def test_a_thousand_idle_connections_neither_lock_out_health_nor_pile_up(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = served
    host, port = url.removeprefix("http://").split(":")
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    baseline = open_files(process.pid)
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE):  # connect and say nothing (half a request for some)
            client = socket.create_connection((host, int(port)), timeout=5)
            if len(idle) % 2:
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            idle.append(client)
        time.sleep(0.3)
        started = time.monotonic()
        answer = httpx.get(f"{url}/healthz", timeout=5)
        took = time.monotonic() - started
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        assert took < 2.0, f"/healthz took {took:.2f} s behind {IDLE} idle connections"
        held = open_files(process.pid)
        assert held <= baseline + MAX_CONNECTIONS + 4, (baseline, held)
        # The ones still open are cut off once their time to send a request is up.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and open_files(process.pid) > baseline + 2:
            time.sleep(0.2)
        assert open_files(process.pid) <= baseline + 2
    finally:
        for client in idle:
            client.close()
    assert httpx.get(f"{url}/metrics", timeout=5).status_code == 200


def test_the_accept_loop_does_not_spin_while_clients_wait(served: tuple[subprocess.Popen[str], str]) -> None:
    """CPU time of the listener process while 200 idle clients sit there: next to nothing."""
    process, url = served
    host, port = url.removeprefix("http://").split(":")
    clients = [socket.create_connection((host, int(port)), timeout=5) for _ in range(200)]
    try:
        before = _cpu_seconds(process.pid)
        time.sleep(1.0)
        used = _cpu_seconds(process.pid) - before
        assert used < 0.3, f"the listener used {used:.2f} s of CPU in 1 s with idle clients"
    finally:
        for client in clients:
            client.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
