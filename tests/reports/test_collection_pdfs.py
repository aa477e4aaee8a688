"""The collection PDFs (reports.collection): 口座振替不能通知書 兼 納付書 (text, the slip's GS1-128
barcode decoded from the page image with zxing-cpp, the no-CVS slip), 過誤納金還付・充当通知書 and
収納日計表 (totals = the sums of the rows, several pages) — fonts embedded, bytes deterministic,
written atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pypdfium2 as pdfium
import pytest
from pdf_helpers import flat as _flat
from pdf_helpers import fonts as _fonts
from pdf_helpers import page_texts as _texts

from jobs.common import gs1
from reports import collection
from reports.collection import CollectionReportError

D = dt.date


def _barcode(household_id: str, installment_no: int, pay_by: dt.date, amount: int) -> str:
    free = f"51{2026:04d}{household_id}{installment_no:02d}001"
    return gs1.build(gs1.CvsBarcode(company_code="912345", free_field=free, due_date=pay_by, amount=amount),
                     max_amount=300_000)


def debit_rows() -> pl.DataFrame:
    rows = [
        ("10000100001", 2026, 3, "0000100001", "山田太郎", "3300063", "埼玉県さいたま市浦和区高砂一丁目１番１号",
         D(2026, 8, 31), D(2026, 8, 31), D(2026, 9, 30), "1", 26_000),
        ("10000100002", 2026, 3, "0000100002", "鈴木花子", "3300064", "埼玉県さいたま市浦和区岸町二丁目２番２号",
         D(2026, 8, 31), D(2026, 8, 31), D(2026, 9, 30), "2", 31_500),
        ("10000100003", 2026, 4, "0000100003", "髙橋健太", "3300065", "埼玉県さいたま市浦和区仲町三丁目３番３号",
         D(2026, 9, 30), D(2026, 9, 30), D(2026, 10, 30), "4", 364_000),
    ]
    cols = ["notice_number", "levy_year", "installment_no", "household_id", "taxpayer_name", "postal_code",
            "address", "debit_date", "due_date", "pay_by", "result_code", "amount"]
    df = pl.DataFrame(rows, schema=cols, orient="row").with_columns(
        pl.col("levy_year").cast(pl.Int32), pl.col("installment_no").cast(pl.Int32), pl.col("amount").cast(pl.Int64))
    codes = [_barcode(r[3], r[2], r[9], r[11]) if r[11] <= 300_000 else None for r in rows]
    return df.with_columns(pl.Series("barcode", codes, dtype=pl.String))


def refund_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = pl.DataFrame([
        {"notice_id": "R2026-000001", "taxpayer_name": "山田太郎", "postal_code": "3300063",
         "address": "埼玉県さいたま市浦和区高砂一丁目１番１号", "person_id": "000000000101",
         "decision_date": D(2026, 10, 15), "refund_amount": 12_000, "refund_interest": 300, "offset_total": 8_000,
         "refund_method": "account", "bank_name": "さいたま銀行", "branch_name": "浦和支店", "account_type": "1",
         "account_number_masked": "****567", "payment_date": D(2026, 10, 30)},
        {"notice_id": "R2026-000002", "taxpayer_name": "佐藤一郎", "postal_code": "3300066",
         "address": "埼玉県さいたま市浦和区常盤四丁目４番４号", "person_id": "000000000102",
         "decision_date": D(2026, 10, 15), "refund_amount": 5_000, "refund_interest": 0, "offset_total": 0,
         "refund_method": "counter", "bank_name": None, "branch_name": None, "account_type": None,
         "account_number_masked": None, "payment_date": D(2026, 11, 2)},
        {"notice_id": "R2026-000003", "taxpayer_name": "髙橋健太", "postal_code": "3300065",
         "address": "埼玉県さいたま市浦和区仲町三丁目３番３号", "person_id": "000000000103",
         "decision_date": D(2026, 10, 15), "refund_amount": 0, "refund_interest": 0, "offset_total": 4_000,
         "refund_method": None, "bank_name": None, "branch_name": None, "account_type": None,
         "account_number_masked": None, "payment_date": None},
    ])
    L = [
        ("R2026-000001", "overpayment", 2025, "10000100001", 5, 20_000, 0, "二重納付"),
        ("R2026-000001", "offset", 2026, "10000100001", 2, 8_000, 0, "未納の第2期へ充当"),
        ("R2026-000001", "refund", 2025, "10000100001", 5, 12_000, 300, ""),
        ("R2026-000002", "overpayment", 2026, "10000100004", 1, 5_000, 0, "税額の減額更正"),
        ("R2026-000002", "refund", 2026, "10000100004", 1, 5_000, 0, ""),
        ("R2026-000003", "overpayment", 2026, "10000100003", 1, 4_000, 0, "過納"),
        ("R2026-000003", "offset", 2026, "10000100003", 5, 4_000, 0, ""),
    ]
    lines = pl.DataFrame(L, orient="row", schema=["notice_id", "kind", "levy_year", "notice_number",
                                                  "installment_no", "amount", "interest", "cause_label"])
    return rows, lines


def daily_summary(n_channels: int = 6) -> pl.DataFrame:
    channels = [("counter", "窓口・指定金融機関"), ("cvs", "コンビニ"), ("debit", "口座振替"), ("pension", "年金特別徴収"),
                ("credit", "クレジットカード"), ("app", "スマートフォン決済")]
    kinds = [("confirmed", "確報"), ("provisional", "速報"), ("cancel", "取消"), ("debit_failed", "振替不能")]
    rows = []
    for i, (ch, cl) in enumerate(channels[:n_channels]):
        for j, (k, kl) in enumerate(kinds):
            if ch != "debit" and k == "debit_failed":
                continue
            count = 10 * (i + 1) + j
            amount = (1_000 * (i + 1) + 37 * j) * count * (-1 if k in ("cancel", "debit_failed") else 1)
            rows.append((ch, cl, k, kl, count, amount))
    return pl.DataFrame(rows, orient="row", schema=["channel", "channel_label", "kind", "kind_label", "count", "amount"])


@pytest.fixture(scope="module")
def debit_pdf(tmp_path_factory, cfg):
    path = tmp_path_factory.mktemp("collection") / "debit_failure.pdf"
    stats = collection.render_debit_failure_notices(debit_rows(), cfg, path, issue_date=D(2026, 9, 10),
                                                    record_barcodes=True)
    return path, stats


# --- 口座振替不能通知書 兼 納付書 -------------------------------------------------------------


def test_debit_failure_pages_and_text(debit_pdf):
    path, stats = debit_pdf
    pages = [_flat(t) for t in _texts(path)]
    assert stats.pages == stats.documents == 3 == len(pages)
    assert stats.slips == 3 and stats.barcodes == 2
    p1 = pages[0]
    for expected in ("令和8年度国民健康保険税口座振替不能通知書兼納付書", "〒330-0063", "山田太郎様",
                     "埼玉県さいたま市浦和区高砂一丁目１番１号", "10000100001", "0000100001", "第3期",
                     "令和8年8月31日", "26,000", "1資金不足", "納付期限令和8年9月30日", "令和8年9月10日",
                     "さいたま市長", "問い合わせ先", "048-000-0000",
                     # the slip: title, 年度, 期別, the new deadline, the amount, 領収証書
                     "国民健康保険税納付書", "領収証書", "年度令和8年度期別第3期", "納期限令和8年9月30日"):
        assert expected in p1, expected
    assert "お手数ですが、下の納付書により" in p1
    assert "2取引なし" in pages[1] and "鈴木花子様" in pages[1] and "31,500" in pages[1]
    assert "4預金口座振替依頼書なし" in pages[2]


def test_debit_failure_slip_barcode_decodes_with_zxing(debit_pdf):
    import zxingcpp  # a test dependency (pyproject [test]): missing fails, not skips
    path, stats = debit_pdf
    rows = debit_rows()
    expected = {r["household_id"]: r["barcode"] for r in rows.iter_rows(named=True) if r["barcode"]}
    assert [(p, h) for p, h, _s, _c in stats.drawn_barcodes] == [(1, "0000100001"), (2, "0000100002")]
    doc = pdfium.PdfDocument(str(path))
    try:
        for page, hid, _slot, code in stats.drawn_barcodes:
            assert code == expected[hid] and len(code) == 44
            img = doc[page - 1].render(scale=300 / 72).to_pil()
            found = zxingcpp.read_barcodes(img)
            assert [r.text.replace("(91)", "91") for r in found] == [code]
            assert found[0].symbology_identifier == "]C1"  # GS1-128
            bc = gs1.parse(code, max_amount=300_000)
            assert bc.due_date == D(2026, 9, 30) and bc.amount == rows.filter(pl.col("household_id") == hid)["amount"][0]
    finally:
        doc.close()
    # the human-readable line under the bars
    assert gs1.human_readable(expected["0000100001"]) in _texts(path)[0].replace("\n", " ") or \
        expected["0000100001"] in _texts(path)[0].split("\n")


def test_debit_failure_null_barcode_prints_no_cvs_text(debit_pdf, cfg):
    path, _ = debit_pdf
    page = _flat(_texts(path)[2])
    no_cvs = _flat(str(cfg.get("collection_reports.debit_failure.no_cvs")))
    assert no_cvs in page and "364,000" in page and "髙橋健太" in page
    # page 1 has a barcode: no such text there
    assert no_cvs not in _flat(_texts(path)[0])


def test_debit_failure_unknown_code_fonts_and_determinism(tmp_path, cfg):
    rows = debit_rows().head(1).with_columns(pl.lit("7").alias("result_code"))
    a = collection.render_debit_failure_notices(rows, cfg, tmp_path / "a.pdf")
    b = collection.render_debit_failure_notices(rows, cfg, tmp_path / "b.pdf")
    assert a.pages == b.pages == 1
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert _fonts(tmp_path / "a.pdf") == {("IPAexGothic", 1)}
    assert "7その他" in _flat(_texts(tmp_path / "a.pdf")[0])


def test_debit_failure_missing_column_and_atomic_failure(tmp_path, cfg):
    with pytest.raises(CollectionReportError, match="barcode"):
        collection.render_debit_failure_notices(debit_rows().drop("barcode"), cfg, tmp_path / "x.pdf")
    bad = debit_rows().with_columns(pl.when(pl.col("installment_no") == 4).then(pl.lit(None, pl.Date))
                                    .otherwise(pl.col("pay_by")).alias("pay_by"))
    with pytest.raises(CollectionReportError, match="pay_by"):
        collection.render_debit_failure_notices(bad, cfg, tmp_path / "out" / "broken.pdf")
    assert list((tmp_path / "out").iterdir()) == []


def test_empty_input_gives_one_page(tmp_path, cfg):
    s = collection.render_debit_failure_notices(debit_rows().head(0), cfg, tmp_path / "empty.pdf")
    assert s.documents == 0 and s.pages == 1
    assert "該当なし" in _flat(_texts(tmp_path / "empty.pdf")[0])


# --- 過誤納金還付・充当通知書 ------------------------------------------------------------------


def test_refund_notices_text(tmp_path, cfg):
    rows, lines = refund_frames()
    path = tmp_path / "refund.pdf"
    stats = collection.render_refund_notices(rows, lines, cfg, path)
    pages = [_flat(t) for t in _texts(path)]
    assert stats.documents == 3 and stats.pages == len(pages) == 3
    p1 = pages[0]
    for expected in ("国民健康保険税過誤納金還付・充当通知書", "山田太郎様", "〒330-0063", "R2026-000001", "000000000101",
                     "令和8年10月15日", "過誤納の内容", "令和7年度10000100001第5期20,000二重納付",
                     "充当", "令和8年度10000100001第2期8,000", "還付する額", "令和7年度10000100001第5期12,000300",
                     "20,000円8,000円12,000円300円12,300円", "口座振込", "さいたま銀行浦和支店", "普通****567",
                     "令和8年10月30日", "教示", "審査請求", "問い合わせ先"):
        assert expected in p1, expected
    p2 = pages[1]
    assert "佐藤一郎様" in p2 and "窓口でのお支払い" in p2 and "支払開始日令和8年11月2日" in p2
    assert "5,000円0円5,000円0円5,000円" in p2
    p3 = pages[2]
    assert "全額を未納の税に充当しました" in p3 and "4,000円4,000円0円0円0円" in p3
    assert _fonts(path) == {("IPAexGothic", 1)}


def test_refund_notice_continues_on_a_second_page(tmp_path, cfg):
    rows, _ = refund_frames()
    rows = rows.head(1)
    many = [("R2026-000001", "overpayment", 2025, "10000100001", (k % 10) + 1, 1_000 + k, 0, f"理由{k}")
            for k in range(40)]
    many += [("R2026-000001", "offset", 2026, "10000100001", 2, 8_000, 0, ""),
             ("R2026-000001", "refund", 2025, "10000100001", 5, 12_000, 300, "")]
    lines = pl.DataFrame(many, orient="row", schema=list(collection.REFUND_LINE_COLUMNS))
    a = collection.render_refund_notices(rows, lines, cfg, tmp_path / "a.pdf")
    collection.render_refund_notices(rows, lines, cfg, tmp_path / "b.pdf")
    assert a.documents == 1 and a.pages == 2
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    text = "".join(_flat(t) for t in _texts(tmp_path / "a.pdf"))
    assert all(f"理由{k}" in text for k in range(40))
    assert "（続き）" in text and f"計{sum(1_000 + k for k in range(40)):,}" in text


def test_refund_bad_input(tmp_path, cfg):
    rows, lines = refund_frames()
    with pytest.raises(CollectionReportError, match="kind"):
        collection.render_refund_notices(rows, lines.with_columns(pl.lit("other").alias("kind")), cfg,
                                         tmp_path / "x.pdf")
    with pytest.raises(CollectionReportError, match="refund_method"):
        collection.render_refund_notices(rows.with_columns(pl.lit("cash").alias("refund_method")), lines, cfg,
                                         tmp_path / "y.pdf")
    with pytest.raises(CollectionReportError, match="R2026-000009"):
        orphan = lines.with_columns(pl.lit("R2026-000009").alias("notice_id"))
        collection.render_refund_notices(rows, orphan, cfg, tmp_path / "z.pdf")
    assert not list(tmp_path.iterdir())


# --- 収納日計表 ---------------------------------------------------------------------------------


def _amount_str(v: int) -> str:
    return f"△{-v:,}" if v < 0 else f"{v:,}"


def test_daily_report_totals_are_the_sums(tmp_path, cfg):
    summary = daily_summary()
    path = tmp_path / "daily.pdf"
    stats = collection.render_daily_collection_report(summary, cfg, path, business_date=D(2026, 10, 1),
                                                      municipality_name="さいたま市")
    assert stats.documents == 1 and stats.pages == 1
    text = _flat(_texts(path)[0])
    for expected in ("国民健康保険税収納日計表", "令和8年10月1日", "さいたま市", "1/1頁", "収納経路", "区分", "件数", "金額（円）"):
        assert expected in text, expected
    totals = collection.daily_totals(summary)
    count, amount = summary["count"].sum(), summary["amount"].sum()
    assert totals["total"] == (count, amount)
    assert f"合計{count:,}{_amount_str(amount)}" in text
    for ch in summary["channel"].unique(maintain_order=True).to_list():
        part = summary.filter(pl.col("channel") == ch)
        label = part["channel_label"][0]
        c, a = part["count"].sum(), part["amount"].sum()
        assert totals["channels"][ch] == (c, a)
        assert f"{label}小計{c:,}{_amount_str(a)}" in text, label
    for r in summary.iter_rows(named=True):
        assert f"{r['kind_label']}{r['count']:,}{_amount_str(r['amount'])}" in text
    for k in summary["kind"].unique(maintain_order=True).to_list():
        part = summary.filter(pl.col("kind") == k)
        assert totals["kinds"][k] == (part["count"].sum(), part["amount"].sum())
    assert sum(c for c, _ in totals["channels"].values()) == count
    assert sum(a for _, a in totals["kinds"].values()) == amount


def test_daily_report_multi_page_and_deterministic(tmp_path, cfg):
    base = daily_summary()
    big = pl.concat([base.with_columns((pl.col("channel") + f"_{k}").alias("channel"),
                                       (pl.col("channel_label") + f"{k}").alias("channel_label"))
                     for k in range(4)])
    kw = {"business_date": D(2026, 10, 1), "municipality_name": "さいたま市"}
    a = collection.render_daily_collection_report(big, cfg, tmp_path / "a.pdf", **kw)
    b = collection.render_daily_collection_report(big, cfg, tmp_path / "b.pdf", **kw)
    assert a.pages >= 2 and a.pages == b.pages
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    pages = [_flat(t) for t in _texts(tmp_path / "a.pdf")]
    assert len(pages) == a.pages and all(f"/{a.pages}頁" in p for p in pages)
    assert all("収納経路" in p for p in pages)  # the column heads on every page
    text = "".join(pages)
    assert f"合計{big['count'].sum():,}{_amount_str(big['amount'].sum())}" in text
    assert text.count("小計") == big["channel"].n_unique()
    assert _fonts(tmp_path / "a.pdf") == {("IPAexGothic", 1)}


def test_daily_report_empty(tmp_path, cfg):
    s = collection.render_daily_collection_report(daily_summary().head(0), cfg, tmp_path / "e.pdf",
                                                  business_date=D(2026, 10, 1), municipality_name="さいたま市")
    assert s.pages == 1 and "該当なし" in _flat(_texts(tmp_path / "e.pdf")[0])


def test_config_has_a_reason_for_every_zengin_failure_code(cfg):
    codes = cfg.get("collection_reports.debit_failure.result_codes")
    assert set(map(str, codes)) == {"1", "2", "3", "4", "8", "9"}
    assert Path(collection.__file__).name == "collection.py"
