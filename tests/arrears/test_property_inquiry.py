"""TN150 財産調査照会 through the real step, on DuckDB and PostgreSQL: the 滞納者 selected by the config
criteria get a 預貯金等の照会書 per configured bank (PDF) and a line in the list (CSV, no 個人番号),
recorded in the 催告履歴 (kind inquiry) so that the same bank is never asked twice; the 催告 history
of TN110 / TN130 does not count a 照会 as a 催告.

The city (督促状 on 2026-08-20, 現年催告書 on 2026-09-10, 照会 on 2026-10-13, 33 days later; config
property_inquiry: min_amount 100,000, days_after_reminder 30, banks = the 口座振替 banks 0001, 0017):
    0000000001  150,000 (納期限 2026-07-31)  → asked: two 照会書 (0001, 0017)
    0000000002  120,000                      → 約束期日 2026-10-20 by telephone: not asked
    0000000003   50,000                      → below min_amount: not asked
    0000000004  130,000                      → 執行停止 from 2026-09-01 (held): not asked
    0000000005  200,000 (納期限 2026-08-31)  → no 督促状 by the 催告 day, so no 催告書: not asked
"""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from collection_helpers import (
    D,
    levy_file,
    levy_row,
    msg_ids,
    pdf_text,
    put_levy,
    q,
    run,
    write_qualification,
)

from jobs.common import paths
from jobs.common.step import StepError
from jobs.ledger import Run, audit_columns

DUNNING_DAY = D(2026, 8, 20)
REMIND_DAY = D(2026, 9, 10)
INQUIRY_DAY = D(2026, 10, 13)  # 10/12 is スポーツの日
NEXT_DAY = D(2026, 10, 14)
GEN = "m111007_fy2026_d20261013"


def _insert(table: str, row: dict, day) -> None:
    from collection_helpers import open_ledger

    ledger = open_ledger()
    try:
        with ledger.transaction() as tx:
            tx.insert(table, pl.DataFrame([row]).with_columns(
                *audit_columns(Run("111007", day, "TEST", "g", operator_id="test", run_id="t"))))
    finally:
        ledger.dispose()


def _csv(path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def _city() -> None:
    due = D(2026, 7, 31)
    put_levy(levy_file([levy_row("10000000001", 1, 150_000, due_date=due),
                        levy_row("10000000002", 1, 120_000, due_date=due),
                        levy_row("10000000003", 1, 50_000, due_date=due),
                        levy_row("10000000004", 1, 130_000, due_date=due),
                        levy_row("10000000005", 2, 200_000, due_date=D(2026, 8, 31))]), "levy_2026.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification([f"000000000{i}" for i in range(1, 6)])
    assert run("TN010", DUNNING_DAY).rc == 0
    res = run("TN020", DUNNING_DAY)
    assert res.rc == 0, res.log_text
    _insert("arrears_suspension", {
        "suspension_id": "S0000000004", "municipality_code": "111007", "person_id": "0000000004",
        "reason_code": "1", "start_date": D(2026, 9, 1), "immediate_extinction": False, "lifted_date": None,
        "note": None, "source_sha256": "0" * 64, "record_no": 1, "job_id": "TEST"}, D(2026, 9, 1))
    res = run("TN120", REMIND_DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.figures["reminders"] == 3  # 1, 2, 3 (4 held, 5 not 督促済)
    _insert("arrears_reminder", {
        "reminder_id": "3202610050000000002-test", "municipality_code": "111007", "person_id": "0000000002",
        "household_id": None, "reminder_kind": "phone", "reminder_date": D(2026, 10, 5), "amount": 120_000,
        "installments": 1, "oldest_due_date": due, "promise_date": D(2026, 10, 20), "note": "約束",
        "job_id": "TEST"}, D(2026, 10, 5))


def test_property_inquiry(ledger_url):
    _city()
    res = run("TN150", INQUIRY_DAY)
    assert res.rc == 0, res.log_text
    assert {"KKB652I", "KKB655I"} <= set(msg_ids(res))
    assert res.totals.by_record_type["taxpayer"].accepted == 1
    assert res.totals.by_record_type["inquiry"].accepted == 2 and res.totals.written == 2
    assert res.totals.money["arrears"] == 150_000
    assert res.totals.figures["banks"] == 2 and res.totals.figures["pdf_pages"] == 2
    assert q("SELECT reminder_id, person_id, reminder_kind, amount, installments, note FROM arrears_reminder "
             "WHERE reminder_kind = 'inquiry' ORDER BY reminder_id").rows() == [
        ("42026101300000000010001", "0000000001", "inquiry", 150_000, 1, "財産調査照会 0001 株式会社みずほ銀行"),
        ("42026101300000000010017", "0000000001", "inquiry", 150_000, 1, "財産調査照会 0017 株式会社埼玉りそな銀行")]
    assert q("SELECT COUNT(*) AS n FROM arrears_reminder_item WHERE reminder_id LIKE '4%'").item() == 2

    folder = paths.reports_root() / "arrears" / GEN
    listing = _csv(folder / "zaisan_shokai_ichiran.csv")
    assert [(r["照会番号"], r["金融機関コード"], r["宛名番号"], r["滞納額"], r["回答期限"]) for r in listing] == [
        ("42026101300000000010001", "0001", "0000000001", "150000", "2026-10-27"),
        ("42026101300000000010017", "0017", "0000000001", "150000", "2026-10-27")]
    assert "個人番号" not in listing[0]
    pdfs = sorted((folder / "zaisan_shokai").glob("*.pdf"))
    assert [p.name for p in pdfs] == ["shokai_0001_001.pdf", "shokai_0017_001.pdf"]
    text = pdf_text(pdfs[0])
    for s in ("株式会社みずほ銀行御中", "預貯金等の照会について", "国税徴収法第141条", "地方税法第728条第7項",
              "収納太郎1", "さいたま市浦和区常盤1丁目", "回答書", "42026101300000000010001"):
        assert s in text, s
    assert "0000000001" not in text.replace("42026101300000000010001", "")  # no 宛名番号 for the bank
    outputs = {p: p.read_bytes() for p in [*pdfs, folder / "zaisan_shokai_ichiran.csv"]}

    # a rerun the same day: nothing recorded, the same bytes
    res = run("TN150", INQUIRY_DAY)
    assert res.rc == 0, res.log_text
    assert "KKB653I" in msg_ids(res)
    assert q("SELECT COUNT(*) AS n FROM arrears_reminder WHERE reminder_kind = 'inquiry'").item() == 2
    assert {p: p.read_bytes() for p in outputs} == outputs

    # the next day: already asked (repeat_after_days), nothing new
    res = run("TN150", NEXT_DAY)
    assert res.rc == 0, res.log_text
    assert {"KKB653I", "KKB656I"} <= set(msg_ids(res))
    assert q("SELECT COUNT(*) AS n FROM arrears_reminder WHERE reminder_kind = 'inquiry'").item() == 2

    # a 照会 is not a 催告: TN130's list still shows one 催告 (the 現年催告書) for 0000000001
    res = run("TN130", NEXT_DAY)
    assert res.rc == 0, res.log_text
    phone = {r["宛名番号"]: r for r in _csv(paths.reports_root() / "arrears" / "m111007_fy2026_d20261014"
                                             / "denwa_saikoku_taisho.csv")}
    assert phone["0000000001"]["催告回数"] == "1" and phone["0000000001"]["最終催告種別"] == "現年催告"
    assert phone["0000000001"]["最終催告日"] == "2026-09-10"


class _Cfg:
    def __init__(self, values: dict):
        self.values = values

    def get(self, key):
        from jobs.common.config import ConfigError

        if key not in self.values:
            raise ConfigError(f"設定項目がありません: {key}")
        return self.values[key]


class _Ctx:
    def __init__(self, values: dict):
        self.config = _Cfg(values)


def test_banks_from_config():
    from jobs.arrears.inquiry_steps import banks

    names = {"0001": "A銀行", "0017": "B銀行", "0005": "C銀行"}
    base = {"arrears_records.property_inquiry.bank_names": names}
    ctx = _Ctx({**base, "arrears_records.property_inquiry.banks": [],
                "direct_debit.collecting_banks": [{"bank_code": "0017"}],
                "collection.direct_debit.banks": {"default": {}, "0001": {}}})
    assert banks(ctx) == [("0001", "A銀行"), ("0017", "B銀行")]
    ctx = _Ctx({**base, "arrears_records.property_inquiry.banks": ["0005"]})
    assert banks(ctx) == [("0005", "C銀行")]
    for bad in (["9999"], ["12"]):
        with pytest.raises(StepError, match="照会先金融機関"):
            banks(_Ctx({**base, "arrears_records.property_inquiry.banks": bad}))
    with pytest.raises(StepError, match="なし"):
        banks(_Ctx({**base, "arrears_records.property_inquiry.banks": []}))
