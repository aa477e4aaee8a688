"""滞納者把握 and 催告 job steps (job net KB610 催告ジョブネット; registered in ``jobs/registry.py``).

    TN110 滞納者把握       the 滞納 of the ledger (督促済 and unpaid 期別, sql/arrears/arrears_items.sql)
                           per taxpayer, 現年度 / 過年度 → dataset arrears_taxpayers and the 管理帳票
                           (var/reports/arrears/<世代>/: taino_ichiran.csv per taxpayer, taino_kanri.csv
                           and .pdf by amount band × age band of config arrears_records.extraction), and
                           the 分割納付 履行状況 (bunkatsu_rikou.csv) when plans exist
    TN120 催告書作成       現年催告書 for the 督促済, unpaid, unheld 期別 of the current fiscal year; on a
                           ``bulk_reminder`` day (run_calendar.yaml) the 一斉催告書 of every 滞納者 with
                           all years instead. One 催告 per taxpayer recorded in arrears_reminder /
                           arrears_reminder_item (never twice for the same day and kind), then from those
                           rows: the print-data file var/outbox/print/reminder_<kind>_<世代>.dat (layout
                           reminder_notice_print) and the PDFs var/reports/arrears/<世代>/saikoku_<kind>/
    TN130 電話催告対象者リスト  denwa_saikoku_taisho.csv (UTF-8 BOM, Japanese headers, no 個人番号) for the
                           call centre: 滞納 ≥ phone.min_amount, last 催告 phone.days_after_reminder days
                           ago or more (or none), no 約束期日 still to come
    TN140 電話催告結果取込  denwa*.csv of the call centre (var/inbox/arrears/): one phone 催告 with its
                           約束期日 per record into arrears_reminder (kind phone); bad records to the error
                           list; a file sent again is refused whole (KKB638I, KKB651W)

A 催告 names the 期別 of its 催告額 (本税); the 延滞金 up to the 指定期限 (催告日 +
``reminder.pay_by_days``, next business day) is stated on it (jobs/arrears/late_fee.py, payments up to
the 催告日), not in the 納付書's barcode: one 納付書 per 期別 of its 本税, so the 消込 posts it to its
期別. A rerun on the same day writes the same bytes from the recorded rows and records nothing.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

import polars as pl

from jobs.common import paths, pdf_pool
from jobs.common.config import ConfigError
from jobs.common.runcalendar import monthly_rule
from jobs.common.step import StepContext, StepError
from jobs.ledger import audit_columns, now_stamp, open_ledger, run_of

from . import records as rc
from .late_fee import LateFeeRules, late_fee_frame

TAXPAYERS = "arrears_taxpayers"
KEY = ["levy_year", "notice_number", "installment_no"]
KIND_CODES = {"current": "1", "bulk": "2", "phone": "3"}
PLAN_STATUS_LABELS = {"active": "履行中", "broken": "不履行", "completed": "完了", "cancelled": "取消"}
TAXPAYER_SCHEMA = {"person_id": pl.String, "household_id": pl.String, "installments": pl.Int64,
                   "amount": pl.Int64, "current_amount": pl.Int64, "past_amount": pl.Int64,
                   "held_amount": pl.Int64, "oldest_due_date": pl.Date, "age_days": pl.Int64,
                   "amount_band": pl.Int64, "age_band": pl.Int64}


# --- shared ----------------------------------------------------------------------------------------


def _bands(ctx: StepContext, key: str) -> list[int]:
    bounds = [int(x) for x in rc.cfg(ctx, f"extraction.{key}")]
    if not bounds or bounds[0] != 0 or bounds != sorted(set(bounds)):
        raise StepError(f"arrears_records.extraction.{key} は 0 から始まる昇順の下限のリストです: {bounds}")
    return bounds


def band_of(value: int, bounds: list[int]) -> int:
    """The index of the band ``value`` falls in (``bounds`` are the lower bounds, the first 0)."""
    return max(bisect_right(bounds, value) - 1, 0)


def band_labels(bounds: list[int], unit: str) -> list[str]:
    def fmt(v: int) -> str:
        if unit == "円" and v >= 10_000 and v % 10_000 == 0:
            return f"{v // 10_000:,}万円"
        return f"{v:,}{unit}"

    out = []
    for k, lo in enumerate(bounds):
        out.append(f"{fmt(lo)}以上" if k == len(bounds) - 1 else f"{fmt(lo)}〜{fmt(bounds[k + 1])}未満")
    return out


def taxpayers(items: pl.DataFrame, *, as_of: dt.date, fy: int, amount_bounds: list[int],
              age_bounds: list[int]) -> pl.DataFrame:
    """The 滞納 per taxpayer of ``items`` (rows of ``records.arrears_items``): 期別数, 滞納額 (現年度 =
    ``fy``, 過年度 = older), held, the oldest 納期限, its age in days at ``as_of`` and the bands."""
    if items.height == 0:
        return pl.DataFrame(schema=TAXPAYER_SCHEMA)
    bal = pl.col("balance").cast(pl.Int64)
    out = (items.group_by("person_id").agg(
        pl.col("household_id").sort_by("levy_year", "due_date").last(),
        pl.len().cast(pl.Int64).alias("installments"), bal.sum().alias("amount"),
        bal.filter(pl.col("levy_year") == fy).sum().alias("current_amount"),
        bal.filter(pl.col("levy_year") != fy).sum().alias("past_amount"),
        bal.filter(pl.col("held").is_not_null()).sum().alias("held_amount"),
        pl.col("due_date").min().alias("oldest_due_date"))
        .with_columns((pl.lit(as_of) - pl.col("oldest_due_date")).dt.total_days().cast(pl.Int64).alias("age_days"))
        .sort("person_id"))
    return out.with_columns(
        pl.col("amount").map_elements(lambda v: band_of(v, amount_bounds), return_dtype=pl.Int64).alias("amount_band"),
        pl.col("age_days").map_elements(lambda v: band_of(v, age_bounds), return_dtype=pl.Int64).alias("age_band"),
    ).select([pl.col(c).cast(t) for c, t in TAXPAYER_SCHEMA.items()])


# --- TN110 滞納者把握 --------------------------------------------------------------------------------


def grasp_arrears(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    amount_bounds, age_bounds = _bands(ctx, "amount_bands"), _bands(ctx, "age_bands_days")
    ledger = open_ledger(ctx)
    try:
        items = rc.arrears_items(ledger, ctx)
        last = ledger.query("arrears/reminder_last", {"m": m, "as_of": d})
        plans = ledger.query("arrears/reminder_plan_status", {"m": m, "as_of": d})
    finally:
        ledger.dispose()
    arrears = rc.dunned(items, d)
    undunned = items.join(arrears.select(KEY), on=KEY, how="anti")
    if undunned.height:
        ctx.message("KKB631I", installments=undunned.height, amount=int(undunned["balance"].sum() or 0))
    people = taxpayers(arrears, as_of=d, fy=ctx.fy, amount_bounds=amount_bounds, age_bounds=age_bounds)
    total = int(people["amount"].sum() or 0) if people.height else 0
    current = int(people["current_amount"].sum() or 0) if people.height else 0
    past = int(people["past_amount"].sum() or 0) if people.height else 0
    held = int(people["held_amount"].sum() or 0) if people.height else 0
    ctx.message("KKB630I", taxpayers=people.height, installments=arrears.height, amount=total, current=current,
                past=past, held=held)
    ctx.totals.count("installment", label="滞納期別", read=arrears.height, accepted=arrears.height)
    ctx.totals.count("taxpayer", label="滞納者", read=people.height, accepted=people.height)
    ctx.totals.add_money("arrears", total, label="滞納額")
    ctx.totals.add_money("arrears_current", current, label="滞納額(現年度)")
    ctx.totals.add_money("arrears_past", past, label="滞納額(過年度)")
    ctx.totals.add_money("arrears_held", held, label="うち保留")
    if total != current + past or total != int(arrears["balance"].sum() or 0):
        raise StepError(f"滞納額が合いません: 合計 {total:,}円 現年度 {current:,}円 過年度 {past:,}円")
    ctx.write_dataset(TAXPAYERS, people)

    addr = rc.addresses(ctx, required=False)
    last_cols = last.select(pl.col("person_id").cast(pl.String), pl.col("reminders").cast(pl.Int64),
                            pl.col("last_reminder_date").cast(pl.Date), pl.col("last_reminder_kind").cast(pl.String),
                            pl.col("promise_date").cast(pl.Date)) if last.height else pl.DataFrame(
        schema={"person_id": pl.String, "reminders": pl.Int64, "last_reminder_date": pl.Date,
                "last_reminder_kind": pl.String, "promise_date": pl.Date})
    amount_labels, age_labels = band_labels(amount_bounds, "円"), band_labels(age_bounds, "日")
    listing = (people.join(addr.select("person_id", "taxpayer_name"), on="person_id", how="left")
               .join(last_cols, on="person_id", how="left")
               .with_columns(pl.col("amount_band").replace_strict(dict(enumerate(amount_labels)),
                                                                  return_dtype=pl.String).alias("amount_band_label"),
                             pl.col("age_band").replace_strict(dict(enumerate(age_labels)),
                                                               return_dtype=pl.String).alias("age_band_label"),
                             pl.col("last_reminder_kind").replace_strict(rc.KIND_LABELS, default=None,
                                                                         return_dtype=pl.String),
                             pl.col("reminders").fill_null(0))
               .sort("person_id"))
    folder = rc.report_dir(ctx)
    rc.write_csv(ctx, folder / "taino_ichiran.csv", listing, {
        "person_id": "宛名番号", "household_id": "世帯番号", "taxpayer_name": "氏名", "installments": "滞納期別数",
        "amount": "滞納額", "current_amount": "現年度分", "past_amount": "過年度分", "held_amount": "うち保留",
        "oldest_due_date": "最古納期限", "age_days": "経過日数", "amount_band_label": "滞納額区分",
        "age_band_label": "経過日数区分", "reminders": "催告回数", "last_reminder_date": "最終催告日",
        "last_reminder_kind": "最終催告種別", "promise_date": "約束期日"})
    grid = pl.DataFrame([{"amount_band": a, "age_band": g} for a in range(len(amount_bounds))
                         for g in range(len(age_bounds))], schema={"amount_band": pl.Int64, "age_band": pl.Int64})
    counts = people.group_by("amount_band", "age_band").agg(pl.len().cast(pl.Int64).alias("taxpayers"),
                                                            pl.col("amount").sum().cast(pl.Int64))
    matrix = (grid.join(counts, on=["amount_band", "age_band"], how="left")
              .with_columns(pl.col("taxpayers").fill_null(0), pl.col("amount").fill_null(0))
              .with_columns(pl.col("amount_band").replace_strict(dict(enumerate(amount_labels)),
                                                                 return_dtype=pl.String).alias("amount_label"),
                            pl.col("age_band").replace_strict(dict(enumerate(age_labels)),
                                                              return_dtype=pl.String).alias("age_label")))
    rc.write_csv(ctx, folder / "taino_kanri.csv", matrix, {
        "amount_label": "滞納額区分", "age_label": "経過日数区分", "taxpayers": "滞納者数", "amount": "滞納額"})
    plan_rows = plans.select(pl.col("status").cast(pl.String), pl.col("plans").cast(pl.Int64),
                             pl.col("plan_amount").cast(pl.Int64), pl.col("paid_since").cast(pl.Int64)
                             ).with_columns(pl.col("status").replace_strict(PLAN_STATUS_LABELS, default=pl.col("status"),
                                                                            return_dtype=pl.String)
                                            .alias("status_label")) if plans.height else pl.DataFrame()
    files = 3
    if plans.height:
        by = {r["status"]: int(r["plans"]) for r in plan_rows.iter_rows(named=True)}
        ctx.message("KKB633I", plans=sum(by.values()), active=by.get("active", 0), broken=by.get("broken", 0))
        rc.write_csv(ctx, folder / "bunkatsu_rikou.csv", plan_rows, {
            "status_label": "状態", "plans": "計画数", "plan_amount": "計画額", "paid_since": "誓約後納付額"})
        ctx.totals.add_figure("plans", sum(by.values()), label="分割納付計画")
        files += 1
    from reports.reminder import render_arrears_report

    summary = {"taxpayers": people.height, "installments": arrears.height, "amount": total, "current_amount": current,
               "past_amount": past, "held_amount": held}
    pdf = folder / "taino_kanri.pdf"
    pages = render_arrears_report(matrix, summary, plan_rows, ctx.config, ctx.stage_file(pdf), as_of=d,
                                  amount_labels=amount_labels, age_labels=age_labels)
    ctx.totals.add_figure("report_pages", pages, label="管理帳票ページ")
    ctx.message("KKB632I", files=files, path=paths.relative(folder))
    return None


# --- TN120 催告書作成 --------------------------------------------------------------------------------


def reminder_kind(ctx: StepContext) -> tuple[str, str]:
    """``current`` or ``bulk`` (option ``kind`` first, then the ``bulk_reminder`` rule) and why."""
    given = ctx.options.get("kind")
    if given:
        if given not in ("current", "bulk"):
            raise StepError(f"催告種別は current か bulk です: {given!r}")
        return str(given), "指定"
    try:
        bulk = monthly_rule("bulk_reminder", ctx.config).is_run_day(ctx.business_date, ctx.calendar)
    except ConfigError as exc:
        raise StepError(f"業務日程 bulk_reminder が不正です: {exc}") from exc
    return ("bulk", "一斉催告日") if bulk else ("current", "一斉催告日ではありません")


def pay_by(ctx: StepContext) -> dt.date:
    days = int(rc.cfg(ctx, "reminder.pay_by_days"))
    if days < 1:
        raise StepError(f"arrears_records.reminder.pay_by_days は1以上です: {days}")
    return ctx.calendar.roll_forward(ctx.business_date + dt.timedelta(days=days))


def reminder_no(kind: str, day: dt.date, person_id: str) -> str:
    """催告番号 = 催告区分 (1) + 催告日 (8) + 宛名番号 (10)."""
    return f"{KIND_CODES[kind]}{day:%Y%m%d}{person_id}"


def issue_reminders(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    kind, why = reminder_kind(ctx)
    label = rc.KIND_LABELS[kind]
    ctx.message("KKB634I", kind=label, reason=why)
    min_amount = int(rc.cfg(ctx, "reminder.min_amount"))
    due_by = pay_by(ctx)
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    try:
        items = rc.arrears_items(ledger, ctx)
        arrears = rc.dunned(items, d)
        if kind == "current":
            arrears = arrears.filter(pl.col("levy_year") == ctx.fy)
        held = arrears.filter(pl.col("held").is_not_null())
        free = arrears.filter(pl.col("held").is_null())
        sums = free.group_by("person_id").agg(pl.col("balance").sum().alias("_sum"))
        small = sums.filter(pl.col("_sum") < min_amount)
        targets = free.join(small.select("person_id"), on="person_id", how="anti")
        ctx.message("KKB641I", kind=label, taxpayers=targets["person_id"].n_unique(), installments=targets.height,
                    amount=int(targets["balance"].sum() or 0), held=held.height, min_amount=min_amount,
                    small=small.height)
        ctx.totals.add_figure("held", held.height, label="保留期別")
        addr = rc.addresses(ctx)
        with_addr = targets.join(addr, on="person_id", how="left")
        candidates = targets["person_id"].n_unique()
        targets = rc.reject_missing_addresses(ctx, with_addr, f"{label}対象").select(targets.columns)
        ctx.totals.count("target", label=f"{label}対象者", read=candidates, accepted=targets["person_id"].n_unique(),
                         rejected=candidates - targets["person_id"].n_unique())
        with ledger.transaction() as tx:
            already = tx.query("arrears/reminders_of_day", {"m": m, "kind": kind, "d": d})
            if already.height:
                ctx.message("KKB642I", reminder_date=d, kind=label, records=already["person_id"].n_unique())
                targets = targets.join(already.select("person_id").unique(), on="person_id", how="anti")
            if targets.height:
                op = now_stamp()
                heads = (targets.group_by("person_id").agg(
                    pl.col("household_id").sort_by("levy_year", "due_date").last(),
                    pl.col("balance").sum().cast(pl.Int64).alias("amount"),
                    pl.len().cast(pl.Int32).alias("installments"), pl.col("due_date").min().alias("oldest_due_date"))
                    .sort("person_id")
                    .with_columns(pl.concat_str([pl.lit(f"{KIND_CODES[kind]}{d:%Y%m%d}"), pl.col("person_id")])
                                  .alias("reminder_id")))
                tx.insert("arrears_reminder", heads.select(
                    "reminder_id", pl.lit(m).alias("municipality_code"), "person_id", "household_id",
                    pl.lit(kind).alias("reminder_kind"), pl.lit(d).alias("reminder_date"), "amount", "installments",
                    "oldest_due_date", pl.lit(None, dtype=pl.Date).alias("promise_date"),
                    pl.lit(None, dtype=pl.String).alias("note"), pl.lit(ctx.job_id).alias("job_id"),
                    *audit_columns(run, op)))
                tx.insert("arrears_reminder_item", targets.join(heads.select("person_id", "reminder_id"),
                                                                on="person_id").select(
                    "reminder_id", pl.col("levy_year").cast(pl.Int32), "notice_number",
                    pl.col("installment_no").cast(pl.Int32), "due_date", pl.col("balance").cast(pl.Int64),
                    *audit_columns(run, op)).sort("reminder_id", *KEY))
            issued = tx.query("arrears/reminders_of_day", {"m": m, "kind": kind, "d": d})
            rows = None
            if issued.height:
                tx.stage("_keys", issued.select(pl.col("levy_year").cast(pl.Int32), "notice_number",
                                                pl.col("installment_no").cast(pl.Int32)).unique())
                levy = tx.query("arrears/reminder_item_levy", {"m": m})
                pays = tx.query("arrears/installment_payments", {"m": m})
                # in the transaction: a 延滞金 that cannot be computed (KKB650E) records nothing
                rows = _print_rows(ctx, kind, issued, levy, pays, addr, due_by)
    finally:
        ledger.dispose()
    ctx.totals.add_figure("reminders", issued["person_id"].n_unique() if issued.height else 0, label=f"{label}書")
    if rows is None:
        ctx.message("KKB646I", kind=label)
        return None
    _deliver(ctx, kind, rows, due_by)
    return None


def _print_rows(ctx: StepContext, kind: str, issued: pl.DataFrame, levy: pl.DataFrame, pays: pl.DataFrame,
                addr: pl.DataFrame, due_by: dt.date) -> pl.DataFrame:
    """The print rows (``reports.reminder.REMINDER_COLUMNS``) of the recorded 催告明細 ``issued``."""
    from reports import print_data
    from reports import reminder as rr

    d, cfg = ctx.business_date, ctx.config
    rows = issued.with_columns(pl.col("levy_year").cast(pl.Int64), pl.col("installment_no").cast(pl.Int64),
                               pl.col("balance").cast(pl.Int64)).sort("person_id", *KEY)
    base = rows.join(levy.select(pl.col("levy_year").cast(pl.Int64), "notice_number",
                                 pl.col("installment_no").cast(pl.Int64), pl.col("levy_amount").cast(pl.Int64)),
                     on=KEY, how="left", maintain_order="left")
    paid = pays.filter(pl.col("paid_date") <= d).select(
        pl.col("levy_year").cast(pl.Int64), "notice_number", pl.col("installment_no").cast(pl.Int64),
        pl.col("paid_date").cast(pl.Date), pl.col("amount").cast(pl.Int64)) if pays.height else None
    try:
        fee = late_fee_frame(base.select(*KEY, pl.col("levy_amount").fill_null(pl.col("balance")).alias("base_amount"),
                                         "due_date"), LateFeeRules.from_config(cfg), as_of=due_by,
                             payments=paid if paid is not None and paid.height else None)
    except ConfigError as exc:
        raise StepError.of("KKB650E", reason=str(exc)) from exc
    rows = (rows.with_columns(fee.alias("late_fee_amount"))
            .join(addr.select("person_id", "postal_code", "address", pl.col("taxpayer_name").alias("addressee_name")),
                  on="person_id", how="left", maintain_order="left")
            .with_columns(pl.col("reminder_id").alias("reminder_no"), pl.lit(rr.KIND_CODES[kind]).alias("reminder_kind"),
                          (pl.int_range(pl.len()).over("reminder_id") + 1).cast(pl.Int64).alias("item_seq"),
                          pl.len().over("reminder_id").cast(pl.Int64).alias("item_count"),
                          pl.lit(d).alias("reminder_date"), pl.lit(due_by).alias("pay_by"),
                          pl.col("balance").alias("tax_amount"), pl.lit(due_by).alias("late_fee_date")))
    parts = []
    for (levy_year,), part in rows.with_row_index("_i").group_by("levy_year", maintain_order=True):
        slots = part.select("household_id", "installment_no", pl.col("pay_by").alias("due_date"),
                            pl.col("tax_amount").alias("amount"), pl.lit(0).alias("_revision"))
        parts.append(part.with_columns(print_data.barcode_series(slots, cfg, fy=int(levy_year)).alias("barcode")))
    return pl.concat(parts).sort("_i").drop("_i").select(*rr.REMINDER_COLUMNS)


def _deliver(ctx: StepContext, kind: str, rows: pl.DataFrame, due_by: dt.date) -> None:
    from reports import reminder as rr

    d, cfg = ctx.business_date, ctx.config
    label = rc.KIND_LABELS[kind]
    print_final = paths.outbox("print") / f"reminder_{kind}_{ctx.generation}.dat"
    summary = rr.write_print_file(rows, cfg, ctx.stage_file(print_final), reminder_date=d, kind=kind)
    ctx.message("KKB644I", records=summary.items, amount=summary.tax_total, path=paths.relative(print_final))
    pdf_dir = rc.report_dir(ctx) / f"saikoku_{kind}"
    folder = ctx.stage_dir(pdf_dir)
    per_file = int(ctx.options.get("pdf_max_notices") or rc.cfg(ctx, "reminder.pdf_max_notices"))  # option: tests
    # the rows of one 催告書 are adjacent (_print_rows sorts them by 宛名番号): a file holds per_file whole 催告書
    if rows["reminder_no"].rle_id().n_unique() != rows["reminder_no"].n_unique():
        raise StepError("催告書の明細が催告番号ごとに並んでいません")
    starts = (rows.with_row_index("_r").group_by("reminder_no", maintain_order=True)
              .agg(pl.col("_r").first())["_r"].to_list())
    bounds = [*starts[::per_file], rows.height]
    jobs = [(rr.render_reminder_notices, rows.slice(a, b - a), cfg, str(folder / f"saikoku_{kind}_{i:03d}.pdf"))
            for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False), start=1)]
    done = pdf_pool.render_files(pdf_pool.render_document, jobs, pdf_pool.workers(cfg, ctx.options.get("pdf_workers")))
    files = len(done)
    pages, slips, barcodes = (sum(getattr(r["stats"], k) for r in done) for k in ("pages", "slips", "barcodes"))
    ctx.message("KKB645I", files=files, pages=pages, path=paths.relative(pdf_dir))
    ctx.totals.count("item", label=f"{label}明細", read=rows.height, accepted=rows.height)
    ctx.totals.written += rows.height
    ctx.totals.add_money("tax", summary.tax_total, label="催告額(本税)")
    ctx.totals.add_money("late_fee", summary.late_fee_total, label="延滞金(指定期限まで)")
    ctx.totals.add_figure("pdf_pages", pages, label=f"{label}書ページ")
    ctx.totals.add_figure("pdf_files", files, label=f"{label}書PDF")
    ctx.totals.add_figure("slips", slips, label="納付書")
    ctx.totals.add_figure("barcodes", barcodes, label="バーコード")
    ctx.message("KKB643I", kind=label, reminders=summary.reminders, items=summary.items, tax=summary.tax_total,
                late_fee=summary.late_fee_total, pay_by=due_by)


# --- TN130 電話催告対象者リスト ------------------------------------------------------------------------


PHONE_LABELS = {"person_id": "宛名番号", "household_id": "世帯番号", "taxpayer_name": "氏名",
                "taxpayer_kana": "カナ氏名", "postal_code": "郵便番号", "address": "住所",
                "amount": "滞納額", "current_amount": "現年度分", "past_amount": "過年度分",
                "installments": "滞納期別数", "oldest_due_date": "最古納期限", "reminders": "催告回数",
                "last_reminder_date": "最終催告日", "last_reminder_kind": "最終催告種別", "promise_date": "前回約束期日"}


def phone_list(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    min_amount = int(rc.cfg(ctx, "phone.min_amount"))
    days = int(rc.cfg(ctx, "phone.days_after_reminder"))
    ledger = open_ledger(ctx)
    try:
        items = rc.arrears_items(ledger, ctx)
        last = ledger.query("arrears/reminder_last", {"m": m, "as_of": d})
    finally:
        ledger.dispose()
    free = rc.dunned(items, d).filter(pl.col("held").is_null())
    people = taxpayers(free, as_of=d, fy=ctx.fy, amount_bounds=[0], age_bounds=[0])
    last = last.select(pl.col("person_id").cast(pl.String), pl.col("reminders").cast(pl.Int64),
                       pl.col("last_reminder_date").cast(pl.Date), pl.col("last_reminder_kind").cast(pl.String),
                       pl.col("promise_date").cast(pl.Date)) if last.height else pl.DataFrame(
        schema={"person_id": pl.String, "reminders": pl.Int64, "last_reminder_date": pl.Date,
                "last_reminder_kind": pl.String, "promise_date": pl.Date})
    cutoff = d - dt.timedelta(days=days)
    picked = (people.join(last, on="person_id", how="left")
              .filter(pl.col("amount") >= min_amount)
              .filter(pl.col("last_reminder_date").is_null() | (pl.col("last_reminder_date") <= cutoff))
              .filter(pl.col("promise_date").is_null() | (pl.col("promise_date") < d))
              .with_columns(pl.col("reminders").fill_null(0),
                            pl.col("last_reminder_kind").replace_strict(rc.KIND_LABELS, default=None,
                                                                        return_dtype=pl.String)))
    with_addr = picked.join(rc.addresses(ctx), on="person_id", how="left")
    listed = rc.reject_missing_addresses(ctx, with_addr, "電話催告対象者").sort("person_id")
    amount = int(listed["amount"].sum() or 0) if listed.height else 0
    final = rc.report_dir(ctx) / "denwa_saikoku_taisho.csv"
    rc.write_csv(ctx, final, listed, PHONE_LABELS)
    ctx.totals.count("taxpayer", label="電話催告対象者", read=picked.height, accepted=listed.height,
                     rejected=picked.height - listed.height)
    ctx.totals.written += listed.height
    ctx.totals.add_money("arrears", amount, label="滞納額")
    ctx.message("KKB647I", taxpayers=listed.height, amount=amount, min_amount=min_amount, days=days,
                path=paths.relative(final))
    return None


# --- TN140 電話催告結果取込 ---------------------------------------------------------------------------


PHONE_COLUMNS = {"person_id": ("宛名番号",), "call_date": ("架電日", "催告日"), "result": ("結果", "架電結果"),
                 "promise_date": ("約束期日",), "note": ("備考",)}


def phone_results(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    paths_in = rc.input_files(ctx, "phone_result")
    ctx.totals.count("phone", label="電話催告結果")
    if not paths_in:
        return None
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    files: list[rc.InputFile] = []
    try:
        items = rc.arrears_items(ledger, ctx)
        owing = taxpayers(items, as_of=d, fy=ctx.fy, amount_bounds=[0], age_bounds=[0])
        known = {r["person_id"]: r for r in owing.iter_rows(named=True)}
        for path in paths_in:
            f = rc.read_csv(ctx, path, PHONE_COLUMNS, ("person_id", "call_date"))
            files.append(f)
            if rc.already_posted(ctx, ledger, f):
                ctx.message("KKB651W", file=f.name)
                f.rejects.append({"file_name": f.name, "record_no": 0, "byte_offset": 0, "record_type": "file",
                                  "field": "sha256", "field_label": "ファイル",
                                  "reason": f"登録済みのファイルです (SHA-256 {f.sha256[:12]})", "raw": b""})
                ctx.totals.count("phone", read=len(f.records), rejected=len(f.records))
                continue
            rows, seen = [], set()
            for rec in f.records:
                person = rc.field_value(f, rec, "person_id", "宛名番号", rc.parse_atena)
                call = rc.field_value(f, rec, "call_date", "架電日", rc.parse_date)
                promise = rc.field_value(f, rec, "promise_date", "約束期日", rc.parse_date, optional=True)
                if person is None or call is None or (rec.values.get("promise_date") and promise is None):
                    continue
                if call > d:
                    f.reject(rec, "call_date", "架電日", f"架電日 {call} が業務日 {d} より後です")
                    continue
                if promise is not None and promise < call:
                    f.reject(rec, "promise_date", "約束期日", f"約束期日 {promise} が架電日 {call} より前です")
                    continue
                if person not in known:
                    f.reject(rec, "person_id", "宛名番号", f"滞納がありません (宛名番号 {person})")
                    continue
                if (person, call) in seen:
                    f.reject(rec, "person_id", "宛名番号", f"同じ宛名番号・架電日の行が前にあります ({person}, {call})")
                    continue
                seen.add((person, call))
                who = known[person]
                note = " ".join(x for x in (rec.values.get("result", ""), rec.values.get("note", "")) if x)[:200]
                rows.append({"reminder_id": f"{KIND_CODES['phone']}{call:%Y%m%d}{person}-{f.sha256[:12]}-"
                                            f"{rec.record_no:05d}",
                             "municipality_code": m, "person_id": person, "household_id": who["household_id"],
                             "reminder_kind": "phone", "reminder_date": call, "amount": int(who["amount"]),
                             "installments": int(who["installments"]), "oldest_due_date": who["oldest_due_date"],
                             "promise_date": promise, "note": note or None, "job_id": ctx.job_id})
            frame = pl.DataFrame(rows, schema={
                "reminder_id": pl.String, "municipality_code": pl.String, "person_id": pl.String,
                "household_id": pl.String, "reminder_kind": pl.String, "reminder_date": pl.Date, "amount": pl.Int64,
                "installments": pl.Int32, "oldest_due_date": pl.Date, "promise_date": pl.Date, "note": pl.String,
                "job_id": pl.String})
            with ledger.transaction() as tx:
                if frame.height:
                    tx.insert("arrears_reminder", frame.with_columns(*audit_columns(run, now_stamp())))
                rc.mark_posted(tx, f, "denwa", run, records=frame.height)
            promises = int(frame["promise_date"].is_not_null().sum()) if frame.height else 0
            ctx.totals.count("phone", read=len(f.records), accepted=frame.height, rejected=len(f.rejects))
            ctx.totals.add_figure("promises", promises, label="約束期日あり")
            ctx.message("KKB648I", file=f.name, records=len(f.records), accepted=frame.height, promises=promises,
                        rejected=len(f.rejects))
    finally:
        ledger.dispose()
    rejected = rc.send_rejects(ctx, files)
    if rejected:
        ctx.message("KKB649W", rejected=rejected)
    return None


__all__ = ["TAXPAYERS", "band_labels", "band_of", "grasp_arrears", "issue_reminders", "phone_list", "phone_results",
           "reminder_kind", "reminder_no", "taxpayers"]
