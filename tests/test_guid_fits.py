"""A feed's GUID fits its column and PostgreSQL's index whatever its characters (scraper.sanitize)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scraper.sanitize import MAX_GUID_BYTES, MAX_GUID_CHARS, fitting_guid, storable_text

# Long runs of one script, and every plane: the byte width of a character is what differs.
_GUIDS = st.one_of(
    st.text(max_size=3000),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=500, max_size=2500),
    st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=400, max_size=700),
    st.text(alphabet="abc", min_size=2000, max_size=2100),
)


@given(_GUIDS)
def test_a_fitted_guid_fits_by_characters_and_bytes_and_fits_again_as_itself(guid: str) -> None:
    fitted = fitting_guid(guid)
    if fitted is None:
        assert storable_text(guid) is None
        return
    assert len(fitted) <= MAX_GUID_CHARS
    assert len(fitted.encode("utf-8")) <= MAX_GUID_BYTES
    assert fitting_guid(fitted) == fitted


@given(_GUIDS)
def test_a_guid_that_fits_is_kept_as_it_is(guid: str) -> None:
    stored = storable_text(guid)
    if stored is not None and len(stored) <= MAX_GUID_CHARS and len(stored.encode()) <= MAX_GUID_BYTES:
        assert fitting_guid(guid) == stored


@given(
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=700, max_size=900)
)
def test_two_long_guids_sharing_a_head_stay_two(head: str) -> None:
    assert fitting_guid(head + "一") != fitting_guid(head + "二")


def test_an_ascii_guid_at_the_columns_width_is_unchanged() -> None:
    guid = "x" * MAX_GUID_CHARS
    assert fitting_guid(guid) == guid
