"""口座振替 through the real steps — on DuckDB and PostgreSQL (``ledger_url``):

SN010 + SN020 口座振替依頼書 → debit_mandate 履歴 (新規・変更・停止); SN120 口座振替請求 on the
request day (振替日 − ``collection.direct_debit.request_business_days_before`` business days, over
weekends, holidays and 12/29–1/3) → one 全銀 種別91 file per bank, the bank's line end, the balance of
each 普通徴収 期別 with an active mandate; a rerun writes the same bytes and requests nothing twice;
SN110 + SN115 + SN130 結果 → debit_request の結果, 口座振替不能通知書; a re-debit gets 請求連番 002.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
from collection_helpers import (
    COMPANY,
    MUNI,
    D,
    add_debit_requests,
    counter_file,
    counter_record,
    customer_number,
    debit_file,
    debit_record,
    drop,
    free_field,
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

from jobs.collection import direct_debit as dd
from jobs.common import bizcal, config, datasets, gs1, paths
from jobs.common import fixedwidth as fw

DEBIT = D(2026, 9, 30)  # 振替日 (= 納期限); request day 9/18: 9/19–9/23 土日・敬老の日・国民の休日・秋分の日
REQUEST_DAY = D(2026, 9, 18)
YEAR_END_DEBIT = D(2027, 1, 4)  # request day 12/22: 12/29–1/3 閉庁 and two weekends in between
YEAR_END_REQUEST = D(2026, 12, 22)
REDEBIT = D(2026, 10, 30)  # the 振替不能 期別's new 納期限 after a 更正 (request day 10/23)

A, B, C, Dp, E = "0000000011", "0000000012", "0000000013", "0000000014", "0000000015"


def n(person: str, method: str = "1") -> str:
    return method + person


def outbox(bank: str, debit_date: dt.date):
    return paths.outbox("bank") / bank / f"KOUFURI_111007_{bank}_{debit_date:%Y%m%d}.dat"


def bank_files() -> list[str]:
    root = paths.outbox("bank")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.dat")) if root.is_dir() else []


def mandates() -> pl.DataFrame:
    return q("SELECT person_id, history_no, latest_flag, registration_kind, bank_code, branch_code, account_type, "
             "account_number, stop_reason FROM debit_mandate ORDER BY person_id, history_no")


def requests() -> pl.DataFrame:
    return q("SELECT customer_number, debit_date, bank_code, amount, status, result_code, request_file "
             "FROM debit_request ORDER BY customer_number")


def setup_ledger() -> None:
    """調定 (SN100), two 口座振替依頼書 files (SN010 + SN020) and counter payments (SN200 + SN205)."""
    put_levy(levy_file([
        levy_row(n(A), 3, 20_000, due_date=DEBIT),
        levy_row(n(A), 7, 20_000, due_date=YEAR_END_DEBIT),
        levy_row(n(B), 3, 15_000, due_date=DEBIT),  # partly paid: requests the balance
        levy_row(n(B), 7, 15_000, due_date=YEAR_END_DEBIT),
        levy_row(n(B, "2"), 3, 18_000, due_date=DEBIT),  # 特別徴収 of the same payer: never requested
        levy_row(n(C), 3, 12_000, due_date=DEBIT),  # mandate stopped
        levy_row(n(Dp), 3, 9_000, due_date=DEBIT),  # fully paid
        levy_row(n(E), 3, 30_000, due_date=DEBIT),
        levy_row(n(E), 10, 30_000, due_date=D(2027, 3, 31)),  # 令和8年度 最終期: its result comes in fy 2027
    ]), "levy_debit.dat")
    assert run("SN100", D(2026, 9, 1)).rc == 0
    drop(mandate_file([
        mandate_record(A, "1", bank_code="0001", branch_code="001", account_number="1111111"),
        mandate_record(B, "1", bank_code="0001", branch_code="001", account_number="3333333"),
        mandate_record(C, "1", bank_code="0001", branch_code="002", account_number="4444444"),
        mandate_record(Dp, "1", bank_code="0001", branch_code="001", account_number="5555555"),
        mandate_record(E, "1", bank_code="0017", branch_code="300", account_number="6666666"),
        mandate_record(E, "2", bank_code="0001", branch_code="003", account_number="7777777"),  # same file
    ]), "koufuri", "KOUFURI_IRAI_20260901.dat")
    assert run("SN010", D(2026, 9, 1)).rc == 0
    res = run("SN020", D(2026, 9, 1))
    assert res.rc == 0, res.log_text
    assert "KKB430I" in msg_ids(res)
    drop(mandate_file([
        mandate_record(A, "2", bank_code="0017", branch_code="200", account_number="2222222",
                       received_date=D(2026, 9, 1), start_month="202609"),
        mandate_record(C, "3", bank_code="0001", branch_code="002", account_number="4444444",
                       received_date=D(2026, 9, 1), stop_reason="1"),
    ], creation_date=D(2026, 9, 2)), "koufuri", "KOUFURI_IRAI_20260902.dat")
    assert run("SN010", D(2026, 9, 2)).rc == 0
    res = run("SN020", D(2026, 9, 2))
    assert res.rc == 0, res.log_text
    drop(counter_file([
        counter_record(n(B), 3, 5_000, paid_date=D(2026, 9, 2), received_date=D(2026, 9, 3)),
        counter_record(n(Dp), 3, 9_000, paid_date=D(2026, 9, 2), received_date=D(2026, 9, 3), serial=2),
    ], creation_date=D(2026, 9, 3)), "counter", "COUNTER_20260903.dat")
    assert run("SN200", D(2026, 9, 3)).rc == 0
    assert run("SN205", D(2026, 9, 3)).rc == 0


def test_mandates_requests_and_rerun(ledger_url):
    setup_ledger()
    # --- SN020: the history of each payer ---
    m = mandates()
    assert m.select("person_id", "history_no", "latest_flag", "registration_kind", "bank_code", "branch_code",
                    "account_number").rows() == [
        (A, 1, False, "1", "0001", "001", "1111111"),
        (A, 2, True, "2", "0017", "200", "2222222"),  # 変更 to a new account
        (B, 1, True, "1", "0001", "001", "3333333"),
        (C, 1, False, "1", "0001", "002", "4444444"),
        (C, 2, True, "3", "0001", "002", "4444444"),  # 停止 keeps the account
        (Dp, 1, True, "1", "0001", "001", "5555555"),
        (E, 1, False, "1", "0017", "300", "6666666"),
        (E, 2, True, "2", "0001", "003", "7777777"),  # 新規 and 変更 in one file: record order
    ]
    assert m.filter(pl.col("person_id") == C)["stop_reason"].to_list()[1] == "1"
    # the same files again: nothing registered twice
    res = run("SN020", D(2026, 9, 2))
    assert res.rc == 0 and "KKB431I" in msg_ids(res)
    assert mandates().height == 8

    # --- the request day comes from the business calendar ---
    cfg = config.load(MUNI, 2026)
    cal = bizcal.BusinessCalendar.from_config(cfg)
    assert int(cfg.get("collection.direct_debit.request_business_days_before")) == 5
    assert dd.request_day(cal, cfg, DEBIT) == REQUEST_DAY
    assert [cal.add_business_days(REQUEST_DAY, i) for i in range(1, 6)] == [
        D(2026, 9, 24), D(2026, 9, 25), D(2026, 9, 28), D(2026, 9, 29), DEBIT]  # 9/19–9/23 skipped
    assert not any(cal.is_business_day(D(2026, 9, d)) for d in range(19, 24))
    assert dd.request_day(cal, cfg, YEAR_END_DEBIT) == YEAR_END_REQUEST
    assert not any(cal.is_business_day(D(2026, 12, 29) + dt.timedelta(days=i)) for i in range(6))  # 12/29–1/3

    # --- a day that is no request day: nothing ---
    res = run("SN120", D(2026, 9, 17))
    assert res.rc == 0 and "KKB440I" in msg_ids(res)
    assert bank_files() == [] and scalar("SELECT COUNT(*) FROM debit_request") == 0

    # --- the request day: one file per bank ---
    res = run("SN120", REQUEST_DAY)
    assert res.rc == 0, res.log_text
    # the name has the 団体コード (collection.direct_debit.request_file): two cities' files never collide
    assert bank_files() == ["0001/KOUFURI_111007_0001_20260930.dat", "0017/KOUFURI_111007_0017_20260930.dat"]
    assert set(q("SELECT DISTINCT request_file FROM debit_request")["request_file"]) == {
        "KOUFURI_111007_0001_20260930.dat", "KOUFURI_111007_0017_20260930.dat"}
    f0001, f0017 = outbox("0001", DEBIT).read_bytes(), outbox("0017", DEBIT).read_bytes()
    # bank 0001: CRLF (default profile); bank 0017: line_end none (120-byte records, no line end)
    assert len(f0001) == 5 * 122 and all(f0001[i * 122 + 120:i * 122 + 122] == b"\r\n" for i in range(5))
    assert len(f0017) == 4 * 120 and b"\r" not in f0017 and b"\n" not in f0017
    layout = fw.load_layout("zengin_91_request")
    for data, bank, recs in ((f0001, "0001", [(B, "001", "3333333", 10_000), (E, "003", "7777777", 30_000)]),
                             (f0017, "0017", [(A, "200", "2222222", 20_000)])):
        assert data[0:1] == b"1" and data[1:3] == b"91"
        assert data[54:58] == b"0930"  # 引落日 = MMDD of the 振替日
        assert data[58:62] == bank.encode()
        got = fw.read(layout, data, source=f"KOUFURI_{bank}").frames
        d = got["data"]
        assert d.select("bank_code", "branch_code", "account_number", "amount", "new_code",
                        "customer_number").rows() == [
            (bank, br, acct, amt, "1", customer_number(2026, n(p), 3, 1)) for p, br, acct, amt in recs]
        assert d["customer_number"][0][-3:] == "001" and len(d["customer_number"][0]) == 20
        t = got["trailer"].row(0, named=True)
        assert (t["total_count"], t["total_amount"]) == (len(recs), sum(r[3] for r in recs))
    # the city's copy: one debit_request per 期別, the balance, status requested
    r = requests()
    assert r.select("customer_number", "bank_code", "amount", "status").rows() == [
        (customer_number(2026, n(A), 3), "0017", 20_000, "requested"),
        (customer_number(2026, n(B), 3), "0001", 10_000, "requested"),
        (customer_number(2026, n(E), 3), "0001", 30_000, "requested"),
    ]
    assert set(r["debit_date"]) == {DEBIT}
    ds = datasets.read("debit_requests", datasets.latest("debit_requests", municipality=MUNI))
    assert ds.height == 3 and int(ds["amount"].sum()) == 60_000

    # --- rerun: the same bytes, no second request ---
    res = run("SN120", REQUEST_DAY)
    assert res.rc == 0 and "KKB441I" in msg_ids(res)
    assert outbox("0001", DEBIT).read_bytes() == f0001 and outbox("0017", DEBIT).read_bytes() == f0017
    assert requests().height == 3

    # --- across 12/29–1/3: the 1/4 振替日 is requested on 12/22, not on 12/21 ---
    assert run("SN120", D(2026, 12, 21)).rc == 0
    assert requests().height == 3
    res = run("SN120", YEAR_END_REQUEST)
    assert res.rc == 0, res.log_text
    y0001, y0017 = outbox("0001", YEAR_END_DEBIT).read_bytes(), outbox("0017", YEAR_END_DEBIT).read_bytes()
    assert y0001[54:58] == b"0104" and y0017[54:58] == b"0104"
    assert fw.read(layout, y0017, source="y").frames["data"].select("customer_number", "amount").rows() == [
        (customer_number(2026, n(A), 7), 20_000)]
    assert fw.read(layout, y0001, source="y").frames["data"].select("customer_number", "amount").rows() == [
        (customer_number(2026, n(B), 7), 15_000)]
    assert requests().height == 5


def test_results_failure_notice_and_redebit(ledger_url):
    setup_ledger()
    write_qualification([A, B, C, Dp, E])
    assert run("SN120", REQUEST_DAY).rc == 0
    # the bank's result of the 0001 file: B 振替済 (0), E 資金不足 (1)
    drop(debit_file([
        debit_record(n(B), 3, 10_000, "0", account_number="3333333"),
        debit_record(n(E), 3, 30_000, "1", branch_code="003", account_number="7777777"),
    ], debit_date=DEBIT), "bank", "KOUFURI_KEKKA_0001_20260930.dat")
    day = D(2026, 10, 2)
    assert run("SN110", day).rc == 0
    res = run("SN115", day)
    assert res.rc == 0, res.log_text
    res = run("SN130", day)
    assert res.rc == 0, res.log_text
    r = requests()
    assert r.select("customer_number", "status", "result_code").rows() == [
        (customer_number(2026, n(A), 3), "requested", None),  # no result yet (bank 0017)
        (customer_number(2026, n(B), 3), "done", "0"),
        (customer_number(2026, n(E), 3), "failed", "1"),
    ]
    inst = installments()
    assert inst[(2026, n(B), 3)]["paid_amount"] == 15_000  # 5,000 at the counter + 10,000 debited
    assert inst[(2026, n(E), 3)]["paid_amount"] == 0
    results = datasets.read("debit_results", datasets.latest("debit_results", municipality=MUNI))
    assert sorted(results.select("customer_number", "result_label").rows()) == [
        (customer_number(2026, n(B), 3), "振替済"), (customer_number(2026, n(E), 3), "資金不足")]
    # 口座振替不能通知書 兼 納付書: one notice, for E
    gen = datasets.generation_name(MUNI, 2026, day)
    pdf = paths.reports_root() / "collection" / gen / "koufuri_funou.pdf"
    assert pdf.is_file()
    text = pdf_text(pdf)
    assert n(E) in text and "30,000" in text and "資金不足" in text
    assert "令和8年10月14日" in text  # 納付期限 = 振替日 + collection.direct_debit.failure_pay_by_days (14)
    assert n(B) not in text
    assert "KKB453I" in msg_ids(res)

    # a 更正 moves the failed 期別's 納期限 to 10/30: its next request is a re-debit, 請求連番 002
    put_levy(levy_file([levy_row(n(E), 3, 30_000, levy_kind="2", correction_seq=1, due_date=REDEBIT,
                                 levy_date=D(2026, 10, 5))], file_kind="2", creation_date=D(2026, 10, 5)),
             "levy_debit_kosei.dat")
    assert run("SN100", D(2026, 10, 5)).rc == 0
    res = run("SN120", D(2026, 10, 23))
    assert res.rc == 0, res.log_text
    data = outbox("0001", REDEBIT).read_bytes()
    d = fw.read(fw.load_layout("zengin_91_request"), data, source="redebit").frames["data"]
    assert d.select("customer_number", "new_code", "amount").rows() == [
        (customer_number(2026, n(E), 3, 2), "0", 30_000)]
    assert requests().filter(pl.col("debit_date") == REDEBIT)["customer_number"].to_list() == [
        customer_number(2026, n(E), 3, 2)]


def test_failure_notice_of_the_last_installment_in_the_next_fiscal_year(ledger_url):
    """The 3/31 振替日 of 令和8年度 10期 is checked in April (fiscal year 2027): the 納付書's barcode
    still names 賦課年度 2026, so a payment with it at a CVS is matched to that 期別."""
    setup_ledger()
    write_qualification([A, B, C, Dp, E])
    result = [debit_record(n(E), 10, 30_000, "1", branch_code="003", account_number="7777777")]
    add_debit_requests(result, debit_date=D(2027, 3, 31))  # the request SN120 sent in March
    drop(debit_file(result, debit_date=D(2027, 3, 31)), "bank", "KOUFURI_KEKKA_0001_20270331.dat")
    day = D(2027, 4, 5)
    for job in ("SN110", "SN115", "SN130"):
        res = run(job, day)
        assert res.rc == 0, res.log_text
    assert res.fy == 2027
    gen = datasets.generation_name(MUNI, 2027, day)
    text = pdf_text(paths.reports_root() / "collection" / gen / "koufuri_funou.pdf")
    codes = set(re.findall(r"91" + COMPANY + r"\d{36}", text))
    assert len(codes) == 1
    code = codes.pop()
    assert code[8:29] == free_field(E, 10, fy=2026)  # 税目 51, 賦課年度 2026, 世帯番号, 期別 10, 更正 000
    slip = gs1.parse(code, max_amount=gs1.FIELD_MAX_AMOUNT)
    assert slip.amount == 30_000


def test_request_file_names_carry_the_municipality():
    """Two cities with the same bank and 振替日 write different files into one var/outbox/bank/<bank>/."""
    a = dd.request_file_name("111007", "0001", dt.date(2026, 9, 30), config.load("111007", 2026))
    b = dd.request_file_name("112011", "0001", dt.date(2026, 9, 30), config.load("112011", 2026))
    assert (a, b) == ("KOUFURI_111007_0001_20260930.dat", "KOUFURI_112011_0001_20260930.dat")
