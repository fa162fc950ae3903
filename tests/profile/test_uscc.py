"""统一社会信用代码 validation (GB 32100-2015), fixtures from DOMAIN.md §1.5."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from parkcredit.profile import Profile, UsccError, parse_uscc
from parkcredit.profile.frame import uscc_valid_mask
from parkcredit.profile.uscc import ALPHABET, check_char, org_check_char, uscc_warnings


@pytest.mark.parametrize(
    "code",
    ["91510311MA62Y8K391", "915103112074653157", "92510311MA6D4Q1U4P", "91110000600037341L",
     "91350100M000100Y43", "91430111MA4L41YT1U", "Y1510311MA62Y8K39B"],
)  # fmt: skip
def test_valid_codes_are_accepted(code: str) -> None:
    assert parse_uscc(code) == code


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("91350100M000100Y4Z", "charset"),
        ("9151031120746531", "length"),
        ("91510311MA62Y8KI0Q", "charset"),
        ("915103O1MA62Y8K3XX", "charset"),
        ("A1110000600037341L", "check_char"),
        ("91350100M0001TGQXM", "check_char"),  # legal Fujian pilot code: only through an audited override
        ("91A10311MA62Y8K391", "region"),
    ],
)
def test_invalid_codes_name_the_failed_rule(code: str, rule: str) -> None:
    with pytest.raises(UsccError) as exc:
        parse_uscc(code)
    assert exc.value.rule == rule


def test_wrong_check_character_says_which_is_expected() -> None:
    with pytest.raises(UsccError, match="check character should be 3, got 4"):
        parse_uscc("91350100M000100Y44")


def test_normalises_full_width_spaces_and_case() -> None:
    assert parse_uscc("９１５１０３１１ma62-y8k3 91") == "91510311MA62Y8K391"


def test_inner_organisation_code_check_is_only_a_warning() -> None:
    code = parse_uscc("91510311MA62Y8K305")  # passes the outer check, fails GB 11714
    assert uscc_warnings(code) and "GB 11714" in uscc_warnings(code)[0]
    assert uscc_warnings(parse_uscc("91510311MA62Y8K391")) == []


def test_profile_refuses_a_bad_code_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="check character should be 3"):
        Profile(uscc="91350100M000100Y44", name="x", as_of="2026-01-01")


def test_org_check_char_maps_10_and_11() -> None:
    # exhaustive over a few bodies: the result is always a digit or X
    for body in ["MA62Y8K3", "20746531", "M000100Y", "600037341"[:8]]:
        assert org_check_char(body) in "0123456789X"


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17).map(lambda s: s[:2] + "510311" + s[8:]))
def test_vectorised_check_agrees_with_the_scalar_one(body: str) -> None:
    good = body + check_char(body)
    bad = body + ALPHABET[(ALPHABET.index(check_char(body)) + 1) % 31]
    mask = uscc_valid_mask(pd.Series([good, bad, None, "short"]))
    assert mask.tolist() == [True, False, False, False]


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17), st.integers(0, 16), st.data())
def test_every_single_character_error_is_detected(body: str, pos: int, data: st.DataObject) -> None:
    code = body + check_char(body)
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != code[pos]]))
    typo = code[:pos] + replacement + code[pos + 1 :]
    assert check_char(typo[:17]) != typo[17]


def test_vectorised_mask_refuses_codes_longer_than_18() -> None:
    import pandas as pd

    from parkcredit.profile.frame import uscc_valid_mask

    good = "91510311MA62Y8K391"
    assert uscc_valid_mask(pd.Series([good, good + "7", good[:17], None])).tolist() == [True, False, False, False]
