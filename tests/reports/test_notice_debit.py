"""口座振替 households' notices (reports.print_data ``debit_accounts``, reports.notices): the print
record's 口座振替 items in the former 予備 (1753–1800) of the golden files, the 納税通知書 showing
「口座振替」 with the 振替日 of each debited 期 and the masked account, and no 納付書 for those 期 (当初
and 変更). A hypothesis property: the debited 期 are exactly those due in or after the 開始年月."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from pdf_helpers import flat as _flat
from pdf_helpers import page_texts as _texts

from jobs.common import fixedwidth as fw
from reports import notices, print_data

H1 = "0000100001"


def _frames(golden, cfg):
    a, i, ad = golden.initial_frames()
    initial = print_data.notice_frame(a, i, ad, cfg, issue_date=golden.ISSUE_DATE,
                                      debit_accounts=golden.debit_accounts())
    ca, ci, pa, pi = golden.change_frames()
    change = print_data.notice_frame(ca, ci, ad, cfg, issue_date=golden.CHANGE_ISSUE_DATE, notice_kind="2",
                                     previous_assessment=pa, previous_installments=pi,
                                     debit_accounts=golden.debit_accounts())
    return initial, change


def test_print_record_debit_items(golden, cfg):
    initial, _ = _frames(golden, cfg)
    by = {r["household_id"]: r for r in initial.iter_rows(named=True)}
    h1 = by[H1]
    assert (h1["debit_kind"], h1["debit_bank_code"], h1["debit_branch_code"], h1["debit_account_type"],
            h1["debit_account_number"], h1["debit_first_installment"], h1["debit_account_holder"]) == (
        "1", "0001", "123", "1", "****567", 2, "ﾔﾏﾀﾞ ﾀﾛｳ")
    assert print_data.debited_slots(h1) == list(range(2, 11))
    # H4's mandate starts after its last 期, H2 has no 普通徴収, H3/H5 no mandate: nothing debited
    for hid in ("0000100002", "0000100003", "0000100004", "0000100005"):
        assert by[hid]["debit_kind"] == "0" and by[hid]["debit_bank_code"] is None, hid
        assert print_data.debited_slots(by[hid]) == []
    # the golden file holds the same bytes at 1753–1800 (cp932; the rest of the record as before)
    layout = fw.load_layout("tax_notice_print")
    data = (golden.HERE / "initial.dat").read_bytes()
    records = [data[k:k + 1802] for k in range(0, len(data), 1802)]
    h1_rec = next(r for r in records if r[:1] == b"2" and r[25:35] == H1.encode())
    assert h1_rec[1752:1800] == "100011231****56702ﾔﾏﾀﾞ ﾀﾛｳ".encode("cp932").ljust(48)
    assert all(r[1752:1753] == b"0" for r in records if r[:1] == b"2" and r is not h1_rec)
    read = fw.read(layout, golden.HERE / "initial.dat").frames["data"]
    assert read.filter(pl.col("household_id") == H1)["debit_first_installment"].to_list() == [2]


def test_notice_says_debit_and_no_slips_for_debited(tmp_path, golden, cfg):
    initial, change = _frames(golden, cfg)
    path = tmp_path / "initial.pdf"
    stats = notices.render_pdf(initial, cfg, path)
    # without 口座振替 H1 has 10 slips: now only 第1期 (due before July); H3 3, H4 3
    assert stats.slips == 1 + 3 + 3
    assert stats.pages == sum(notices.pages_per_notice(r) for r in initial.iter_rows(named=True))
    pages = [_flat(t) for t in _texts(path)]
    h1 = next(p for p in pages if "国民健康保険税納税通知書" in p and "山田太郎様" in p)
    assert "口座振替0001-123普通****567" in h1
    assert "第1期令和8年6月30日32,200" in h1  # on a 納付書
    assert "第2期令和8年7月31日口座振替26,000" in h1 and "第10期令和9年3月31日口座振替26,000" in h1
    assert h1.count("口座振替") == 1 + 9 + 1  # the account line, 9 期, the table's title
    h1_slips = [p for p in pages if "領収証書" in p and "山田太郎" in p]
    assert len(h1_slips) == 1 and "第1期" in h1_slips[0] and "第2期" not in h1_slips[0]
    assert all("****" not in p for p in pages if "髙橋健太様" in p)

    path = tmp_path / "change.pdf"
    stats = notices.render_pdf(change, cfg, path)
    # 変更: H1's open 期 (第2期〜第10期) are all debited, H3 keeps its 2 slips
    assert stats.slips == 2
    pages = [_flat(t) for t in _texts(path)]
    h1 = next(p for p in pages if "税額変更通知書" in p and "山田太郎様" in p)
    assert "第2期令和8年7月31日口座振替26,00030,000+4,000" in h1


@settings(max_examples=60, deadline=None)
@given(start=st.integers(min_value=0, max_value=13), n=st.integers(min_value=1, max_value=10))
def test_debited_are_the_installments_from_the_start_month(golden, cfg, start, n):
    a, _, ad = golden.initial_frames()
    a = a.filter(pl.col("household_id") == "0000100005").with_columns(pl.lit(n * 1000, pl.Int64).alias("annual_tax"))
    dues = [golden.ORDINARY_DUE[k] for k in range(1, 11)][:n]
    inst = pl.DataFrame({"fy": [2026] * n, "household_id": ["0000100005"] * n, "installment_no": list(range(1, n + 1)),
                         "method": ["ordinary"] * n, "month": [d.month for d in dues], "due_date": dues,
                         "amount": [1000] * n})
    first = dt.date(2026, 4, 1) + dt.timedelta(days=31 * start)
    month = f"{first.year:04d}{first.month:02d}"
    acc = pl.DataFrame([("0000100051", "0001", "001", "1", "1234567", "ﾜﾀﾅﾍﾞ ｹｲｺ", month)],
                       schema=["person_id", "bank_code", "branch_code", "account_type", "account_number",
                               "account_holder_kana", "start_month"], orient="row")
    row = print_data.notice_frame(a, inst, ad, cfg, issue_date=golden.ISSUE_DATE, debit_accounts=acc).row(0, named=True)
    expected = [k for k in range(1, n + 1) if f"{dues[k - 1]:%Y%m}" >= month]
    assert print_data.debited_slots(row) == expected
    assert row["debit_kind"] == ("1" if expected else "0")
