"""`scraper export --warc/--wacz`: captures copied byte for byte, stored pages as resource records, a
WACZ that `wacz validate` accepts, of the whole archive or of a part."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from warcio.archiveiterator import ArchiveIterator

from tests.capture_site import CaptureSite
from tests.conftest import run_cli, write_config

EXAMPLES = Path(__file__).parent.parent / "examples"
WACZ = Path(sys.executable).parent / "wacz"
WARCIO = Path(sys.executable).parent / "warcio"


@pytest.fixture
def site(httpserver: HTTPServer) -> CaptureSite:
    return CaptureSite(httpserver)


def records(folder: Path) -> list[tuple[str, str, str, bytes]]:
    """(type, target URI, WARC Content-Type, payload) of each record after the warcinfo of each file."""
    out = []
    for path in sorted(folder.glob("*.warc.gz")):
        assert subprocess.run([WARCIO, "check", path], capture_output=True).returncode == 0
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests="raise"):
                if record.rec_type != "warcinfo":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    kind = record.rec_headers.get_header("Content-Type")
                    out.append((record.rec_type, uri, kind, record.raw_stream.read()))
    return out


def test_export_warc_copies_the_captures_byte_for_byte(site: CaptureSite, tmp_path: Path) -> None:
    assert run_cli("once", "--config", str(site.config(tmp_path))).exit_code == 0
    result = run_cli("export", "--config", str(tmp_path / "scraper.toml"), "--warc", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    count = len(CaptureSite.ARTICLES)
    assert f"exported {count} pages ({count} captures copied, 0 from stored pages)" in result.output
    captured = {(k, u, b) for k, u, _t, b in records(tmp_path / "warc") if u != site.url("/a/moved")}
    exported = {(k, u, b) for k, u, _t, b in records(tmp_path / "out")}
    assert exported == captured  # the redirect hop has no page of its own


def test_export_warc_without_captures_makes_resource_records(site: CaptureSite, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Site", "url": site.url("/feed.xml")}])
    assert run_cli("once", "--config", str(config)).exit_code == 0
    assert not (tmp_path / "warc").exists()
    result = run_cli("export", "--config", str(config), "--warc", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    made = {uri: (kind, ctype, body) for kind, uri, ctype, body in records(tmp_path / "out")}
    assert set(made) == {site.url(p) for p in CaptureSite.ARTICLES if p != "/a/moved"} | {site.url("/a/new")}
    assert {kind for kind, _c, _b in made.values()} == {"resource"}
    assert made[site.url("/a/gzip")][2] == gzip.decompress(site.sent["/a/gzip"])  # what was kept: decoded
    assert made[site.url("/a/big5")][1:] == ("text/html; charset=big5", site.sent["/a/big5"])


def test_export_filters_by_feed_and_time(site: CaptureSite, tmp_path: Path) -> None:
    config = site.config(tmp_path)
    assert run_cli("once", "--config", str(config)).exit_code == 0
    out = tmp_path / "out"
    none = run_cli("export", "--config", str(config), "--warc", str(out), "--feed", "Nobody")
    assert none.exit_code == 0 and "exported 0 pages" in none.output
    later = run_cli(
        "export", "--config", str(config), "--wacz", str(tmp_path / "a.wacz"), "--since", "2999-01-01"
    )
    assert later.exit_code == 1 and "no stored page matches" in later.output
    assert not (tmp_path / "a.wacz").exists()
    some = run_cli(
        "export", "--config", str(config), "--warc", str(out), "--feed", "Site", "--until", "2999-01-01"
    )
    assert f"exported {len(CaptureSite.ARTICLES)} pages" in some.output
    wrong = run_cli("export", "--config", str(config), "--since", "2020-01-01")
    assert wrong.exit_code == 2 and "--warc or --wacz" in wrong.output


def test_a_wacz_of_the_sample_archive_validates(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("_posts", "archive.db*"))
    config = tmp_path / "examples" / "scraper.toml"
    assert run_cli("once", "--config", str(config)).exit_code == 0
    wacz = tmp_path / "sample.wacz"
    result = run_cli("export", "--config", str(config), "--wacz", str(wacz))
    assert result.exit_code == 0 and "exported 3 pages" in result.output, result.output
    check = subprocess.run([WACZ, "validate", "-f", wacz], capture_output=True, text=True)
    assert check.returncode == 0 and "is valid" in check.stdout, check.stdout + check.stderr
    with zipfile.ZipFile(wacz) as package:
        names = package.namelist()
        pages = package.read("pages/pages.jsonl").decode().splitlines()
    assert any(n.startswith("archive/") and n.endswith(".warc.gz") for n in names)
    assert any(n.startswith("indexes/") for n in names) and "datapackage.json" in names
    listed = [json.loads(line) for line in pages[1:]]
    assert len(listed) == 3 and all(p["url"].endswith(".html") and p["title"] for p in listed)


def test_a_wacz_of_live_captures_validates(site: CaptureSite, tmp_path: Path) -> None:
    config = site.config(tmp_path)
    assert run_cli("once", "--config", str(config)).exit_code == 0
    wacz = tmp_path / "out" / "site.wacz"
    result = run_cli("export", "--config", str(config), "--wacz", str(wacz))
    assert result.exit_code == 0, result.output
    check = subprocess.run([WACZ, "validate", "-f", wacz], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(wacz) as package:
        index = b"".join(
            gzip.decompress(package.read(n)) if n.endswith(".gz") else package.read(n)
            for n in package.namelist()
            if n.startswith("indexes/") and not n.endswith(".idx")
        ).decode()
    for path in CaptureSite.ARTICLES:
        if path != "/a/moved":
            assert f'"url": "{site.url(path)}"' in index, path
