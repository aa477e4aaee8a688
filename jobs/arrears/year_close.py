"""年次 (KB710 年次ジョブネット; registered in ``jobs/registry.py``), on the 出納閉鎖 day.

    TN620 不納欠損        the 期別 whose 徴収権 has expired by the business date — 時効 (地方税法18条:
                          法定納期限の翌日から5年, 更新 18条の2: 督促 (督促状発行日から起算して10日を
                          経過した日), 納付・納付誓約 (承認)) or 執行停止 3年継続 (15条の7第4項) or
                          即時消滅 (15条の7第5項) — booked to ``write_off`` (決裁年月日 = the business
                          date) with the reason code of config closing.write_off.reason_codes, the
                          期別's 不納欠損年月日・不納欠損額 set; 不納欠損 調書 CSV + PDF
    TN610 出納閉鎖・滞納繰越  on 出納閉鎖 (地方自治法235条の5: 翌年度の5月31日, config
                          closing.cash_closing_date) the 収入未済 of every 期別 of 賦課年度 ≤ N (the
                          fiscal year closed) at that date becomes 滞納繰越分 調定 of N+1: 繰越年度,
                          繰越年月日, 決算繰越本税額 and 繰越調定額 on the 期別; the 滞納繰越 調書 CSV + PDF,
                          reconciled to the yen with the ledger's postings
    TN630 滞納状況引継    the 滞納 per 世帯 (期数・金額・最古納期限, 1年以上滞納) handed to 国保年金課 (給付)
                          for 短期証・資格確認書・特別療養費 decisions: a CSV in var/outbox/kyufu/ (no 個人番号)

TN620 runs before TN610 (a 期別 written off on the day is not carried). The month books (TN510 /
TN520, jobs/arrears/closing.py) count the carried 期別 under 滞納繰越分 with the recorded 繰越調定額
from the month after the 出納閉鎖, and the 不納欠損 under 不納欠損額.

時効 (the date computation, ``limitation_date``): a period "from the day after X, N years" ends on
the day of X N years later (民法140条・143条: 起算日 = X の翌日, 満了 = 応当日の前日; no 応当日
(2月29日) → the month's last day). Every renewal (更新) starts a new period the same way from its
day, so the 時効完成日 is the latest of those ends: a renewal only moves it forward. The 徴収権 is
extinguished the day after (as_of > 時効完成日). 差押・交付要求 are not in the ledger (README known
limits).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

import polars as pl

from jobs.common import paths, runcalendar
from jobs.common.step import StepContext, StepError
from jobs.ledger import now_stamp, open_ledger, run_of

from . import closing

REASONS = ("limitation", "suspension_3y", "immediate")
REASON_LABELS = {"limitation": "時効 (地方税法18条)", "suspension_3y": "執行停止3年継続 (15条の7④)",
                 "immediate": "即時消滅 (15条の7⑤)"}
KEY = ["levy_year", "target_year", "notice_number", "installment_no"]


# --- 時効 ---------------------------------------------------------------------------------------


def add_years(d: dt.date, years: int) -> dt.date:
    """The same month and day ``years`` later; 2月29日 → 2月28日 in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 2/29 → a year without it
        return dt.date(d.year + years, 2, 28)


def period_end(start: dt.date, years: int) -> dt.date:
    """The last day of a period of ``years`` years whose first day is ``start`` (民法143条②: the
    day before the 応当日; when the last month has no 応当日, its last day)."""
    if start.month == 2 and start.day == 29:  # 応当日 2/29 (leap) or none (→ 2月末日): both end 2/28
        return dt.date(start.year + years, 2, 28)
    return start.replace(year=start.year + years) - dt.timedelta(days=1)


def limitation_date(statutory_due: dt.date, *, dunning_issued: dt.date | None = None,
                    acknowledgements: Iterable[dt.date | None] = (), years: int = 5,
                    dunning_renewal_days: int = 10) -> dt.date:
    """時効完成日 of the 徴収権 of one 期別: 法定納期限の翌日から ``years`` 年 (地方税法18条①), renewed
    (18条の2①, 民法152条) by the 督促 on the day ``dunning_renewal_days`` after the 督促状発行日
    (督促状を発した日から起算して10日を経過した日) and by each 承認 (一部納付, 納付誓約) on its day;
    each renewal starts a new period from its next day. The latest end wins: never earlier than
    the unrenewed one."""
    events = [statutory_due]
    if dunning_issued is not None:
        events.append(dunning_issued + dt.timedelta(days=dunning_renewal_days))
    events += [a for a in acknowledgements if a is not None]
    return max(period_end(e + dt.timedelta(days=1), years) for e in events)


# --- TN620 不納欠損 ------------------------------------------------------------------------------


def _write_off_cfg(ctx: StepContext) -> tuple[int, int, int, dict[str, str]]:
    cfg = ctx.config
    try:
        years = int(cfg.get("closing.write_off.limitation_years"))
        days = int(cfg.get("closing.write_off.dunning_renewal_days"))
        susp = int(cfg.get("closing.write_off.suspension_years"))
        codes = {k: str(cfg.get(f"closing.write_off.reason_codes.{k}")) for k in REASONS}
    except (KeyError, TypeError, ValueError) as e:
        raise StepError.of("KKB679E", key="closing.write_off", error=str(e)) from e
    return years, days, susp, codes


def period_end_expr(start: pl.Expr, years: int) -> pl.Expr:
    """``period_end`` over a column (null stays null)."""
    leap_day = (start.dt.month() == 2) & (start.dt.day() == 29)
    return (pl.when(leap_day).then(start.dt.offset_by(f"{years}y"))  # 2/29 → 2/28 of the target year
            .otherwise(start.dt.offset_by(f"{years}y") - pl.duration(days=1)))


def limitation_expr(*, statutory_due: str, dunning_issued: str, acknowledgements: Iterable[str], years: int,
                    dunning_renewal_days: int) -> pl.Expr:
    """``limitation_date`` over columns: the latest period end of the 法定納期限 and the renewals."""
    one = pl.duration(days=1)
    events = [pl.col(statutory_due), pl.col(dunning_issued) + pl.duration(days=dunning_renewal_days),
              *(pl.col(a) for a in acknowledgements)]
    return pl.max_horizontal([period_end_expr(e + one, years) for e in events])


def write_off_targets(cands: pl.DataFrame, susp: pl.DataFrame, as_of: dt.date, *, years: int, days: int
                      ) -> pl.DataFrame:
    """The 期別 to write off at ``as_of``: cands (write_off_candidates.sql) with their 時効完成日; susp
    (suspension_limitation.sql) with their 消滅日. Adds limitation_date, extinction_date, reason."""
    out = cands.with_columns(
        limitation_expr(statutory_due="statutory_due_date", dunning_issued="dunning_date",
                        acknowledgements=("last_paid_date", "pledge_date"), years=years,
                        dunning_renewal_days=days).alias("limitation_date"))
    out = out.cast({"levy_year": pl.Int32, "installment_no": pl.Int32})
    k3 = ["levy_year", "notice_number", "installment_no"]
    # a 執行停止 covers the 滞納 of its start (the 期別 whose 納期限 had passed), not a later 期別
    s = (susp.filter(pl.col("candidate"))
         .select(pl.col("levy_year").cast(pl.Int32), "notice_number", pl.col("installment_no").cast(pl.Int32),
                 "start_date", "extinction_date", pl.col("immediate_extinction").alias("immediate"))
         .join(out.select(*k3, "due_date"), on=k3, how="inner")
         .filter(pl.col("due_date") < pl.col("start_date"))
         .sort("extinction_date", *k3).unique(k3, keep="first", maintain_order=True)
         .select(*k3, "extinction_date", "immediate"))
    out = out.join(s, on=k3, how="left")
    # 時効 is complete the day after the 時効完成日; 執行停止 extinguishes on its 消滅日
    expired = pl.col("limitation_date") < pl.lit(as_of)
    extinct = pl.col("extinction_date").is_not_null() & (pl.col("extinction_date") <= pl.lit(as_of))
    lim_day = pl.col("limitation_date") + pl.duration(days=1)
    reason = (pl.when(expired & (~extinct | (lim_day <= pl.col("extinction_date")))).then(pl.lit("limitation"))
              .when(extinct & pl.col("immediate")).then(pl.lit("immediate"))
              .when(extinct).then(pl.lit("suspension_3y")))
    return out.with_columns(reason.alias("reason")).filter(pl.col("reason").is_not_null())


def write_off(ctx: StepContext) -> int | None:
    """TN620 不納欠損: the 期別 whose 徴収権 is extinguished by the business date."""
    years, days, susp_years, codes = _write_off_cfg(ctx)
    d = ctx.business_date
    day = runcalendar.decide("write_off", d, ctx.config, ctx.calendar)
    if not day.run and not ctx.options.get("force"):
        ctx.message("KKB673I", date=f"{d:%Y-%m-%d}", reason=day.reason)
        return None
    period = closing.period_of(d.replace(day=1), ctx.calendar)
    ledger = open_ledger(ctx)
    try:
        cands = ledger.query("closing/write_off_candidates", {"m": ctx.municipality})
        susp = ledger.query("arrears/suspension_limitation", {"m": ctx.municipality, "as_of": d,
                                                             "years": susp_years})
        targets = write_off_targets(cands, susp, d, years=years, days=days)
        if cands.height == 0 and not ledger.value("closing/installment_count", {"m": ctx.municipality}):
            ctx.message("KKB682W")
        run = run_of(ctx)
        if targets.height and ledger.query("closing/month_get", {"m": ctx.municipality, "ym": f"{d:%Y%m}"}).height:
            # a 不納欠損 dated in a closed month would change its closed figures (KKB666E at its rerun)
            raise StepError.of("KKB681E", date=f"{d:%Y-%m-%d}", month=f"{d:%Y%m}", n=targets.height,
                               amount=int(targets["balance"].sum() or 0))
        if targets.height:  # the ledger must balance before anything is booked (else RC 8, nothing written)
            closing.check_conservation(ctx, closing.compute(ledger, ctx.municipality, period), f"{d:%Y-%m-%d} 不納欠損前")
            od, ot = now_stamp()
            base = ledger.value("closing/write_off_count_of_day", {"m": ctx.municipality, "d": d}) or 0
            rows = targets.sort(KEY).with_row_index("n", offset=int(base) + 1).with_columns(
                pl.lit(ctx.municipality).alias("municipality_code"),
                pl.lit(True).alias("latest_flag"),
                pl.col("reason").replace_strict(codes).alias("write_off_kind"),
                pl.col("balance").cast(pl.Int64).alias("tax_amount"),
                pl.lit(0, dtype=pl.Int64).alias("late_fee_amount"),
                pl.lit(0, dtype=pl.Int64).alias("dunning_fee_amount"),
                pl.format("{}-{}", pl.lit(f"{d:%Y%m%d}"), pl.col("n").cast(pl.String).str.zfill(5))
                .alias("file_number"),
                pl.lit(d).alias("drafted_date"), pl.lit(d).alias("approved_date"),
                pl.when(pl.col("reason") == "limitation")
                .then(pl.format("時効完成日 {}", pl.col("limitation_date").cast(pl.String)))
                .otherwise(pl.format("納税義務消滅日 {} (時効完成日 {})", pl.col("extinction_date").cast(pl.String),
                                     pl.col("limitation_date").cast(pl.String))).alias("note"),
            )
            frame = rows.select("municipality_code", *KEY, "business_code", "collection_method", "latest_flag",
                                "write_off_kind", "tax_amount", "late_fee_amount", "dunning_fee_amount",
                                "file_number", "drafted_date", "approved_date", "note").with_columns(
                pl.col("target_year").cast(pl.Int32), pl.lit(False).alias("deleted"),
                pl.lit(run.operator_id).alias("operator_id"), pl.lit(od).alias("operated_date"),
                pl.lit(ot).alias("operated_time"), pl.lit(run.reason).alias("operation_reason"))
            with ledger.transaction() as tx:
                tx.insert("write_off", frame)
                tx.stage("_wo", rows.select("municipality_code", *KEY, "tax_amount", "limitation_date")
                         .with_columns(pl.col("target_year").cast(pl.Int32)))
                tx.run("closing/write_off_apply", {"d": d, "op": run.operator_id, "od": od, "ot": ot,
                                                    "rs": run.reason})
        booked = ledger.query("closing/write_offs_of_day", {"m": ctx.municipality, "d": d})
        fig = closing.compute(ledger, ctx.municipality, period)
    finally:
        ledger.dispose()
    closing.check_conservation(ctx, fig, f"{d:%Y-%m-%d} 不納欠損後")
    n_new = targets.height
    ctx.totals.count("write_off", label="不納欠損 期別", read=n_new, accepted=n_new)
    ctx.totals.add_figure("candidates", cands.height, label="未納期別 (時効・執行停止を判定)")
    by = {k: booked.filter(pl.col("write_off_kind") == codes[k]) for k in REASONS}
    for k in REASONS:
        ctx.totals.add_money(f"write_off.{k}", int(by[k]["tax_amount"].sum() or 0),
                             label=f"不納欠損 {REASON_LABELS[k]}")
    total = int(booked["tax_amount"].sum() or 0)
    ctx.totals.add_money("write_off.total", total, label="不納欠損額 計")
    if n_new == 0 and booked.height:
        ctx.message("KKB678I", date=f"{d:%Y-%m-%d}", n=booked.height, amount=total)
    amt = {k: int(by[k]["tax_amount"].sum() or 0) for k in REASONS}
    ctx.message("KKB677I", date=f"{d:%Y-%m-%d}", n=booked.height, amount=total,
                n_limitation=by["limitation"].height, a_limitation=amt["limitation"],
                n_suspension_3y=by["suspension_3y"].height, a_suspension_3y=amt["suspension_3y"],
                n_immediate=by["immediate"].height, a_immediate=amt["immediate"])
    _write_off_schedule(ctx, booked, codes, total)
    ctx.write_dataset("write_off_schedule", booked)
    return None


def _write_off_schedule(ctx: StepContext, booked: pl.DataFrame, codes: dict[str, str], total: int) -> None:
    d = ctx.business_date
    label = {codes[k]: REASON_LABELS[k] for k in REASONS}
    rows = [{"file_number": r["file_number"], "levy_year": r["levy_year"], "notice_number": r["notice_number"],
             "installment_no": r["installment_no"], "person_id": r["person_id"], "household_id": r["household_id"],
             "due_date": f"{r['due_date']:%Y-%m-%d}", "kind": r["write_off_kind"],
             "kind_label": label.get(r["write_off_kind"], ""), "tax_amount": int(r["tax_amount"]),
             "note": r["note"] or ""} for r in booked.iter_rows(named=True)]
    csv_head = {"file_number": "整理番号", "levy_year": "賦課年度", "notice_number": "通知書番号",
                "installment_no": "期別", "person_id": "宛名番号", "household_id": "世帯番号",
                "due_date": "納期限", "kind": "不納欠損区分", "kind_label": "事由", "tax_amount": "不納欠損額",
                "note": "備考"}
    folder = paths.reports_root() / "closing" / ctx.generation
    stem = f"funou_kesson_{d:%Y%m%d}"
    ctx.stage_file(folder / f"{stem}.csv").write_bytes(_csv(rows, csv_head))
    from reports.year_close import render_schedule

    head = [("file_number", "整理番号", 24, "l"), ("levy_year", "賦課年度", 13, "l"),
            ("notice_number", "通知書番号", 22, "l"), ("installment_no", "期別", 9, "l"),
            ("person_id", "宛名番号", 20, "l"), ("due_date", "納期限", 20, "l"),
            ("kind_label", "事由", 44, "l"), ("tax_amount", "不納欠損額", 28, "r")]
    stats = render_schedule(ctx.config, ctx.stage_file(folder / f"{stem}.pdf"),
                            title="国民健康保険税 不納欠損 調書 (決裁用)",
                            subtitle=f"{ctx.config.get('municipality.name', '')} 不納欠損年月日 {d:%Y-%m-%d}",
                            head=head, rows=rows, totals=[f"計 {len(rows):,}件", f"{total:,}円"])
    ctx.totals.add_figure("write_off.pages", stats.pages, label="不納欠損 調書 PDF ページ")
    ctx.message("KKB680I", what="不納欠損 調書", pdf=folder / f"{stem}.pdf", csv=folder / f"{stem}.csv")


def _csv(rows: list[dict], head: dict[str, str]) -> bytes:
    """Japanese headings, BOM, CRLF (the operators open it in Excel)."""
    frame = pl.DataFrame(rows, schema={k: (pl.Int64 if k.endswith("amount") or k in ("levy_year", "installment_no")
                                           or k.startswith("carried_") or k in ("installments", "months")
                                           else pl.String) for k in head}, orient="row") if rows else \
        pl.DataFrame(schema={k: pl.String for k in head})
    buf = io.BytesIO()
    frame.select(list(head)).rename(head).write_csv(buf, line_terminator="\r\n")
    return "\ufeff".encode() + buf.getvalue()


# --- TN610 出納閉鎖・滞納繰越 ----------------------------------------------------------------------


def cash_closing_date(ctx: StepContext, fy: int) -> dt.date:
    """出納閉鎖 date of fiscal year ``fy`` (in the year after its start: 05-31 of N+1)."""
    value = str(ctx.config.get("closing.cash_closing_date", ""))
    try:
        month, day = (int(x) for x in value.split("-"))
        start = ctx.calendar.fiscal_year_first_day(fy)
        return dt.date(start.year + 1, month, day)
    except (ValueError, TypeError) as e:
        raise StepError.of("KKB679E", key="closing.cash_closing_date", error=f"{value!r}: {e}") from e


def _closed_year(ctx: StepContext) -> int:
    opt = ctx.options.get("year")
    return int(opt) if opt else ctx.calendar.fiscal_year(ctx.business_date) - 1


def carry_over(ctx: StepContext) -> int | None:
    """TN610 出納閉鎖・滞納繰越: fiscal year N (the one before the business date's; ``--option
    year=N``) closed at its 出納閉鎖 date; its 収入未済 carried to N+1."""
    n = _closed_year(ctx)
    d = cash_closing_date(ctx, n)
    earliest = ctx.calendar.roll_backward(d)
    if ctx.business_date < earliest:
        raise StepError.of("KKB672E", date=f"{ctx.business_date:%Y-%m-%d}", fy=n, closing=f"{d:%Y-%m-%d}")
    ledger = open_ledger(ctx)
    try:
        bal = ledger.query("closing/carry_over_balances", {"m": ctx.municipality, "fy": n, "d": d})
        p = {"m": ctx.municipality, "d0": d, "dm": d, "d1": d, "dx": d}
        agg = _aggregate_unpaid(ledger.query("closing/levy_as_of", p), ledger.query("closing/flows_as_of", p),
                                ledger.query("closing/write_offs_as_of", p), n)
        if bal.height == 0:
            ctx.message("KKB671W", fy=n)
        carry = bal.filter(pl.col("balance") > 0)
        overpaid = int(-bal.filter(pl.col("balance") < 0)["balance"].sum() or 0)
        unpaid = int(carry["balance"].sum() or 0)
        if unpaid - overpaid != agg:
            raise StepError.of("KKB670E", fy=n, date=f"{d:%Y-%m-%d}", unpaid=unpaid, overpaid=overpaid,
                               net=unpaid - overpaid, ledger=agg, diff=unpaid - overpaid - agg)
        parts = closing.allocate_frame(carry.with_columns(pl.col("balance").cast(pl.Int64)), "balance",
                                       ("medical", "support", "care", "child"))
        staged = parts.select(pl.lit(ctx.municipality).alias("municipality_code"),
                              pl.col("levy_year").cast(pl.Int32), pl.col("target_year").cast(pl.Int32),
                              "notice_number", pl.col("installment_no").cast(pl.Int32),
                              pl.col("balance").alias("carried_tax_amount"),
                              (pl.col("medical_part") + pl.col("child_part")).alias("carried_medical"),
                              pl.col("support_part").alias("carried_support"),
                              pl.col("care_part").alias("carried_care"))
        run = run_of(ctx)
        od, ot = now_stamp()
        with ledger.transaction() as tx:
            prev = tx.query("closing/carried_of_year", {"m": ctx.municipality, "cy": n + 1})
            before = prev.height
            if before:  # a rerun: the carry stands as it was (never set twice with other figures)
                _same_carry(prev, staged, n, d)
            elif staged.height:
                tx.stage("_carry", staged)
                tx.run("closing/carry_over_apply", {"cy": n + 1, "d": d, "op": run.operator_id, "od": od, "ot": ot,
                                                    "rs": run.reason})
        carried = ledger.query("closing/carried_of_year", {"m": ctx.municipality, "cy": n + 1})
        fig = closing.compute(ledger, ctx.municipality,
                              closing.period_of(ctx.business_date.replace(day=1), ctx.calendar))
    finally:
        ledger.dispose()
    closing.check_conservation(ctx, fig, f"{d:%Y-%m-%d} 出納閉鎖後")
    total = int(carried["carried_tax_amount"].sum() or 0)
    if total != unpaid:  # cannot happen after _same_carry: the 調書 must say what was carried
        raise StepError.of("KKB670E", fy=n, date=f"{d:%Y-%m-%d}", unpaid=unpaid, overpaid=overpaid,
                           net=unpaid - overpaid, ledger=total - overpaid, diff=unpaid - total)
    if before:
        ctx.message("KKB674I", fy=n + 1, n=before)
    ctx.totals.count("carried", label="滞納繰越 期別", read=carry.height, accepted=carry.height)
    ctx.totals.add_figure("installments", bal.height, label=f"{n}年度以前の期別 (出納閉鎖日の残高)")
    ctx.totals.add_money("carried.unpaid", unpaid, label=f"{n}年度 収入未済額 ({d:%m/%d})")
    ctx.totals.add_money("carried.levy", total, label=f"{n + 1}年度 滞納繰越分 調定額")
    ctx.totals.add_money("carried.overpaid", overpaid, label="還付未済額 (繰越なし)")
    ctx.message("KKB669I", fy=n, date=f"{d:%Y-%m-%d}", unpaid=unpaid, overpaid=overpaid, net=unpaid - overpaid,
                ledger=agg)
    ctx.message("KKB668I", fy=n, date=f"{d:%Y-%m-%d}", n=carried.height, amount=total, fy1=n + 1)
    _carry_schedule(ctx, carried, n, d, total)
    ctx.write_dataset("carry_over_schedule", carried)
    return None


def _same_carry(prev: pl.DataFrame, staged: pl.DataFrame, n: int, d: dt.date) -> None:
    """KKB685E when the 期別 and 繰越調定額 of an earlier carry into N+1 differ from today's figures."""
    cols = [*KEY, "carried_tax_amount"]

    def norm(f: pl.DataFrame) -> pl.DataFrame:
        return f.select(pl.col("levy_year").cast(pl.Int32), pl.col("target_year").cast(pl.Int32),
                        pl.col("notice_number").cast(pl.String), pl.col("installment_no").cast(pl.Int32),
                        pl.col("carried_tax_amount").cast(pl.Int64)).sort(cols)

    a, b = norm(prev), norm(staged)
    if not a.equals(b):
        raise StepError.of("KKB685E", fy=n + 1, date=f"{d:%Y-%m-%d}", n_before=a.height,
                           before=int(a["carried_tax_amount"].sum() or 0), n_after=b.height,
                           after=int(b["carried_tax_amount"].sum() or 0))


def _aggregate_unpaid(lv: pl.DataFrame, fl: pl.DataFrame, wo: pl.DataFrame, fy: int) -> int:
    """Σ (調定 − 収入 + 還付 − 不納欠損) at the date over 賦課年度 ≤ fy, from the month books' queries."""
    def s(frame: pl.DataFrame, col: str) -> int:
        if frame.height == 0:
            return 0
        return int(frame.filter(pl.col("levy_year").cast(pl.Int64) <= fy)[col].sum() or 0)
    return s(lv, "levy_d1") - s(fl, "income_d1") + s(fl, "refund_d1") - s(wo, "write_off_d1")


def _carry_schedule(ctx: StepContext, carried: pl.DataFrame, n: int, d: dt.date, total: int) -> None:
    rows = [{"levy_year": r["levy_year"], "notice_number": r["notice_number"], "installment_no": r["installment_no"],
             "person_id": r["person_id"], "household_id": r["household_id"], "due_date": f"{r['due_date']:%Y-%m-%d}",
             "carried_tax_amount": int(r["carried_tax_amount"]), "carried_medical": int(r["carried_medical"]),
             "carried_support": int(r["carried_support"]), "carried_care": int(r["carried_care"])}
            for r in carried.iter_rows(named=True)]
    head = {"levy_year": "賦課年度", "notice_number": "通知書番号", "installment_no": "期別", "person_id": "宛名番号",
            "household_id": "世帯番号", "due_date": "納期限", "carried_tax_amount": "繰越調定額",
            "carried_medical": "うち医療分(子ども分を含む)", "carried_support": "うち支援分",
            "carried_care": "うち介護分"}
    folder = paths.reports_root() / "closing" / ctx.generation
    stem = f"taino_kurikoshi_{n + 1}"
    ctx.stage_file(folder / f"{stem}.csv").write_bytes(_csv(rows, head))
    from reports.year_close import render_schedule

    pdf_head = [("levy_year", "賦課年度", 14, "l"), ("notice_number", "通知書番号", 24, "l"),
                ("installment_no", "期別", 10, "l"), ("person_id", "宛名番号", 22, "l"),
                ("household_id", "世帯番号", 22, "l"), ("due_date", "納期限", 22, "l"),
                ("carried_tax_amount", "繰越調定額", 30, "r"), ("carried_medical", "うち医療", 26, "r")]
    stats = render_schedule(ctx.config, ctx.stage_file(folder / f"{stem}.pdf"),
                            title=f"国民健康保険税 滞納繰越 調書 ({n}年度 → {n + 1}年度 滞納繰越分)",
                            subtitle=f"{ctx.config.get('municipality.name', '')} 出納閉鎖 {d:%Y-%m-%d} "
                                     f"(作成 {ctx.business_date:%Y-%m-%d})",
                            head=pdf_head, rows=rows, totals=[f"計 {len(rows):,}件", f"繰越調定額 {total:,}円"])
    ctx.totals.add_figure("carried.pages", stats.pages, label="滞納繰越 調書 PDF ページ")
    ctx.message("KKB680I", what="滞納繰越 調書", pdf=folder / f"{stem}.pdf", csv=folder / f"{stem}.csv")


# --- TN630 滞納状況引継 ----------------------------------------------------------------------------


HANDOVER_HEAD = {"household_id": "世帯番号", "person_id": "納税義務者宛名番号", "installments": "滞納期数",
                 "amount": "滞納額", "oldest_due_date": "最古納期限", "months": "滞納月数",
                 "special_care": "1年以上滞納", "as_of": "基準日"}


def months_between(a: dt.date, b: dt.date) -> int:
    """Whole months from ``a`` to ``b`` (b ≥ a): 2026-07-31 → 2027-07-31 is 12."""
    m = (b.year - a.year) * 12 + b.month - a.month
    if b.day < a.day and b.day != _last(b):  # the month not yet complete (a month-end counts whole)
        m -= 1
    return m


def _last(d: dt.date) -> int:
    import calendar as _c
    return _c.monthrange(d.year, d.month)[1]


def handover(ctx: StepContext) -> int | None:
    """TN630 滞納状況引継: the 滞納 per 世帯 at the business date, for 国保年金課 (給付)."""
    try:
        min_n = int(ctx.config.get("closing.handover.min_installments"))
        months = int(ctx.config.get("closing.handover.special_care_months"))
    except (KeyError, TypeError, ValueError) as e:
        raise StepError.of("KKB679E", key="closing.handover", error=str(e)) from e
    d = ctx.business_date
    ledger = open_ledger(ctx)
    try:
        rows = ledger.query("closing/handover_arrears", {"m": ctx.municipality, "d": d})
        any_installment = ledger.value("closing/installment_count", {"m": ctx.municipality})
    finally:
        ledger.dispose()
    if not any_installment:
        ctx.message("KKB684W")
    listed = [{"household_id": r["household_id"], "person_id": r["person_id"], "installments": int(r["installments"]),
               "amount": int(r["amount"]), "oldest_due_date": f"{r['oldest_due_date']:%Y%m%d}",
               "months": months_between(r["oldest_due_date"], d),
               "special_care": "1" if months_between(r["oldest_due_date"], d) >= months else "0",
               "as_of": f"{d:%Y%m%d}"}
              for r in rows.iter_rows(named=True) if int(r["installments"]) >= min_n]
    final = paths.outbox("kyufu") / f"taino_jokyo_{d:%Y%m%d}.csv"
    ctx.stage_file(final).write_bytes(_csv(listed, HANDOVER_HEAD))
    amount = sum(r["amount"] for r in listed)
    old = sum(1 for r in listed if r["special_care"] == "1")
    ctx.totals.count("households", label="引継 滞納世帯", read=len(listed), accepted=len(listed))
    ctx.totals.add_figure("households.arrears", rows.height, label="滞納世帯 (引継基準の判定前)")
    ctx.totals.add_money("handover.amount", amount, label="引継 滞納額")
    ctx.totals.add_figure("handover.special_care", old, label=f"{months}か月以上滞納 世帯")
    ctx.message("KKB683I", households=len(listed), installments=sum(r["installments"] for r in listed),
                amount=amount, old=old, months=months, file=final)
    ctx.write_dataset("arrears_handover", pl.DataFrame(listed, schema={k: (pl.Int64 if k in ("installments",
                                                       "amount", "months") else pl.String)
                                                       for k in HANDOVER_HEAD}, orient="row"))
    return None
