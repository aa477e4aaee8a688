"""SN300 過誤納整理 (還付・充当), daily.

1. 過誤納: every 期別 whose 累計収納額 exceeds its 期別税額 (after a 減額更正, a double payment,
   or a payment above the amount). 事由: correction (the 期別 was corrected, 更正順番 > 0),
   duplicate (more than one payment), excess (one payment above the amount).
2. ``refunds.allocate``: 充当 to the same 納税者's unpaid 期別 (past due, oldest first), the rest
   還付 with 還付加算金 (TAX_RULES.md §8; rules and rates in config/common/refund.yaml).
3. Posted in one transaction: 納付履歴 lines (充当元 −, 充当先 +, 還付 −), ``refund`` and
   ``refund_offset`` rows. A 還付 is paid to the payer's 口座振替 account when there is one
   (口座還付, the 総合振込 file), else at the counter (窓口還付). 還付加算金 on an amount offset is
   paid with the refund.
4. Outputs: 還付充当通知書 (PDF), the refund transfer file var/outbox/bank/refund/, dataset
   ``refund_decisions``. The ledger rows of this generation are the source of the outputs, so a
   rerun writes the same files and decides nothing twice (the 過誤納 are gone once decided).
"""

from __future__ import annotations

import polars as pl

from jobs.common import datasets, paths
from jobs.common.register import one_per_person
from jobs.common.step import StepContext
from jobs.ledger import audit_columns, now_stamp, open_ledger, run_of

from . import reconcile
from . import refunds as rf
from .reconcile import BUSINESS_CODE

CAUSE_CODES = {"correction": "01", "duplicate": "02", "excess": "03"}
CAUSE_LABELS = {"01": "減額更正による過納", "02": "二重納付", "03": "納め過ぎ"}


def refund_prefix(ctx: StepContext) -> str:
    return f"{ctx.municipality}{ctx.business_date:%Y%m%d}"


def overpayments(ctx: StepContext) -> int | None:
    ledger = open_ledger(ctx)
    src = f"SN300:{ctx.generation}"
    with ledger.transaction() as tx:
        done = int(tx.value("collection/refund_decided_count", {"p": f"{refund_prefix(ctx)}%"}) or 0)
        over = tx.query("collection/overpaid_installments", {"m": ctx.municipality})
        if over.height and not done:
            _decide(ctx, tx, over, src)
        elif done:
            ctx.message("KKB461I")
        else:
            ctx.message("KKB460I")
    _outputs(ctx, ledger)
    ledger.dispose()
    return None


def _decide(ctx: StepContext, tx, over: pl.DataFrame, src: str) -> None:
    over = over.cast({"levy_year": pl.Int32, "installment_no": pl.Int32, "overpaid": pl.Int64})
    over = over.with_columns(
        pl.when(pl.col("correction_seq") > 0).then(pl.lit("correction"))
        .when(pl.col("payments") > 1).then(pl.lit("duplicate")).otherwise(pl.lit("excess")).alias("cause"),
        pl.col("paid_date").fill_null(ctx.business_date))
    tx.stage("_op", over.select("person_id").unique())
    unpaid = tx.query("collection/unpaid_installments_of_payers", {"m": ctx.municipality})
    unpaid = unpaid.cast({"levy_year": pl.Int32, "installment_no": pl.Int32, "balance": pl.Int64})
    offsets, refunds = rf.allocate(over.drop("correction_seq", "payments"), unpaid,
                                   decision_date=ctx.business_date, cfg=ctx.config)
    accounts = tx.query("collection/refund_accounts")
    op_date, op_time = now_stamp()
    audit = audit_columns(ctx.job_id, (op_date, op_time))
    gen = ctx.generation
    # refund per person: Σ refunds + the interest of its offsets
    per_person = pl.concat([
        refunds.select("person_id", "amount", "interest", pl.col("cause"), "start_date"),
        offsets.select("person_id", pl.lit(0, dtype=pl.Int64).alias("amount"), "interest", "cause", "start_date"),
    ], how="vertical_relaxed").group_by("person_id", maintain_order=True).agg(
        pl.col("amount").sum(), pl.col("interest").sum(), pl.col("cause").first(),
        pl.col("start_date").min().alias("interest_start_date"))
    per_person = per_person.filter((pl.col("amount") + pl.col("interest")) > 0).sort("person_id").with_row_index("n", 1)
    # 還付処理番号: 市区町村コード 6 + 決議日 8 + 連番 6 (digits: its last 10 are the transfer's 顧客コード1)
    per_person = per_person.with_columns(
        pl.format("{}{}", pl.lit(refund_prefix(ctx)), pl.col("n").cast(pl.String).str.zfill(6)).alias("refund_id")
    ).join(accounts, on="person_id", how="left")
    refund_rows = per_person.select(
        "refund_id", pl.lit(ctx.municipality).alias("municipality_code"), "person_id",
        pl.col("cause").replace_strict(CAUSE_CODES).alias("cause_code"),
        pl.lit(ctx.business_date).alias("occurred_date"), "amount", "interest",
        "interest_start_date", pl.lit(ctx.business_date).alias("decision_date"),
        pl.lit(None, dtype=pl.Date).alias("payment_decision_date"), pl.lit(None, dtype=pl.Date).alias("payment_date"),
        pl.lit(None, dtype=pl.Date).alias("limitation_date"),
        pl.when(pl.col("bank_code").is_not_null()).then(pl.lit("2")).otherwise(pl.lit("1")).alias("status"),
        pl.when(pl.col("bank_code").is_not_null()).then(pl.lit("1")).otherwise(pl.lit("2")).alias("method"),
        "bank_code", "branch_code", "account_type", "account_number", "account_holder_kana",
        pl.lit(None, dtype=pl.String).alias("transfer_file"), pl.lit(ctx.job_id).alias("job_id"), *audit)
    tx.insert("refund", refund_rows)
    ids = per_person.select("person_id", "refund_id")
    lines = pl.concat([
        offsets.select("person_id", pl.lit("2").alias("kind"), "from_levy_year", "from_notice_number",
                       "from_installment_no", "to_levy_year", "to_notice_number", "to_installment_no", "amount",
                       "interest", "cause"),
        refunds.select("person_id", pl.lit("1").alias("kind"), pl.col("levy_year").alias("from_levy_year"),
                       pl.col("notice_number").alias("from_notice_number"),
                       pl.col("installment_no").alias("from_installment_no"),
                       pl.lit(None, dtype=pl.Int32).alias("to_levy_year"),
                       pl.lit(None, dtype=pl.String).alias("to_notice_number"),
                       pl.lit(None, dtype=pl.Int32).alias("to_installment_no"), "amount", "interest", "cause"),
    ], how="vertical_relaxed").join(ids, on="person_id", how="left").with_row_index("line_no", 1)
    # 還付充当決議番号 (20 characters): 市区町村コード 6 + 決議日 8 + 明細連番 6
    lines = lines.with_columns(pl.format("{}{}", pl.lit(refund_prefix(ctx)),
                                         pl.col("line_no").cast(pl.String).str.zfill(6)).alias("decision_id"))
    tx.insert("refund_offset", lines.select(
        "decision_id", pl.lit(1, dtype=pl.Int32).alias("line_no"), "kind", pl.lit(ctx.municipality).alias("municipality_code"),
        "person_id", "from_levy_year", "from_notice_number", "from_installment_no", "to_levy_year",
        "to_notice_number", "to_installment_no", "refund_id", "amount", "interest",
        pl.col("cause").replace_strict(CAUSE_CODES).alias("cause_code"),
        pl.lit(ctx.business_date).alias("decision_date"), pl.lit(ctx.job_id).alias("job_id"), *audit))
    # 納付履歴: 充当元 / 還付 (−, 戻出) and 充当先 (+)
    out_lines = lines.select(pl.col("line_no").cast(pl.Int64).alias("record_no"), pl.lit(1, dtype=pl.Int32).alias("line_no"),
                             pl.col("from_levy_year").alias("levy_year"), pl.col("from_notice_number").alias("notice_number"),
                             pl.col("from_installment_no").alias("installment_no"),
                             pl.when(pl.col("kind") == "2").then(pl.lit("2")).otherwise(pl.lit("1")).alias("rok"),
                             pl.lit("2").alias("cash_kind"), (-pl.col("amount")).alias("tax_amount"))
    in_lines = lines.filter(pl.col("kind") == "2").select(
        pl.col("line_no").cast(pl.Int64).alias("record_no"), pl.lit(2, dtype=pl.Int32).alias("line_no"),
        pl.col("to_levy_year").alias("levy_year"), pl.col("to_notice_number").alias("notice_number"),
        pl.col("to_installment_no").alias("installment_no"), pl.lit("3").alias("rok"), pl.lit("1").alias("cash_kind"),
        pl.col("amount").alias("tax_amount"))
    pay = pl.concat([out_lines, in_lines], how="vertical_relaxed")
    tx.insert("payment", pay.select(
        pl.lit(src).alias("source_sha256"), "record_no", "line_no", pl.lit(ctx.municipality).alias("municipality_code"),
        "levy_year", pl.col("levy_year").alias("target_year"), "notice_number", "installment_no",
        pl.lit(BUSINESS_CODE).alias("business_code"), pl.col("notice_number").str.slice(0, 1).alias("collection_method"),
        pl.lit(True).alias("latest_flag"), pl.col("rok").alias("refund_offset_kind"), "cash_kind", "tax_amount",
        pl.lit(0, dtype=pl.Int64).alias("late_fee_amount"), pl.lit(0, dtype=pl.Int64).alias("dunning_fee_amount"),
        pl.lit(ctx.business_date).alias("received_date"), pl.lit(ctx.business_date).alias("paid_date"),
        pl.lit("00").alias("payment_kind"), pl.lit("offset").alias("channel"),
        pl.lit(None, dtype=pl.String).alias("bank_code"), pl.lit(None, dtype=pl.String).alias("branch_code"),
        pl.lit(None, dtype=pl.String).alias("cvs_store_code"), pl.lit(None, dtype=pl.String).alias("agent_code"),
        pl.lit(ctx.job_id).alias("job_id"), pl.lit(gen).alias("generation"), *audit))
    reconcile.apply_installment_delta(tx, pay.select(
        "levy_year", "notice_number", "installment_no", pl.col("tax_amount").alias("paid"),
        pl.lit(0, dtype=pl.Int64).alias("prov"), pl.lit(None, dtype=pl.Date).alias("paid_date"),
        pl.lit(None, dtype=pl.Date).alias("received_date")), run_of(ctx), op_date, op_time)
    ctx.message("KKB462I", overpaid=over.height, overpaid_amount=int(over['overpaid'].sum()),
                offsets=offsets.height, offset_amount=int(offsets['amount'].sum() or 0),
                refunds=refunds.height, refund_amount=int(refunds['amount'].sum() or 0),
                interest=int(per_person['interest'].sum() or 0))


def _outputs(ctx: StepContext, ledger) -> None:
    from reports import collection as rc

    gen = ctx.generation
    lines = ledger.query("collection/refund_offset_lines", {"p": f"{refund_prefix(ctx)}%"})
    refunds = ledger.query("collection/refunds_decided", {"p": f"{refund_prefix(ctx)}%", "j": ctx.job_id})
    if lines.height == 0:
        ctx.write_dataset("refund_decisions", pl.DataFrame(schema={"decision_id": pl.String, "amount": pl.Int64}))
        return
    lines = lines.cast({"amount": pl.Int64, "interest": pl.Int64})
    ctx.totals.count("overpayment", label="過誤納", read=lines.height, accepted=lines.height)
    off = lines.filter(pl.col("kind") == "2")
    ref = lines.filter(pl.col("kind") == "1")
    ctx.totals.add_money("offset", int(off["amount"].sum() or 0), label="充当額")
    ctx.totals.add_money("refund", int(ref["amount"].sum() or 0), label="還付額")
    ctx.totals.add_money("interest", int(refunds["interest"].cast(pl.Int64).sum() or 0), label="還付加算金")
    ctx.write_dataset("refund_decisions", datasets.sort_by_key(lines, ("decision_id", "kind")))
    # 還付充当通知書: one notice per person
    qgen = datasets.latest("nhi_qualification", municipality=ctx.municipality, upto=ctx.generation)
    addr = (one_per_person(datasets.read("nhi_qualification", qgen)).select(
        pl.col("person_id").cast(pl.String), pl.col("name_kanji").alias("taxpayer_name"),
        pl.col("postal_code").cast(pl.String), pl.col("address_kanji").alias("address"))
        if qgen else pl.DataFrame(schema={"person_id": pl.String, "taxpayer_name": pl.String,
                                          "postal_code": pl.String, "address": pl.String}))
    persons = lines.select("person_id").unique().sort("person_id")
    per = persons.join(refunds.select("person_id", "refund_id", pl.col("amount").cast(pl.Int64).alias("refund_amount"),
                                      pl.col("interest").cast(pl.Int64).alias("refund_interest"), "method",
                                      "bank_code", "branch_code", "account_type", "account_number"),
                       on="person_id", how="left")
    per = per.join(off.group_by("person_id").agg(pl.col("amount").sum().alias("offset_total")), on="person_id",
                   how="left").join(addr, on="person_id", how="left")
    notices = per.select(
        pl.col("person_id").alias("notice_id"), pl.col("taxpayer_name").fill_null(""), pl.col("postal_code").fill_null(""),
        pl.col("address").fill_null(""), "person_id", pl.lit(ctx.business_date).alias("decision_date"),
        pl.col("refund_amount").fill_null(0), pl.col("refund_interest").fill_null(0),
        pl.col("offset_total").fill_null(0),
        pl.when(pl.col("method") == "1").then(pl.lit("account")).otherwise(pl.lit("counter")).alias("refund_method"),
        pl.col("bank_code").alias("bank_name"), pl.col("branch_code").alias("branch_name"), "account_type",
        pl.when(pl.col("account_number").is_not_null()).then(pl.lit("****") + pl.col("account_number").str.slice(4))
        .alias("account_number_masked"), pl.lit(None, dtype=pl.Date).alias("payment_date"))
    cause = pl.col("cause_code").replace_strict(CAUSE_LABELS, default="")
    nl = pl.concat([
        lines.select(pl.col("person_id").alias("notice_id"), pl.lit("overpayment").alias("kind"),
                     pl.col("from_levy_year").alias("levy_year"), pl.col("from_notice_number").alias("notice_number"),
                     pl.col("from_installment_no").alias("installment_no"), "amount", pl.lit(0, dtype=pl.Int64).alias("interest"),
                     cause.alias("cause_label")),
        off.select(pl.col("person_id").alias("notice_id"), pl.lit("offset").alias("kind"),
                   pl.col("to_levy_year").alias("levy_year"), pl.col("to_notice_number").alias("notice_number"),
                   pl.col("to_installment_no").alias("installment_no"), "amount", "interest", cause.alias("cause_label")),
        ref.select(pl.col("person_id").alias("notice_id"), pl.lit("refund").alias("kind"),
                   pl.col("from_levy_year").alias("levy_year"), pl.col("from_notice_number").alias("notice_number"),
                   pl.col("from_installment_no").alias("installment_no"), "amount", "interest", cause.alias("cause_label")),
    ], how="vertical_relaxed")
    final = paths.reports_root() / "collection" / gen / "kanpu_juto.pdf"
    stats = rc.render_refund_notices(notices.select(*rc.REFUND_COLUMNS), nl.select(*rc.REFUND_LINE_COLUMNS),
                                     ctx.config, ctx.stage_file(final))
    ctx.totals.add_figure("refund_notice_pages", stats.pages, label="還付充当通知書ページ")
    # the 総合振込 file of the account refunds
    acct = refunds.filter(pl.col("method") == "1")
    if acct.height:
        days = int(ctx.config.get("collection.refund_transfer_business_days_after"))
        tdate = ctx.calendar.add_business_days(ctx.business_date, days)
        tf = paths.outbox("bank") / "refund" / f"SOUFURI_KANPU_{tdate:%Y%m%d}_{gen[-8:]}.dat"
        rf.write_refund_transfer_file(ctx.stage_file(tf), acct.select(
            "bank_code", "branch_code", "account_type", "account_number",
            pl.col("account_holder_kana").alias("account_holder"), pl.col("amount").cast(pl.Int64),
            pl.col("interest").cast(pl.Int64), pl.col("refund_id").str.slice(-10).alias("customer_code")),
            ctx.config, transfer_date=tdate)
        with ledger.transaction() as tx:  # the refunds name their transfer file and are 振込依頼 (2)
            tx.stage("_tf", acct.select("refund_id"))
            tx.run("collection/refund_transfer_file", {"f": tf.name, "t": tdate})
        ctx.message("KKB463I", transfers=acct.height, transfer_date=tdate, path=paths.relative(tf))
