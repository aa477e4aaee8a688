"""The daily control steps through the real steps — on DuckDB and PostgreSQL (``ledger_url``):

SN410 速報未確報チェック: a CVS 速報 older than ``collection.cvs.provisional_lapse_business_days``
business days lapses (status lapsed, 期別 速報額 back, error list row with the record's bytes), newer
ones and settled ones stay. SN400 収納日計: per channel and kind the counts and amounts of the
day's 消込データ, CSV (UTF-8 BOM, CRLF, Japanese headers) and PDF; a ledger whose 納付履歴 no longer
matches the 消込データ ends RC 8 (KKB480E) and writes nothing.
"""

from __future__ import annotations

import polars as pl
from collection_helpers import (
    MUNI,
    D,
    add_debit_requests,
    counter_file,
    counter_record,
    cvs_file,
    cvs_record,
    debit_file,
    debit_record,
    drop,
    error_rows,
    installments,
    levy_file,
    levy_row,
    msg_ids,
    put_levy,
    q,
    recon,
    run,
)

from jobs.common import bizcal, config, datasets, paths
from jobs.ledger import Ledger

D1 = D(2026, 10, 1)  # Thu
D2 = D(2026, 10, 2)  # Fri
LAPSE_DAY = D(2026, 10, 6)  # Tue: 3 business days back (10/5, 10/2, 10/1) → 速報 of 10/1 and before lapse


def hh(i: int) -> str:
    return f"{i:010d}"


def n(i: int) -> str:
    return "1" + hh(i)


def record_bytes(data: bytes, record_no: int) -> bytes:
    stride = 122 if data[120:122] == b"\r\n" else 120
    return data[(record_no - 1) * stride:(record_no - 1) * stride + 120]


def setup_days() -> dict[str, bytes]:
    """調定, then D1: CVS 速報 ×2 + a counter payment; D2: CVS 速報 + 確報 (of a D1 速報), counter
    payments (one without 調定), a 口座振替 result (振替済 + 振替不能)."""
    put_levy(levy_file([levy_row(n(i), 1, 50_000, due_date=D(2026, 9, 30)) for i in range(31, 40)]),
             "levy_daily.dat")
    assert run("SN100", D(2026, 9, 1)).rc == 0
    files = {}
    files["cvs1"] = cvs_file([
        cvs_record(hh(31), 1, 10_000, data_kind="01", paid_date=D(2026, 9, 30), acquired_date=D(2026, 9, 30)),
        cvs_record(hh(32), 1, 12_000, data_kind="01", paid_date=D(2026, 9, 30), acquired_date=D(2026, 9, 30)),
    ], creation_date=D1)
    drop(files["cvs1"], "cvs", "CVS_SOKUHO_20261001.dat")
    drop(counter_file([counter_record(n(39), 1, 4_000, paid_date=D(2026, 9, 30), received_date=D1)],
                      creation_date=D1), "counter", "COUNTER_20261001.dat")
    for job in ("SN210", "SN215", "SN200", "SN205"):
        res = run(job, D1)
        assert res.rc == 0, res.log_text
    files["cvs2"] = cvs_file([
        cvs_record(hh(33), 1, 8_000, data_kind="01", paid_date=D(2026, 10, 1), acquired_date=D(2026, 10, 1)),
        cvs_record(hh(32), 1, 12_000, data_kind="02", paid_date=D(2026, 9, 30), acquired_date=D(2026, 9, 30)),
    ], creation_date=D2)
    drop(files["cvs2"], "cvs", "CVS_20261002.dat")
    drop(counter_file([
        counter_record(n(35), 1, 20_000, received_date=D2),
        counter_record(n(36), 1, 7_000, received_date=D2, serial=2),
        counter_record("19999999990", 1, 3_000, received_date=D2, serial=3),  # no 調定: 保留
    ], creation_date=D2), "counter", "COUNTER_20261002.dat")
    debits = [debit_record(n(37), 1, 15_000, "0"), debit_record(n(38), 1, 9_000, "1")]
    add_debit_requests(debits, debit_date=D(2026, 9, 30))
    drop(debit_file(debits, debit_date=D(2026, 9, 30)), "bank", "KOUFURI_KEKKA_20260930.dat")
    for job in ("SN210", "SN215", "SN200", "SN205", "SN110", "SN115"):
        res = run(job, D2)
        assert res.rc in (0, 4), res.log_text
    return files


def test_lapse_and_daily_report(ledger_url):
    files = setup_days()
    assert installments()[(2026, n(31), 1)]["provisional_amount"] == 10_000

    # --- SN400 日計 of D2: per channel × kind = the 消込データ of the day ---
    res = run("SN400", D2)
    assert res.rc == 0, res.log_text
    assert "KKB481I" in msg_ids(res)
    gen = datasets.generation_name(MUNI, 2026, D2)
    summary = datasets.read("daily_collection", gen)
    rows = q("SELECT channel, kind, status, amount FROM reconciliation WHERE business_date = :d", {"d": D2})
    rows = rows.with_columns(
        pl.when(pl.col("kind").is_in(["provisional", "cancel"])).then(pl.col("kind"))
        .when(pl.col("status").is_in(["unmatched", "error", "duplicate", "debit_failed"])).then(pl.col("status"))
        .otherwise(pl.lit("posted")).alias("k"))
    expected = {(c, k): (int(cnt), int(a)) for c, k, cnt, a in rows.group_by("channel", "k").agg(
        pl.len(), pl.col("amount").cast(pl.Int64).sum()).iter_rows()}
    got = {(r["channel"], r["kind"]): (r["count"], r["amount"]) for r in summary.iter_rows(named=True)}
    assert got == expected
    assert summary.select("channel", "kind", "count", "amount").rows() == [
        ("counter", "posted", 2, 27_000), ("counter", "unmatched", 1, 3_000),
        ("cvs", "posted", 1, 12_000), ("cvs", "provisional", 1, 8_000),
        ("debit", "posted", 1, 15_000), ("debit", "debit_failed", 1, 9_000),
    ]
    assert summary["channel_label"].to_list()[0] == "窓口・指定金融機関"
    folder = paths.reports_root() / "collection" / gen
    csv = (folder / "shuno_nikkei_20261002.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")
    text = csv[3:].decode("utf-8")
    assert text.split("\r\n")[0] == "区分,区分名,種別,種別名,件数,金額"
    assert text.count("\r\n") == summary.height + 1 and "\n" not in text.replace("\r\n", "")
    assert "counter,窓口・指定金融機関,posted,消込済,2,27000" in text.split("\r\n")
    pdf = folder / "shuno_nikkei_20261002.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")

    # --- SN410 on 10/6: the 10/1 速報 still open lapses; the settled one and the 10/2 one stay ---
    cfg = config.load(MUNI, 2026)
    cal = bizcal.BusinessCalendar.from_config(cfg)
    days = int(cfg.get("collection.cvs.provisional_lapse_business_days"))
    assert cal.add_business_days(LAPSE_DAY, -days) == D1
    assert run("SN410", D(2026, 10, 5)).rc == 0  # 10/5: the limit is 9/30, nothing lapses yet
    assert recon("CVS_SOKUHO_20261001.dat")["status"].to_list() == ["provisional", "confirmed"]
    res = run("SN410", LAPSE_DAY)
    assert res.rc == 4, res.log_text
    assert "KKB470W" in msg_ids(res)
    assert recon("CVS_SOKUHO_20261001.dat")["status"].to_list() == ["lapsed", "confirmed"]
    assert recon("CVS_20261002.dat")["status"].to_list() == ["provisional", "posted"]
    inst = installments()
    assert inst[(2026, n(31), 1)]["provisional_amount"] == 0
    assert inst[(2026, n(31), 1)]["paid_amount"] == 0
    assert inst[(2026, n(33), 1)]["provisional_amount"] == 8_000
    assert inst[(2026, n(32), 1)]["paid_amount"] == 12_000
    err = error_rows(res)
    assert err.height == 1
    e = err.row(0, named=True)
    assert e["ファイル名"] == "CVS_SOKUHO_20261001.dat" and int(e["レコード番号"]) == 2
    assert bytes.fromhex(e["生データ(16進)"]) == record_bytes(files["cvs1"], 2)
    # a rerun lapses nothing more
    res = run("SN410", LAPSE_DAY)
    assert "KKB471I" in msg_ids(res)
    assert installments()[(2026, n(33), 1)]["provisional_amount"] == 8_000


def test_daily_report_refuses_a_tampered_ledger(ledger_url):
    setup_days()
    # D1's counter payment altered in 納付履歴 behind the 消込データ's back
    led = Ledger.open(cfg=config.load(MUNI, 2026), migrate=False)
    try:
        with led.transaction() as tx:
            tx.execute("UPDATE payment SET tax_amount = tax_amount + 100 WHERE notice_number = :n", {"n": n(39)})
    finally:
        led.dispose()
    res = run("SN400", D1)
    assert res.rc == 8
    assert "KKB480E" in msg_ids(res)
    gen = datasets.generation_name(MUNI, 2026, D1)
    assert datasets.latest("daily_collection", municipality=MUNI) is None
    folder = paths.reports_root() / "collection" / gen
    assert not folder.exists() or not any(folder.iterdir())
    # the untouched day still reconciles
    assert run("SN400", D2).rc == 0
    assert datasets.latest("daily_collection", municipality=MUNI) == datasets.generation_name(MUNI, 2026, D2)
