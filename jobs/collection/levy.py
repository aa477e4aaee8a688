"""調定登録: the 調定 file (layout ``levy_file``; FK140 当初, FK220 更正) → the ledger.

当初 (調定区分 1) inserts the 通知書 and its 期別; 更正 (調定区分 2) replaces a 期別's amounts
(the file carries the new 期別税額 and the 増減額) or adds a 期別 the correction created. Every
record also goes to 調定履歴 keyed by (source SHA-256, record number), so a file is registered once.
After registration, payments held as 保留 (paid before their 調定 existed) are posted.
"""

from __future__ import annotations

import polars as pl

from jobs.ledger import Run, Tx, audit_columns

from .reconcile import BUSINESS_CODE

COMPONENTS = ("medical_general", "medical_retired", "care_general", "care_retired", "support_general",
              "support_retired", "child_general")


# a registration of at least this many 期別 refreshes the planner statistics of the 期別 table
# (PostgreSQL; jobs.ledger.bulk.analyze): with the stale figure the 消込's UPDATE … FROM hashed the
# 期別 table and updated it in random order (bench/bench_collection.py)
ANALYZE_ROWS = 100_000


def levy_rows(data: pl.DataFrame) -> pl.DataFrame:
    """The levy file's data records in ledger columns (one row per 期別)."""
    return data.select(
        "source_sha256", "record_no", "municipality_code", pl.col("levy_year").cast(pl.Int32),
        pl.col("target_year").cast(pl.Int32), "notice_number", pl.col("installment_no").cast(pl.Int32),
        "collection_method", "levy_kind", pl.col("correction_seq").cast(pl.Int32), "levy_date", "due_date",
        pl.col("taxpayer_person_id").alias("person_id"), "household_id",
        pl.col("amount").alias("levy_amount"), pl.col("change").alias("change_amount"),
        "medical_general", "medical_retired", pl.col("care_general"), "care_retired",
        "support_general", "support_retired", "child_general", "payer_code", "correction_reason",
    )


def register(tx: Tx, rows: pl.DataFrame, run: Run) -> dict[str, int]:
    """Register the levy rows (``levy_rows``) in one transaction (the caller's)."""
    audit = audit_columns(run.job_id)
    # the latest record per 期別 in this file wins (a file lists each 期別 once; be safe)
    latest = rows.sort("record_no").unique(subset=["levy_year", "notice_number", "installment_no"], keep="last",
                                           maintain_order=True)
    notices = latest.sort("record_no").unique(subset=["levy_year", "notice_number"], keep="first",
                                              maintain_order=True).select(
        "municipality_code", "levy_year", "target_year", "notice_number",
        pl.lit(BUSINESS_CODE).alias("business_code"), pl.lit(True).alias("latest_flag"), "person_id",
        "household_id", "collection_method", pl.lit(None, dtype=pl.Date).alias("statutory_due_date"), *audit)
    tx.stage("_notice", notices)
    new_notices = tx.run("collection/levy_notice_upsert").rowcount

    inst = latest.select(
        "municipality_code", "levy_year", "target_year", "notice_number", "installment_no",
        pl.lit(BUSINESS_CODE).alias("business_code"), "collection_method", pl.lit(True).alias("latest_flag"),
        "person_id", "household_id", "due_date", pl.col("due_date").alias("statutory_due_date"),
        pl.when(pl.col("levy_kind") == "2").then(pl.col("levy_date")).alias("assessed_correction_date"),
        "correction_seq", "levy_amount", *COMPONENTS, "payer_code", *audit)
    tx.stage("_inst", inst)
    before = int(tx.value("collection/levy_installments_existing"))
    tx.run("collection/levy_installment_upsert")
    if inst.height >= ANALYZE_ROWS:  # a 当初 file: the 消込 that follows joins the 期別 by hash (PostgreSQL)
        tx.analyze("installment")

    history = rows.select(
        "source_sha256", "record_no", "municipality_code", "levy_year", "target_year", "notice_number",
        "installment_no", pl.lit(BUSINESS_CODE).alias("business_code"), "collection_method",
        pl.lit(True).alias("latest_flag"), "levy_kind", "correction_seq",
        pl.col("levy_date").alias("correction_date"), "person_id", "due_date", "levy_amount", "change_amount",
        *COMPONENTS, pl.col("correction_reason").alias("correction_content"), pl.lit(run.job_id).alias("job_id"),
        *audit)
    tx.insert("levy_history", history)
    return {"notices": int(notices.height), "installments_new": int(inst.height - before),
            "installments_changed": before, "history": history.height, "notices_touched": int(new_notices or 0)}
