"""A synthetic multi-year 収納 ledger for the closing tests, written with the ledger's own bulk insert
(``Tx.insert``: the month lock applies) and the 期別 update of the 消込 (``apply_installment_delta``).

    with book() as b:
        b.levy(2024, "N1", 1, 30000, due=D(2024, 7, 31))             # 当初 調定 (調定履歴 + 期別)
        b.correct(2024, "N1", 1, 20000, on=D(2024, 9, 1))             # 更正 (減額)
        b.pay(2024, "N1", 1, 5000, on=D(2024, 8, 30))                  # 収納 (納付履歴 + 累計収納額)
        b.refund(2024, "N1", 1, 1000, on=D(2024, 10, 1))               # 還付 (戻出)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import contextmanager

import collection_helpers as ch
import polars as pl

from jobs.collection.reconcile import apply_installment_delta
from jobs.ledger import Run, audit_columns

MUNI = ch.MUNI
D = dt.date
# component shares of a synthetic 期別 (per mille): 医療 60%, 支援 25%, 介護 15% (子ども from FY2026: 5% of 医療's)
SHARES = {"medical_general": 600, "support_general": 250, "care_general": 150}


def components(amount: int, year: int) -> dict[str, int]:
    sup = amount * 250 // 1000
    care = amount * 150 // 1000
    child = amount * 50 // 1000 if year >= 2026 else 0
    med = amount - sup - care - child
    return {"medical_general": med, "support_general": sup, "care_general": care, "child_general": child,
            "medical_retired": 0, "support_retired": 0, "care_retired": 0}


class Book:
    def __init__(self, ledger, tag: str = "synthetic"):
        self.ledger = ledger
        self.tag = tag
        self.n = 0
        self.seq: dict[tuple, int] = {}

    def _sha(self) -> tuple[str, int]:
        self.n += 1
        return hashlib.sha256(f"{self.tag}".encode()).hexdigest(), self.n

    def run(self, day: dt.date) -> Run:
        return Run(MUNI, day, "TEST", "g", operator_id="test", run_id="t")

    def levy(self, year: int, notice: str, no: int, amount: int, *, due: dt.date, on: dt.date | None = None,
             person: str = "P000000001") -> None:
        on = on or dt.date(year, 6, 15)
        comps = components(amount, year)
        row = {"municipality_code": MUNI, "levy_year": year, "target_year": year, "notice_number": notice,
               "installment_no": no, "business_code": "0001", "collection_method": "1", "latest_flag": True,
               "person_id": person, "household_id": "H" + person[1:], "due_date": due, "statutory_due_date": due,
               "correction_seq": 0, "levy_amount": amount, **comps}
        with self.ledger.transaction() as tx:
            tx.insert("installment", pl.DataFrame([row]).with_columns(
                pl.col("levy_year", "target_year", "installment_no", "correction_seq").cast(pl.Int32),
                *audit_columns(self.run(on))))
            self._history(tx, row, "1", amount, on)
        self.seq[(year, notice, no)] = 0

    def correct(self, year: int, notice: str, no: int, amount: int, *, on: dt.date) -> None:
        seq = self.seq[(year, notice, no)] + 1
        self.seq[(year, notice, no)] = seq
        comps = components(amount, year)
        with self.ledger.transaction() as tx:
            before = int(tx.scalar("SELECT levy_amount FROM installment WHERE levy_year = :y AND notice_number = :n "
                                   "AND installment_no = :i", {"y": year, "n": notice, "i": no}))
            sets = ", ".join(f"{k} = :{k}" for k in comps)
            tx.execute(f"UPDATE installment SET levy_amount = :a, correction_seq = :s, {sets} WHERE levy_year = :y "
                       "AND notice_number = :n AND installment_no = :i",
                       {"a": amount, "s": seq, "y": year, "n": notice, "i": no, **comps})
            row = {"municipality_code": MUNI, "levy_year": year, "target_year": year, "notice_number": notice,
                   "installment_no": no, "business_code": "0001", "collection_method": "1", "latest_flag": True,
                   "person_id": "P000000001", "due_date": on, **comps}
            self._history(tx, row, "2", amount, on, seq=seq, change=amount - before)

    def _history(self, tx, row: dict, kind: str, amount: int, on: dt.date, *, seq: int = 0,
                 change: int | None = None) -> None:
        sha, rec = self._sha()
        h = {k: row[k] for k in ("municipality_code", "levy_year", "target_year", "notice_number", "installment_no",
                                 "business_code", "collection_method", "latest_flag", "person_id", "due_date",
                                 "medical_general", "medical_retired", "support_general", "support_retired",
                                 "care_general", "care_retired", "child_general")}
        h.update({"source_sha256": sha, "record_no": rec, "levy_kind": kind, "correction_seq": seq,
                  "correction_date": on, "levy_amount": amount, "change_amount": amount if change is None else change,
                  "job_id": "TEST"})
        tx.insert("levy_history", pl.DataFrame([h]).with_columns(
            pl.col("levy_year", "target_year", "installment_no", "correction_seq").cast(pl.Int32),
            *audit_columns(self.run(on))))

    def pay(self, year: int, notice: str, no: int, amount: int, *, on: dt.date, kind: str = "0") -> None:
        """収納 (kind 0), 充当先 (3): +amount; 還付 (1), 充当元 (2): booked −amount (戻出)."""
        sha, rec = self._sha()
        signed = -amount if kind in ("1", "2") else amount
        row = {"source_sha256": sha, "record_no": rec, "line_no": 1, "municipality_code": MUNI, "levy_year": year,
               "target_year": year, "notice_number": notice, "installment_no": no, "business_code": "0001",
               "collection_method": "1", "latest_flag": True, "refund_offset_kind": kind,
               "cash_kind": "2" if kind in ("1", "2") else "1", "tax_amount": signed, "received_date": on,
               "paid_date": on, "payment_kind": "01", "channel": "counter", "job_id": "TEST", "generation": "g"}
        run = self.run(on)
        with self.ledger.transaction() as tx:
            tx.insert("payment", pl.DataFrame([row]).with_columns(
                pl.col("levy_year", "target_year", "installment_no", "line_no").cast(pl.Int32), *audit_columns(run)))
            apply_installment_delta(tx, pl.DataFrame(
                {"levy_year": [year], "notice_number": [notice], "installment_no": [no], "paid": [signed],
                 "prov": [0], "paid_date": [on], "received_date": [on]},
                schema={"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32,
                        "paid": pl.Int64, "prov": pl.Int64, "paid_date": pl.Date, "received_date": pl.Date}),
                run, on, "000000")

    def refund(self, year: int, notice: str, no: int, amount: int, *, on: dt.date) -> None:
        self.pay(year, notice, no, amount, on=on, kind="1")


@contextmanager
def book(tag: str = "synthetic"):
    led = ch.open_ledger()
    try:
        yield Book(led, tag)
    finally:
        led.dispose()


def scalar(sql: str, params: dict | None = None):
    led = ch.open_ledger(migrate=False)
    try:
        return led.scalar(sql, params)
    finally:
        led.dispose()
