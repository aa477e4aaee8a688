"""口座振替 (direct debit): mandates, the request files per bank, the 振替不能 list.

- ``apply_mandates``: 口座振替依頼書 records (layout ``direct_debit_mandate``, SN010's dataset)
  → ``debit_mandate`` history (新規 / 変更 / 停止; the newest row of a payer is ``latest_flag``).
- ``due_dates_for``: the 納期限 whose request day (振替日 − N business days) is the business date.
- ``select_requests``: ordinary installments due that day with a balance and an active mandate.
- ``write_request_files``: one Zengin 91 file per bank (bank profiles in config), records sorted
  by branch, account and 顧客番号; the trailer totals come from the codec.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common.bizcal import BusinessCalendar
from jobs.common.config import Config
from jobs.ledger import Run, Tx, audit_columns, now_stamp

from . import keys

REQUEST_LAYOUT = "zengin_91_request"


def apply_mandates(tx: Tx, rows: pl.DataFrame, sha256: str, run: Run) -> dict[str, int]:
    """Append the file's mandate records to the history, in record order per payer."""
    if rows.height == 0:
        return {"new": 0, "change": 0, "stop": 0}
    op_date, op_time = now_stamp()
    tx.stage("_m", rows.select(pl.col("payer_person_id").alias("person_id")).unique())
    prev = tx.query("collection/mandates_current", {"m": run.municipality})
    base = prev.select("person_id", pl.col("history_no").cast(pl.Int32).alias("_base"))
    df = rows.sort("record_no").with_columns(pl.col("payer_person_id").alias("person_id"))
    df = df.join(base, on="person_id", how="left").with_columns(
        (pl.col("_base").fill_null(0) + pl.int_range(1, pl.len() + 1).over("person_id")).cast(pl.Int32)
        .alias("history_no"))
    # a 停止 record without account fields keeps the account then in force
    last = prev.select("person_id", *[pl.col(c).alias(f"_p_{c}") for c in
                                      ("bank_code", "branch_code", "account_type", "account_number",
                                       "account_holder_kana")])
    df = df.join(last, on="person_id", how="left")
    acct = {c: pl.coalesce(pl.col(src), pl.col(f"_p_{c}"), pl.col(src).forward_fill().over("person_id"))
            for c, src in (("bank_code", "bank_code"), ("branch_code", "branch_code"),
                           ("account_type", "account_type"), ("account_number", "account_number"),
                           ("account_holder_kana", "account_holder"))}
    out = df.select(
        pl.lit(run.municipality).alias("municipality_code"), "person_id", "history_no",
        (pl.col("history_no") == pl.col("history_no").max().over("person_id")).alias("latest_flag"),
        "household_id", "registration_kind", "received_date", "start_month",
        *[e.fill_null("").alias(c) for c, e in acct.items()], "stop_reason",
        pl.lit(sha256).alias("source_sha256"), pl.col("record_no").cast(pl.Int64),
        *audit_columns(run.job_id, (op_date, op_time)))
    tx.run("collection/mandates_supersede", {"m": run.municipality})
    tx.insert("debit_mandate", out)
    kinds = out["registration_kind"].value_counts()
    n = dict(zip(kinds["registration_kind"].to_list(), kinds["count"].to_list(), strict=True))
    return {"new": int(n.get("1", 0)), "change": int(n.get("2", 0)), "stop": int(n.get("3", 0))}


def request_day(cal: BusinessCalendar, cfg: Config, debit_date: dt.date) -> dt.date:
    n = int(cfg.get("collection.direct_debit.request_business_days_before"))
    return cal.add_business_days(cal.roll_forward(debit_date), -n)


def due_dates_for(cal: BusinessCalendar, cfg: Config, business_date: dt.date, due_dates: Iterable[dt.date]) -> list[dt.date]:
    """The 振替日 (= 納期限) whose request file is made on ``business_date``."""
    return sorted({d for d in due_dates if request_day(cal, cfg, d) == business_date})


def select_requests(tx: Tx, debit_date: dt.date, run: Run) -> pl.DataFrame:
    """Installments (普通徴収) due on ``debit_date`` with a balance and an active mandate of the
    payer whose 開始年月 is not after the debit month; the 顧客番号 sequence continues any earlier
    request of the same installment (a re-debit)."""
    month = f"{debit_date.year:04d}{debit_date.month:02d}"
    df = tx.query("collection/debit_request_candidates", {"month": month, "d": debit_date, "m": run.municipality})
    if df.height == 0:
        return df
    df = df.cast({"levy_year": pl.Int32, "installment_no": pl.Int32, "amount": pl.Int64, "prev_seq": pl.Int64})
    return df.with_columns(
        keys.customer_number(pl.col("levy_year"), pl.col("notice_number"), pl.col("installment_no"),
                             pl.col("prev_seq") + 1).alias("customer_number"),
        pl.when(pl.col("prev_seq") == 0).then(pl.lit("1")).otherwise(pl.lit("0")).alias("new_code"),
    ).sort("bank_code", "branch_code", "account_number", "customer_number")


def bank_profile(cfg: Config, bank_code: str) -> dict:
    banks = cfg.get("collection.direct_debit.banks")
    prof = dict(banks.get("default") or {})
    prof.update(banks.get(bank_code) or {})
    return prof


def request_file_name(municipality: str, bank_code: str, debit_date: dt.date, cfg: Config) -> str:
    """The 口座振替 request file's name (``collection.direct_debit.request_file``):
    ``KOUFURI_<団体コード>_<金融機関>_<振替日>.dat``."""
    return str(cfg.get("collection.direct_debit.request_file")).format(
        municipality=municipality, bank=bank_code, date=f"{debit_date:%Y%m%d}")


def write_request_file(path: Path, rows: pl.DataFrame, *, bank_code: str, debit_date: dt.date, cfg: Config) -> dict:
    """One bank's Zengin 91 request file (header, data, trailer, end)."""
    prof = bank_profile(cfg, bank_code)
    layout = fw.load_layout(REQUEST_LAYOUT)
    head = {"data_kind": "1", "kind_code": "91", "code_division": str(prof["code_division"]),
            "consignor_code": str(prof["consignor_code"]), "consignor_name": str(prof["consignor_name"]),
            "debit_date": debit_date.strftime("%m%d"), "bank_code": bank_code, "bank_name": None,
            "branch_code": str(prof["collecting_branch"]), "branch_name": None,
            "account_type": str(prof["account_type"]), "account_number": str(prof["account_number"])}
    if "new_code" not in rows.columns:  # rows re-read from debit_request: 新規コード from the sequence
        rows = rows.with_columns(pl.when(pl.col("customer_number").str.slice(17, 3) == "001").then(pl.lit("1"))
                                 .otherwise(pl.lit("0")).alias("new_code"))
    data = rows.select(
        pl.lit("2").alias("data_kind"), "bank_code", pl.lit(None, dtype=pl.String).alias("bank_name"),
        "branch_code", pl.lit(None, dtype=pl.String).alias("branch_name"), "account_type", "account_number",
        pl.col("account_holder_kana").alias("account_holder"), "amount", "new_code", "customer_number",
        pl.lit("0").alias("result_code"))
    line_end = str(prof.get("line_end", "crlf"))
    with fw.FileWriter(layout, path, line_end=line_end) as w:
        w.begin_group(head)
        w.write(data)
        w.end_group()
    return {"records": data.height, "amount": int(data["amount"].sum() or 0)}
