import pytest

from scraper.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://WWW.Zaobao.com/realtime/china/story20210929-1198422?utm_source=rss&utm_medium=feed",
            "https://www.zaobao.com/realtime/china/story20210929-1198422",
        ),
        ("https://example.org/a?id=3&fbclid=x&gclid=y#comments", "https://example.org/a?id=3"),
        ("HTTP://Example.org:80/Path/Case", "http://example.org/Path/Case"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/新闻?q=中文", "https://example.org/%E6%96%B0%E9%97%BB?q=%E4%B8%AD%E6%96%87"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?b=2&a=1"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected


def test_file_urls_are_kept() -> None:
    assert canonical_url("file:///tmp/a.html#x") == "file:///tmp/a.html"
