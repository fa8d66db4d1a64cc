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


SAMPLES = {
    "gbk": "中国工业和信息化部等八部门周三联合发布物联网新型基础设施建设三年行动计划，提出推动十家企业成长。",
    "gb18030": "中国工业和信息化部等八部门周三联合发布物联网新型基础设施建设计划，㐀䶵扩展汉字也要正确。",
    "big5": "中央社記者報導，行政院今天通過新的預算案，立法院將於下週審議，各黨團對此表示關注。",
    "shift_jis": "東京都は今日、新しい防災計画を発表しました。地震への備えを強化する内容です。",
    "euc-kr": "서울시는 오늘 새로운 교통 정책을 발표했습니다. 대중교통 이용을 늘리기 위한 계획입니다.",
    "windows-1252": "Le président a déclaré « c’est très bien » — voilà ce qu’il a dit à l’été, 5 € à Müller",
}
# How the page is labelled: (Content-Type, <meta> in the page).
LABELS = {
    "labelled in the header": ("text/html; charset={codec}", ""),
    "labelled in a meta": ("text/html", '<meta charset="{codec}">'),
    "unlabelled": ("text/html", ""),
    "header says latin-1": ("text/html; charset=iso-8859-1", ""),
    "header says utf-8": ("text/html; charset=utf-8", ""),
    "meta names another CJK charset": ("text/html", '<meta charset="{other}">'),
}


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("codec", SAMPLES)
def test_pages_come_out_right_however_labelled(codec: str, label: str) -> None:
    header, meta = LABELS[label]
    other = "gbk" if codec == "shift_jis" else "euc-jp"
    head = meta.format(codec=codec, other=other)
    page = f"<html><head>{head}<title>t</title></head><body><p>{SAMPLES[codec]}</p>"
    text, _ = decode(page.encode(codec), header.format(codec=codec))
    assert SAMPLES[codec] in text


def test_utf8_labelled_as_something_else_is_utf8() -> None:
    page = f"<html><head><meta charset='gbk'></head><body><p>{TEXT}</p></body></html>"
    text, codec = decode(page.encode("utf-8"), "text/html; charset=iso-8859-1")
    assert TEXT in text and codec == "utf-8"


def test_ascii_page_keeps_its_label() -> None:
    assert decode(b"<p>plain</p>", "text/html; charset=windows-1252") == ("<p>plain</p>", "cp1252")
