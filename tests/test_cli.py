"""The command line as a user meets it: the bundled sample, --version, python -m scraper."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from scraper import __version__
from tests.conftest import run_cli

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_bundled_sample_runs_offline(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("_posts", "archive.db*"))
    config = tmp_path / "examples" / "scraper.toml"
    result = run_cli("once", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "3 new entries; archived 3" in result.output
    posts = sorted((tmp_path / "examples" / "_posts").glob("*.md"))
    assert len(posts) == 3
    for post in posts:
        text = post.read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---\n", 2)[1])
        assert meta["author"] == "联合早报"
        assert "dfp-ad" not in text and "subscribe." not in text and "订阅联合早报" not in text
    gbk = next(p for p in posts if "新田科技城" in p.name).read_text(encoding="utf-8")
    assert "香港特区政府星期四公布新田科技城的初步规划" in gbk  # a GBK page decoded right

    again = run_cli("once", "--config", str(config))
    assert "1 not modified" in again.output and "wrote 0 posts" in again.output


def test_version_and_module_entry_point() -> None:
    assert run_cli("--version").output.strip() == f"scraper, version {__version__}"
    result = subprocess.run(
        [sys.executable, "-m", "scraper", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in result.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    (tmp_path / "scraper.toml").write_text("[database]\nurl = 'sqlite:///a.db'\n", encoding="utf-8")
    result = run_cli("db", "upgrade", "--config", str(tmp_path / "scraper.toml"))
    assert result.exit_code == 0 and (tmp_path / "a.db").exists()


def test_extract_prints_a_saved_page_with_the_site_rule(tmp_path: Path) -> None:
    page = EXAMPLES / "pages" / "story20210929-1198422.html"
    url = "https://www.zaobao.com.sg/realtime/china/story20210929-1198422"
    result = run_cli(
        "extract", str(page), "--url", url, "--format", "json", "--config", str(tmp_path / "none")
    )
    assert result.exit_code == 2  # an explicit config that does not exist is an error

    result = run_cli("extract", str(page), "--url", url, "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["title"] == "中国拟推动10家物联网成百亿龙头"
    assert record["url"] == url
    assert record["html"].count("<img") == 1 and 'src="https://www.zaobao.com.sg/' in record["html"]
    assert "dfp-ad" not in record["html"] and "订阅" not in record["text"]
    assert record["text"].startswith("中国工业和信息化部")


def test_extract_fetches_a_url_and_tries_a_selector(httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/a").respond_with_data(
        "<html><body><nav>Home | World</nav><div class='x'><p>Kept paragraph one, long enough to count.</p>"
        "<div class='promo'>Buy now</div></div><p>Outside the selector.</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    env = {"SCRAPER_HTTP_ALLOW_PRIVATE_NETWORKS": "true"}
    result = run_cli(
        "extract",
        httpserver.url_for("/a"),
        "--selector",
        ".x",
        "--remove",
        ".promo",
        "--format",
        "text",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Kept paragraph one, long enough to count."
