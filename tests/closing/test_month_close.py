"""TN510 月次締め on a synthetic two-year ledger, on DuckDB and PostgreSQL: the book's figures per
年度区分 worked by hand, the money conservation (KKB661I) after each step, the month lock (a posting
dated in a closed month is refused: KKB662E, nothing posted; or moved to the next month by rule),
and the rerun of a closed month (same figures, KKB665I)."""

from __future__ import annotations

import datetime as dt

import collection_helpers as ch
import polars as pl
import pytest
from closing_helpers import D, book, scalar

from jobs.arrears import closing
from jobs.common import datasets
from jobs.ledger import LedgerError


def ids(res) -> list[str]:
    return [m.msg_id for m in res.messages]


def seed(b) -> None:
    # FY2025: two 期 of 30,000; one paid, one unpaid (→ 滞納繰越分 in FY2026)
    b.levy(2025, "00000000001", 1, 30000, due=D(2025, 7, 31), on=D(2025, 6, 15))
    b.levy(2025, "00000000001", 2, 30000, due=D(2025, 8, 31), on=D(2025, 6, 15))
    b.pay(2025, "00000000001", 1, 30000, on=D(2025, 7, 30))
    # FY2026: 40,000 + 40,000, corrected to 36,000 on 7/10; 10,000 paid in June, 20,000 in July,
    # 1,000 refunded in July; 5,000 of FY2025's 2期 paid in July
    b.levy(2026, "00000000002", 1, 40000, due=D(2026, 7, 31), on=D(2026, 6, 15))
    b.levy(2026, "00000000002", 2, 40000, due=D(2026, 8, 31), on=D(2026, 6, 15))
    b.correct(2026, "00000000002", 2, 36000, on=D(2026, 7, 10))
    b.pay(2026, "00000000002", 1, 10000, on=D(2026, 6, 20))
    b.pay(2026, "00000000002", 1, 20000, on=D(2026, 7, 20))
    b.refund(2026, "00000000002", 1, 1000, on=D(2026, 7, 25))
    b.pay(2025, "00000000001", 2, 5000, on=D(2026, 7, 21))


def row(books: pl.DataFrame, cat: str, comp: str = "total") -> dict:
    return books.filter((pl.col("category") == cat) & (pl.col("component") == comp)).row(0, named=True)


def test_month_close_figures_conservation_and_lock(ledger_url):
    with book() as b:
        seed(b)
    res = ch.run("TN510", D(2026, 8, 3))
    assert res.rc == 0, res.log_text()
    assert "KKB661I" in ids(res) and "KKB660I" in ids(res)
    books = datasets.read("closing_month_books", municipality=ch.MUNI)
    cur, car, tot = row(books, "current"), row(books, "carried"), row(books, "total")
    # 現年度 (FY2026): 調定 40,000 + 36,000; 収入 30,000; 還付 1,000; 未済 76,000 − 30,000 + 1,000
    assert (cur["levy"], cur["income"], cur["refund"], cur["unpaid"]) == (76000, 30000, 1000, 47000)
    assert (cur["levy_month"], cur["income_month"], cur["refund_month"]) == (-4000, 20000, 1000)
    # 滞納繰越分: 繰越調定 = FY2025's 未済 at 3/31 (30,000), 5,000 collected in July
    assert (car["levy"], car["income"], car["unpaid"]) == (30000, 5000, 25000)
    assert tot["unpaid"] == 72000 and tot["levy"] == 106000
    # the components add up to the total, to the yen; 子ども分 only in FY2026's 調定
    for cat in ("current", "carried", "total"):
        part = books.filter((pl.col("category") == cat) & (pl.col("component") != "total"))
        for c in closing.MONEY:
            assert int(part[c].sum()) == row(books, cat)[c], (cat, c)
    assert row(books, "current", "child")["levy"] == 2000 + 1800
    assert cur["rate"] == closing.rate(76000, 29000) == "38.16"
    # the conservation printed: Σ調定 136,000 − Σ収入 65,000 + Σ還付 1,000 − 0 = 72,000
    line = next(m.text for m in res.messages if m.msg_id == "KKB661I")
    assert "136,000" in line and "72,000" in line and "一致" in line
    # locked: a payment received in July is refused, nothing posted
    with book("late") as b2, pytest.raises(LedgerError, match="月次締め済み"):
        b2.pay(2026, "00000000002", 2, 100, on=D(2026, 7, 31))
    assert scalar("SELECT COUNT(*) FROM payment WHERE tax_amount = 100") == 0
    # August is open
    with book("aug") as b3:
        b3.pay(2026, "00000000002", 2, 100, on=D(2026, 8, 3))
    # rerun of the closed month: same figures (the August payment is not July's)
    res2 = ch.run("TN510", D(2026, 8, 3))
    assert res2.rc == 0 and "KKB665I" in ids(res2), res2.log_text()


def test_next_month_rule_books_late_postings_to_the_next_open_month(ledger_url, monkeypatch):
    with book() as b:
        seed(b)
    monkeypatch.setattr(closing, "_rule", lambda ctx: "next_month")
    assert ch.run("TN510", D(2026, 8, 3)).rc == 0
    with book("late") as b2:
        b2.pay(2026, "00000000002", 2, 100, on=D(2026, 7, 31))
    assert scalar("SELECT received_date FROM payment WHERE tax_amount = 100") == D(2026, 8, 1)
    assert scalar("SELECT paid_date FROM payment WHERE tax_amount = 100") == D(2026, 7, 31)


def test_conservation_break_is_rc8_and_the_month_stays_open(ledger_url):
    with book() as b:
        seed(b)
        with b.ledger.transaction() as tx:  # a 期別 whose 累計収納額 no posting explains
            tx.execute("UPDATE installment SET paid_amount = paid_amount + 7 WHERE levy_year = 2026 "
                       "AND installment_no = 2")
    res = ch.run("TN510", D(2026, 8, 3))
    assert res.rc == 8 and "KKB664E" in ids(res)
    assert "差 7円" in next(m.text for m in res.messages if m.msg_id == "KKB664E")
    assert scalar("SELECT COUNT(*) FROM closing_month") == 0


def test_allocate_adds_up():
    for amount in (0, 1, 7, 99999, -12345):
        parts = closing.allocate(amount, {"medical": 600, "support": 250, "care": 150, "child": 0})
        assert sum(parts.values()) == amount and parts["child"] == 0
    assert closing.rate(3, 2) == "66.67" and closing.rate(0, 5) == ""
    assert closing.previous_month(dt.date(2026, 1, 5)) == dt.date(2025, 12, 1)


GOLDEN = ch.FIXTURES / "closing_books" / "kessan_202607.csv"


def test_books_csv_golden_and_pdf_with_charts(ledger_url):
    with book() as b:
        seed(b)
    assert ch.run("TN510", D(2026, 8, 3)).rc == 0
    res = ch.run("TN520", D(2026, 8, 3))
    assert res.rc == 0, res.log_text()
    assert res.totals.figures["book.month.charts"] == 2
    folder = next((ch.paths.reports_root() / "closing").iterdir())
    csv = (folder / "kessan_202607.csv").read_bytes()
    pdf = (folder / "kessan_202607.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"FontFile2" in pdf  # the font embedded
    if not GOLDEN.exists() or GOLDEN.read_bytes() != csv:  # on mismatch: the actual beside the golden
        GOLDEN.with_name(GOLDEN.stem + "_actual.csv").write_bytes(csv)
    assert GOLDEN.exists() and GOLDEN.read_bytes() == csv, f"golden differs: see {GOLDEN.stem}_actual.csv"
    # rerun: byte-identical
    assert ch.run("TN520", D(2026, 8, 3)).rc == 0
    assert (folder / "kessan_202607.pdf").read_bytes() == pdf


def test_books_of_an_open_month_is_rc8(ledger_url):
    res = ch.run("TN520", D(2026, 8, 3))
    assert res.rc == 8 and "KKB676E" in ids(res)
