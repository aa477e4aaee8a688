"""消込 (reconciliation): normalized payment records → the ledger, in one transaction.

``post_payments(tx, pay, ...)`` takes the normalized payment frame of one input file (every
record read, ``PAYMENT_SCHEMA``; see README.md) and, inside the caller's transaction:

1. marks records the adapter could not read (``parse_error``) as **error**;
2. marks a record whose ``(dedup_key, kind)`` appeared earlier in the file, or was already
   taken from another file: the key is the slip's identity (channel, 収納機関, 通知書番号 or
   barcode, 期別, 受付日, 受付番号 — ``channels.SLIP_KEYS``), never its amount, so with the same
   amounts it is a **duplicate** (the same payment is never posted twice), with other amounts a
   **conflict** (金額相違: not posted, held in the ledger and the 消込エラー list for the
   operator; the earlier posting stays); a 口座振替 result is checked against the city's request
   (debit_request of its 顧客番号 and 振替日): none, or another amount → **error**, never posted;
3. matches the rest to the 期別 by (賦課年度, 通知書番号, 期別); a record with no 調定 is
   **unmatched**: kept in the ledger as 保留 and posted when the 調定 arrives (``post_pending``);
4. by kind: **confirmed** (確報 / 入金 / 振替済) posts to 納付履歴 and the 期別's 累計収納額, and
   clears a matching 速報; **provisional** (CVS 速報) adds to the 期別's 速報額 (it holds back
   督促) and posts nothing; **cancel** (速報取消) removes its 速報 — a 取消 with no 速報 is an
   **error** (also one whose amount is not the 速報's); **debit_failed** (振替不能) is recorded
   without money; **correction** (CVS 22 郵便振替訂正) reverses the posted 確報 of the same slip —
   a negative 納付履歴 row (line 1, 出納区分 3 収納取消) and the corrected amount (line 2), the 期別's
   累計収納額 moved by the difference, the earlier 消込データ row kept with status **reversed** and
   the reason — and is itself **corrected**; a 訂正 with no posted 確報 is an **error**;
5. splits a posted 収納代行 record of a 期別 with a 督促状 (the 督促状's barcode carries 本税 + 延滞金 +
   督促手数料): 本税 first up to the 期別's balance, then the 延滞金 and the 督促手数料 still open of the
   督促状 (地方税法: 本税 first; ``_split_dunned``); the 消込データ keeps the amount as read;
6. writes every record to ``reconciliation`` (消込データ, keyed by source SHA-256 and record
   number, so a record can never be posted twice), the postings to ``payment`` and the sums to
   ``installment``.

A large file on DuckDB is posted a slice per transaction by ``post_file`` (the same rows; see there).

Partial payments stay partly unpaid; a payment above the balance is posted and the excess is
the installment's 過誤納 (found by the daily 過誤納 step). Statuses that count as *rejected* in
the control totals (they go to the 消込エラー list): unmatched, error, duplicate, conflict.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from jobs.ledger import InstallmentMissingError, Ledger, LedgerError, Run, Tx, audit_columns, now_stamp

log = logging.getLogger("kokuho.reconcile")

PAYMENT_SCHEMA: dict[str, pl.DataType] = {
    "channel": pl.String(), "source_file": pl.String(), "source_sha256": pl.String(),
    "record_no": pl.Int64(), "byte_offset": pl.Int64(), "raw": pl.Binary(), "kind": pl.String(),
    "levy_year": pl.Int32(), "notice_number": pl.String(), "installment_no": pl.Int32(),
    "amount": pl.Int64(), "late_fee": pl.Int64(), "dunning_fee": pl.Int64(), "paid_date": pl.Date(), "received_date": pl.Date(), "payment_kind": pl.String(),
    "agent_code": pl.String(), "store_code": pl.String(), "bank_code": pl.String(),
    "branch_code": pl.String(), "barcode": pl.String(), "dedup_key": pl.String(),
    "result_code": pl.String(), "parse_error": pl.String(), "error_field": pl.String(),
    "store_time": pl.String(), "serial_number": pl.String(), "scheduled_payment_date": pl.Date(),
    "customer_number": pl.String(),
}
KEY = ["levy_year", "notice_number", "installment_no"]
INSTALLMENT_PK = ["municipality_code", "levy_year", "target_year", "notice_number", "installment_no"]
KINDS = ("confirmed", "provisional", "cancel", "debit_failed", "correction")
ACCEPTED = ("posted", "provisional", "confirmed", "cancelled", "debit_failed", "corrected", "reversed")
REJECTED = ("unmatched", "error", "duplicate", "conflict")
MONEY = ("amount", "late_fee", "dunning_fee")
STATUS_LABELS = {
    "posted": "消込済", "provisional": "速報", "confirmed": "速報→確報済", "cancelled": "速報取消",
    "lapsed": "速報失効", "debit_failed": "振替不能", "unmatched": "調定なし(保留)", "error": "消込エラー",
    "duplicate": "重複", "conflict": "金額相違(保留)", "corrected": "訂正", "reversed": "訂正により取消",
}
KIND_LABELS = {"confirmed": "確報・入金", "provisional": "速報", "cancel": "速報取消", "debit_failed": "振替不能",
               "correction": "郵便振替訂正"}
CASH_IN, CASH_REVERSAL = "1", "3"  # 出納区分: 1 収入; 3 収納取消 (the negative row of a 訂正) [project]
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


@dataclass(frozen=True)
class Updated:
    """What ``apply_installment_delta`` did: the 期別 it changed, and how many of those it reached by
    row address (PostgreSQL, ``_apply_by_address``); the rest went by key."""

    installments: int
    by_address: int

    def __add__(self, other: Updated) -> Updated:
        return Updated(self.installments + other.installments, self.by_address + other.by_address)


@dataclass
class PostResult:
    rows: pl.DataFrame  # one row per record: PAYMENT_SCHEMA + status, reason, levy_amount
    counts: dict[str, int] = field(default_factory=dict)  # status → records
    amounts: dict[str, int] = field(default_factory=dict)  # status → yen
    without_provisional: int = 0  # CVS 確報 with no 速報 (posted, warned)
    pending_posted: int = 0
    # conflicts (金額相違): record_no, amount, prev_file, prev_record, prev_amount
    conflicts: pl.DataFrame = field(default_factory=pl.DataFrame)
    # 口座振替 results rejected against the requests: record_no, customer_number, amount, req_amount
    debit_rejects: pl.DataFrame = field(default_factory=pl.DataFrame)
    # 訂正: record_no, amount, prev_file, prev_record, prev_amount
    corrections: pl.DataFrame = field(default_factory=pl.DataFrame)
    # 督促状 barcode payments split (step 5): records, 本税, 延滞金, 督促手数料 (yen)
    dunned: tuple[int, int, int, int] = (0, 0, 0, 0)
    # 期別 whose 累計収納額 / 速報額 the file changed, and how many of them by row address
    updated: Updated = field(default_factory=lambda: Updated(0, 0))
    # transactions that committed this call's records (more than one: a large file on DuckDB, post_file)
    transactions: int = 1

    @property
    def accepted(self) -> int:
        return sum(self.counts.get(s, 0) for s in ACCEPTED)

    @property
    def rejected(self) -> int:
        return sum(self.counts.get(s, 0) for s in REJECTED)


def _in_order(pay: pl.DataFrame) -> pl.DataFrame:
    in_order = pay["source_sha256"].n_unique() <= 1 and pay["record_no"].is_sorted()
    return pay if in_order else pay.sort("source_sha256", "record_no")


def _unreadable(df: pl.DataFrame) -> pl.DataFrame:
    """Step 1: records the adapter could not read, and an unknown kind."""
    df = _mark(df, pl.col("parse_error").is_not_null(), "error", pl.col("parse_error"))
    return _mark(df, ~pl.col("kind").is_in(KINDS), "error", pl.lit("データ種別が不明です"))


def post_payments(tx: Tx, pay: pl.DataFrame, run: Run, *,
                  marks: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> PostResult:
    """Post the records of ``pay`` (one file) in ``tx``. ``marks`` (``file_marks``): what steps 1, 2
    and 2b found over the whole file, when ``pay`` is one slice of it (``post_file``)."""
    pay = _in_order(normalize(pay))
    # every join below keeps the left order (maintain_order="left") and adds columns to the
    # narrow key frame only: the 5M-row frame is never copied by a join
    df = pay.with_columns(pl.lit(None, dtype=pl.String).alias("status"), pl.lit(None, dtype=pl.String).alias("reason"),
                          pl.lit(None, dtype=pl.Int64).alias("levy_amount"))

    # 1. records the adapter could not read
    df = _unreadable(df)

    # 2. the same slip (dedup_key: its identity, never its amount) and kind earlier in the file,
    #    then in the ledger: with the same amounts a duplicate, with other amounts a conflict
    #    (金額相違: held, not posted, for the operator)
    df = _repeats_in_file(df) if marks is None else _with_marks(df, marks[0])
    df = _repeats_in_ledger(tx, df)
    conflicts = _rows(df, pl.col("status") == "conflict",
                      "record_no", "amount", pl.col("_prev_file").alias("prev_file"),
                      pl.col("_prev_record").alias("prev_record"), pl.col("_prev_amount").alias("prev_amount"))
    df = df.drop("_prev_file", "_prev_record", "_prev_amount")

    # 2b. 口座振替 results against the city's requests (debit_request): a result must name a
    #     request of that 振替日 and report the requested amount
    df, debit_rejects = _check_debit_requests(tx, df, run)

    # 3. match to the 期別
    if marks is None:
        keys = _rows(df, pl.col("status").is_null() & pl.col("notice_number").is_not_null(), *KEY).unique()
    else:  # a slice: the keys of its records that the whole file looks up (file_marks)
        keys = df.lazy().select(KEY).join(marks[1].lazy(), on=KEY, how="semi").unique().collect()
    inst = _installments(tx, keys, run.municipality)
    # PostgreSQL: where each 期別 lies (its update in _write reaches it by address); DuckDB: none
    located = inst.select(*KEY, "_row_at") if "_row_at" in inst.columns else None
    inst = inst.drop("_row_at", strict=False)
    m = df.select(KEY).join(inst, on=KEY, how="left", maintain_order="left")  # the 期別 key is unique
    df = df.with_columns(pl.coalesce(m["levy_amount_right"], pl.col("levy_amount")).alias("levy_amount"),
                         m["collection_method"].alias("collection_method"), m["_found"])
    no_key = pl.col("status").is_null() & pl.col("notice_number").is_null()
    df = _mark(df, no_key, "error", pl.lit("通知書番号・期別を読み取れません"))
    unmatched = pl.col("status").is_null() & pl.col("_found").is_null() & ~pl.col("kind").is_in(["cancel", "correction"])
    df = _mark(df, unmatched, "unmatched",
               pl.format("調定が登録されていません (賦課年度 {} 通知書番号 {} 期別 {})",
                         "levy_year", "notice_number", "installment_no"))

    # 4. kinds
    df = _mark(df, pl.col("kind") == "provisional", "provisional", pl.lit(None, dtype=pl.String))
    df = _mark(df, pl.col("kind") == "debit_failed", "debit_failed", pl.lit(None, dtype=pl.String))
    df = _mark(df, pl.col("kind") == "confirmed", "posted", pl.lit(None, dtype=pl.String))

    # 速報 that this file's 取消 / 確報 settle: in this file (status provisional) or in the ledger
    settle = _rows(df, pl.col("status").is_null() & (pl.col("kind") == "cancel")
                   | (pl.col("status") == "posted") & pl.col("channel").is_in(["cvs", "credit", "app"]), "dedup_key")
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
    df = _mark(df, is_cancel & (pl.col("_p_amount") != pl.col("amount")), "error",
               pl.format("取消の金額 {}円 が速報の金額 {}円 と一致しません", "amount", "_p_amount"))
    df = _mark(df, is_cancel, "cancelled", pl.lit(None, dtype=pl.String))
    cvs_posted = (pl.col("status") == "posted") & pl.col("channel").is_in(["cvs", "credit", "app"])
    df = df.with_columns(
        pl.when(cvs_posted & pl.col("_p_sha").is_null()).then(pl.lit("速報なし確報"))
        .otherwise(pl.col("reason")).alias("reason"))
    without_prov = int(df.select((cvs_posted & pl.col("_p_sha").is_null()).sum()).item())

    # settled 速報: (sha, record) → new status, amount off the 期別's 速報額
    settled = _rows(
        df, pl.col("_p_sha").is_not_null() & pl.col("status").is_in(["cancelled", "posted"]),
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

    # 5. 訂正 (CVS データ種別 22): reverses the posted 確報 of the same slip and posts the
    #    corrected amount in its place
    df, reversals = _corrections(tx, df)

    # 6. a 収納代行 payment of a 期別 with a 督促状 (its barcode: 本税 + 延滞金 + 督促手数料): 本税 first
    df = _split_dunned(tx, df, run.municipality, reversals)

    updated = _write(tx, df, settled, in_ledger, run, reversals, located)
    res = _result(df.drop(SPLIT, strict=False), without_prov)
    res.updated = updated
    if SPLIT[0] in df.columns:
        sp = df.filter(pl.col(SPLIT[0]).is_not_null())
        res.dunned = (sp.height, *(int(sp[c].sum() or 0) for c in SPLIT))
    res.conflicts, res.debit_rejects = conflicts, debit_rejects
    res.corrections = reversals.select("record_no", pl.col("new_amount").alias("amount"), "prev_file",
                                       "prev_record", pl.col("old_amount").alias("prev_amount"))
    return res


def _mark(df: pl.DataFrame, cond: pl.Expr, status: str, reason: pl.Expr) -> pl.DataFrame:
    hit = pl.col("status").is_null() & cond.fill_null(False)
    return df.with_columns(
        pl.when(hit).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(reason).otherwise(pl.col("reason")).alias("reason"),
    )


def _rows(df: pl.DataFrame, cond: pl.Expr, *columns: str | pl.Expr) -> pl.DataFrame:
    """``columns`` of the rows of ``df`` where ``cond`` holds: the columns are picked before the
    rows are (a lazy filter), so only those columns of the kept rows are copied, never every
    column of the file's frame (5M records: a second copy of the whole file)."""
    return df.lazy().filter(cond).select(*columns).collect()


def _same_money(prefix: str) -> pl.Expr:
    return pl.all_horizontal([pl.col(c).fill_null(0) == pl.col(f"{prefix}{c}").fill_null(0) for c in MONEY])


def _repeats_in_file(df: pl.DataFrame) -> pl.DataFrame:
    """Step 2 in the file: duplicates and conflicts of an earlier record of the file. Adds
    ``_prev_file``, ``_prev_record``, ``_prev_amount`` (the earlier record of the same slip) for
    the caller's conflict messages."""
    df = df.with_columns(pl.lit(None, dtype=pl.String).alias("_prev_file"),
                         pl.lit(None, dtype=pl.Int64).alias("_prev_record"),
                         pl.lit(None, dtype=pl.Int64).alias("_prev_amount"))
    # inside the file: each later record against the first of its (slip, kind); only the few
    # repeats are joined, never the whole frame
    first = pl.col("dedup_key").is_first_distinct().over("kind")
    idx = df.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), first.alias("_first"),
                    "status", "dedup_key", "kind", "record_no", "source_file", *MONEY)
    later = idx.filter(~pl.col("_first") & pl.col("status").is_null())
    if later.height:
        firsts = idx.filter(pl.col("_first") & pl.col("dedup_key").is_in(later["dedup_key"].unique().implode())).select(
            "dedup_key", "kind", pl.col("source_file").alias("_f_file"), pl.col("record_no").alias("_f_record"),
            *[pl.col(c).alias(f"_f_{c}") for c in MONEY])
        j = later.join(firsts, on=["dedup_key", "kind"], how="left", maintain_order="left").with_columns(
            _same_money("_f_").alias("_same"))
        i = j["_i"]
        status = j.select(pl.when(pl.col("_same")).then(pl.lit("duplicate")).otherwise(pl.lit("conflict"))).to_series()
        df = df.with_columns(
            df["status"].scatter(i, status),
            df["reason"].scatter(i, j.select(
                pl.when(pl.col("_same")).then(pl.lit("同一ファイル内に同じ納付のレコードがあります"))
                .otherwise(pl.format("同一ファイル第{}レコードと同じ納付で金額が異なります ({}円 / {}円)",
                                     "_f_record", "_f_amount", "amount"))).to_series()),
            df["_prev_file"].scatter(i, j["_f_file"]), df["_prev_record"].scatter(i, j["_f_record"]),
            df["_prev_amount"].scatter(i, j["_f_amount"]))
    return df


MARK_COLUMNS = ("status", "reason", "_prev_file", "_prev_record", "_prev_amount")


def file_marks(tx: Tx, pay: pl.DataFrame, run: Run) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Steps 1, 2 and 2b over the whole file's frame (its narrow key columns only), for posting it a
    slice at a time (``post_payments(..., marks=, open_keys=)``) with the outcome of the whole file:

    - the marks: the records decided by steps 1 and 2 in the file (error, duplicate, conflict) with
      ``record_no`` and ``MARK_COLUMNS`` — a repeat of a record of another slice is found as before;
    - the open keys: the 期別 keys (``KEY``) of the records still open after steps 2 and 2b (the
      ledger's slips and 口座振替 requests), which step 3 looks up — a rejected record of one of these
      期別 gets the 期別's 調定額 and 徴収方法 in its 消込データ row as in one transaction, whichever slice
      holds the open record.
    Reads the ledger only (its staged tables go with ``tx``)."""
    pay = _in_order(normalize(pay))
    df = pay.select("source_sha256", "record_no", "parse_error", "kind", "dedup_key", "source_file", "channel",
                    "customer_number",
                    "paid_date", *KEY, *MONEY).with_columns(
        pl.lit(None, dtype=pl.String).alias("status"), pl.lit(None, dtype=pl.String).alias("reason"))
    df = _repeats_in_file(_unreadable(df))
    marks = _rows(df, pl.col("status").is_not_null(), "record_no", *MARK_COLUMNS)
    df = _check_debit_requests(tx, _repeats_in_ledger(tx, df), run)[0]
    open_keys = _rows(df, pl.col("status").is_null() & pl.col("notice_number").is_not_null(), *KEY).unique()
    return marks, open_keys


def _with_marks(df: pl.DataFrame, marks: pl.DataFrame) -> pl.DataFrame:
    """``df`` (statuses of step 1) with the ``file_marks`` of its records."""
    m = df.select("record_no").join(marks, on="record_no", how="left", maintain_order="left")
    return df.with_columns(pl.coalesce(m["status"], pl.col("status")).alias("status"),
                           pl.coalesce(m["reason"], pl.col("reason")).alias("reason"),
                           *[m[c].alias(c) for c in MARK_COLUMNS[2:]])


def _repeats_in_ledger(tx: Tx, df: pl.DataFrame) -> pl.DataFrame:
    """Step 2 against the ledger: a record of a slip and kind taken from an earlier file."""
    open_ = _rows(df, pl.col("status").is_null(), "dedup_key", "kind")
    if open_.height == 0:
        return df
    tx.stage("_dedup", open_.unique())
    del open_
    seen = tx.query("collection/dedup_seen", {"s": df["source_sha256"][0]})
    if seen.height == 0:
        return df
    seen = seen.cast({"prev_record": pl.Int64, "prev_amount": pl.Int64, "prev_late_fee": pl.Int64,
                      "prev_dunning_fee": pl.Int64})
    m = df.select("dedup_key", "kind", *MONEY).join(seen, on=["dedup_key", "kind"], how="left",
                                                   maintain_order="left")
    m = m.with_columns(pl.all_horizontal([pl.col(c).fill_null(0) == pl.col(p).fill_null(0) for c, p in
                                          zip(MONEY, ("prev_amount", "prev_late_fee", "prev_dunning_fee"))])
                       .alias("_same"))
    df = df.with_columns(m["prev_file"].alias("_pf"), m["prev_record"].alias("_pr"), m["prev_amount"].alias("_pa"),
                         m["_same"])
    df = _mark(df, pl.col("_pf").is_not_null() & pl.col("_same"), "duplicate",
               pl.format("取込済みの納付と重複しています ({} 第{}レコード)", "_pf", "_pr"))
    hit = pl.col("status").is_null() & pl.col("_pf").is_not_null()
    df = df.with_columns(pl.when(hit).then(pl.col("_pf")).otherwise(pl.col("_prev_file")).alias("_prev_file"),
                         pl.when(hit).then(pl.col("_pr")).otherwise(pl.col("_prev_record")).alias("_prev_record"),
                         pl.when(hit).then(pl.col("_pa")).otherwise(pl.col("_prev_amount")).alias("_prev_amount"))
    df = _mark(df, pl.col("_pf").is_not_null(), "conflict",
               pl.format("取込済みの納付 ({} 第{}レコード {}円) と金額が異なります ({}円)", "_pf", "_pr", "_pa", "amount"))
    return df.drop("_pf", "_pr", "_pa", "_same")


def _check_debit_requests(tx: Tx, df: pl.DataFrame, run: Run) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Step 2b: each 口座振替 result against the request of its 顧客番号 and 振替日 (debit_request):
    no such request, or another amount → 消込エラー (never posted). Returns the frame and the
    rejected results (record_no, customer_number, amount, req_amount) for the messages."""
    empty = pl.DataFrame(schema={"record_no": pl.Int64, "customer_number": pl.String, "amount": pl.Int64,
                                 "req_amount": pl.Int64})
    deb = _rows(df, pl.col("status").is_null() & (pl.col("channel") == "debit"), "customer_number")
    if deb.height == 0:
        return df, empty
    tx.stage("_cust", deb.select("customer_number").drop_nulls().unique())
    req = tx.query("collection/debit_requests_by_customer", {"m": run.municipality}).cast(
        {"customer_number": pl.String, "req_amount": pl.Int64, "req_debit_date": pl.Date})
    req = req.unique(subset=["customer_number"], keep="first")
    m = df.select("customer_number").join(req, on="customer_number", how="left", maintain_order="left")
    df = df.with_columns(m["req_amount"], m["req_debit_date"])
    open_debit = pl.col("status").is_null() & (pl.col("channel") == "debit")
    no_req = open_debit & (pl.col("req_amount").is_null() | (pl.col("req_debit_date") != pl.col("paid_date"))
                           .fill_null(True))
    other = open_debit & ~no_req & (pl.col("amount") != pl.col("req_amount"))
    df = df.with_columns(no_req.fill_null(False).alias("_no_req"), other.fill_null(False).alias("_other"))
    rejects = df.filter(pl.col("_no_req") | pl.col("_other")).select(
        "record_no", "customer_number", "amount",
        pl.when(pl.col("_other")).then(pl.col("req_amount")).alias("req_amount"))
    df = _mark(df, pl.col("_no_req"), "error",
               pl.format("口座振替の請求がありません (顧客番号 {} 振替日 {})", pl.col("customer_number").fill_null("-"),
                         pl.col("paid_date").cast(pl.String).fill_null("-")))
    df = _mark(df, pl.col("_other"), "error",
               pl.format("振替結果の金額 {}円 が請求額 {}円 と一致しません (顧客番号 {})",
                         "amount", "req_amount", "customer_number"))
    df = df.drop("_no_req", "_other")
    return df.drop("req_amount", "req_debit_date"), rejects


def _corrections(tx: Tx, df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Step 5: each 訂正 record (kind correction) reverses the posted 確報 of its slip — of this
    file (an earlier record) or of the ledger — and posts its own (corrected) amount. Returns the
    frame (訂正 → corrected; a target of this file → reversed) and the reversals: the 訂正's
    record_no, new_amount, the target's prev_sha, prev_file, prev_record, old_amount, old_late_fee,
    old_dunning_fee (as read) and old_tax, old_booked_late_fee, old_booked_dunning_fee (as its 納付履歴
    booked them: a 督促状 barcode's amount was split, step 5 of the module docstring)."""
    cols = {"record_no": pl.Int64, "new_amount": pl.Int64, "prev_sha": pl.String, "prev_file": pl.String,
            "prev_record": pl.Int64, "old_amount": pl.Int64, "old_late_fee": pl.Int64, "old_dunning_fee": pl.Int64,
            "old_tax": pl.Int64, "old_booked_late_fee": pl.Int64, "old_booked_dunning_fee": pl.Int64,
            "in_file": pl.Boolean}
    corr = _rows(df, pl.col("status").is_null() & (pl.col("kind") == "correction"),
                 "dedup_key", "record_no", "amount", *KEY)
    if corr.height == 0:
        return df, pl.DataFrame(schema=cols)
    tcols = ["dedup_key", "source_sha256", "source_file", "record_no", "amount", "late_fee", "dunning_fee",
             "posted_tax", "posted_late_fee", "posted_dunning_fee", *KEY]
    # a target of this file is posted as read (a reversed record is not split)
    here = df.filter((pl.col("status") == "posted") & (pl.col("kind") == "confirmed")
                     & pl.col("dedup_key").is_in(corr["dedup_key"].implode())).with_columns(
        pl.col("amount").alias("posted_tax"), pl.col("late_fee").fill_null(0).alias("posted_late_fee"),
        pl.col("dunning_fee").fill_null(0).alias("posted_dunning_fee")).select(tcols).with_columns(
        pl.lit(True).alias("in_file"))
    tx.stage("_correct", corr.select("dedup_key").unique())
    there = tx.query("collection/correction_targets").cast(
        {"record_no": pl.Int64, "amount": pl.Int64, "late_fee": pl.Int64, "dunning_fee": pl.Int64,
         "posted_tax": pl.Int64, "posted_late_fee": pl.Int64, "posted_dunning_fee": pl.Int64})
    there = there.cast({"levy_year": pl.Int32, "installment_no": pl.Int32}).select(tcols).with_columns(
        pl.lit(False).alias("in_file"))
    targets = pl.concat([there, here], how="vertical_relaxed").unique(subset=["dedup_key"], keep="first",
                                                                      maintain_order=True)
    j = corr.select("dedup_key", pl.col("record_no").alias("_c_no"), pl.col("amount").alias("new_amount"),
                    *[pl.col(k).alias(f"_c_{k}") for k in KEY]).join(
        targets.rename({"source_sha256": "prev_sha", "source_file": "prev_file", "record_no": "prev_record",
                        "amount": "old_amount", "late_fee": "old_late_fee", "dunning_fee": "old_dunning_fee",
                        "posted_tax": "old_tax", "posted_late_fee": "old_booked_late_fee",
                        "posted_dunning_fee": "old_booked_dunning_fee"}),
        on="dedup_key", how="inner")
    # a target of this file must come before the 訂正
    j = j.filter(~pl.col("in_file") | (pl.col("prev_record") < pl.col("_c_no")))
    # the 訂正 corrects the amount of its slip, so it names the 期別 of the 確報 it reverses: one that
    # names another 期別 (or one with no 調定) is refused, the 確報 stays posted — were it taken, the
    # reversal would be booked to the 訂正's 期別 and the reversed 期別 would keep its 累計収納額
    same = pl.all_horizontal([pl.col(f"_c_{k}").eq_missing(pl.col(k)) for k in KEY])
    other = j.filter(~same).select(pl.col("_c_no").alias("record_no"), "prev_file", "prev_record",
                                   *[pl.col(k).alias(f"_t_{k}") for k in KEY])
    j = j.filter(same)
    rev = j.select(pl.col("_c_no").alias("record_no"), "new_amount", "prev_sha", "prev_file", "prev_record",
                   "old_amount", "old_late_fee", "old_dunning_fee", "old_tax", "old_booked_late_fee",
                   "old_booked_dunning_fee", "in_file").cast(cols)
    m = df.select("record_no").join(rev.select("record_no", "prev_file", "prev_record", "old_amount"),
                                    on="record_no", how="left", maintain_order="left")
    is_corr = pl.col("kind") == "correction"
    df = df.with_columns(m["prev_file"].alias("_t_file"), m["prev_record"].alias("_t_no"),
                         m["old_amount"].alias("_t_amount"))
    if other.height:
        o = df.select("record_no").join(other, on="record_no", how="left", maintain_order="left")
        df = df.with_columns(o["prev_file"].alias("_o_file"), o["prev_record"].alias("_o_no"),
                             *[o[f"_t_{k}"].alias(f"_o_{k}") for k in KEY])
        df = _mark(df, is_corr & pl.col("_t_no").is_null() & pl.col("_o_no").is_not_null(), "error",
                   pl.format("訂正の期別が訂正対象の確報と異なります ({} 第{}レコード: 賦課年度 {} 通知書番号 {} 期別 {})",
                             "_o_file", "_o_no", *[f"_o_{k}" for k in KEY]))
        df = df.drop("_o_file", "_o_no", *[f"_o_{k}" for k in KEY])
    df = _mark(df, is_corr & pl.col("_t_no").is_null(), "error",
               pl.lit("訂正の対象となる消込済みの確報がありません"))
    df = _mark(df, is_corr, "corrected",
               pl.format("訂正: {} 第{}レコード {}円 を取消し {}円 に訂正", "_t_file", "_t_no", "_t_amount", "amount"))
    # a target of this file: reversed in place (its 納付履歴 row is still written; the 訂正 reverses it)
    inf = rev.filter(pl.col("in_file"))
    if inf.height:
        m2 = df.select("record_no").join(inf.select(pl.col("prev_record").alias("record_no"),
                                                    pl.col("record_no").alias("_by")),
                                         on="record_no", how="left", maintain_order="left")
        df = df.with_columns(m2["_by"])
        df = df.with_columns(
            pl.when(pl.col("_by").is_not_null()).then(pl.lit("reversed")).otherwise(pl.col("status")).alias("status"),
            pl.when(pl.col("_by").is_not_null()).then(pl.format("訂正により取消 (同一ファイル第{}レコード)", "_by"))
            .otherwise(pl.col("reason")).alias("reason")).drop("_by")
    return df.drop("_t_file", "_t_no", "_t_amount"), rev


SPLIT = ("_split_tax", "_split_late_fee", "_split_dunning_fee")
CVS_CHANNELS = ("cvs", "credit", "app")


def _split_dunned(tx: Tx, df: pl.DataFrame, municipality: str, reversals: pl.DataFrame) -> pl.DataFrame:
    """Step 5 of the module docstring: a posted 収納代行 record carries one amount, the barcode's. For a 期別 with a 督促状
    (``collection/dunned_balances``) that amount is 本税 + 延滞金 + 督促手数料: it goes to 本税 first, up
    to the 期別's balance, then to the 延滞金 still open of the 督促状, then to its 督促手数料 (地方税法:
    本税 first); anything beyond stays 本税 (the 期別's 過誤納, as for any payment above the balance).
    Records of the same 期別 in one file take their shares in record order. A 訂正 (status corrected)
    is split the same way, after the postings it reverses from the ledger gave back what they booked
    (``reversals``). Adds ``SPLIT`` columns (null where nothing is split); the 消込データ keeps the
    amount as read."""
    cand = pl.col("status").is_in(["posted", "corrected"]) & pl.col("channel").is_in(list(CVS_CHANNELS)) \
        & pl.col("notice_number").is_not_null()
    keys = _rows(df, cand, *KEY).unique()
    if keys.height == 0 or not tx.value("collection/dunning_notices_any", {"m": municipality}):
        return df
    tx.stage("_keys", keys.with_columns(pl.lit(municipality).alias("municipality_code"),
                                        pl.col("levy_year").alias("target_year")))
    open_ = tx.query("collection/dunned_balances")
    if open_.height == 0:
        return df
    open_ = open_.cast({"levy_year": pl.Int32, "installment_no": pl.Int32, "balance": pl.Int64,
                        "late_fee_open": pl.Int64, "dunning_fee_open": pl.Int64})
    back = reversals.filter(~pl.col("in_file"))
    if back.height:  # the ledger postings this file's 訂正 reverse: what they booked is open again
        back = back.join(df.select("record_no", *KEY), on="record_no", how="inner").group_by(KEY).agg(
            pl.col("old_tax").sum().alias("_t"), pl.col("old_booked_late_fee").sum().alias("_l"),
            pl.col("old_booked_dunning_fee").sum().alias("_f"))
        open_ = open_.join(back, on=KEY, how="left").with_columns(
            (pl.col("balance") + pl.col("_t").fill_null(0)).alias("balance"),
            (pl.col("late_fee_open") + pl.col("_l").fill_null(0)).alias("late_fee_open"),
            (pl.col("dunning_fee_open") + pl.col("_f").fill_null(0)).alias("dunning_fee_open")).drop("_t", "_l", "_f")
    idx = df.with_row_index("_i").filter(cand).select("_i", *KEY, "amount").join(
        open_, on=KEY, how="inner", maintain_order="left")
    if idx.height == 0:
        return df
    bal = pl.max_horizontal(pl.col("balance"), pl.lit(0))
    late = pl.max_horizontal(pl.col("late_fee_open"), pl.lit(0))
    fee = pl.max_horizontal(pl.col("dunning_fee_open"), pl.lit(0))

    def shares(x: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
        """本税 (incl. any excess), 延滞金, 督促手数料 of a cumulative amount ``x`` of the 期別."""
        to_tax = pl.min_horizontal(x, bal)
        to_late = pl.min_horizontal(pl.max_horizontal(x - bal, pl.lit(0)), late)
        to_fee = pl.min_horizontal(pl.max_horizontal(x - bal - late, pl.lit(0)), fee)
        excess = pl.max_horizontal(x - bal - late - fee, pl.lit(0))
        return to_tax + excess, to_late, to_fee

    cum = pl.col("amount").cum_sum().over(KEY)
    now, before = shares(cum), shares(cum - pl.col("amount"))
    split = idx.select("_i", *[(a - b).alias(name) for a, b, name in zip(now, before, SPLIT, strict=True)])
    m = df.with_row_index("_i").select("_i").join(split, on="_i", how="left", maintain_order="left")
    return df.with_columns([m[c] for c in SPLIT])


def _installments(tx: Tx, keys: pl.DataFrame, municipality: str) -> pl.DataFrame:
    schema = {"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32,
              "levy_amount_right": pl.Int64, "collection_method": pl.String, "_found": pl.Boolean,
              "_row_at": pl.Int64}
    if keys.height == 0:
        return pl.DataFrame(schema=schema)
    tx.stage("_keys", keys.with_columns(pl.lit(municipality).alias("municipality_code"),
                                        pl.col("levy_year").alias("target_year")))
    got = tx.query("collection/installments_by_key")
    return got.cast({k: v for k, v in schema.items() if k in got.columns})


def _open_provisionals(tx: Tx, df: pl.DataFrame, settle: pl.DataFrame) -> pl.DataFrame:
    """Open 速報 with the dedup keys of ``settle``: this file's first, then the ledger's."""
    cols = ["dedup_key", "source_sha256", "record_no", "amount", "levy_year", "notice_number", "installment_no"]
    here = _rows(df, pl.col("status") == "provisional", *cols)
    if settle.height == 0:
        return here.head(0)
    tx.stage("_settle", settle.select("dedup_key").unique())
    there = tx.query("collection/open_provisionals")
    there = there.cast({"levy_year": pl.Int32, "installment_no": pl.Int32, "record_no": pl.Int64, "amount": pl.Int64})
    both = pl.concat([here, there.select(cols)], how="vertical_relaxed")
    return both.unique(subset=["dedup_key"], keep="first", maintain_order=True).filter(
        pl.col("dedup_key").is_in(settle["dedup_key"].implode()))


def _write(tx: Tx, df: pl.DataFrame, settled: pl.DataFrame, in_ledger: pl.DataFrame, run: Run,
           reversals: pl.DataFrame, located: pl.DataFrame | None = None) -> Updated:
    op_date, op_time = now_stamp()
    audit = audit_columns(run.job_id, (op_date, op_time))
    # 消込データ and the postings of 納付履歴 are built and written a slice of the file at a time
    # (WRITE_SLICE records, all in the caller's transaction): the frame of a slice, never of the
    # whole file, is what they add to memory (5M records: bench/bench_collection.py)
    # (PostgreSQL: a file large against the 消込データ already held loads it without its secondary
    # indexes and builds them after, Tx.bulk_load)
    booked = []
    with tx.bulk_load("reconciliation", df.height):
        for part in df.iter_slices(WRITE_SLICE):
            tx.insert("reconciliation", _reconciliation_rows(part, run, audit))
            # 納付履歴: the postings (a target a later 訂正 of this file reversed was posted first)
            posted = _as_booked(part.filter(pl.col("status").is_in(["posted", "reversed"])))
            tx.insert("payment", payment_rows(posted, run, audit))
            booked.append(posted.select(*KEY, "amount", "paid_date", "received_date"))
    posted = pl.concat(booked, how="vertical_relaxed") if booked else df.head(0).select(
        *KEY, "amount", "paid_date", "received_date")

    # a 訂正 adds line 1, the negative of the posting it reverses (出納区分 3 収納取消), and line 2,
    # its corrected amount (none when it corrects to 0)
    corrected = _as_booked(df.filter(pl.col("status") == "corrected"))
    rev = corrected.join(reversals.select("record_no", "old_tax", "old_booked_late_fee", "old_booked_dunning_fee"),
                         on="record_no", how="inner")
    tx.insert("payment", pl.concat([
        payment_rows(rev.with_columns((-pl.col("old_tax")).alias("amount"),
                                      (-pl.col("old_booked_late_fee")).alias("late_fee"),
                                      (-pl.col("old_booked_dunning_fee")).alias("dunning_fee")),
                     run, audit, line_no=1, cash_kind=CASH_REVERSAL),
        payment_rows(corrected.filter((pl.col("amount") != 0) | (pl.col("late_fee").fill_null(0) != 0)
                                      | (pl.col("dunning_fee").fill_null(0) != 0)),
                     run, audit, line_no=2),
    ], how="vertical_relaxed"))

    # 期別: 累計収納額, 速報額, last dates
    delta = pl.concat([
        posted.select(*KEY, pl.col("amount").alias("paid"), pl.lit(0, dtype=pl.Int64).alias("prov"),
                      "paid_date", "received_date"),
        # a 訂正: its amount in, the reversed posting's out
        rev.select(*KEY, (pl.col("amount") - pl.col("old_tax")).alias("paid"),
                   pl.lit(0, dtype=pl.Int64).alias("prov"), pl.lit(None, dtype=pl.Date).alias("paid_date"),
                   pl.lit(None, dtype=pl.Date).alias("received_date")),
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
    updated = apply_installment_delta(tx, delta, run, op_date, op_time, located=located)

    led = reversals.filter(~pl.col("in_file"))
    if led.height:
        file_name = df["source_file"][0]
        tx.stage("_reversed", led.select(
            pl.col("prev_sha").alias("source_sha256"), pl.col("prev_record").alias("record_no"),
            pl.format("訂正により取消 ({} 第{}レコード, {}円 → {}円)", pl.lit(file_name), "record_no", "old_amount",
                      "new_amount").alias("reason")))
        tx.run("collection/reconciliation_reverse",
               {"d": run.business_date, "op": run.job_id, "od": op_date, "ot": op_time})

    if in_ledger.height:
        tx.stage("_settled", in_ledger.select("source_sha256", "record_no", "new_status"))
        tx.run("collection/reconciliation_settle",
               {"d": run.business_date, "op": run.operator_id, "od": op_date, "ot": op_time,
                "rs": run.reason})
    return updated


WRITE_SLICE = 500_000  # records of the file per INSERT of 消込データ / 納付履歴 (one transaction)


def _reconciliation_rows(df: pl.DataFrame, run: Run, audit: list[pl.Expr]) -> pl.DataFrame:
    """消込データ rows: every record as read, with its status and reason."""
    return df.select(
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
        pl.lit(run.business_date).alias("business_date"),
        pl.when(pl.col("status") == "reversed").then(pl.lit(run.business_date)).otherwise(pl.lit(None, dtype=pl.Date))
        .alias("resolved_date"),
        pl.lit(run.job_id).alias("job_id"), pl.lit(run.generation).alias("generation"), *audit)


def _as_booked(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with amount / late_fee / dunning_fee as 納付履歴 books them: a 督促状 barcode's amount split
    into 本税 / 延滞金 / 督促手数料 (``SPLIT``, step 5 of the module docstring), else as read."""
    if SPLIT[0] not in rows.columns:
        return rows
    split = pl.col(SPLIT[0]).is_not_null()
    return rows.with_columns(
        pl.when(split).then(pl.col(SPLIT[0])).otherwise(pl.col("amount")).alias("amount"),
        pl.when(split).then(pl.col(SPLIT[1])).otherwise(pl.col("late_fee")).alias("late_fee"),
        pl.when(split).then(pl.col(SPLIT[2])).otherwise(pl.col("dunning_fee")).alias("dunning_fee"))


def payment_rows(posted: pl.DataFrame, run: Run, audit: list[pl.Expr], *, line_no: int = 1,
                 cash_kind: str = CASH_IN) -> pl.DataFrame:
    """納付履歴 rows (還付充当区分 0 収納, 出納区分 1 収入 or 3 収納取消) of posted records."""
    return posted.select(
        "source_sha256", "record_no", pl.lit(line_no, dtype=pl.Int32).alias("line_no"),
        pl.lit(run.municipality).alias("municipality_code"), "levy_year",
        pl.col("levy_year").alias("target_year"), "notice_number", "installment_no",
        pl.lit(BUSINESS_CODE).alias("business_code"),
        pl.col("collection_method").fill_null(pl.col("notice_number").str.slice(0, 1)).alias("collection_method"),
        pl.lit(True).alias("latest_flag"), pl.lit("0").alias("refund_offset_kind"), pl.lit(cash_kind).alias("cash_kind"),
        pl.col("amount").alias("tax_amount"),
        (pl.col("late_fee") if "late_fee" in posted.columns else pl.lit(None, dtype=pl.Int64)).fill_null(0)
        .alias("late_fee_amount"),
        (pl.col("dunning_fee") if "dunning_fee" in posted.columns else pl.lit(None, dtype=pl.Int64)).fill_null(0)
        .alias("dunning_fee_amount"), "received_date", "paid_date", "payment_kind",
        "channel", "bank_code", "branch_code", pl.col("store_code").alias("cvs_store_code"), "agent_code",
        pl.lit(run.job_id).alias("job_id"), pl.lit(run.generation).alias("generation"), *audit)


def apply_installment_delta(tx: Tx, delta: pl.DataFrame, run: Run, op_date: dt.date, op_time: str, *,
                            located: pl.DataFrame | None = None) -> Updated:
    """Add ``paid`` / ``prov`` per 期別 (one UPDATE … FROM over the aggregated changes).

    ``located`` (KEY, ``_row_at``; PostgreSQL, ``collection/installments_by_key`` of this
    transaction): the 期別 found there are updated by row address, in table order
    (``_apply_by_address``); the others, and every 期別 on DuckDB, by key."""
    if delta.height == 0:
        return Updated(0, 0)
    agg = delta.group_by(KEY).agg(pl.col("paid").sum(), pl.col("prov").sum(), pl.col("paid_date").max(),
                                  pl.col("received_date").max())
    n, by_address = agg.height, 0
    params = {"op": run.operator_id, "od": op_date, "ot": op_time, "rs": run.reason}
    if tx.dialect == "postgresql" and located is not None and located.height:
        agg = agg.join(located, on=KEY, how="left")
        at = agg.filter(pl.col("_row_at").is_not_null())
        agg = agg.filter(pl.col("_row_at").is_null()).drop("_row_at")
        if at.height and _apply_by_address(tx, at, run, params):
            by_address = at.height
        elif at.height:
            agg = pl.concat([agg, at.drop("_row_at")])  # moved since the lookup: by key after all
        del at
    if agg.height == 0:
        return Updated(n, by_address)
    # the whole primary key in the staged rows: a pure equi-join (a constant or column predicate
    # beside it made DuckDB's UPDATE 20× slower, bench/bench_collection.py)
    # (PostgreSQL: staged in the 期別's primary-key order, the order the 当初 registration wrote
    # them in, so that the UPDATE rewrites the table's pages in turn, not at random)
    tx.stage("_delta", agg.with_columns(pl.lit(run.municipality).alias("municipality_code"),
                                        pl.col("levy_year").alias("target_year")), order=INSTALLMENT_PK)
    updated = tx.run("ledger/installment_apply_delta", params).rowcount
    if updated != agg.height:  # a 期別 not in the ledger: the posting must not stand without its change
        first = tx.query("ledger/installment_delta_missing").row(0, named=True)
        raise InstallmentMissingError(installments=int(first["n"]), levy_year=int(first["levy_year"]),
                                      notice_number=first["notice_number"],
                                      installment_no=int(first["installment_no"]))
    return Updated(n, by_address)


def stage_located(tx: Tx, at: pl.DataFrame, municipality: str) -> None:
    """``_located`` of ``ledger/installment_apply_located``: the changes ``at`` with the whole key
    and the address as a ``tid`` literal, ``(block,line)``, in table order (``_row_at`` sorts them
    here and is not sent)."""
    tx.stage("_located", at.sort("_row_at").select(
        pl.exclude("_row_at"), pl.lit(municipality).alias("municipality_code"), pl.col("levy_year").alias("target_year"),
        pl.format("({},{})", pl.col("_row_at") // 65536, pl.col("_row_at") % 65536).alias("tid")))


#: the planner's join methods off for an UPDATE by row address, and what ledger/planner_joins
#: returns them to after it
_TID_JOINS = {"hashjoin": "off", "mergejoin": "off", "memoize": "off"}


def _apply_by_address(tx: Tx, at: pl.DataFrame, run: Run, params: Mapping) -> bool:
    """PostgreSQL: the changes ``at`` (aggregated, with ``_row_at``) applied to the 期別 by row
    address, in one statement under a savepoint (``ledger/installment_apply_located``). True when
    it updated every row; False when some 期別 had moved since the lookup (another transaction
    updated it): the statement is rolled back to the savepoint, the caller updates them by key.

    Why: the key-based UPDATE … FROM of 5M changes hashed the 10M 期別 in batches and rewrote their
    pages in random order, each page again after each checkpoint (5M full-page images of WAL at
    the server's default work_mem, 1.2M at 512MB); by address, in table order, each page once."""
    stage_located(tx, at, run.municipality)
    before = tx.query("ledger/planner_joins", _TID_JOINS).row(0, named=True)
    point = tx.conn.begin_nested()
    try:
        updated = tx.run("ledger/installment_apply_located", params).rowcount
    except BaseException:
        point.rollback()
        raise
    complete = updated == at.height
    if complete:
        point.commit()
    else:
        point.rollback()
    tx.query("ledger/planner_joins", {k: before[k] for k in _TID_JOINS})
    if complete:
        return True
    log.warning("期別 %s 件のうち %s 件が照会後に移動していました: 通知書番号・期別で更新します",
                f"{at.height:,}", f"{at.height - updated:,}")
    return False


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


# --- a large file, committed a slice at a time (DuckDB) ---------------------------------------

#: called with the last record number of each slice once its transaction has committed (tests
#: stop the process here, to check that a rerun completes the file)
after_slice_commit: Callable[[int], None] | None = None


@dataclass(frozen=True)
class Slicing:
    """``collection.reconcile.slice_commit`` of the config: a file of at least ``min_records``
    records posted to a DuckDB ledger is committed ``records`` at a time (``post_file``); 0 = never."""
    min_records: int = 0
    records: int = 0

    @classmethod
    def of(cls, cfg, dialect: str) -> Slicing:
        if dialect != "duckdb" or cfg is None:  # PostgreSQL: one transaction per file
            return cls()
        given = cfg.get("collection.reconcile.slice_commit", None) or {}
        return cls(int(given.get("min_records") or 0), int(given.get("records") or 0))

    def applies(self, records: int) -> bool:
        return self.records > 0 and self.min_records > 0 and records >= self.min_records


def post_file(ledger: Ledger, pay: pl.DataFrame, run: Run, *, slicing: Slicing,
              register: Callable[[Tx], None], each: Callable[[Tx, PostResult], None] | None = None,
              tx_class: Callable[[Tx], Tx] | None = None) -> PostResult:
    """Post one file: ``post_payments``, ``each`` (e.g. the raw bytes of its rejects) and
    ``register`` (``register_file``) in one transaction — or, for a large file on DuckDB
    (``slicing``), a slice of ``slicing.records`` records per transaction, ``register`` in the
    last one. DuckDB holds the undo of a transaction's writes in memory until it commits (5M
    payments: several GB beyond its ``memory_limit``); a commit per slice bounds it to a slice's.

    The same ledger rows as in one transaction: steps 1 and 2 in the file (``file_marks``) are
    done over the whole file first, so a repeat of a record of another slice is a duplicate or a
    conflict as before; a file whose slices depend on each other otherwise (a 速報 and its 取消 /
    確報 or a 確報 and its 訂正 in different slices; payments of one 期別 with a 督促状 in different
    slices, split 本税 first in record order) is posted in one transaction. Idempotent by
    (file SHA-256, record number): a rerun after a stop posts only the records not yet in
    消込データ (the committed slices are a prefix of the file); the file is registered as posted
    only with its last slice. Returns the figures of the records posted by this call."""
    wrap = tx_class or (lambda tx: tx)
    pay = _in_order(normalize(pay))
    if not slicing.applies(pay.height):
        with ledger.transaction() as tx0:
            tx = wrap(tx0)
            res = post_payments(tx, pay, run)
            if each is not None:
                each(tx, res)
            register(tx)
        return res
    sha = pay["source_sha256"][0]
    with ledger.transaction() as tx:
        marks = file_marks(tx, pay, run)
        held = tx.query("collection/reconciliation_file_progress", {"s": sha}).row(0, named=True)
        done = int(held["last_record"] or 0)
        if int(held["n"]) != int((pay["record_no"] <= done).sum()):
            raise LedgerError(f"消込データにこのファイル ({pay['source_file'][0]}) の一部のレコードだけがあります "
                              f"({int(held['n']):,} 件, 最終レコード {done:,}): 分割コミットの続きから再開できません")
        # the slices: what is committed (one part, 0), then the rest ``records`` at a time (1, 2, …)
        n_done = int(held["n"])
        at = pl.int_range(pl.len(), dtype=pl.Int64)
        slice_of = pay.select(pl.when(at < n_done).then(0).otherwise((at - n_done) // slicing.records + 1)
                              .alias("_slice"))["_slice"]
        if not _slices_independent(tx, pay, slice_of, run.municipality):
            if done:
                raise LedgerError(f"ファイル {pay['source_file'][0]} の残りのレコードが消込済みの部分と関連しています: "
                                  "分割コミットの続きから再開できません")
            slice_of = None
    if slice_of is None:  # dependent slices: one transaction
        return post_file(ledger, pay, run, slicing=Slicing(), register=register, each=each, tx_class=tx_class)
    rest = pay.slice(n_done)  # the records after the committed prefix (a view, not a copy)
    del slice_of
    return _post_slices(ledger, rest, run, slicing, marks, register, each, wrap)


def _post_slices(ledger: Ledger, rest: pl.DataFrame, run: Run, slicing: Slicing,
                 marks: tuple[pl.DataFrame, pl.DataFrame], register: Callable[[Tx], None],
                 each: Callable[[Tx, PostResult], None] | None, wrap: Callable[[Tx], Tx]) -> PostResult:
    total = PostResult(rows=pl.DataFrame(schema={"record_no": pl.Int64, "status": pl.String}))
    parts, rows, conflicts, rejects, corrections = [], [], [], [], []
    dunned = [0, 0, 0, 0]
    for i, part in enumerate(rest.iter_slices(slicing.records)):
        last = (i + 1) * slicing.records >= rest.height
        with ledger.transaction() as tx0:
            tx = wrap(tx0)
            res = post_payments(tx, part, run, marks=marks)
            if each is not None:
                each(tx, res)
            if last:
                register(tx)
        for k, v in res.counts.items():
            total.counts[k] = total.counts.get(k, 0) + v
        for k, v in res.amounts.items():
            total.amounts[k] = total.amounts.get(k, 0) + v
        total.without_provisional += res.without_provisional
        total.updated += res.updated
        dunned = [a + b for a, b in zip(dunned, res.dunned, strict=True)]
        rows.append(res.rows.select("record_no", "status"))
        conflicts.append(res.conflicts)
        rejects.append(res.debit_rejects)
        corrections.append(res.corrections)
        parts.append(int(part["record_no"][-1]))
        del res
        if after_slice_commit is not None:
            after_slice_commit(parts[-1])
    if rest.height == 0:  # every slice committed, not registered (cannot happen: the last slice registers)
        with ledger.transaction() as tx:
            register(wrap(tx))
    total.transactions = max(len(parts), 1)
    if rows:
        total.rows = pl.concat(rows)
        total.conflicts = pl.concat(conflicts, how="vertical_relaxed")
        total.debit_rejects = pl.concat(rejects, how="vertical_relaxed")
        total.corrections = pl.concat(corrections, how="vertical_relaxed")
    total.dunned = tuple(dunned)
    return total


def _slices_independent(tx: Tx, pay: pl.DataFrame, slice_of: pl.Series, municipality: str) -> bool:
    """Whether each slice of ``pay`` (``slice_of``: its slice per record) can be posted on its own
    with the same outcome: no slip (dedup key) with records of different kinds in two slices (a
    速報 settled by a 取消 / 確報, a 確報 reversed by a 訂正), and no 期別 with a 督促状 paid by 収納代行
    records of two slices (their split takes the 期別's balance in record order)."""
    if slice_of.n_unique() <= 1:
        return True
    if pay["kind"].is_in(["provisional", "cancel", "correction"]).any():
        spread = pay.lazy().select("dedup_key", "kind", slice_of.alias("_slice")).drop_nulls("dedup_key").group_by(
            "dedup_key").agg(pl.col("_slice").n_unique().alias("s"), pl.col("kind").n_unique().alias("k")).filter(
            (pl.col("s") > 1) & (pl.col("k") > 1)).select(pl.len()).collect().item()
        if spread:
            return False
    cvs = pl.col("channel").is_in(list(CVS_CHANNELS)) & pl.col("notice_number").is_not_null()
    if not pay.select(cvs.any()).item() or not tx.value("collection/dunning_notices_any", {"m": municipality}):
        return True
    keys = pay.lazy().with_columns(slice_of.alias("_slice")).filter(cvs).group_by(KEY).agg(
        pl.col("_slice").n_unique().alias("s")).filter(pl.col("s") > 1).select(KEY).collect()
    if keys.height == 0:
        return True
    tx.stage("_keys", keys.with_columns(pl.lit(municipality).alias("municipality_code"),
                                        pl.col("levy_year").alias("target_year")))
    return tx.query("collection/dunned_balances").height == 0


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
