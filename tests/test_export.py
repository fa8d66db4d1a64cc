from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from scraper.export.files import post_source_url, write_atomic
from scraper.export.jekyll import Post, escape_liquid, filename, render, yaml_quoted, yaml_scalar

# The post of an archive users keep, byte for byte: a copy in the fixtures (so the check always runs), and
# the original beside the repository when it is there (the copy must still be the same bytes).
SEED = Path(__file__).parent / "fixtures" / "seed-example.md"
SHARED_SEED = Path(__file__).parent.parent.parent / "shared" / "seed-example.md"
PUBLISHED = datetime.fromtimestamp(1632928260, UTC)
ARCHIVED = datetime(2021, 9, 29, 14, 34, 41, 881000, tzinfo=UTC)


def front_matter(text: str) -> dict[str, object]:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def make_post(**changes: object) -> Post:
    values: dict[str, object] = {
        "title": "中国拟推动10家物联网成百亿龙头",
        "url": "https://www.zaobao.com/realtime/china/story20210929-1198422",
        "feed_name": "联合早报",
        "published": PUBLISHED,
        "archived_at": ARCHIVED,
        "body_html": "<p>正文</p>",
    }
    values.update(changes)
    return Post(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "seed_path",
    [
        SEED,
        pytest.param(
            SHARED_SEED,
            marks=pytest.mark.skipif(not SHARED_SEED.exists(), reason="no ../shared beside the repository"),
        ),
    ],
)
def test_reproduces_the_seed_post_byte_for_byte(seed_path: Path) -> None:
    seed = seed_path.read_text(encoding="utf-8")
    if SHARED_SEED.exists():
        assert SEED.read_bytes() == SHARED_SEED.read_bytes()
    body = seed.split("<div>\n", 1)[1].rsplit("\n</div>\n", 1)[0]
    assert render(make_post(body_html=body)) == seed
    assert filename(make_post()) == "2021-09-29-中国拟推动10家物联网成百亿龙头.md"


def test_date_is_clamped_but_comment_keeps_the_source_time() -> None:
    text = render(make_post())
    assert "date: 2021-09-29T14:34:41.881Z\n" in text  # the published time was later than the archive time
    assert "---\n<!--1632928260000-->\n" in text
    early = render(make_post(published=ARCHIVED - timedelta(hours=1)))
    assert "date: 2021-09-29T13:34:41.881Z\n" in early


@pytest.mark.parametrize(
    "title",
    [
        'He said "yes": it\'s {{ done }}',
        "back\\slash and \\n literal",
        "control\x07char\x1b and tab\t",
        "colon: # hash - [list] {map}",
        "line\u2028separator",
        "- leading dash",
        "null",
    ],
)
def test_front_matter_is_valid_yaml_whatever_the_title(title: str) -> None:
    text = render(make_post(title=title, feed_name='Feed: "odd" [name], #1'))
    meta = front_matter(text)
    assert meta["title"] == " ".join(title.split())
    assert meta["author"] == 'Feed: "odd" [name], #1'
    assert meta["tags"] == ['Feed: "odd" [name], #1'] == meta["categories"]
    assert meta["layout"] == "post"
    assert meta["from"] == "https://www.zaobao.com/realtime/china/story20210929-1198422"


def test_plain_names_stay_plain() -> None:
    assert yaml_scalar("联合早报") == "联合早报"
    assert yaml_scalar("BBC 中文") == "BBC 中文"
    assert yaml_scalar("true") == '"true"'
    assert yaml_quoted('a"b\\c') == '"a\\"b\\\\c"'


def test_liquid_is_never_run() -> None:
    text = render(
        make_post(title="{{ site.x }} and {% raw %}", body_html="<p>{{ page.title }} {%include x%}</p>")
    )
    body = text.split("---\n", 2)[2]
    assert "{{" not in body and "{%" not in body
    assert "&#123;{ page.title }}" in body
    assert front_matter(text)["title"] == "{{ site.x }} and {% raw %}"


def test_escape_liquid_handles_runs_of_braces() -> None:
    assert "{{" not in escape_liquid("{{{{") and "{%" not in escape_liquid("{{%")


def test_markdown_title_line_is_escaped() -> None:
    text = render(make_post(title="a [b] *c*", url="https://example.org/a b(1)"))
    assert "[a \\[b\\] \\*c\\*](https://example.org/a%20b%281%29)\n" in text


def test_file_names() -> None:
    assert filename(make_post(title='a/b\\c:d*e?f"g<h>i|j#k%l')) == "2021-09-29-a-b-c-d-e-f-g-h-i-j-k-l.md"
    long = "长" * 80
    assert filename(make_post(title=long)) == f"2021-09-29-{'长' * 50}.md"
    assert filename(make_post(title="x"), 2) == "2021-09-29-x-2.md"
    assert filename(make_post(title="...")) == "2021-09-29-untitled.md"


def test_file_ends_with_div_and_newline() -> None:
    assert render(make_post(body_html="\n<p>x</p>\n\n")).endswith("<div>\n<p>x</p>\n</div>\n")


def test_write_atomic_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "_posts" / "a.md"
    assert write_atomic(path, "one") is True
    mtime = path.stat().st_mtime_ns
    assert write_atomic(path, "one") is False
    assert path.stat().st_mtime_ns == mtime
    assert write_atomic(path, "two") is True
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["a.md"]  # no temp file left


def test_write_atomic_makes_the_folders_a_post_needs(tmp_path: Path) -> None:
    """The folder is made only when the temp file finds none (not stat'ed on every post): nested, new."""
    path = tmp_path / "_posts" / "2024" / "05" / "a.md"
    assert write_atomic(path, "one") is True
    assert write_atomic(path.with_name("b.md"), "two") is True
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.md", "b.md"]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_post_source_url(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(render(make_post()), encoding="utf-8")
    assert post_source_url(path) == "https://www.zaobao.com/realtime/china/story20210929-1198422"
    path.write_text("no front matter", encoding="utf-8")
    assert post_source_url(path) is None


def test_a_post_from_no_feed_is_signed_by_its_site() -> None:
    from scraper.export.writer import site_name

    assert site_name("https://www.zaobao.com.sg/realtime/china/story20210929-1198422") == "zaobao.com.sg"
    assert site_name("http://127.0.0.1:8080/a/1") == "127.0.0.1"
