"""A hostile operator's command line: every argument is a value from outside, checked where it enters, and a
bad one is one line and an exit status, never a traceback (task H, session 15).

Found: `--until 9999-12-31` (the day after it is past any date), `history` given an id past any integer the
database keeps or an argument in bytes that are not UTF-8, and `extract` given a file that never ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.backfill.frontier import parse_day_or_time
from tests.conftest import run_cli, write_config


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.dates().map(str),
        st.datetimes().map(lambda when: when.isoformat()),
        st.sampled_from(
            ["9999-12-31", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "0001-01-01"]
        ),
        st.text(max_size=30),
    ),
    st.booleans(),
)
def test_any_since_or_until_is_a_time_or_a_value_error(text: str, end_of_day: bool) -> None:
    try:
        when = parse_day_or_time(text, end_of_day=end_of_day)
    except ValueError:
        return
    assert when.utcoffset() is not None


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--until", "9999-12-31"),
        ("--since", "0001-01-01T00:00:00+01:00"),
        ("--until", "0001-01-01T00:00:00+01:00"),
        ("--since", "9999-12-31T23:59:59-14:00"),
        ("--until", "9999-12-31T23:59:59-14:00"),
    ],
)
def test_a_date_past_any_datetime_is_one_line(tmp_path: Path, option: str, value: str) -> None:
    config = write_config(tmp_path, [])
    (tmp_path / "urls.txt").write_text("", "utf-8")
    result = run_cli("backfill", "--urls", str(tmp_path / "urls.txt"), option, value, "--config", str(config))
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert option in line


@pytest.mark.parametrize(
    "key", ["99999999999999999999999", "9" * 5000, "\udcff", "http://e.test/\udcff", "٣"]
)
def test_history_of_any_argument_is_found_or_one_line(tmp_path: Path, key: str) -> None:
    config = write_config(tmp_path, [])
    result = run_cli("history", key, "--config", str(config))
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert "no article" in line


def test_extract_reads_a_file_only_up_to_the_body_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    big.write_bytes(b"<p>" + b"x" * 2000 + b"</p>")
    config = write_config(tmp_path, [], http={"max_body_bytes": 1000})
    result = run_cli("extract", str(big), "--config", str(config))
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "1000" in line and str(big) in line
