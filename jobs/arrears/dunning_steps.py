"""督促 job steps (job net KB600 督促ジョブネット; registered in ``jobs/registry.py``).

    TN010 督促対象抽出   installment (普通徴収, unpaid 本税, no 督促状) of each 納期限 whose 督促 day has
                         come (jobs/arrears/dunning.py) − holds (CVS 速報, 口座振替結果待ち:
                         sql/arrears/dunning_held.sql; 分割納付, 執行停止: sql/arrears/held_installments.sql)
                         → dataset dunning_candidates (every candidate, hold_reason null = 督促対象)
    TN020 督促状作成     the targets of today's TN010 → dunning_notice (one row per 期別: never twice),
                         installment.dunning_issued_date (督促状発行日) and 督促手数料; 督促状 兼 納付書 PDF
                         (var/reports/dunning/<世代>/) and the print-data file
                         var/outbox/print/dunning_notice_<世代>.dat (layout dunning_notice_print)
    TN030 延滞金調定     督促済 期別 whose 本税 is now paid in full: the 延滞金 to the day of full payment
                         is booked as 調定 (dunning_notice.late_fee_levied, installment.late_fee_amount)
                         and the 延滞金 収入 of the 納付履歴 (payment.late_fee_amount) is kept beside it

TN020 records the 督促状 in the ledger first (one transaction), then writes the files from those rows:
a rerun on the same day writes the same bytes and issues nothing twice. A target without an address
(nhi_qualification) is not issued (RC 4, error list) and is selected again the next run.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from jobs.common import datasets, paths, pdf_pool
from jobs.common.config import ConfigError
from jobs.common.register import one_per_person
from jobs.common.step import StepContext, StepError
from jobs.ledger import audit_columns, now_stamp, open_ledger, run_of

from . import dunning as dn
from .late_fee import LateFeeRules, late_fee_frame

CANDIDATES = "dunning_candidates"
CANDIDATE_SCHEMA = {
    "levy_year": pl.Int64, "target_year": pl.Int64, "notice_number": pl.String, "installment_no": pl.Int64,
    "person_id": pl.String, "household_id": pl.String, "due_date": pl.Date, "levy_amount": pl.Int64,
    "paid_amount": pl.Int64, "balance": pl.Int64, "correction_seq": pl.Int64, "hold_reason": pl.String,
    "hold_id": pl.String,
}
PRINT_NAME = "dunning_notice"
LEDGER_COLUMNS = ("municipality_code", "levy_year", "target_year", "notice_number", "installment_no", "dunning_no",
                  "person_id", "household_id", "due_date", "issue_date", "pay_by", "tax_amount", "late_fee_amount",
                  "dunning_fee_amount", "print_file", "job_id", "generation", "completed_date", "late_fee_levy_date",
                  "late_fee_levied", "late_fee_received")


def _late_fee_rules(ctx: StepContext) -> LateFeeRules:
    return LateFeeRules.from_config(ctx.config)


# --- TN010 督促対象抽出 -----------------------------------------------------------------------------


def select_targets(ctx: StepContext) -> int | None:
    rules = dn.DunningRules.from_config(ctx.config)
    ledger = open_ledger(ctx)
    d, m = ctx.business_date, ctx.municipality
    given = ctx.options.get("due_date")
    if given:
        ripe = [dt.date.fromisoformat(str(given))]
    else:
        dues = ledger.query("arrears/dunning_due_dates", {"d": d, "m": m})
        ripe = dn.ripe_due_dates(dues["due_date"].to_list(), d, rules, ctx.calendar)
    if not ripe:
        ctx.message("KKB601I", days=rules.days_after_due)
        ctx.totals.count("target", label="督促対象")
        ctx.write_dataset(CANDIDATES, pl.DataFrame(schema=CANDIDATE_SCHEMA))
        ledger.dispose()
        return None
    with ledger.transaction() as tx:
        tx.stage("_due", pl.DataFrame({"due_date": ripe}, schema={"due_date": pl.Date}))
        cands = tx.query("arrears/dunning_candidates", {"m": m})
        holds = pl.concat([tx.query("arrears/dunning_held", {"m": m}),
                           tx.query("arrears/held_installments", {"as_of": d, "m": m})], how="diagonal_relaxed")
    ledger.dispose()
    ctx.message("KKB600I", due_dates=", ".join(x.isoformat() for x in ripe), days=rules.days_after_due,
                candidates=cands.height)
    out = dn.apply_holds(cands, holds) if cands.height else pl.DataFrame(schema=CANDIDATE_SCHEMA)
    out = out.select([pl.col(c).cast(t) for c, t in CANDIDATE_SCHEMA.items()])
    ctx.totals.add_figure("candidates", out.height, label="督促候補")
    held = out.filter(pl.col("hold_reason").is_not_null())
    for reason in sorted(set(held["hold_reason"].to_list()),
                         key=lambda r: dn.HOLD_ORDER.index(r) if r in dn.HOLD_ORDER else 99):
        part = held.filter(pl.col("hold_reason") == reason)
        label = dn.HOLD_LABELS.get(reason, reason)
        amount = int(part["balance"].sum() or 0)
        ctx.totals.count(f"held_{reason}", label=f"保留({label})", read=part.height, accepted=part.height)
        ctx.totals.add_money(f"held_{reason}", amount, label=f"保留本税({label})")
        ctx.message("KKB602I", reason=label, count=part.height, amount=amount)
    targets = out.filter(pl.col("hold_reason").is_null())
    amount = int(targets["balance"].sum() or 0) if targets.height else 0
    ctx.totals.count("target", label="督促対象", read=targets.height, accepted=targets.height)
    ctx.totals.add_money("target_tax", amount, label="督促対象本税")
    ctx.message("KKB603I", targets=targets.height, amount=amount)
    ctx.write_dataset(CANDIDATES, datasets.sort_by_key(out, dn.KEY))
    return None


# --- TN020 督促状作成 -------------------------------------------------------------------------------


def _addresses(ctx: StepContext) -> pl.DataFrame:
    qgen = datasets.latest("nhi_qualification", municipality=ctx.municipality, upto=ctx.generation)
    if qgen is None:
        raise StepError.of("KKB608E")
    return one_per_person(datasets.read("nhi_qualification", qgen)).select(
        pl.col("person_id").cast(pl.String), pl.col("name_kanji").alias("addressee_name"),
        pl.col("postal_code").cast(pl.String), pl.col("address_kanji").alias("address"))


def issue_notices(ctx: StepContext) -> int | None:
    rules = dn.DunningRules.from_config(ctx.config)
    d, m = ctx.business_date, ctx.municipality
    gen = datasets.latest(CANDIDATES, municipality=m, upto=ctx.generation)
    if gen != ctx.generation:
        raise StepError.of("KKB604E", generation=ctx.generation)
    cands = datasets.read(CANDIDATES, gen)
    targets = cands.filter(pl.col("hold_reason").is_null())
    addr = _addresses(ctx)
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    print_final = paths.outbox("print") / f"{PRINT_NAME}_{ctx.generation}.dat"
    with ledger.transaction() as tx:
        already = tx.query("arrears/dunning_notices_of_date", {"d": d, "m": m})
        if already.height:
            ctx.message("KKB606I", issue_date=d, records=already.height)
        if targets.height:
            tx.stage("_keys", targets.select(pl.col("levy_year").cast(pl.Int32), "notice_number",
                                             pl.col("installment_no").cast(pl.Int32)))
            existing = tx.query("arrears/dunning_existing", {"m": m})
            if existing.height:
                targets = targets.join(existing.select(pl.col("levy_year").cast(pl.Int64), "notice_number",
                                                       pl.col("installment_no").cast(pl.Int64)),
                                       on=dn.KEY, how="anti", maintain_order="left")
                fresh = existing.filter(pl.col("issue_date") != d).height
                if fresh:
                    ctx.message("KKB611I", count=fresh)
        if targets.height:
            no_addr = targets.join(addr.select("person_id"), on="person_id", how="anti", maintain_order="left")
            if no_addr.height:
                ctx.message("KKB607W", installments=no_addr.height)
                ctx.reject(no_addr.select(
                    pl.lit(CANDIDATES).alias("file_name"), pl.lit(0).alias("record_no"),
                    pl.lit("督促対象").alias("record_type"), pl.lit("person_id").alias("field"),
                    pl.lit("宛名番号").alias("field_label"),
                    pl.format("宛名がありません (宛名番号 {}, 通知書番号 {}, 期別 {})", "person_id", "notice_number",
                              "installment_no").alias("reason")))
                targets = targets.join(no_addr.select(dn.KEY), on=dn.KEY, how="anti", maintain_order="left")
        if targets.height:
            tx.stage("_keys", targets.select(pl.col("levy_year").cast(pl.Int32), "notice_number",
                                             pl.col("installment_no").cast(pl.Int32)))
            pays = tx.query("arrears/installment_payments", {"m": m})
            try:
                rows = dn.statements(targets, pays, issue_date=d, pay_by_date=dn.pay_by(d, rules, ctx.calendar),
                                     rules=rules, late_fee_rules=_late_fee_rules(ctx))
            except ConfigError as exc:
                raise StepError.of("KKB616E", reason=str(exc)) from exc
            op = now_stamp()
            ledger_rows = rows.select(
                pl.lit(m).alias("municipality_code"), pl.col("levy_year").cast(pl.Int32),
                pl.col("target_year").cast(pl.Int32), "notice_number", pl.col("installment_no").cast(pl.Int32),
                "dunning_no", "person_id", "household_id", "due_date", "issue_date", "pay_by", "tax_amount",
                "late_fee_amount", "dunning_fee_amount", pl.lit(paths.relative(print_final)).alias("print_file"),
                pl.lit(ctx.job_id).alias("job_id"), pl.lit(ctx.generation).alias("generation"),
                pl.lit(None, dtype=pl.Date).alias("completed_date"), pl.lit(None, dtype=pl.Date).alias("late_fee_levy_date"),
                pl.lit(0, dtype=pl.Int64).alias("late_fee_levied"), pl.lit(0, dtype=pl.Int64).alias("late_fee_received"),
                *audit_columns(run, op))
            tx.insert("dunning_notice", ledger_rows)
            tx.stage("_dn", ledger_rows.select("municipality_code", "levy_year", "target_year", "notice_number",
                                               "installment_no", "issue_date", "dunning_fee_amount"))
            tx.run("arrears/installment_mark_dunned", {"op": run.operator_id, "od": op[0], "ot": op[1],
                                                        "rs": run.reason})
        issued = tx.query("arrears/dunning_notices_of_date", {"d": d, "m": m})
    ledger.dispose()
    if issued.height == 0:
        ctx.message("KKB612I")
        ctx.totals.count("notice", label="督促状")
        return None
    _deliver(ctx, issued, addr, print_final, rules)
    return None


def notice_rows(rows: pl.DataFrame, cfg) -> pl.DataFrame:
    """The 督促状 print rows (``reports.dunning.DUNNING_COLUMNS``) of issued 督促状 with their
    addressee: the 合計 (本税 + 延滞金 + 督促手数料, the 延滞金 to the 指定期限) and its GS1-128 barcode,
    in the rows' order (one barcode series per 賦課年度). TN020 and TN320's reissue print these."""
    from reports import dunning as rd
    from reports import print_data

    rows = rows.with_columns(
        pl.col("pay_by").alias("late_fee_date"),
        (pl.col("tax_amount") + pl.col("late_fee_amount") + pl.col("dunning_fee_amount")).alias("total_amount"))
    parts = []
    for (levy_year,), part in rows.with_row_index("_i").group_by("levy_year", maintain_order=True):
        slots = part.select("household_id", "installment_no", pl.col("pay_by").alias("due_date"),
                            pl.col("total_amount").alias("amount"), pl.lit(0).alias("_revision"))
        parts.append(part.with_columns(print_data.barcode_series(slots, cfg, fy=int(levy_year)).alias("barcode")))
    return pl.concat(parts).sort("_i").select(*rd.DUNNING_COLUMNS)


def _deliver(ctx: StepContext, issued: pl.DataFrame, addr: pl.DataFrame, print_final, rules: dn.DunningRules) -> None:
    from reports import dunning as rd

    cfg = ctx.config
    rows = notice_rows(issued.with_columns(pl.col("levy_year").cast(pl.Int64), pl.col("installment_no").cast(pl.Int64))
                       .join(addr, on="person_id", how="left", maintain_order="left"), cfg)
    summary = rd.write_print_file(rows, cfg, ctx.stage_file(print_final), issue_date=ctx.business_date)
    ctx.message("KKB610I", records=summary.notices, amount=summary.grand_total, path=paths.relative(print_final))
    pdf_dir = paths.reports_root() / "dunning" / ctx.generation
    folder = ctx.stage_dir(pdf_dir)
    per_file = int(ctx.options.get("pdf_max_notices") or rules.pdf_max_notices)  # the option: tests
    jobs = [(rd.render_dunning_notices, rows.slice(k, per_file), cfg, str(folder / f"tokusoku_{i:03d}.pdf"))
            for i, k in enumerate(range(0, rows.height, per_file), start=1)]
    done = pdf_pool.render_files(pdf_pool.render_document, jobs, pdf_pool.workers(cfg, ctx.options.get("pdf_workers")))
    files, pages = len(done), sum(r["stats"].pages for r in done)
    ctx.message("KKB609I", files=files, pages=pages, path=paths.relative(pdf_dir))
    ctx.totals.count("notice", label="督促状", read=rows.height, accepted=rows.height)
    ctx.totals.written += rows.height
    ctx.totals.add_money("tax", summary.tax_total, label="本税")
    ctx.totals.add_money("late_fee", summary.late_fee_total, label="延滞金")
    ctx.totals.add_money("dunning_fee", summary.dunning_fee_total, label="督促手数料")
    ctx.totals.add_money("total", summary.grand_total, label="督促額合計")
    ctx.totals.add_figure("pdf_pages", pages, label="督促状ページ")
    ctx.totals.add_figure("pdf_files", files, label="督促状PDF")
    ctx.message("KKB605I", notices=rows.height, tax=summary.tax_total, late_fee=summary.late_fee_total,
                fee=summary.dunning_fee_total, pay_by=rows["pay_by"][0])


# --- TN030 延滞金調定 -------------------------------------------------------------------------------


def book_late_fees(ctx: StepContext) -> int | None:
    m = ctx.municipality
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    with ledger.transaction() as tx:
        done = tx.query("arrears/late_fee_levy_targets", {"d": ctx.business_date, "m": m})
        levied = 0
        if done.height:
            tx.stage("_keys", done.select(pl.col("levy_year").cast(pl.Int32), "notice_number",
                                          pl.col("installment_no").cast(pl.Int32)))
            pays = tx.query("arrears/installment_payments", {"m": m})
            try:
                fee = late_fee_frame(
                    done.select(pl.col("levy_year").cast(pl.Int64), "notice_number",
                                pl.col("installment_no").cast(pl.Int64), pl.col("levy_amount").alias("base_amount"),
                                "due_date", "completed_date"),
                    _late_fee_rules(ctx), as_of="completed_date",
                    payments=pays.with_columns(pl.col("levy_year").cast(pl.Int64),
                                               pl.col("installment_no").cast(pl.Int64)))
            except ConfigError as exc:
                raise StepError.of("KKB616E", reason=str(exc)) from exc
            op = now_stamp()
            book = done.select("municipality_code", pl.col("levy_year").cast(pl.Int32),
                               pl.col("target_year").cast(pl.Int32), "notice_number",
                               pl.col("installment_no").cast(pl.Int32), "completed_date",
                               pl.lit(ctx.business_date).alias("levy_date"), fee.alias("late_fee"))
            tx.stage("_lf", book)
            audit = {"op": run.operator_id, "od": op[0], "ot": op[1], "rs": run.reason}
            tx.run("arrears/late_fee_levy_book", audit)
            tx.run("arrears/late_fee_levy_installment", audit)
            levied = int(fee.sum() or 0)
            ctx.totals.count("levy", label="延滞金調定", read=book.height, accepted=book.height)
            ctx.totals.written += book.height
            ctx.totals.add_money("late_fee_levied", levied, label="延滞金調定額")
            ctx.message("KKB613I", count=int((fee > 0).sum()), amount=levied)
        else:
            ctx.totals.count("levy", label="延滞金調定")
            ctx.message("KKB615I")
        op = now_stamp()
        tx.run("arrears/late_fee_received_refresh", {"m": m, "op": run.operator_id, "od": op[0], "ot": op[1],
                                                      "rs": run.reason})
        rec = tx.query("arrears/late_fee_totals", {"m": m})
    ledger.dispose()
    r = rec.row(0, named=True)
    ctx.totals.add_money("late_fee_received_total", int(r["received"] or 0), label="延滞金収入累計")
    ctx.totals.add_money("late_fee_levied_total", int(r["levied"] or 0), label="延滞金調定累計")
    ctx.message("KKB614I", count=int(r["received_count"] or 0), amount=int(r["received"] or 0))
    return None
