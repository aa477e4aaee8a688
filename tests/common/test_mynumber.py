"""個人番号 check digit (番号法施行規則 第5条) and the vectorised helpers."""

from __future__ import annotations

import hmac

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.common import mynumber

# Published examples.
# - 983205673214 is shown as 正しい and 983205673210 as 誤り by the worked Python example in
#   https://qiita.com/ekzemplaro/items/6e4e782c00d29fda15a9 (「マイナンバー(個人番号)の検査用数字の確認方法」, 2024-02-21).
# - The specimen card's 123456789012 is called invalid by https://note.com/tender_ferret930/n/nb7ba4c2e9cf8
#   (「…このカードのチェックデジットは「8」になるはず…」): 12345678901 has check digit 8.
VALID = ["983205673214", "123456789018"]
INVALID = ["983205673210", "123456789012"]

digits11 = st.text(alphabet="0123456789", min_size=11, max_size=11)


def test_published_examples():
    for s in VALID:
        assert mynumber.is_valid(s)
    for s in INVALID:
        assert not mynumber.is_valid(s)
    assert mynumber.check_digit("98320567321") == 4
    assert mynumber.check_digit("12345678901") == 8


def test_formula_by_hand():
    # weights 6 5 4 3 2 7 6 5 4 3 2: "00000000001" -> r = 2 -> 11 - 2 = 9
    assert mynumber.check_digit("00000000001") == 9
    # r = 0 and r = 1 both give 0
    assert mynumber.check_digit("00000000000") == 0
    assert mynumber.check_digit("00000010000") == 5  # 7th digit from the left has weight 6: r = 6
    # "10000000000": r = 6 -> 5; "00000000006": r = 12 % 11 = 1 -> 0
    assert mynumber.check_digit("10000000000") == 5
    assert mynumber.check_digit("00000000006") == 0


@pytest.mark.parametrize("bad", ["", "1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１", None, 12345678901])
def test_check_digit_rejects_malformed_without_echoing(bad):
    with pytest.raises(ValueError) as exc:
        mynumber.check_digit(bad)  # type: ignore[arg-type]
    if isinstance(bad, str) and bad:
        assert bad not in str(exc.value)


@pytest.mark.parametrize("bad", ["", "98320567321", "9832056732140", "98320567321x", "９８３２０５６７３２１４", " 98320567321"])
def test_is_valid_rejects_malformed(bad):
    assert not mynumber.is_valid(bad)


@given(digits11)
def test_appending_the_check_digit_makes_a_valid_number(first11):
    assert mynumber.is_valid(first11 + str(mynumber.check_digit(first11)))


@given(digits11, st.integers(1, 9))
def test_any_other_last_digit_is_invalid(first11, shift):
    cd = mynumber.check_digit(first11)
    assert not mynumber.is_valid(first11 + str((cd + shift) % 10))


@given(digits11, st.integers(0, 10), st.integers(1, 9))
def test_single_digit_error_detected_unless_remainder_folds(first11, pos, shift):
    """A changed digit moves r by weight*shift (non-zero mod 11); only r in {0,1} fold onto 0."""
    good = first11 + str(mynumber.check_digit(first11))
    bad = good[:pos] + str((int(good[pos]) + shift) % 10) + good[pos + 1:]
    r = sum(int(c) * int(w) for c, w in zip(bad[:11], mynumber.WEIGHTS)) % 11
    r0 = sum(int(c) * int(w) for c, w in zip(good[:11], mynumber.WEIGHTS)) % 11
    assert r != r0
    assert mynumber.is_valid(bad) == ({r, r0} == {0, 1})


@settings(max_examples=50)
@given(st.lists(st.one_of(st.none(), st.text(max_size=14), digits11.map(lambda s: s + str(mynumber.check_digit(s))),
                          st.text(alphabet="0123456789", min_size=12, max_size=12)), max_size=40))
def test_valid_mask_agrees_with_is_valid(values):
    s = pl.Series("my_number", values, dtype=pl.String)
    got = mynumber.valid_mask(s)
    assert got.dtype == pl.Boolean and got.name == "my_number"
    assert got.to_list() == [v is not None and mynumber.is_valid(v) for v in values]


def test_valid_mask_empty_and_all_null():
    assert mynumber.valid_mask(pl.Series("x", [], dtype=pl.String)).to_list() == []
    assert mynumber.valid_mask(pl.Series("x", [None, None], dtype=pl.String)).to_list() == [False, False]


def test_check_digits_array_matches_scalar():
    import numpy as np

    rng = np.random.default_rng(7)
    d = rng.integers(0, 10, size=(2000, 11))
    got = mynumber.check_digits_array(d)
    want = [mynumber.check_digit("".join(map(str, row))) for row in d]
    assert got.tolist() == want


def test_hmac_digest():
    key = b"k" * 32
    s = pl.Series("my_number", ["983205673214", None, "123456789018"])
    got = mynumber.hmac_digest(s, key)
    assert got[1] is None
    assert got[0] == hmac.new(key, b"983205673214", "sha256").hexdigest()
    assert len(got[2]) == 64 and got[0] != got[2]
    assert "983205673214" not in "".join(v for v in got.to_list() if v)
    other = mynumber.hmac_digest(s, b"x" * 32)
    assert other[0] != got[0]


def test_hmac_digest_rejects_short_key():
    with pytest.raises(ValueError):
        mynumber.hmac_digest(pl.Series(["983205673214"]), b"short")
