"""What a revisit found, decided without a server: real edits, removals, restores, the schedule, diffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.extract.text import html_to_text
from scraper.revisions import (
    ABSENT,
    EDITED,
    OUTAGE,
    UNCHANGED,
    RemovalState,
    Snapshot,
    is_real_edit,
    judge_visit,
    normalise_text,
    redirect_away,
    still_holds_article,
)
from scraper.revisit_schedule import next_revisit, parse_duration, parse_schedule
from scraper.text_diff import diff_tokens, render_html, render_text, tokens, word_count

BODY = (
    "The council voted on Tuesday to close the old bridge for repairs. Residents said the detour "
    "would add twenty minutes to their commute. Work is expected to last until the spring."
)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_rewritten_sentence_is_an_edit() -> None:
    after = BODY.replace("twenty minutes", "almost an hour")
    assert is_real_edit(Snapshot("Bridge closes", BODY), Snapshot("Bridge closes", after))


def test_a_title_change_alone_is_an_edit() -> None:
    assert is_real_edit(Snapshot("Bridge closes", BODY), Snapshot("Bridge closes for a year", BODY))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Read by 1,204 people. 12 comments", "Read by 1,877 people. 15 comments"),
        ("Updated 10:32 am", "Updated 11:05 pm"),
        ("posted 3 minutes ago", "posted 17 minutes ago"),
        ("阅读 1203 次", "阅读 1999 次"),
        ("Views: 120", "Views: 4,512"),
        ("\nAdvertisement\n", "\n"),
        ("广告", ""),
    ],
)
def test_volatile_parts_are_not_edits(before: str, after: str) -> None:
    assert not is_real_edit(Snapshot("T", f"{BODY}\n{before}"), Snapshot("T", f"{BODY}\n{after}"))


@given(st.text(alphabet=" \t\n\u00a0\u3000", max_size=20), st.text(alphabet=" \t\n", max_size=5))
def test_whitespace_is_never_an_edit(lead: str, inner: str) -> None:
    spaced = lead + BODY.replace(" ", " " + inner) + lead
    assert not is_real_edit(Snapshot("T", BODY), Snapshot(" T ", spaced))


@given(st.text(max_size=300), st.text(max_size=300))
def test_normalising_is_total_and_spaced_once(a: str, b: str) -> None:
    """Whatever the text, its normalised form is words separated by single spaces. (Not idempotent: a
    counter is one only inside its own line, "views:" above "12", and the normalised text is one line.)"""
    once = normalise_text(a + b)
    assert once == " ".join(once.split())
    is_real_edit(Snapshot(a, b), Snapshot(b, a))  # never raises, whatever the text


def test_an_empty_new_title_is_not_a_title_change() -> None:
    assert not is_real_edit(Snapshot("Bridge closes", BODY), Snapshot(None, BODY))


def test_a_notice_page_no_longer_holds_the_article() -> None:
    notice = "This story has been removed. Browse our latest headlines."
    assert not still_holds_article(Snapshot("T", BODY), Snapshot("Not found", notice))
    assert still_holds_article(Snapshot("T", BODY), Snapshot("T", BODY.replace("Tuesday", "Monday")))


def test_chinese_text_is_compared_by_characters() -> None:
    before = "市议会周二投票决定关闭旧桥进行维修。居民表示绕行将使通勤时间增加二十分钟。"
    after = before.replace("二十分钟", "将近一小时")
    assert still_holds_article(Snapshot("桥", before), Snapshot("桥", after))
    assert is_real_edit(Snapshot("桥", before), Snapshot("桥", after))
    assert not still_holds_article(Snapshot("桥", before), Snapshot("", "页面不存在 返回首页"))


@pytest.mark.parametrize(
    ("final", "why"),
    [
        ("https://news.example/", "home page"),
        ("https://www.news.example", "home page"),
        ("https://news.example/politics/", "section"),
        ("https://news.example/login?next=/politics/2026/bridge", "login"),
        ("https://accounts.news.example/signin", "login"),
        ("https://news.example/subscribe/", "login"),
    ],
)
def test_redirects_away_from_the_article(final: str, why: str) -> None:
    reason = redirect_away("https://news.example/politics/2026/bridge", final)
    assert reason is not None and why in reason


@pytest.mark.parametrize(
    "final",
    [
        None,
        "https://news.example/politics/2026/bridge",
        "https://news.example/politics/2026/bridge-closes-for-repairs",
        "https://news.example/p/12345",
    ],
)
def test_redirects_that_keep_the_article(final: str | None) -> None:
    assert redirect_away("https://news.example/politics/2026/bridge", final) is None


def test_removal_is_confirmed_on_the_second_visit_only() -> None:
    first = judge_visit(ABSENT, RemovalState(), T0)
    assert first.change is None and first.state == RemovalState(T0, None)
    second = judge_visit(ABSENT, first.state, T0 + timedelta(hours=1))
    assert second.change == "removed" and second.state.confirmed_at == T0 + timedelta(hours=1)
    third = judge_visit(ABSENT, second.state, T0 + timedelta(days=1))
    assert third.change is None and third.state == second.state  # recorded once
    back = judge_visit(UNCHANGED, third.state, T0 + timedelta(days=7))
    assert back.change == "restored" and back.state == RemovalState()
    assert judge_visit(EDITED, third.state, T0).change == "restored+edited"


def test_a_suspicion_cleared_records_nothing_and_an_outage_changes_nothing() -> None:
    suspected = judge_visit(ABSENT, RemovalState(), T0).state
    assert judge_visit(UNCHANGED, suspected, T0) == judge_visit(UNCHANGED, RemovalState(), T0)
    assert judge_visit(UNCHANGED, suspected, T0).change is None
    for state in (RemovalState(), suspected, RemovalState(T0, T0)):
        assert judge_visit(OUTAGE, state, T0 + timedelta(hours=3)).state == state
        assert judge_visit(OUTAGE, state, T0).change is None


@given(st.lists(st.sampled_from([ABSENT, UNCHANGED, EDITED, OUTAGE]), max_size=30))
def test_removals_and_restores_alternate(visits: list[str]) -> None:
    """Whatever the visits, a removal is recorded only after two absent visits with no presence between,
    and removals and restores alternate, starting with a removal."""
    state, changes, absent_run = RemovalState(), [], 0
    for index, seen in enumerate(visits):
        judgement = judge_visit(seen, state, T0 + timedelta(hours=index))
        if seen == ABSENT:
            absent_run += 1
        elif seen != OUTAGE:
            absent_run = 0
        if judgement.change == "removed":
            assert absent_run >= 2
        if judgement.change in ("removed", "restored", "restored+edited"):
            changes.append(judgement.change.split("+")[0])
        state = judgement.state
    assert changes == ["removed", "restored"] * (len(changes) // 2) + ["removed"] * (len(changes) % 2)


def test_durations_and_schedules() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_schedule(["1h", "1d"]) == (timedelta(hours=1), timedelta(days=1))
    for bad in (["1d", "1h"], [], "1h", ["1w"], ["0s"], [3600]):
        with pytest.raises(ValueError):
            parse_schedule(bad)


def test_next_revisit_skips_steps_already_past() -> None:
    schedule = parse_schedule(["1h", "1d", "7d"])
    assert next_revisit(T0, schedule, T0 + timedelta(hours=1)) == T0 + timedelta(days=1)
    assert next_revisit(T0, schedule, T0 + timedelta(days=3)) == T0 + timedelta(days=7)
    assert next_revisit(T0, schedule, T0 + timedelta(days=8)) is None
    soon = next_revisit(T0, schedule, T0 + timedelta(days=8), removal_suspected=True)
    assert soon == T0 + timedelta(days=8, hours=1)


def test_word_diff_and_character_diff_for_chinese_and_japanese() -> None:
    pieces = diff_tokens("taxes will rise next year", "taxes may rise next year")
    assert render_text(pieces) == "taxes [-will-] {+may+} rise next year"
    assert "<del>will </del><ins>may </ins>" in render_html(pieces)
    assert render_text(diff_tokens("政府周一表示", "政府周二表示")) == "政府周[-一-]{+二+}表示"
    assert render_text(diff_tokens("東京で雨が降った", "東京で雪が降った")) == "東京で[-雨-]{+雪+}が降った"


@given(st.text(max_size=200))
def test_tokens_give_the_text_back(text: str) -> None:
    assert "".join(tokens(text)) == text.lstrip()


@given(st.text(max_size=120), st.text(max_size=120))
def test_a_diff_holds_both_texts(before: str, after: str) -> None:
    """Every character of each version is in its side of the diff, in order, none invented; where the
    spacing of an unchanged run differs, the diff shows one version's (Chinese and Japanese have none)."""
    pieces = diff_tokens(before, after)
    assert _ink("".join(p.text for p in pieces if p.kind != "added")) == _ink(before)
    assert _ink("".join(p.text for p in pieces if p.kind != "removed")) == _ink(after)
    render_html(pieces)


def test_words_of_a_diff_stay_apart() -> None:
    pieces = diff_tokens("0 0", "0")
    assert "".join(p.text for p in pieces if p.kind != "added").split() == ["0", "0"]


def _ink(text: str) -> str:
    return "".join(text.split())


# --- fingerprints of raw pages (scraper.revisit_digest) ------------------------------------------------


def _page(meta: str, body: str = "Twenty people were hurt when the old bridge gave way on Tuesday.") -> bytes:
    return (
        f"<html><head><title>Bridge</title></head><body><div>{meta}</div><p>{body}</p></body></html>".encode()
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("1,204 views", "1,515 views"),
        ("1.2k views", "13k views"),
        ("Views: 1,204", "Views: 88"),
        ("read by 35 people", "read by 36 people"),
        ("Updated 3 hours ago", "Updated 4 hours ago"),
        ("12 comments · 4 shares", "15 comments · 9 shares"),
        ("1204 VIEWS", "1205 VIEWS"),
        ("1,204 views", "1,204 reads"),  # a counter element's word: the comparison leaves it out too
        ("<b>1,204</b> views", "<b>1,515</b> views"),  # inline markup: read through, as the layout does
    ],
)
def test_a_moved_counter_keeps_the_stable_fingerprint(before: str, after: str) -> None:
    """Only a counter moved: the bytes differ, the counters-masked fingerprint does not, and the texts
    compare equal too (the fingerprint spares an extraction the comparison would have found unchanged)."""
    from scraper.revisit_digest import page_digest, stable_digest

    old, new = _page(before), _page(after)
    assert page_digest(old) != page_digest(new)
    assert stable_digest(old) == stable_digest(new)
    assert normalise_text(html_to_text(old.decode())) == normalise_text(html_to_text(new.decode()))


@pytest.mark.parametrize(
    ("before", "after", "body"),
    [
        (
            "1,204 views",
            "1,204 views",
            "Twenty-five people were hurt when the old bridge gave way on Tuesday.",
        ),
        ("10:15 views", "10:15 reads", None),  # a clock's minutes are no counter
        ("5 views: 1,204", "5 views: 1,999", None),  # the comparison keeps the labelled number here
        (
            "Bridge 2 of 3 views",
            "Bridge 2 of 3 views",
            "Twenty people were hurt when the bridge gave way on 3 May.",
        ),
        ("1,204 views", "1,204 views", "Twenty people were hurt when the old bridge gave way on Tuesday 12."),
        ("1,204&nbsp;views", "1,515&nbsp;views", None),  # a character reference: not read here, compared
        ("<td>1,204</td> views", "<td>1,515</td> views", None),  # a cell: not read here, compared
        ("The page had 1,204 views on its first day.", "The page had 1,515 views on its first day.", None),
    ],
)
def test_anything_but_a_counter_changes_the_stable_fingerprint(
    before: str, after: str, body: str | None
) -> None:
    from scraper.revisit_digest import stable_digest

    old = _page(before)
    new = _page(after, body) if body else _page(after)
    assert stable_digest(old) != stable_digest(new)


def test_a_stable_fingerprint_never_hides_an_edit_the_text_comparison_sees() -> None:
    """Over many pages made of counters, clocks, labels and plain numbers in every order: whenever two
    pages share the counters-masked fingerprint, their normalised texts are equal as well."""
    import random

    from scraper.revisit_digest import stable_digest

    rng = random.Random(18)
    pieces = [
        "{n} views", "views: {n}", "{n} hours ago", "at 10:{n:02d}", "{n} people", "read by {n}",
        "{n} comments", "page {n}", "{n}:{n} views", "shares {n}", "threads {n}", "{n}k likes",
    ]  # fmt: skip
    seen: dict[str, str] = {}
    for _ in range(3000):
        chosen = rng.sample(pieces, 3)
        text = " · ".join(piece.format(n=rng.choice([1, 5, 12, 59])) for piece in chosen)
        page = _page(text)
        fingerprint = stable_digest(page)
        normalised = normalise_text(html_to_text(page.decode()))
        assert seen.setdefault(fingerprint, normalised) == normalised, text
    assert len(seen) > 100


def test_a_chinese_version_is_counted_by_its_characters() -> None:
    """`scraper history` says how long each version is: a Chinese headline has no spaces, so each
    character is a word (as 字 are counted), and a number or a Latin word inside it is one."""
    assert word_count("中国拟推动10家物联网成百亿龙头") == 15
    assert word_count("Hello, brave new world") == 4
    assert word_count("東京タワー is tall") == 7
    assert word_count("") == 0


@given(st.text(), st.text())
def test_word_counts_add_up_across_a_space(first: str, second: str) -> None:
    assert word_count(f"{first} {second}") == word_count(first) + word_count(second)
