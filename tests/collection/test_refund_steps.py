"""SN300 過誤納整理 through the real step — on DuckDB and PostgreSQL (``ledger_url``):

an overpaid 期別 is offset (充当) to the same payer's unpaid past-due 期別 oldest first, the rest
refunded (還付) with 還付加算金 = ``refunds.refund_interest`` of the dates; 口座 when the payer has an
active 口座振替 (→ the 総合振込 file, trailer = amount + interest), 窓口 otherwise; 納付履歴 lines
(充当元 −, 充当先 +, 還付 −), refund / refund_offset rows; afterwards no 期別 is paid above its 調定;
a rerun decides nothing more and writes the same bytes; a 減額更正 (SN100) gives 事由 01.
"""

from __future__ import annotations

import polars as pl
from collection_helpers import (
    MUNI,
    D,
    counter_file,
    counter_record,
    drop,
    installments,
    levy_file,
    levy_row,
    mandate_file,
    mandate_record,
    msg_ids,
    pdf_text,
    put_levy,
    q,
    run,
    scalar,
    write_qualification,
)

from jobs.collection import refunds as rf
from jobs.common import bizcal, config, datasets, paths
from jobs.common import fixedwidth as fw

P, Q, R = "0000000021", "0000000022", "0000000023"  # P: 口座振替 (口座還付), Q and R: none (窓口)
DECISION = D(2026, 12, 1)
NEXT_DAY = D(2026, 12, 2)


def n(person: str) -> str:
    return "1" + person


def refund_rows() -> pl.DataFrame:
    return q("SELECT refund_id, person_id, cause_code, amount, interest, method, status, bank_code, account_number, "
             "decision_date FROM refund ORDER BY refund_id")


def offset_rows() -> pl.DataFrame:
    return q("SELECT kind, person_id, from_notice_number, from_installment_no, to_notice_number, to_installment_no, "
             "refund_id, amount, interest, cause_code FROM refund_offset ORDER BY decision_id, line_no")


def offset_payments() -> pl.DataFrame:
    return q("SELECT notice_number, installment_no, refund_offset_kind, cash_kind, tax_amount, received_date "
             "FROM payment WHERE channel = 'offset' ORDER BY source_sha256, record_no, line_no")


def refund_files() -> list:
    folder = paths.outbox("bank") / "refund"
    return sorted(folder.glob("*.dat")) if folder.is_dir() else []


def setup_ledger() -> None:
    put_levy(levy_file([
        levy_row(n(P), 1, 50_000, due_date=D(2026, 7, 31)),  # unpaid, past due: 充当先 (oldest)
        levy_row(n(P), 2, 50_000, due_date=D(2026, 8, 31)),  # unpaid, past due: 充当先
        levy_row(n(P), 3, 50_000, due_date=D(2026, 9, 30)),  # paid 1,050,000: 過誤納 1,000,000
        levy_row(n(P), 5, 50_000, due_date=D(2027, 1, 4)),  # unpaid, not yet due: no 充当
        levy_row(n(Q), 1, 30_000, due_date=D(2026, 7, 31)),  # paid twice: 二重納付
        levy_row(n(R), 1, 40_000, due_date=D(2026, 7, 31)),  # paid; a 減額更正 later
    ]), "levy_refund.dat")
    assert run("SN100", D(2026, 6, 15)).rc == 0
    drop(mandate_file([mandate_record(P, "1", bank_code="0005", branch_code="010", account_number="8888888",
                                      holder="ｶﾝﾌﾟ ﾀﾛｳ")]), "koufuri", "KOUFURI_IRAI_P.dat")
    assert run("SN010", D(2026, 6, 15)).rc == 0
    assert run("SN020", D(2026, 6, 15)).rc == 0
    drop(counter_file([
        counter_record(n(P), 3, 1_050_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2)),
        counter_record(n(Q), 1, 30_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2), serial=2),
        counter_record(n(Q), 1, 30_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2), serial=3),
        counter_record(n(R), 1, 40_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2), serial=4),
    ], creation_date=D(2026, 7, 2)), "counter", "COUNTER_20260702.dat")
    assert run("SN200", D(2026, 7, 2)).rc == 0
    res = run("SN205", D(2026, 7, 2))
    assert res.rc == 0, res.log_text
    write_qualification([P, Q, R])


def test_offset_refund_interest_transfer_and_rerun(ledger_url):
    setup_ledger()
    cfg = config.load(MUNI, 2026)
    res = run("SN300", DECISION)
    assert res.rc == 0, res.log_text
    assert "KKB462I" in msg_ids(res)
    gen = datasets.generation_name(MUNI, 2026, DECISION)

    # 充当 oldest first (P 1期, 2期), not the 期 not yet due (5期); the rest refunded
    off = offset_rows()
    assert off.select("kind", "person_id", "from_notice_number", "from_installment_no", "to_notice_number",
                      "to_installment_no", "amount", "cause_code").rows() == [
        ("2", P, n(P), 3, n(P), 1, 50_000, "03"),
        ("2", P, n(P), 3, n(P), 2, 50_000, "03"),
        ("1", P, n(P), 3, None, None, 900_000, "03"),
        ("1", Q, n(Q), 1, None, None, 30_000, "02"),
    ]
    # 還付加算金 per refund_interest: 誤納 starts the day after one month has passed from the day
    # after the payment (7/1 → 8/2) and runs to the decision day; the 充当 portions to the 充当適状日
    p_interest = rf.refund_interest(900_000, D(2026, 8, 2), DECISION, cfg)
    assert p_interest == 3_900  # ⌊900,000 × 1.3% × 122 / 365⌋ = 3,910 → 100円未満切捨て
    q_interest = rf.refund_interest(30_000, D(2026, 8, 2), DECISION, cfg)
    assert q_interest == 0  # below 1,000円
    assert off["interest"].to_list() == [
        rf.refund_interest(50_000, D(2026, 8, 2), D(2026, 8, 1), cfg),  # 充当適状日 8/1 < 起算日: 0
        rf.refund_interest(50_000, D(2026, 8, 2), D(2026, 9, 1), cfg),
        p_interest, q_interest]

    ref = refund_rows()
    prefix = f"{MUNI}{DECISION:%Y%m%d}"
    assert ref.select("refund_id", "person_id", "cause_code", "amount", "interest", "method", "bank_code",
                      "account_number").rows() == [
        (prefix + "000001", P, "03", 900_000, p_interest, "1", "0005", "8888888"),  # 口座
        (prefix + "000002", Q, "02", 30_000, q_interest, "2", None, None),  # 窓口
    ]
    assert off["refund_id"].to_list()[2:] == [prefix + "000001", prefix + "000002"]

    # 納付履歴: 充当元 −, 充当先 +, 還付 −
    pay = offset_payments()
    assert pay.select("notice_number", "installment_no", "refund_offset_kind", "cash_kind", "tax_amount").rows() == [
        (n(P), 3, "2", "2", -50_000), (n(P), 1, "3", "1", 50_000),
        (n(P), 3, "2", "2", -50_000), (n(P), 2, "3", "1", 50_000),
        (n(P), 3, "1", "2", -900_000),
        (n(Q), 1, "1", "2", -30_000),
    ]
    assert set(pay["received_date"]) == {DECISION}
    inst = installments()
    assert [inst[(2026, n(P), i)]["paid_amount"] for i in (1, 2, 3, 5)] == [50_000, 50_000, 50_000, 0]
    assert inst[(2026, n(Q), 1)]["paid_amount"] == 30_000
    # Σ over the ledger: nothing paid above its 調定 any more, and 累計収納額 = Σ 納付履歴
    assert scalar("SELECT COUNT(*) FROM installment WHERE paid_amount > levy_amount") == 0
    assert scalar("SELECT SUM(paid_amount) FROM installment") == scalar("SELECT SUM(tax_amount) FROM payment") \
        == 1_150_000 - 930_000

    # the 総合振込 file: P only, trailer = amount + interest
    cal = bizcal.BusinessCalendar.from_config(cfg)
    tdate = cal.add_business_days(DECISION, int(cfg.get("collection.refund_transfer_business_days_after")))
    files = refund_files()
    assert [f.name for f in files] == [f"SOUFURI_KANPU_{tdate:%Y%m%d}_{gen[-8:]}.dat"]
    transfer = files[0].read_bytes()
    got = fw.read(fw.load_layout("zengin_21_transfer"), transfer, source="refund").frames
    assert got["data"].select("bank_code", "branch_code", "account_number", "amount", "customer_code1").rows() == [
        ("0005", "010", "8888888", 900_000 + p_interest, (prefix + "000001")[-10:])]
    t = got["trailer"].row(0, named=True)
    assert (t["total_count"], t["total_amount"]) == (1, 900_000 + p_interest)
    assert transfer[54:58] == f"{tdate:%m%d}".encode()
    # 還付充当通知書
    pdf = paths.reports_root() / "collection" / gen / "kanpu_juto.pdf"
    text = pdf_text(pdf)
    assert "900,000" in text and "30,000" in text
    decisions = datasets.read("refund_decisions", datasets.latest("refund_decisions", municipality=MUNI))
    assert decisions.height == 4 and int(decisions["amount"].sum()) == 1_030_000
    pdf_bytes = pdf.read_bytes()

    # rerun the same day: nothing decided again, the same bytes
    res = run("SN300", DECISION)
    assert res.rc == 0, res.log_text
    assert "KKB461I" in msg_ids(res) and "KKB462I" not in msg_ids(res)
    assert refund_rows().height == 2 and offset_rows().height == 4 and offset_payments().height == 6
    assert pdf.read_bytes() == pdf_bytes
    assert [f.name for f in refund_files()] == [files[0].name] and files[0].read_bytes() == transfer

    # a 減額更正 of R's paid 期別 (40,000 → 25,000), registered by SN100: 過納, 事由 01
    put_levy(levy_file([levy_row(n(R), 1, 25_000, levy_kind="2", correction_seq=1, change=-15_000,
                                 levy_date=NEXT_DAY, due_date=D(2026, 7, 31))],
                       file_kind="2", creation_date=NEXT_DAY), "levy_refund_kosei.dat")
    assert run("SN100", NEXT_DAY).rc == 0
    assert installments()[(2026, n(R), 1)]["correction_seq"] == 1
    res = run("SN300", NEXT_DAY)
    assert res.rc == 0, res.log_text
    ref = refund_rows()
    assert ref.height == 3
    r = ref.row(2, named=True)
    assert (r["refund_id"], r["person_id"], r["cause_code"], r["amount"], r["method"]) == (
        f"{MUNI}{NEXT_DAY:%Y%m%d}000001", R, "01", 15_000, "2")
    # 過納 (第1号): from the day after the payment to the decision day
    assert r["interest"] == rf.refund_interest(15_000, D(2026, 7, 2), NEXT_DAY, cfg)
    assert offset_rows().filter(pl.col("person_id") == R).select("kind", "amount", "cause_code").rows() == [
        ("1", 15_000, "01")]
    assert installments()[(2026, n(R), 1)]["paid_amount"] == 25_000
    assert scalar("SELECT COUNT(*) FROM installment WHERE paid_amount > levy_amount") == 0
    assert len(refund_files()) == 1  # 窓口 only: no new transfer file
