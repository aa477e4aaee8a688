"""口座振替 job steps (registered in ``jobs/registry.py``).

    SN020 口座振替登録        dataset direct_debit_mandate (SN010) → debit_mandate (履歴)
    SN120 口座振替請求        installment × debit_mandate → var/outbox/bank/<金融機関>/ (全銀 種別91),
                              dataset debit_requests (口座振替請求者リスト, the city's copy)
    SN130 口座振替不能通知    today's SN115 results → debit_request の結果, 口座振替不能通知書 兼 納付書 (PDF),
                              dataset debit_results (口座収入確認表)

SN120 runs every business day: it makes the files of each 振替日 (= 納期限) whose request day —
``collection.direct_debit.request_business_days_before`` business days before — is today (the
operator may name a 振替日 with the option ``debit_date``). The requests are recorded in the
ledger first; a rerun writes the same files from those rows (byte for byte) and requests nothing
twice.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from jobs.common import datasets, paths
from jobs.common.register import one_per_person
from jobs.common.step import StepContext, StepError
from jobs.ledger import audit_columns, now_stamp, open_ledger, run_of

from . import direct_debit as dd
from .reconcile import posted_file, register_file

RESULT_LABELS = {"0": "振替済", "1": "資金不足", "2": "取引なし", "3": "預金者の都合による振替停止",
                 "4": "預金口座振替依頼書なし", "8": "委託者の都合による振替停止", "9": "その他"}


# --- SN020 口座振替登録 ---------------------------------------------------------------------------


def register_mandates(ctx: StepContext) -> int | None:
    source = ctx.spec.inputs[0]
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    applied = 0
    for gen in [g for g in datasets.generations(source, municipality=ctx.municipality) if g <= ctx.generation]:
        frame = None
        for inp in datasets.read_totals(source, gen).get("inputs") or []:
            sha, name = inp["sha256"], inp["name"]
            with ledger.transaction() as tx:
                if posted_file(tx, sha) is not None:
                    continue
            frame = datasets.read(source, gen) if frame is None else frame
            rows = frame.filter(pl.col("source_sha256") == sha)
            with ledger.transaction() as tx:
                n = dd.apply_mandates(tx, rows, sha, run)
                register_file(tx, sha256=sha, file_name=name, channel="mandate", records=rows.height, amount=0, run=run)
            ctx.totals.count("mandate", label="口座振替依頼", read=rows.height, accepted=rows.height)
            ctx.totals.written += rows.height
            applied += 1
            ctx.message("KKB430I", file=name, new=n['new'], change=n['change'], stop=n['stop'])
    if applied == 0:
        ctx.message("KKB431I")
    active = ledger.value("collection/mandates_active_count", {"m": ctx.municipality})
    ctx.totals.add_figure("active_mandates", int(active or 0), label="有効な口座振替")
    ledger.dispose()
    return None


# --- SN120 口座振替請求 ---------------------------------------------------------------------------


def request_debits(ctx: StepContext) -> int | None:
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    given = ctx.options.get("debit_date")
    if given:
        targets = [dt.date.fromisoformat(str(given))]
    else:
        upcoming = ledger.query("collection/debit_due_dates", {"d": ctx.business_date, "m": ctx.municipality})
        targets = dd.due_dates_for(ctx.calendar, ctx.config, ctx.business_date, upcoming["due_date"].to_list())
    if not targets:
        ctx.message("KKB440I")
    frames = []
    for debit_date in targets:
        with ledger.transaction() as tx:
            rows = tx.query("collection/debit_requests_of_date", {"d": debit_date, "m": ctx.municipality})
            if rows.height:
                ctx.message("KKB441I", debit_date=debit_date, records=rows.height)
            else:
                sel = dd.select_requests(tx, debit_date, run)
                rows = _record_requests(tx, sel, debit_date, run, ctx)
        frames.append(rows.with_columns(pl.lit(debit_date).alias("debit_date")))
        # a stable sort: each bank's records stay in branch, account, 顧客番号 order (same bytes on a rerun)
        for bank, part in rows.sort("bank_code", maintain_order=True).group_by("bank_code", maintain_order=True):
            bank_code = bank[0]
            final = paths.outbox("bank") / bank_code / dd.request_file_name(ctx.municipality, bank_code, debit_date,
                                                                            ctx.config)
            figs = dd.write_request_file(ctx.stage_file(final), part, bank_code=bank_code, debit_date=debit_date,
                                         cfg=ctx.config)
            ctx.totals.add_figure("request_files", 1, label="請求ファイル")
            ctx.message("KKB442I", debit_date=debit_date, bank_code=bank_code, records=figs['records'],
                        amount=figs['amount'], path=paths.relative(final))
        ctx.totals.count("request", label="口座振替請求", read=rows.height, accepted=rows.height)
        ctx.totals.add_money("request_amount", int(rows["amount"].sum() or 0) if rows.height else 0, label="請求額")
    out = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    keep = [c for c in ("debit_date", "bank_code", "branch_code", "account_type", "account_number",
                        "customer_number", "levy_year", "notice_number", "installment_no", "person_id",
                        "due_date", "amount", "request_file") if c in out.columns]
    ctx.write_dataset("debit_requests", datasets.sort_by_key(out.select(keep), (
        "debit_date", "bank_code", "customer_number", "levy_year", "notice_number", "installment_no"))
        if out.height else pl.DataFrame(
        schema={"debit_date": pl.Date, "customer_number": pl.String, "amount": pl.Int64}))
    ledger.dispose()
    return None


def _record_requests(tx, sel: pl.DataFrame, debit_date: dt.date, run, ctx: StepContext) -> pl.DataFrame:
    if sel.height == 0:
        return sel
    op_date, op_time = now_stamp()
    name_parts = dd.request_file_name(run.municipality, "\0", debit_date, ctx.config).split("\0")  # around {bank}
    rows = sel.select(
        "customer_number", pl.lit(run.municipality).alias("municipality_code"), "levy_year",
        pl.col("levy_year").alias("target_year"), "notice_number", "installment_no", "person_id",
        pl.lit(debit_date).alias("debit_date"), "due_date", "bank_code", "branch_code", "account_type",
        "account_number", "account_holder_kana", "amount",
        pl.concat_str([pl.lit(name_parts[0]), "bank_code", pl.lit(name_parts[1])]).alias("request_file"),
        pl.lit(None, dtype=pl.String).alias("result_code"), pl.lit(None, dtype=pl.String).alias("result_sha256"),
        pl.lit("requested").alias("status"), *audit_columns(run.job_id, (op_date, op_time)))
    tx.insert("debit_request", rows)
    return rows.with_columns(sel["new_code"])


# --- SN130 口座振替結果確認・不能通知書 ---------------------------------------------------------


def debit_results(ctx: StepContext) -> int | None:
    ledger = open_ledger(ctx)
    results = ledger.query("collection/debit_results_of_day", {"d": ctx.business_date, "m": ctx.municipality})
    if results.height:
        # the 顧客番号 from the key debit:銀行:支店:顧客番号:振替日 (channels.SLIP_KEYS)
        results = results.with_columns(pl.col("dedup_key").str.split(":").list.get(-2).alias("customer_number"))
        with ledger.transaction() as tx:
            tx.stage("_res", results.select("customer_number", "result_code", "source_sha256"))
            tx.run("collection/debit_request_results")
    failed = results.filter(pl.col("status") == "debit_failed") if results.height else results
    done = results.filter(pl.col("result_code") == "0") if results.height else results
    ctx.totals.count("done", label="振替済", read=done.height, accepted=done.height)
    ctx.totals.count("failed", label="振替不能", read=failed.height, accepted=failed.height)
    if results.height:
        ctx.totals.add_money("done", int(done["amount"].sum() or 0), label="振替済")
        ctx.totals.add_money("failed", int(failed["amount"].sum() or 0), label="振替不能")
        ctx.write_dataset("debit_results", datasets.sort_by_key(results.drop("dedup_key").with_columns(
            pl.col("result_code").replace_strict(RESULT_LABELS, default="不明").alias("result_label")),
            ("source_sha256", "record_no")))
    else:
        ctx.message("KKB450I")
    if failed.height:
        _failure_notices(ctx, failed)
    ledger.dispose()
    return None


def _failure_notices(ctx: StepContext, failed: pl.DataFrame) -> None:
    from reports import collection as rc
    from reports import print_data

    cfg = ctx.config
    days = int(cfg.get("collection.direct_debit.failure_pay_by_days"))
    qgen = datasets.latest("nhi_qualification", municipality=ctx.municipality, upto=ctx.generation)
    if qgen is None:
        raise StepError.of("KKB451E")
    addr = one_per_person(datasets.read("nhi_qualification", qgen)).select(
        pl.col("person_id").cast(pl.String), pl.col("name_kanji").alias("taxpayer_name"),
        pl.col("postal_code").cast(pl.String), pl.col("address_kanji").alias("address"))
    rows = failed.join(addr, on="person_id", how="left").with_columns(
        pl.col("debit_date").map_elements(lambda d: ctx.calendar.roll_forward(d + dt.timedelta(days=days)),
                                          return_dtype=pl.Date).alias("pay_by"))
    missing = rows.filter(pl.col("address").is_null())
    if missing.height:
        ctx.message("KKB452W", taxpayers=missing.height)
        ctx.reject(missing.select(pl.lit("debit_result").alias("file_name"), "record_no",
                                  pl.lit("口座振替不能").alias("record_type"), pl.lit("person_id").alias("field"),
                                  pl.lit("宛名番号").alias("field_label"),
                                  pl.format("宛名がありません (宛名番号 {})", "person_id").alias("reason")))
        rows = rows.filter(pl.col("address").is_not_null())
    # the barcode's 年度 is each 期別's 賦課年度 (the key a CVS payment is matched by), not the run's
    # fiscal year: the 3/31 振替日 of the last 期 is checked in April
    parts = []
    for (levy_year,), part in rows.with_row_index("_i").group_by("levy_year", maintain_order=True):
        slots = part.select(pl.col("household_id"), pl.col("installment_no"), pl.col("pay_by").alias("due_date"),
                            "amount", pl.lit(0).alias("_revision"))
        parts.append(part.with_columns(print_data.barcode_series(
            slots, cfg, fy=int(levy_year) if levy_year is not None else ctx.fy).alias("barcode")))
    rows = pl.concat(parts).sort("_i").drop("_i") if parts else rows.with_columns(
        pl.lit(None, dtype=pl.String).alias("barcode"))
    final = paths.reports_root() / "collection" / ctx.generation / "koufuri_funou.pdf"
    stats = rc.render_debit_failure_notices(rows.select(*rc.DEBIT_FAILURE_COLUMNS), cfg, ctx.stage_file(final),
                                            issue_date=ctx.business_date)
    ctx.totals.add_figure("pdf_pages", stats.pages, label="不能通知書ページ")
    ctx.message("KKB453I", notices=rows.height, path=paths.relative(final))
