"""TK290 社会保険料控除引継: the yearly hand-over to the 市民税課 (the seed's 移転先3, 年1回) of the 国保税
withheld from pensions per person and calendar year, for the 社会保険料控除 of the 住民税 (and the
所得税 of the 年末調整 / 確定申告: the amount paid in the calendar year is deductible).

Source: the 収納台帳's 年金特徴 postings (SN235, 納付チャネル ``pension_request.handover.channel``,
還付充当区分 0) less their 返納 (the 還付 SN300 過誤納整理 decided from a 期別 holding 年金特徴 収納, 還付充当明細
区分 1: an amount withheld after the 特別徴収 stopped, paid back; subtracted in the pension month it was
withheld, ``sql/pension/deduction_refunded.sql``), per 宛名番号 of the notice (the 世帯主, whose pension the 国保税 is withheld from),
賦課年度 and 期別; the 期 is the 年金支払月 (``withholding.pension_months``: 期 1–6 = 4・6・8・10・12・2月),
so a calendar year holds the February pension of the 賦課年度 before and April–December of its own.
Controls: the ledger's yen of the year = TK320's ``pension_withholding_result`` of the same pension
months (what the insurers reported withheld), else RC 4 (KKB509W: a Z24 not posted yet); nothing at
all withheld in the year: RC 4 (KKB510W), the file is still written (0 records) so the 市民税課 gets an
answer. Output: ``var/outbox/<dest>/NENKIN_KOJO_<year>.dat`` (``layouts/pension_deduction_handover.yaml``,
with its .sha256) and the dataset ``pension_deduction_handover``. No 個人番号: the 宛名番号 is the key.
A rerun on the same business date writes the same bytes (the 作成年月日 is the business date).
"""

from __future__ import annotations

import polars as pl

from jobs.assessment import withholding as wh
from jobs.common import datasets, paths
from jobs.common import fixedwidth as fw
from jobs.common.step import StepContext
from jobs.ledger.session import open_ledger

from .request_steps import due

LAYOUT = "pension_deduction_handover"
DATASET = "pension_deduction_handover"
RESULT = "pension_withholding_result"
INSURANCE_KIND = "01"  # 国民健康保険税

SCHEMA = {"year": pl.Int32, "person_id": pl.String, "amount": pl.Int64, "payments": pl.Int32,
          "amount_prior_fy": pl.Int64, "amount_current_fy": pl.Int64, "last_pension_month": pl.String,
          "refunded": pl.Int64}


def _with_calendar(frame: pl.DataFrame, wrules: wh.WithholdingRules, fy_start: int) -> pl.DataFrame:
    """``frame`` (levy_year, installment_no) with the pension payment ``pension_year`` / ``pension_month``."""
    months = list(wrules.pension_months)
    return frame.with_columns(
        pl.col("installment_no").map_elements(lambda k: months[int(k) - 1] if 1 <= int(k) <= len(months) else None,
                                              return_dtype=pl.Int32).alias("pension_month"),
    ).with_columns(
        # the calendar year of the month in its 賦課年度 (jobs.assessment.installments.fiscal_month_year)
        pl.when(pl.col("pension_month") >= fy_start).then(pl.col("levy_year"))
        .otherwise(pl.col("levy_year") + 1).cast(pl.Int32).alias("pension_year"))


def per_person(postings: pl.DataFrame, year: int, wrules: wh.WithholdingRules, fy_start: int,
               refunds: pl.DataFrame | None = None) -> pl.DataFrame:
    """The records of ``year``: per 宛名番号 the yen withheld from pensions paid in that calendar year,
    less the 返納 (``refunds``: person_id, levy_year, installment_no, amount) of the same pension months
    (``refunded``; ``amount`` is net of it, ``payments`` counts the withholdings)."""
    if postings.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    base = postings.with_columns(pl.col("levy_year").cast(pl.Int32), pl.col("installment_no").cast(pl.Int32),
                                 pl.col("amount").cast(pl.Int64), pl.col("payments").cast(pl.Int32),
                                 pl.lit(0, dtype=pl.Int64).alias("refunded"))
    if refunds is not None and refunds.height:
        back = refunds.select(pl.col("person_id").cast(pl.String), pl.col("levy_year").cast(pl.Int32),
                              pl.col("installment_no").cast(pl.Int32), (-pl.col("amount").cast(pl.Int64)).alias("amount"),
                              pl.lit(0, dtype=pl.Int32).alias("payments"),
                              pl.col("amount").cast(pl.Int64).alias("refunded"))
        base = pl.concat([base.select(back.columns), back], how="vertical")
    p = _with_calendar(base, wrules, fy_start).filter(pl.col("pension_year") == year)
    out = p.group_by("person_id").agg(
        pl.col("amount").sum().alias("amount"), pl.col("payments").sum().alias("payments"),
        pl.col("amount").filter(pl.col("levy_year") < year).sum().alias("amount_prior_fy"),
        pl.col("amount").filter(pl.col("levy_year") == year).sum().alias("amount_current_fy"),
        (pl.col("pension_year") * 100 + pl.col("pension_month")).filter(pl.col("payments") > 0).max()
        .cast(pl.String).alias("last_pension_month"),
        pl.col("refunded").sum().alias("refunded"))
    out = out.filter(pl.col("amount") != 0).with_columns(pl.lit(year, dtype=pl.Int32).alias("year"))
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort("person_id")


def reported(ctx: StepContext, year: int, wrules: wh.WithholdingRules, fy_start: int) -> int:
    """Σ yen of TK320's ``pension_withholding_result`` (every generation up to this run's) of the
    pension months of ``year``."""
    parts = []
    for g in datasets.generations(RESULT, municipality=ctx.municipality):
        if g <= ctx.generation:
            f = datasets.read(RESULT, g)
            if f.height:
                parts.append(f.select("source_sha256", "record_no", pl.col("levy_year").cast(pl.Int32),
                                      pl.col("installment_no").cast(pl.Int32), pl.col("amount").cast(pl.Int64)))
    if not parts:
        return 0
    r = pl.concat(parts).unique(subset=["source_sha256", "record_no"], keep="last")
    r = _with_calendar(r, wrules, fy_start).filter(pl.col("pension_year") == year)
    return int(r["amount"].sum() or 0)


def deduction_handover(ctx: StepContext) -> int | None:
    if not due(ctx, "pension_deduction_handover"):
        return None
    g = ctx.config.get
    year = ctx.business_date.year + int(g("pension_request.handover.year_offset"))
    channel = str(g("pension_request.handover.channel"))
    wrules = wh.WithholdingRules.from_config(ctx.config)
    fy_start = ctx.calendar.fiscal_year_start[0]
    ledger = open_ledger(ctx)
    try:
        params = {"m": ctx.municipality, "channel": channel, "fy_from": year - 1, "fy_to": year}
        postings = ledger.query("pension/deduction_withheld", params)
        refunds = ledger.query("pension/deduction_refunded", params)
    finally:
        ledger.dispose()
    recs = per_person(postings, year, wrules, fy_start, refunds)
    total = int(recs["amount"].sum() or 0)
    gross = int(per_person(postings, year, wrules, fy_start)["amount"].sum() or 0)
    refunded = gross - total  # also of a person whose whole withholding was paid back (no record)
    ctx.totals.count("person", label="対象者", read=recs.height, accepted=recs.height)
    ctx.totals.add_money("withheld", gross, label="年金特別徴収額 (収納)")
    ctx.totals.add_money("refunded", refunded, label="返納 (過誤納還付)")
    ctx.totals.add_money("handed_over", total, label="引継額 (収納 − 返納)")
    ctx.totals.add_figure("payments", int(recs["payments"].sum() or 0), label="徴収回数")
    expected = reported(ctx, year, wrules, fy_start)
    ctx.totals.add_money("reported", expected, label="特別徴収結果 (Z24)")
    if refunded:
        ctx.message("KKB537I", year=year, amount=refunded)
    if recs.height == 0:
        ctx.message("KKB510W", year=year)
    elif gross != expected:
        ctx.message("KKB509W", year=year, posted=gross, reported=expected)

    final = paths.outbox(str(g("pension_request.handover.dest"))) / str(g("pension_request.handover.file")).format(
        year=year)
    staged = ctx.stage_file(final)
    muni = ctx.municipality
    data = recs.select(pl.lit("2").alias("record_kind"), pl.lit(muni).alias("municipality_code"),
                       pl.col("year").cast(pl.String), "person_id", pl.lit(INSURANCE_KIND).alias("insurance_kind"),
                       "amount", "payments", "amount_prior_fy", "amount_current_fy", "last_pension_month")
    blob = fw.write(fw.load_layout(LAYOUT), {
        "header": {"record_kind": "1", "municipality_code": muni, "creation_date": ctx.business_date,
                   "year": str(year)},
        "data": data, "trailer": {"record_kind": "8", "municipality_code": muni}})
    staged.write_bytes(blob)
    ctx.message("KKB507I", year=year, persons=recs.height, amount=total, path=paths.relative(final))
    ctx.totals.add_figure("files", 1, label="引継ファイル")
    ctx.write_dataset(DATASET, recs)
    return None
