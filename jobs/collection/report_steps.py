"""Daily control of 収納 (registered in ``jobs/registry.py``).

    SN410 速報未確報チェック  CVS 速報 with no 確報 after ``collection.cvs.provisional_lapse_business_days``
                              business days: listed (warning) and the 速報 lapses (督促 is no longer held)
    SN400 収納日計            counts and amounts per channel and kind of the day (消込データ of the
                              business date), reconciled with 納付履歴 to the yen; CSV + PDF 収納日計表

The 日計 is computed from the ledger, so it can be run again at any time for any day.
"""

from __future__ import annotations

import io

import polars as pl

from jobs.common import paths
from jobs.common.step import StepContext, StepError
from jobs.intake.archive import ArchivedFile
from jobs.ledger import now_stamp, open_ledger, run_of

from . import reconcile

DAILY_KINDS = {"posted": "消込済", "correction": "訂正", "reversal": "訂正による取消", "provisional": "速報",
               "cancel": "速報取消", "debit_failed": "振替不能", "unmatched": "調定なし(保留)", "error": "消込エラー",
               "duplicate": "重複", "conflict": "金額相違(保留)",
               "offset_out": "充当(元)", "offset_in": "充当(先)", "refund": "還付", "pending": "保留分消込"}


def lapse_provisionals(ctx: StepContext) -> int | None:
    days = int(ctx.config.get("collection.cvs.provisional_lapse_business_days"))
    limit = ctx.calendar.add_business_days(ctx.business_date, -days)
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    with ledger.transaction() as tx:
        old = tx.query("collection/provisionals_to_lapse", {"lim": limit, "m": ctx.municipality})
        if old.height:
            op_date, op_time = now_stamp()
            tx.stage("_lapse", old.select("source_sha256", "record_no"))
            tx.run("collection/reconciliation_lapse",
                   {"d": ctx.business_date, "op": run.operator_id, "od": op_date, "ot": op_time,
                    "rs": run.reason})
            # the lapsed amounts off the 期別's 速報額 (the one 期別 update, joined on the whole key)
            reconcile.apply_installment_delta(tx, old.select(
                pl.col("levy_year").cast(pl.Int32), "notice_number", pl.col("installment_no").cast(pl.Int32),
                pl.lit(0, dtype=pl.Int64).alias("paid"), (-pl.col("amount").cast(pl.Int64)).alias("prov"),
                pl.lit(None, dtype=pl.Date).alias("paid_date"), pl.lit(None, dtype=pl.Date).alias("received_date")),
                run, op_date, op_time)
    ledger.dispose()
    old = _with_raw(ctx, old)
    ctx.totals.count("lapsed", label="速報失効", read=old.height, rejected=old.height)
    ctx.totals.add_money("lapsed", int(old["amount"].sum() or 0) if old.height else 0, label="速報失効額")
    ctx.reject(old.select(
        "source_file", "record_no", "byte_offset", pl.lit("速報").alias("record_type"),
        pl.lit("data_kind").alias("field"), pl.lit("データ種別").alias("field_label"),
        pl.format("速報 ({}) の確報が{}営業日を過ぎても届きません。督促の保留を解除しました", "business_date",
                  pl.lit(days)).alias("reason"),
        "raw").rename({"source_file": "file_name"}))
    if old.height:
        ctx.message("KKB470W", records=old.height, limit=limit)
    else:
        ctx.message("KKB471I")
    return None


def _with_raw(ctx: StepContext, old: pl.DataFrame) -> pl.DataFrame:
    """The records' bytes for the error list: the ledger keeps them (raw_hex) only for rejected
    records, so a 速報's are read from the archived intake file at its byte offset."""
    raw = [bytes.fromhex(h) if h else None for h in old["raw_hex"].to_list()]
    todo: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for i, (name, sha, off) in enumerate(old.select("source_file", "source_sha256", "byte_offset").iter_rows()):
        if raw[i] is None and off is not None:
            todo.setdefault((name, sha), []).append((i, int(off)))
    source = ctx.spec.options.get("source")
    if not source:  # the registry states where the 速報 came in (SN210's inbox and layout)
        raise StepError.of("KKB472E")
    for (name, sha), items in todo.items():
        got = ArchivedFile.of(source, name=name, sha256=sha).records([off for _, off in items])
        for (i, _), data in zip(items, got, strict=True):
            raw[i] = data
    return old.with_columns(pl.Series("raw", raw, dtype=pl.Binary))


def daily_report(ctx: StepContext) -> int | None:
    ledger = open_ledger(ctx)
    d, m = ctx.business_date, ctx.municipality
    recon = ledger.query("collection/daily_totals", {"d": d, "m": m})
    pays = ledger.query("collection/daily_payments", {"d": d, "m": m})
    pending = ledger.query("collection/daily_pending", {"d": d, "m": m})
    offsets = ledger.query("collection/daily_offsets", {"d": d, "m": m})
    reversals = ledger.query("collection/daily_reversals", {"d": d, "m": m})
    ledger.dispose()
    labels = ctx.config.get("collection.channel_labels")
    cast = {"n": pl.Int64, "amount": pl.Int64}
    recon = recon.cast(cast) if recon.height else recon
    # one row per channel × kind of the day, in a fixed order
    rows = []
    if recon.height:
        kind_of = (pl.when(pl.col("kind") == "provisional").then(pl.lit("provisional"))
                   .when(pl.col("kind") == "cancel").then(pl.lit("cancel"))
                   .when(pl.col("status").is_in(["unmatched", "error", "duplicate", "conflict", "debit_failed"]))
                   .then(pl.col("status")).when(pl.col("status") == "corrected").then(pl.lit("correction"))
                   # a posting reversed later still counts on its own day (the reversal on the later day)
                   .otherwise(pl.lit("posted")))
        r = recon.with_columns(kind_of.alias("k"))
        rows.append(r.group_by("channel", "k").agg(pl.col("n").sum(), pl.col("amount").sum()))
    if reversals.height:  # postings a 訂正 reversed today, whatever day they were posted: money out
        rows.append(reversals.cast(cast).select("channel", pl.lit("reversal").alias("k"), "n",
                                                (-pl.col("amount")).alias("amount")))
    if pending.height:
        rows.append(pending.cast(cast).select("channel", pl.lit("pending").alias("k"), "n", "amount"))
    if offsets.height:
        rows.append(offsets.cast(cast).select(
            pl.lit("offset").alias("channel"),
            pl.col("refund_offset_kind").replace_strict({"1": "refund", "2": "offset_out", "3": "offset_in"},
                                                        default="offset_out").alias("k"), "n", "amount"))
    summary = (pl.concat(rows, how="vertical_relaxed") if rows
               else pl.DataFrame(schema={"channel": pl.String, "k": pl.String, "n": pl.Int64, "amount": pl.Int64}))
    order = {c: i for i, c in enumerate(["counter", "cvs", "credit", "app", "debit", "pension", "offset"])}
    korder = {k: i for i, k in enumerate(DAILY_KINDS)}
    summary = summary.with_columns(
        pl.col("channel").replace_strict(order, default=99).alias("_o"),
        pl.col("k").replace_strict(korder, default=99).alias("_k")).sort("_o", "_k").select(
        "channel",
        pl.col("channel").replace_strict({**labels, "offset": "還付・充当"}, default=pl.col("channel")).alias("channel_label"),
        pl.col("k").alias("kind"), pl.col("k").replace_strict(DAILY_KINDS, default=pl.col("k")).alias("kind_label"),
        pl.col("n").alias("count"), pl.col("amount"))

    # control: what the 消込データ says was posted today = what 納付履歴 received from today's files
    # (a 訂正's new amount in, the posting it reversed out)
    posted_recon = int(summary.filter(pl.col("kind").is_in(["posted", "correction", "reversal"]))["amount"].sum() or 0)
    posted_pay = int(pays.cast(cast)["amount"].sum() or 0) if pays.height else 0
    for row in summary.iter_rows(named=True):
        ctx.totals.count(f"{row['channel']}.{row['kind']}", label=f"{row['channel_label']} {row['kind_label']}",
                         read=int(row["count"]), accepted=int(row["count"]))
        ctx.totals.add_money(f"{row['channel']}.{row['kind']}", int(row["amount"]),
                             label=f"{row['channel_label']} {row['kind_label']}")
    if posted_recon != posted_pay:
        raise StepError.of("KKB480E", posted_recon=posted_recon, posted_pay=posted_pay)
    ctx.message("KKB481I", date=d, posted=posted_recon)
    ctx.write_dataset("daily_collection", summary)
    folder = paths.reports_root() / "collection" / ctx.generation
    csv = folder / f"shuno_nikkei_{d:%Y%m%d}.csv"
    buf = io.BytesIO()
    summary.rename({"channel": "区分", "channel_label": "区分名", "kind": "種別", "kind_label": "種別名",
                    "count": "件数", "amount": "金額"}).write_csv(buf, line_terminator="\r\n")
    staged = ctx.stage_file(csv)
    staged.write_bytes("\ufeff".encode() + buf.getvalue())
    from reports import collection as rc

    pdf = folder / f"shuno_nikkei_{d:%Y%m%d}.pdf"
    rc.render_daily_collection_report(summary, ctx.config, ctx.stage_file(pdf), business_date=d,
                                      municipality_name=str(ctx.config.get("municipality.name", "")))
    return None

