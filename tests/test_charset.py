import pytest

from scraper.charset import decode

TEXT = (
    "中国工业和信息化部、中央网络安全和信息化委员会办公室等八部门周三联合发布物联网新型基础设施建设三年行动计划。"
    * 3
)


def html(charset_meta: str = "") -> str:
    return f"<html><head>{charset_meta}<title>标题</title></head><body><p>{TEXT}</p></body></html>"


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "utf-8"])
def test_unlabelled_chinese_page(codec: str) -> None:
    text, _ = decode(html().encode(codec))
    assert TEXT in text


def test_header_wins_over_detection() -> None:
    text, codec = decode(html().encode("gbk"), "text/html; charset=GB2312")
    assert TEXT in text and codec == "gb18030"


def test_mislabelled_header_falls_through_to_the_truth() -> None:
    text, _ = decode(html().encode("gbk"), "text/html; charset=utf-8")
    assert TEXT in text


def test_meta_charset_big5() -> None:
    traditional = "中央社記者報導，行政院今天通過新的預算案，立法院將於下週審議。" * 3
    page = f'<html><head><meta charset="big5"></head><body><p>{traditional}</p></body></html>'
    text, codec = decode(page.encode("big5"))
    assert codec == "big5hkscs"
    assert traditional in text


def test_shift_jis_unlabelled() -> None:
    japanese = "東京都は今日、新しい防災計画を発表しました。地震への備えを強化する内容です。" * 3
    text, _ = decode(f"<html><body><p>{japanese}</p></body></html>".encode("shift_jis"))
    assert japanese in text


def test_bom() -> None:
    text, codec = decode("\ufeff<p>héllo</p>".encode())
    assert text == "<p>héllo</p>" and codec == "utf-8-sig"
