"""消込 (reconciliation): normalized payment records → the ledger, in one transaction.

``post_payments(tx, pay, ...)`` takes the normalized payment frame of one input file (every
record read, ``PAYMENT_SCHEMA``; see README.md) and, inside the caller's transaction:

1. marks records the adapter could not read (``parse_error``) as **error**;
2. marks a record whose ``(dedup_key, kind)`` appeared earlier in the file, or was already
   taken from another file, as **duplicate** (the same payment is never posted twice, whatever
   the file looks like);
3. matches the rest to the 期別 by (賦課年度, 通知書番号, 期別); a record with no 調定 is
   **unmatched**: kept in the ledger as 保留 and posted when the 調定 arrives (``post_pending``);
4. by kind: **confirmed** (確報 / 入金 / 振替済) posts to 納付履歴 and the 期別's 累計収納額, and
   clears a matching 速報; **provisional** (CVS 速報) adds to the 期別's 速報額 (it holds back
   督促) and posts nothing; **cancel** (速報取消) removes its 速報 — a 取消 with no 速報 is an
   **error**; **debit_failed** (振替不能) is recorded without money;
5. writes every record to ``reconciliation`` (消込データ, keyed by source SHA-256 and record
   number, so a record can never be posted twice), the postings to ``payment`` and the sums to
   ``installment``.

Partial payments stay partly unpaid; a payment above the balance is posted and the excess is
the installment's 過誤納 (found by the daily 過誤納 step). Statuses that count as *rejected* in
the control totals (they go to the 消込エラー list): unmatched, error, duplicate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from jobs.ledger import Run, Tx, audit_columns, now_stamp

PAYMENT_SCHEMA: dict[str, pl.DataType] = {
    "channel": pl.String(), "source_file": pl.String(), "source_sha256": pl.String(),
    "record_no": pl.Int64(), "byte_offset": pl.Int64(), "raw": pl.Binary(), "kind": pl.String(),
    "levy_year": pl.Int32(), "notice_number": pl.String(), "installment_no": pl.Int32(),
    "amount": pl.Int64(), "late_fee": pl.Int64(), "dunning_fee": pl.Int64(), "paid_date": pl.Date(), "received_date": pl.Date(), "payment_kind": pl.String(),
    "agent_code": pl.String(), "store_code": pl.String(), "bank_code": pl.String(),
    "branch_code": pl.String(), "barcode": pl.String(), "dedup_key": pl.String(),
    "result_code": pl.String(), "parse_error": pl.String(), "error_field": pl.String(),
    "store_time": pl.String(), "serial_number": pl.String(), "scheduled_payment_date": pl.Date(),
}
KEY = ["levy_year", "notice_number", "installment_no"]
KINDS = ("confirmed", "provisional", "cancel", "debit_failed")
ACCEPTED = ("posted", "provisional", "confirmed", "cancelled", "debit_failed")
REJECTED = ("unmatched", "error", "duplicate")
STATUS_LABELS = {
    "posted": "消込済", "provisional": "速報", "confirmed": "速報→確報済", "cancelled": "速報取消",
    "lapsed": "速報失効", "debit_failed": "振替不能", "unmatched": "調定なし(保留)", "error": "消込エラー",
    "duplicate": "重複",
}
KIND_LABELS = {"confirmed": "確報・入金", "provisional": "速報", "cancel": "速報取消", "debit_failed": "振替不能"}
BUSINESS_CODE = "0001"  # 国保業務詳細コード of 国民健康保険税 [project design]


def empty_payments() -> pl.DataFrame:
    return pl.DataFrame(schema=PAYMENT_SCHEMA)


def normalize(frame: pl.DataFrame) -> pl.DataFrame:
    """Coerce an adapter's frame to ``PAYMENT_SCHEMA`` (missing columns null)."""
    if frame.height == 0:
        return empty_payments()
    cols = [(pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t)).alias(c)
            for c, t in PAYMENT_SCHEMA.items()]
    return frame.select(cols)


@dataclass
class PostResult:
    rows: pl.DataFrame  # one row per record: PAYMENT_SCHEMA + status, reason, levy_amount
    counts: dict[str, int] = field(default_factory=dict)  # status → records
    amounts: dict[str, int] = field(default_factory=dict)  # status → yen
    without_provisional: int = 0  # CVS 確報 with no 速報 (posted, warned)
    pending_posted: int = 0

    @property
    def accepted(self) -> int:
        return sum(self.counts.get(s, 0) for s in ACCEPTED)

    @property
    def rejected(self) -> int:
        return sum(self.counts.get(s, 0) for s in REJECTED)


def post_payments(tx: Tx, pay: pl.DataFrame, run: Run) -> PostResult:
    pay = normalize(pay)
    in_order = pay["source_sha256"].n_unique() <= 1 and pay["record_no"].is_sorted()
    if not in_order:
        pay = pay.sort("source_sha256", "record_no")
    # every join below keeps the left order (maintain_order="left") and adds columns to the
    # narrow key frame only: the 5M-row frame is never copied by a join
    df = pay.with_columns(pl.lit(None, dtype=pl.String).alias("status"), pl.lit(None, dtype=pl.String).alias("reason"),
                          pl.lit(None, dtype=pl.Int64).alias("levy_amount"))

    # 1. records the adapter could not read
    df = _mark(df, pl.col("parse_error").is_not_null(), "error", pl.col("parse_error"))
    # unknown kind
    df = _mark(df, ~pl.col("kind").is_in(KINDS), "error", pl.lit("データ種別が不明です"))

    # 2. duplicates inside the file, then against the ledger
    first = pl.col("dedup_key").is_first_distinct().over("kind")
    df = _mark(df, ~first, "duplicate", pl.lit("同一ファイル内に同じ納付のレコードがあります"))
    open_ = df.filter(pl.col("status").is_null())
    if open_.height:
        tx.stage("_dedup", open_.select("dedup_key", "kind").unique())
        seen = tx.query("collection/dedup_seen")
        if seen.height:
            m = df.select("dedup_key", "kind").join(seen, on=["dedup_key", "kind"], how="left", maintain_order="left")
            df = df.with_columns(m["prev_file"], m["prev_record"])
            df = _mark(df, pl.col("prev_file").is_not_null(), "duplicate",
                       pl.format("取込済みの納付と重複しています ({} 第{}レコード)", "prev_file", "prev_record"))
            df = df.drop("prev_file", "prev_record")

    # 3. match to the 期別
    keys = df.filter(pl.col("status").is_null() & pl.col("notice_number").is_not_null()).select(KEY).unique()
    inst = _installments(tx, keys, run.municipality)
    m = df.select(KEY).join(inst, on=KEY, how="left", maintain_order="left")  # the 期別 key is unique
    df = df.with_columns(pl.coalesce(m["levy_amount_right"], pl.col("levy_amount")).alias("levy_amount"),
                         m["collection_method"].alias("collection_method"), m["_found"])
    no_key = pl.col("status").is_null() & pl.col("notice_number").is_null()
    df = _mark(df, no_key, "error", pl.lit("通知書番号・期別を読み取れません"))
    unmatched = pl.col("status").is_null() & pl.col("_found").is_null() & (pl.col("kind") != "cancel")
    df = _mark(df, unmatched, "unmatched",
               pl.format("調定が登録されていません (賦課年度 {} 通知書番号 {} 期別 {})",
                         "levy_year", "notice_number", "installment_no"))

    # 4. kinds
    df = _mark(df, pl.col("kind") == "provisional", "provisional", pl.lit(None, dtype=pl.String))
    df = _mark(df, pl.col("kind") == "debit_failed", "debit_failed", pl.lit(None, dtype=pl.String))
    df = _mark(df, pl.col("kind") == "confirmed", "posted", pl.lit(None, dtype=pl.String))

    # 速報 that this file's 取消 / 確報 settle: in this file (status provisional) or in the ledger
    settle = df.filter(pl.col("status").is_null() & (pl.col("kind") == "cancel")
                       | (pl.col("status") == "posted") & pl.col("channel").is_in(["cvs", "credit", "app"]))
    prov = _open_provisionals(tx, df, settle).select(
        "dedup_key", pl.col("source_sha256").alias("_p_sha"), pl.col("record_no").alias("_p_no"),
        pl.col("amount").alias("_p_amount"), pl.col("levy_year").alias("_p_ly"),
        pl.col("notice_number").alias("_p_nn"), pl.col("installment_no").alias("_p_in"))
    p_cols = [c for c in prov.columns if c != "dedup_key"]
    if prov.height == 0:  # the usual case for every channel but CVS: no join at all
        df = df.with_columns([pl.lit(None, dtype=prov.schema[c]).alias(c) for c in p_cols])
    else:  # one open 速報 per dedup key (_open_provisionals), so the row count is kept
        m = df.select("dedup_key").join(prov, on="dedup_key", how="left", maintain_order="left")
        df = df.with_columns([m[c] for c in p_cols])
    # a 速報 is settled once: by the first 取消 / CVS 確報 of the file that names it; every other
    # record keeps no link (a later 取消 finds no open 速報: an error; a later 確報 is posted as
    # one without 速報; a record of another channel settles nothing)
    claims = pl.col("_p_sha").is_not_null() & (
        (pl.col("status").is_null() & (pl.col("kind") == "cancel"))
        | ((pl.col("status") == "posted") & pl.col("channel").is_in(["cvs", "credit", "app"])))
    df = df.with_columns(
        pl.when(claims).then(pl.concat_str([pl.col("_p_sha"), pl.col("_p_no").cast(pl.String)], separator=":"))
        .alias("_claim"))
    first_claim = pl.col("_claim").is_not_null() & pl.col("_claim").is_first_distinct()
    df = df.with_columns([pl.when(first_claim).then(pl.col(c)).alias(c)
                          for c in ("_p_sha", "_p_no", "_p_amount", "_p_ly", "_p_nn", "_p_in")]).drop("_claim")
    is_cancel = pl.col("status").is_null() & (pl.col("kind") == "cancel")
    df = _mark(df, is_cancel & pl.col("_p_sha").is_null(), "error", pl.lit("取消の対象となる速報がありません"))
    df = _mark(df, is_cancel, "cancelled", pl.lit(None, dtype=pl.String))
    cvs_posted = (pl.col("status") == "posted") & pl.col("channel").is_in(["cvs", "credit", "app"])
    df = df.with_columns(
        pl.when(cvs_posted & pl.col("_p_sha").is_null()).then(pl.lit("速報なし確報"))
        .otherwise(pl.col("reason")).alias("reason"))
    without_prov = int(df.select((cvs_posted & pl.col("_p_sha").is_null()).sum()).item())

    # settled 速報: (sha, record) → new status, amount off the 期別's 速報額
    settled = df.filter(pl.col("_p_sha").is_not_null() & pl.col("status").is_in(["cancelled", "posted"])).select(
        pl.col("_p_sha").alias("source_sha256"), pl.col("_p_no").alias("record_no"),
        pl.when(pl.col("status") == "cancelled").then(pl.lit("cancelled")).otherwise(pl.lit("confirmed"))
        .alias("new_status"),
        pl.col("_p_amount").alias("amount"), pl.col("_p_ly").alias("levy_year"),
        pl.col("_p_nn").alias("notice_number"), pl.col("_p_in").alias("installment_no"))
    # a 速報 of this same file settled by a later record of the file
    in_file = settled.join(df.select("source_sha256", "record_no"), on=["source_sha256", "record_no"], how="semi")
    if in_file.height:
        m = df.select("source_sha256", "record_no").join(
            in_file.select("source_sha256", "record_no", "new_status"), on=["source_sha256", "record_no"],
            how="left", maintain_order="left")
        df = df.with_columns(pl.coalesce(m["new_status"], pl.col("status")).alias("status"))
    in_ledger = settled.join(df.select("source_sha256", "record_no"), on=["source_sha256", "record_no"], how="anti")
    df = df.drop("_p_sha", "_p_no", "_p_amount", "_p_ly", "_p_nn", "_p_in")

    _write(tx, df, settled, in_ledger, run)
    return _result(df, without_prov)


def _mark(df: pl.DataFrame, cond: pl.Expr, status: str, reason: pl.Expr) -> pl.DataFrame:
    hit = pl.col("status").is_null() & cond.fill_null(False)
    return df.with_columns(
        pl.when(hit).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(reason).otherwise(pl.col("reason")).alias("reason"),
    )


def _installments(tx: Tx, keys: pl.DataFrame, municipality: str) -> pl.DataFrame:
    schema = {"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32,
              "levy_amount_right": pl.Int64, "collection_method": pl.String, "_found": pl.Boolean}
    if keys.height == 0:
        return pl.DataFrame(schema=schema)
    tx.stage("_keys", keys.with_columns(pl.lit(municipality).alias("municipality_code"),
                                        pl.col("levy_year").alias("target_year")))
    got = tx.query("collection/installments_by_key")
    return got.cast({k: v for k, v in schema.items()})


def _open_provisionals(tx: Tx, df: pl.DataFrame, settle: pl.DataFrame) -> pl.DataFrame:
    """Open 速報 with the dedup keys of ``settle``: this file's first, then the ledger's."""
    cols = ["dedup_key", "source_sha256", "record_no", "amount", "levy_year", "notice_number", "installment_no"]
    here = df.filter(pl.col("status") == "provisional").select(cols)
    if settle.height == 0:
        return here.head(0)
    tx.stage("_settle", settle.select("dedup_key").unique())
    there = tx.query("collection/open_provisionals")
    there = there.cast({"levy_year": pl.Int32, "installment_no": pl.Int32, "record_no": pl.Int64, "amount": pl.Int64})
    both = pl.concat([here, there.select(cols)], how="vertical_relaxed")
    return both.unique(subset=["dedup_key"], keep="first", maintain_order=True).filter(
        pl.col("dedup_key").is_in(settle["dedup_key"].implode()))


def _write(tx: Tx, df: pl.DataFrame, settled: pl.DataFrame, in_ledger: pl.DataFrame, run: Run) -> None:
    op_date, op_time = now_stamp()
    audit = audit_columns(run.job_id, (op_date, op_time))
    recon = df.select(
        "source_sha256", "record_no", pl.lit(run.municipality).alias("municipality_code"),
        pl.lit(BUSINESS_CODE).alias("business_code"), "collection_method", "levy_year",
        pl.col("levy_year").alias("target_year"), "notice_number", "installment_no",
        pl.lit(True).alias("latest_flag"), "levy_amount", "amount",
        pl.col("late_fee").fill_null(0).alias("late_fee_amount"), pl.col("dunning_fee").fill_null(0).alias("dunning_fee_amount"),
        "paid_date", "received_date", "payment_kind",
        "channel", "kind", "bank_code", "branch_code", pl.col("store_code").alias("cvs_store_code"), "agent_code",
        "barcode", "result_code", "store_time", "serial_number", "scheduled_payment_date",
        "dedup_key", "status", "reason", "source_file", "byte_offset",
        pl.when(pl.col("status").is_in(list(REJECTED))).then(pl.col("raw").bin.encode("hex"))
        .alias("raw_hex"),
        pl.lit(run.business_date).alias("business_date"), pl.lit(None, dtype=pl.Date).alias("resolved_date"),
        pl.lit(run.job_id).alias("job_id"), pl.lit(run.generation).alias("generation"), *audit)
    tx.insert("reconciliation", recon)

    posted = df.filter(pl.col("status") == "posted")
    tx.insert("payment", payment_rows(posted, run, audit))

    # 期別: 累計収納額, 速報額, last dates
    delta = pl.concat([
        posted.select(*KEY, pl.col("amount").alias("paid"), pl.lit(0, dtype=pl.Int64).alias("prov"),
                      "paid_date", "received_date"),
        # every 速報 accepted from this file adds to 速報額, also one a later record of the same
        # file already settled (status confirmed / cancelled): ``settled`` takes it off again
        df.filter((pl.col("kind") == "provisional")
                  & pl.col("status").is_in(["provisional", "confirmed", "cancelled"])).select(
            *KEY, pl.lit(0, dtype=pl.Int64).alias("paid"), pl.col("amount").alias("prov"),
            pl.lit(None, dtype=pl.Date).alias("paid_date"), pl.lit(None, dtype=pl.Date).alias("received_date")),
        settled.select(*KEY, pl.lit(0, dtype=pl.Int64).alias("paid"), (-pl.col("amount")).alias("prov"),
                       pl.lit(None, dtype=pl.Date).alias("paid_date"),
                       pl.lit(None, dtype=pl.Date).alias("received_date")),
    ], how="vertical_relaxed")
    apply_installment_delta(tx, delta, run, op_date, op_time)

    if in_ledger.height:
        tx.stage("_settled", in_ledger.select("source_sha256", "record_no", "new_status"))
        tx.run("collection/reconciliation_settle",
               {"d": run.business_date, "op": run.operator_id, "od": op_date, "ot": op_time,
                "rs": run.reason})


def payment_rows(posted: pl.DataFrame, run: Run, audit: list[pl.Expr]) -> pl.DataFrame:
    """納付履歴 rows (還付充当区分 0 収納, 出納区分 1 収入) of posted records."""
    return posted.select(
        "source_sha256", "record_no", pl.lit(1, dtype=pl.Int32).alias("line_no"),
        pl.lit(run.municipality).alias("municipality_code"), "levy_year",
        pl.col("levy_year").alias("target_year"), "notice_number", "installment_no",
        pl.lit(BUSINESS_CODE).alias("business_code"),
        pl.col("collection_method").fill_null(pl.col("notice_number").str.slice(0, 1)).alias("collection_method"),
        pl.lit(True).alias("latest_flag"), pl.lit("0").alias("refund_offset_kind"), pl.lit("1").alias("cash_kind"),
        pl.col("amount").alias("tax_amount"),
        (pl.col("late_fee") if "late_fee" in posted.columns else pl.lit(None, dtype=pl.Int64)).fill_null(0)
        .alias("late_fee_amount"),
        (pl.col("dunning_fee") if "dunning_fee" in posted.columns else pl.lit(None, dtype=pl.Int64)).fill_null(0)
        .alias("dunning_fee_amount"), "received_date", "paid_date", "payment_kind",
        "channel", "bank_code", "branch_code", pl.col("store_code").alias("cvs_store_code"), "agent_code",
        pl.lit(run.job_id).alias("job_id"), pl.lit(run.generation).alias("generation"), *audit)


def apply_installment_delta(tx: Tx, delta: pl.DataFrame, run: Run, op_date: dt.date, op_time: str) -> int:
    """Add ``paid`` / ``prov`` per 期別 (one UPDATE … FROM over the aggregated changes)."""
    if delta.height == 0:
        return 0
    agg = delta.group_by(KEY).agg(pl.col("paid").sum(), pl.col("prov").sum(), pl.col("paid_date").max(),
                                  pl.col("received_date").max())
    # the whole primary key in the staged rows: a pure equi-join (a constant or column predicate
    # beside it made DuckDB's UPDATE 20× slower, bench/bench_collection.py)
    tx.stage("_delta", agg.with_columns(pl.lit(run.municipality).alias("municipality_code"),
                                        pl.col("levy_year").alias("target_year")))
    tx.run("ledger/installment_apply_delta", {"op": run.operator_id, "od": op_date, "ot": op_time,
                                                  "rs": run.reason})
    return agg.height


def _result(df: pl.DataFrame, without_prov: int) -> PostResult:
    by = df.group_by("status").agg(pl.len().alias("n"), pl.col("amount").sum().alias("a"))
    counts = {s: int(n) for s, n, _ in by.iter_rows()}
    amounts = {s: int(a or 0) for s, _, a in by.iter_rows()}
    return PostResult(rows=df, counts=counts, amounts=amounts, without_provisional=without_prov)


def post_pending(tx: Tx, run: Run) -> pl.DataFrame:
    """Post the unmatched (保留) confirmed records whose 調定 now exists; returns them."""
    rows = tx.query("collection/pending_payments", {"m": run.municipality})
    if rows.height == 0:
        return rows
    rows = rows.cast({"levy_year": pl.Int32, "installment_no": pl.Int32})
    op_date, op_time = now_stamp()
    audit = audit_columns(run.job_id, (op_date, op_time))
    tx.insert("payment", payment_rows(rows, run, audit))
    apply_installment_delta(tx, rows.select(*KEY, pl.col("amount").alias("paid"),
                                            pl.lit(0, dtype=pl.Int64).alias("prov"), "paid_date", "received_date"),
                            run, op_date, op_time)
    tx.stage("_pending", rows.select("source_sha256", "record_no", "levy_amount"))
    tx.run("collection/reconciliation_post_pending",
           {"d": run.business_date, "op": run.operator_id, "od": op_date, "ot": op_time,
                "rs": run.reason})
    return rows


# --- the file registry ------------------------------------------------------------------------


def posted_file(tx: Tx, sha256: str) -> Mapping | None:
    row = tx.run("ledger/posted_file_get", {"s": sha256}).mappings().first()
    return dict(row) if row else None


def register_file(tx: Tx, *, sha256: str, file_name: str, channel: str, records: int, amount: int,
                  run: Run) -> None:
    op_date, op_time = now_stamp()
    tx.run(
        "ledger/posted_file_insert",
        {"s": sha256, "m": run.municipality, "f": file_name, "c": channel, "j": run.job_id, "g": run.generation,
         "b": run.business_date, "r": records, "a": amount, "od": op_date, "ot": op_time,
         "op": run.operator_id, "rs": run.reason})
