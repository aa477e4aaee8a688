"""The assessment job steps (賦課ジョブ), registered in ``jobs.registry``.

当初賦課 (June–July), in this order:

- ``FK110 当初賦課``: the intake datasets ``nhi_qualification`` and ``resident_tax_income`` →
  member-year frame (``members.py``) → ``engine.assess`` → datasets ``assessment`` and
  ``assessment_members``. A household that cannot be assessed (no or two householders, a person
  in two households, no birth date, no insured member, the engine left it out or its amounts do
  not add up) goes to the error list with its reason; it is never dropped silently.
- ``FK120 特別徴収判定``: ``assessment`` + ``assessment_members`` + the pension insurers'
  対象者 file (``tokucho_z21``) [+ ``ltc_premium`` and the previous year's ``installments`` /
  ``assessment`` when present] → dataset ``withholding`` (判定 and amounts per household).
- ``FK130 期割・納期限``: ``assessment`` + ``withholding`` → dataset ``installments``
  (both methods, components split per 期).
- ``FK140 調定ファイル作成``: ``installments`` → the 当初 調定 file in ``var/outbox/ledger/``.

異動賦課 (twice a month):

- ``FK210 異動賦課``: the 資格 and 住民税 changes since the current assessment → the affected
  households assessed again → 更正 per installment (``reassessment.py``) → new generations of
  ``assessment``, ``assessment_members``, ``installments`` and datasets ``corrections`` (更正) and
  ``change_notices`` (the 変更通知書 data).
- ``FK220 異動調定ファイル作成``: ``corrections`` → the 更正 調定 file in ``var/outbox/ledger/``.

Every step ends with control totals: households read = accepted + rejected, and money that
reconciles (Σ installments = Σ annual tax to the yen; a mismatch ends the step with RC 8 and
nothing is committed); RC 4 when households went to the error list.

Datasets are read from this municipality's generations of the run's fiscal year up to the run's
own generation (``latest``), so a rerun reads what the first run read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from jobs.common import datasets, errorlist, paths
from jobs.common.step import StepContext, StepError
from jobs.ledger import ledger_present, open_ledger

from . import installments as inst
from . import levy_file
from . import reassessment as reass
from . import withholding as wh
from .lineage import stale_judgment

LEDGER_OUTBOX = "ledger"
HOUSEHOLD = "household"
MEMBER_KEY = ("household_id", "person_id")  # assessment_members
HOUSEHOLD_LABEL = "世帯"
MONEY_LABELS = {
    "annual_tax": "年税額",
    "medical_amount": "医療分",
    "elderly_support_amount": "支援分",
    "long_term_care_amount": "介護分",
    "child_support_amount": "子ども・子育て支援金分",
    "installments": "期別額合計",
    "ordinary": "普通徴収",
    "withholding": "特別徴収",
    "provisional": "仮徴収",
    "final": "本徴収",
    "change": "増減額",
    "overpayment": "過誤納見込額",
    "paid": "納付済額 (収納台帳)",
}
MEMBER_COLUMNS = ("household_id", "person_id", "is_householder", "is_insured", "is_nominal_householder",
                  "birth_date", "acquired_date", "lost_date")


# --- dataset helpers --------------------------------------------------------------------------


def generations(ctx: StepContext, dataset: str, *, fy: int | None = None, before: bool = False) -> list[str]:
    """This municipality's generations of ``dataset`` for fiscal year ``fy`` (default: the run's),
    up to the run's generation (``before``: strictly older)."""
    year = ctx.fy if fy is None else fy
    out = []
    for g in datasets.generations(dataset, municipality=ctx.municipality):
        _, gfy, _ = datasets.parse_generation(g)
        if gfy == year and (g < ctx.generation if before else g <= ctx.generation):
            out.append(g)
    return out


def latest(ctx: StepContext, dataset: str, *, fy: int | None = None, before: bool = False) -> str | None:
    gens = generations(ctx, dataset, fy=fy, before=before)
    return gens[-1] if gens else None


def require(ctx: StepContext, dataset: str, job: str, *, before: bool = False) -> str:
    gen = latest(ctx, dataset, before=before)
    if gen is None:
        raise StepError.of("KKB301E", dataset=dataset, fy=ctx.fy, job=job)
    ctx.message("KKB302I", dataset=dataset, generation=gen)
    return gen


def current_income(ctx: StepContext, columns: tuple[str, ...] | None = None) -> tuple[pl.DataFrame, list[str]]:
    """The latest income record of every person: the 当初 file and the 異動 files of the year, in
    generation order (a later record replaces an earlier one). ``columns``: read only these."""
    gens = generations(ctx, "resident_tax_income")
    if not gens:
        raise StepError.of("KKB301E", "income", fy=ctx.fy)
    parts = [_read(("resident_tax_income", g), columns).with_columns(pl.lit(i).alias("_gen"))
             for i, g in enumerate(gens)]
    frame = pl.concat(parts, how="diagonal_relaxed").sort(["_gen", "record_no"])
    return frame.unique(subset=["person_id"], keep="last", maintain_order=True).drop("_gen"), gens


def _read(dataset: tuple[str, str], columns: tuple[str, ...] | None) -> pl.DataFrame:
    """A dataset generation, only ``columns`` of it (those it has) when given."""
    frame = datasets.scan(*dataset)
    if columns is not None:
        names = set(frame.collect_schema().names())
        frame = frame.select([c for c in columns if c in names])
    return frame.collect()


# --- hooks to the tax engine (jobs/assessment/{members,engine,rates}.py) ---------------------


def build_members(qualification: pl.DataFrame, income: pl.DataFrame, ctx: StepContext) -> pl.DataFrame:
    """The member-year frame (README contract) from the intake datasets: ``members.py``."""
    from . import members

    return members.build_members(qualification, income, fy=ctx.fy, config=ctx.config)


def assess(members: pl.DataFrame, ctx: StepContext, *, exemptions: pl.DataFrame | None = None) -> pl.DataFrame:
    """``engine.assess`` with the year's rates."""
    from . import engine, rates

    return engine.assess(members, rates.TaxRates.load(ctx.municipality, ctx.fy), exemptions=exemptions)


# --- household checks -------------------------------------------------------------------------


def household_problems(members: pl.DataFrame) -> pl.DataFrame:
    """Households the engine must not see, with the reason (Japanese, for the error list)."""
    m = members
    checks = []
    per = m.group_by("household_id").agg(
        pl.col("is_householder").fill_null(False).sum().alias("_heads"),
        pl.col("is_insured").fill_null(False).sum().alias("_insured"),
        pl.col("birth_date").is_null().sum().alias("_no_birth"),
    )
    checks.append(per.filter(pl.col("_heads") == 0).select("household_id", pl.lit("世帯主がいない").alias("reason")))
    checks.append(per.filter(pl.col("_heads") > 1).select("household_id", pl.lit("世帯主が2人以上いる").alias("reason")))
    checks.append(per.filter(pl.col("_insured") == 0).select("household_id", pl.lit("被保険者がいない").alias("reason")))
    checks.append(per.filter(pl.col("_no_birth") > 0).select("household_id", pl.lit("生年月日がない世帯員がいる").alias("reason")))
    dup = m.filter(pl.col("person_id").is_duplicated()).select(
        "household_id", pl.lit("同じ宛名番号の者が複数の世帯(または同じ世帯に重複して)にいる").alias("reason"))
    checks.append(dup)
    out = pl.concat([c.with_columns(pl.col("household_id").cast(pl.String)) for c in checks], how="vertical")
    return out.group_by("household_id", maintain_order=True).agg(pl.col("reason").unique(maintain_order=True)
                                                                  .str.join("; "))


def _reject_households(ctx: StepContext, problems: pl.DataFrame, members: pl.DataFrame,
                       qualification: pl.DataFrame | None) -> None:
    """Error-list rows for rejected households, pointing at the householder's (or first
    member's) input record when the qualification dataset has it."""
    if problems.height == 0:
        ctx.reject(errorlist.empty())
        return
    first = members.sort(["household_id", pl.col("is_householder").fill_null(False).not_()]).unique(
        subset=["household_id"], keep="first", maintain_order=True).select(
        pl.col("household_id").cast(pl.String), pl.col("person_id").cast(pl.String))
    df = problems.join(first, on="household_id", how="left")
    if qualification is not None and {"person_id", "record_no", "source_file"} <= set(qualification.columns):
        src = qualification.select(pl.col("person_id").cast(pl.String), "record_no", pl.col("source_file").alias("file_name")
                                   ).unique(subset=["person_id"], keep="first")
        df = df.join(src, on="person_id", how="left")
    ctx.reject(df.select(
        *[c for c in ("file_name", "record_no") if c in df.columns],
        pl.lit("世帯").alias("record_type"),
        pl.lit("household_id").alias("field"),
        pl.lit("世帯番号").alias("field_label"),
        (pl.lit("世帯 ") + pl.col("household_id") + pl.lit(": ") + pl.col("reason")).alias("reason"),
    ))


def _money(ctx: StepContext, name: str, amount: int) -> None:
    ctx.totals.add_money(name, int(amount or 0), label=MONEY_LABELS.get(name))


def _component_totals(ctx: StepContext, frame: pl.DataFrame) -> None:
    for c in inst.component_columns(frame):
        _money(ctx, c, frame[c].sum())


def _sources(ctx: StepContext, **gens) -> dict:
    return {"inputs": {k: v for k, v in gens.items() if v is not None}}


# --- FK110 当初賦課 -------------------------------------------------------------------------------


def initial_assessment(ctx: StepContext) -> int | None:
    qgen = require(ctx, "nhi_qualification", "FK020 国保資格取込")
    from .members import INCOME_READ_COLUMNS, QUALIFICATION_COLUMNS

    # only the columns the tax and the error list use (not the names and addresses)
    qualification = _read(("nhi_qualification", qgen), (*QUALIFICATION_COLUMNS, "source_file"))
    income, igens = current_income(ctx, INCOME_READ_COLUMNS)
    ctx.message("KKB302I", dataset="resident_tax_income", generation=", ".join(igens))
    members = build_members(qualification, income, ctx)
    households = members["household_id"].n_unique()
    problems = household_problems(members)
    ok_members = members.filter(~pl.col("household_id").is_in(problems["household_id"].implode()))
    result = assess(ok_members, ctx)
    result = result.with_columns(pl.col("household_id").cast(pl.String))
    assessed, bad = _check_assessment(result, ok_members)
    problems = pl.concat([problems, bad], how="vertical")
    _reject_households(ctx, problems, members, qualification)
    ctx.totals.count(HOUSEHOLD, label=HOUSEHOLD_LABEL, read=households, accepted=assessed.height,
                     rejected=problems.height)
    _money(ctx, "annual_tax", assessed["annual_tax"].sum())
    _component_totals(ctx, assessed)
    if problems.height:
        ctx.message("KKB310W", households=problems.height)
    ctx.message("KKB311I", households=assessed.height, annual_tax=int(assessed['annual_tax'].sum() or 0))
    doc = _sources(ctx, nhi_qualification=qgen, resident_tax_income=igens[-1])
    ctx.write_dataset("assessment", assessed.sort("household_id"), totals=doc)
    kept = ok_members.filter(pl.col("household_id").is_in(assessed["household_id"].implode()))
    kept = datasets.sort_by_key(kept, MEMBER_KEY)
    ctx.write_dataset("assessment_members", kept, totals=doc)
    ctx.totals.written -= kept.height  # the members are a by-product; written counts households
    return None


def _check_assessment(result: pl.DataFrame, members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split the engine's output into sound households and problems (missing, duplicated,
    amounts that do not add up, negative)."""
    cols = inst.component_columns(result)
    expected = members.select(pl.col("household_id").cast(pl.String)).unique()
    missing = expected.join(result.select("household_id"), on="household_id", how="anti").select(
        "household_id", pl.lit("税額計算の結果がない (engine.assess が世帯を返さなかった)").alias("reason"))
    sums = pl.sum_horizontal([pl.col(c).fill_null(0) for c in cols]) if cols else pl.lit(0)
    wrong = result.filter(
        pl.col("annual_tax").is_null() | (pl.col("annual_tax") < 0) | (pl.col("annual_tax") != sums)
        | pl.col("household_id").is_duplicated())
    bad = pl.concat([
        missing,
        wrong.select("household_id", pl.lit("年税額が区分別賦課額の合計と一致しない、負、または世帯が重複").alias("reason"))
        .unique(subset=["household_id"]),
    ], how="vertical")
    good = result.filter(~pl.col("household_id").is_in(bad["household_id"].implode()))
    return good, bad


# --- FK120 特別徴収判定 -----------------------------------------------------------------------------


def withholding_judgment(ctx: StepContext) -> int | None:
    agen = require(ctx, "assessment", "FK110 当初賦課")
    assessment = datasets.read("assessment", agen)
    members = datasets.read("assessment_members", require(ctx, "assessment_members", "FK110 当初賦課"))
    rules = wh.WithholdingRules.from_config(ctx.config)
    if ctx.options.get("ltc_premium_missing"):
        rules = _replace(rules, ltc_premium_missing=str(ctx.options["ltc_premium_missing"]))
        rules.check()
    qualification = datasets.read("nhi_qualification", require(ctx, "nhi_qualification", "FK020 国保資格取込"))
    pensions, zgen = _pensions(ctx, rules, qualification)
    pensions = _with_ltc_premium(ctx, pensions)
    prior = _prior_year(ctx)
    fy_end = _fy_end(ctx)
    opt_out = _opt_out(ctx)
    judged = wh.judge(assessment, members, pensions, rules, judgment_date=ctx.business_date, fy_end=fy_end,
                      prior=prior, opt_out=opt_out)
    ctx.totals.count(HOUSEHOLD, label=HOUSEHOLD_LABEL, read=assessment.height, accepted=judged.height)
    _ltc_premium_missing(ctx, judged, rules)
    for status, n, annual, prov, fin, ordi in wh.summary(judged).iter_rows():
        ctx.message("KKB321I", status=wh.STATUS_LABELS.get(status, status), households=n, annual=annual,
                    provisional=prov, final=fin, ordinary=ordi)
    if rules.ltc_premium_missing == "ignore":
        n = judged.filter(pl.col("ltc_premium_annual").is_null() & pl.col("pension_annual").is_not_null()).height
        if n:
            ctx.message("KKB322W", households=n)
    total = judged.select(pl.col("annual_tax").sum(), pl.col("provisional_total").sum(), pl.col("final_total").sum(),
                          pl.col("ordinary_total").sum()).row(0)
    _money(ctx, "annual_tax", total[0])
    _money(ctx, "provisional", total[1])
    _money(ctx, "final", total[2])
    _money(ctx, "ordinary", total[3])
    if total[0] != total[1] + total[2] + total[3]:
        raise StepError.of("KKB329E", annual=total[0], provisional=total[1], final=total[2], ordinary=total[3])
    doc = _sources(ctx, assessment=agen, tokucho_z21=zgen)
    ctx.write_dataset("withholding", datasets.sort_by_key(judged, ("household_id",)), totals=doc)
    return None


def _opt_out(ctx: StepContext) -> pl.DataFrame | None:
    """Households that applied to pay by 口座振替 instead of 特別徴収 (dataset
    ``withholding_opt_out``: household_id; written by the office's online system, not yet fed)."""
    gen = latest(ctx, "withholding_opt_out")
    if gen is None:
        return None
    frame = datasets.read("withholding_opt_out", gen)
    ctx.message("KKB320I", households=frame.height, generation=gen)
    return frame


def _replace(rules: wh.WithholdingRules, **changes) -> wh.WithholdingRules:
    from dataclasses import replace

    return replace(rules, **changes)


def _fy_end(ctx: StepContext) -> dt.date:
    """The fiscal year's last day, from calendar.fiscal_year_start (its one place)."""
    return ctx.calendar.fiscal_year_last_day(ctx.fy)


def _pensions(ctx: StepContext, rules: wh.WithholdingRules, qualification: pl.DataFrame) -> tuple[pl.DataFrame, str | None]:
    """The pension insurers' 対象者 records (Z21) matched to 宛名番号 by カナ氏名 + 生年月日 + 性別
    (the file carries no 宛名番号). Not in the NHI register: not an NHI taxpayer (counted);
    two candidates: ambiguous → error list; several pensions for one person: the largest."""
    empty = pl.DataFrame(schema={"person_id": pl.String, "pension_annual": pl.Int64, "payer_code": pl.String,
                                 "basic_pension_number": pl.String, "pension_code": pl.String, "category": pl.String})
    zgen = latest(ctx, "tokucho_z21")
    if zgen is None:
        ctx.message("KKB323W", fy=ctx.fy)
        return empty, None
    ctx.message("KKB302I", dataset="tokucho_z21", generation=zgen)
    z = datasets.read("tokucho_z21", zgen).filter(pl.col("category").fill_null("") != "70")  # 70 = ダミー
    key = ["name_kana", "birth_date", "sex"]
    q = qualification.select(pl.col("person_id").cast(pl.String), *key).unique()
    cand = q.group_by(key).agg(pl.col("person_id").first(), pl.len().alias("_n"))
    zj = z.join(cand, on=key, how="left")
    ambiguous = zj.filter(pl.col("_n") > 1)
    unmatched = zj.filter(pl.col("_n").is_null())
    matched = zj.filter(pl.col("_n") == 1)
    ctx.totals.count("pension", label="特別徴収対象者", read=z.height, accepted=matched.height + unmatched.height,
                     rejected=ambiguous.height)
    if not ambiguous.height:
        ctx.reject(errorlist.empty())
    else:
        ctx.reject(ambiguous.select(
            pl.col("source_file").alias("file_name"), "record_no", pl.lit("データレコード").alias("record_type"),
            pl.lit("name_kana").alias("field"), pl.lit("カナ氏名").alias("field_label"),
            pl.lit("カナ氏名・生年月日・性別が同じ被保険者が複数いるため宛名番号を特定できない").alias("reason")))
        ctx.message("KKB324W", persons=ambiguous.height)
    ctx.message("KKB325I", persons=z.height, matched=matched.height, unmatched=unmatched.height)
    p = matched.select(
        "person_id",
        (pl.col("amount1").fill_null(0) * rules.amount1_payments_per_year).cast(pl.Int64).alias("pension_annual"),
        "payer_code", "basic_pension_number", "pension_code", "category",
    ).sort(["person_id", pl.col("pension_annual"), "payer_code"], descending=[False, True, False])
    several = p.filter(pl.col("person_id").is_duplicated())["person_id"].n_unique()
    if several:
        ctx.message("KKB326I", persons=several)
    return p.unique(subset=["person_id"], keep="first", maintain_order=True), zgen


def _with_ltc_premium(ctx: StepContext, pensions: pl.DataFrame) -> pl.DataFrame:
    """The 介護保険料 (annual) and whether it is withheld from a pension, per person, from the
    latest ``ltc_premium`` (FK035 介護保険台帳取込, up to the run's generation). A person whose 介護
    資格 was lost by the judgment date has none (null); several rows of a person: the latest 資格取得."""
    gen = latest(ctx, "ltc_premium")
    if gen is None:
        ctx.message("KKB327I")
        return pensions.with_columns(pl.lit(None, dtype=pl.Int64).alias("ltc_premium_annual"),
                                     pl.lit(None, dtype=pl.Boolean).alias("ltc_withholding"))
    frame = datasets.read("ltc_premium", gen)
    live = pl.col("ltc_lost_date").is_null() | (pl.col("ltc_lost_date") > ctx.business_date)
    prem = (frame.filter(live)
            .sort(["person_id", "ltc_acquired_date"], descending=[False, True], nulls_last=True)
            .unique(subset=["person_id"], keep="first", maintain_order=True)
            .select(pl.col("person_id").cast(pl.String), pl.col("ltc_premium_annual").cast(pl.Int64),
                    (pl.col("ltc_withholding") == "1").alias("ltc_withholding")))
    ctx.message("KKB501I", generation=gen, persons=prem.height, withheld=int(prem["ltc_withholding"].sum() or 0))
    return pensions.join(prem, on="person_id", how="left")


def _ltc_premium_missing(ctx: StepContext, judged: pl.DataFrame, rules: wh.WithholdingRules) -> None:
    """Never silently withhold nobody: households that pass every test before the 2分の1 test but
    have no 介護保険料 are collected by 普通徴収 (ltc_premium_missing: ordinary), and that is a
    warning (RC 4) with the count in the log, the XCom (figure ltc_premium_missing) and the error list."""
    missing = judged.filter(pl.col("reason") == "ltc_premium_unknown")
    if rules.ltc_premium_missing != "ordinary" or not missing.height:
        return
    ctx.totals.add_figure("ltc_premium_missing", missing.height, label="介護保険料不明で普通徴収の世帯")
    ctx.message("KKB500W", households=missing.height, reason=wh.REASONS["ltc_premium_unknown"])
    ctx.reject(missing.select(
        pl.lit("ltc_premium").alias("file_name"),
        pl.lit("世帯").alias("record_type"),
        pl.lit("ltc_premium_annual").alias("field"),
        pl.lit("介護保険料 年額").alias("field_label"),
        pl.format("世帯番号 {} 宛名番号 {}: {} のため普通徴収 (特別徴収対象年金 {}円)", "household_id",
                  "taxpayer_person_id", pl.lit(wh.REASONS["ltc_premium_unknown"]),
                  pl.col("pension_annual")).alias("reason")))


def _prior_year(ctx: StepContext) -> pl.DataFrame | None:
    """Last year's February 特別徴収 and annual tax per household, from the previous fiscal
    year's last ``installments`` / ``assessment`` generations (None when there are none)."""
    igen = latest(ctx, "installments", fy=ctx.fy - 1)
    agen = latest(ctx, "assessment", fy=ctx.fy - 1)
    if igen is None and agen is None:
        ctx.message("KKB328I", fy=ctx.fy - 1)
        return None
    parts = []
    if igen is not None:
        rules = wh.WithholdingRules.from_config(ctx.config)
        feb = rules.pension_months[-1]
        parts.append(datasets.read("installments", igen).filter(
            (pl.col("method") == inst.WITHHOLDING) & (pl.col("month") == feb)).group_by("household_id").agg(
            pl.col("amount").sum().alias("prior_february_amount")))
    if agen is not None:
        a = datasets.read("assessment", agen)
        parts.append(a.select("household_id", pl.col("annual_tax").alias("prior_annual_tax"),
                              (pl.col("long_term_care_amount") if "long_term_care_amount" in a.columns
                               else pl.lit(0)).cast(pl.Int64).alias("prior_ltc_amount")))
    out = parts[0]
    for p in parts[1:]:
        out = out.join(p, on="household_id", how="full", coalesce=True)
    return out


# --- FK130 期割・納期限 -------------------------------------------------------------------------------


def installment_split(ctx: StepContext) -> int | None:
    agen = require(ctx, "assessment", "FK110 当初賦課")
    assessment = datasets.read("assessment", agen)
    wgen = require(ctx, "withholding", "FK120 特別徴収判定")
    judged = datasets.read("withholding", wgen)
    schedule = inst.Schedule.from_config(ctx.config, ctx.fy, ctx.calendar)
    rules = wh.WithholdingRules.from_config(ctx.config)
    stale = stale_judgment(assessment, judged)
    if stale:
        raise StepError.of("KKB331E", withholding=wgen, assessment=agen, stale=stale)
    ctx.message("KKB332I", periods=", ".join(f"第{p.no}期 {p.due_date:%Y-%m-%d}" for p in schedule.periods))
    if not ctx.config.get("installments.verified", False):
        unverified = ", ".join(str(x) for x in ctx.config.get("installments.unverified", []))
        ctx.message("KKB335I", unverified=unverified)
    rows = wh.installment_rows(judged, rules, schedule)
    rows = inst.allocate_components(rows, assessment)
    _reconcile(ctx, rows, assessment)
    ctx.totals.count(HOUSEHOLD, label=HOUSEHOLD_LABEL, read=assessment.height, accepted=assessment.height)
    ctx.write_dataset("installments", rows, totals=_sources(ctx, assessment=agen, withholding=wgen))
    return None


def _reconcile(ctx: StepContext, rows: pl.DataFrame, assessment: pl.DataFrame, *,
               extra: pl.DataFrame | None = None) -> None:
    """Σ installments == Σ annual tax (+ overpayment), per household and in total, or RC 8."""
    annual = int(assessment["annual_tax"].sum() or 0)
    total = int(rows["amount"].sum() or 0)
    by = rows.group_by("method").agg(pl.col("amount").sum())
    methods = dict(by.iter_rows())
    _money(ctx, "annual_tax", annual)
    _money(ctx, "installments", total)
    _money(ctx, "ordinary", methods.get(inst.ORDINARY, 0))
    _money(ctx, "withholding", methods.get(inst.WITHHOLDING, 0))
    _component_totals(ctx, rows)
    target = assessment
    if extra is not None:
        target = assessment.join(extra, on="household_id", how="left").with_columns(
            (pl.col("annual_tax") + pl.col("overpayment").fill_null(0)).alias("annual_tax"))
    bad = inst.check_totals(rows, target)
    if bad.height:
        first = bad.row(0, named=True)
        raise StepError.of("KKB333E", households=bad.height, household_id=first['household_id'],
                           expected=first['expected'], installments_total=first['installments_total'])
    ctx.message("KKB334I", total=total, annual=annual,
                overpayment=int(extra['overpayment'].sum()) if extra is not None else None)


# --- FK140 / FK220 調定ファイル ------------------------------------------------------------------------


def initial_levy_file(ctx: StepContext) -> int | None:
    agen = require(ctx, "assessment", "FK110 当初賦課")
    igen = require(ctx, "installments", "FK130 期割・納期限")
    assessment = datasets.read("assessment", agen)
    rows = datasets.read("installments", igen)
    payers = _payers(ctx)
    records = levy_file.initial_records(rows, assessment, municipality=ctx.municipality, levy_date=ctx.business_date,
                                        payers=payers)
    ctx.totals.count("installment", label="期別調定", read=rows.height, accepted=rows.height)
    annual = int(assessment["annual_tax"].sum() or 0)
    _money(ctx, "annual_tax", annual)
    head = levy_file.header(municipality=ctx.municipality, creation_date=ctx.business_date, levy_year=ctx.fy,
                            file_kind=levy_file.FILE_INITIAL)
    figs = _write_levy(ctx, records, head, f"levy_initial_{ctx.generation}.dat")
    _money(ctx, "installments", figs["amount"])
    if figs["amount"] != annual or figs["amount"] != int(rows["amount"].sum() or 0):
        raise StepError.of("KKB341E", amount=figs['amount'], annual=annual)
    skipped = rows.height - records.height
    if skipped:
        ctx.message("KKB342I", skipped=skipped)
    return None


def correction_levy_file(ctx: StepContext) -> int | None:
    gen = latest(ctx, "corrections")
    if gen != ctx.generation:
        raise StepError.of("KKB301E", "reassessment", date=ctx.business_date, dataset="corrections",
                           generation=ctx.generation)
    corrections = datasets.read("corrections", gen)
    notices = datasets.read("change_notices", gen)
    rows = datasets.read("installments", gen)
    records = levy_file.correction_records(corrections, rows, notices, municipality=ctx.municipality,
                                           levy_date=ctx.business_date, payers=_payers(ctx))
    ctx.totals.count("installment", label="期別更正", read=corrections.height, accepted=corrections.height)
    head = levy_file.header(municipality=ctx.municipality, creation_date=ctx.business_date, levy_year=ctx.fy,
                            file_kind=levy_file.FILE_CORRECTION)
    figs = _write_levy(ctx, records, head, f"levy_correction_{ctx.generation}.dat")
    change = int(notices["change"].sum() or 0)
    _money(ctx, "change", figs["change"])
    _money(ctx, "overpayment", figs["overpayment"])
    expected = change + int(notices["overpayment"].sum() or 0)
    if figs["change"] + figs["overpayment"] != expected:
        raise StepError.of("KKB343E", change_total=figs['change'], overpayment=figs['overpayment'], change=change)
    return None


def _payers(ctx: StepContext) -> pl.DataFrame | None:
    gen = latest(ctx, "withholding")
    return datasets.read("withholding", gen).select("household_id", "payer_code") if gen else None


def _write_levy(ctx: StepContext, records: pl.DataFrame, head: dict, name: str) -> dict:
    final = paths.outbox(LEDGER_OUTBOX) / name
    figs = levy_file.write(ctx.stage_file(final), records, head)
    ctx.totals.written += records.height
    ctx.message("KKB340I", path=paths.relative(final), records=records.height, amount=figs['amount'])
    return figs


# --- FK210 異動賦課 ---------------------------------------------------------------------------------


def reassessment_step(ctx: StepContext) -> int | None:
    base = latest(ctx, "assessment", before=True)
    if base is None:
        raise StepError.of("KKB301E", "assessment", fy=ctx.fy)
    ibase = latest(ctx, "installments", before=True)
    if ibase is None:
        raise StepError.of("KKB301E", "installments")
    ctx.message("KKB302I", variant="current", generation=base, installments=ibase)
    current = datasets.read("assessment", base)
    current_members = datasets.read("assessment_members", latest(ctx, "assessment_members", before=True) or base)
    rows = datasets.read("installments", ibase)
    src = datasets.read_totals("assessment", base).get("inputs", {})

    qgen = require(ctx, "nhi_qualification", "FK020 国保資格取込")
    qualification = datasets.read("nhi_qualification", qgen)
    income, igens = current_income(ctx)
    changed_income = _changed_persons_income(ctx, src.get("resident_tax_income"))
    changed_qual = _changed_persons_qualification(src.get("nhi_qualification"), qualification)
    persons = pl.concat([changed_income.select("person_id"), changed_qual.select("person_id")]).unique()
    affected = _affected_households(persons, qualification, current_members)
    ctx.message("KKB360I", income=changed_income.height, qualification=changed_qual.height,
                households=affected.height)
    reasons = _reasons(affected, changed_income, changed_qual, qualification, current_members)

    q_aff = qualification.filter(pl.col("household_id").cast(pl.String).is_in(affected["household_id"].implode()))
    members = build_members(q_aff, income, ctx) if q_aff.height else current_members.clear()
    problems = household_problems(members)
    ok_members = members.filter(~pl.col("household_id").is_in(problems["household_id"].implode()))
    new = assess(ok_members, ctx) if ok_members.height else current.clear()
    new = new.with_columns(pl.col("household_id").cast(pl.String))
    new, bad = _check_assessment(new, ok_members)
    problems = pl.concat([problems, bad], how="vertical")
    # households that no longer have members (all moved out or merged): tax 0
    gone = affected.join(members.select(pl.col("household_id").cast(pl.String)).unique(), on="household_id", how="anti")
    gone = gone.join(current.select("household_id"), on="household_id", how="semi")
    if gone.height:
        zero = current.join(gone, on="household_id", how="semi").with_columns(
            [pl.lit(0, dtype=t).alias(c) for c, t in current.schema.items() if t.is_integer() and c != "fy"])
        new = pl.concat([new, zero.select(new.columns)], how="vertical_relaxed") if new.width else zero
    new = new.join(reasons, on="household_id", how="left")
    _reject_households(ctx, problems, members, qualification)

    schedule = inst.Schedule.from_config(ctx.config, ctx.fy, ctx.calendar)
    rules = reass.ReassessmentRules.from_config(ctx.config)
    payments = _payments(ctx, rows.join(new.select("household_id"), on="household_id", how="semi"))
    result = reass.reassess(current, new, rows, payments, schedule, rules, as_of=ctx.business_date)
    seq = _correction_seq(ctx)
    notices = result.notices.join(seq, on="household_id", how="left").with_columns(
        (pl.col("_prev").fill_null(0) + 1).cast(pl.Int32).alias("correction_seq"),
        (pl.col("installments_changed") > 0).alias("issue_notice"),  # a 変更通知書 is sent
    ).drop("_prev")
    corrections = result.corrections
    changed = notices.filter(pl.col("annual_before") != pl.col("annual_after"))

    new_ids = new["household_id"].implode()
    assessment_after = pl.concat([current.filter(~pl.col("household_id").is_in(new_ids)),
                                  new.drop("reason").select(current.columns) if new.height else current.clear()],
                                 how="vertical_relaxed").sort("household_id")
    rows_after = pl.concat([rows.filter(~pl.col("household_id").is_in(new_ids)),
                            result.installments.select(rows.columns)], how="vertical_relaxed")
    rows_after = inst.sort_rows(rows_after)
    members_after = pl.concat([
        current_members.filter(~pl.col("household_id").cast(pl.String).is_in(new_ids)),
        ok_members.filter(pl.col("household_id").cast(pl.String).is_in(new_ids)),
    ], how="diagonal_relaxed")

    ctx.totals.count(HOUSEHOLD, label=HOUSEHOLD_LABEL, read=affected.height,
                     accepted=affected.height - problems.height, rejected=problems.height)
    _money(ctx, "change", int(notices["change"].sum() or 0))
    _money(ctx, "overpayment", int(notices["overpayment"].sum() or 0))
    _reconcile(ctx, rows_after, assessment_after)
    if problems.height:
        ctx.message("KKB361W", households=problems.height)
    ctx.message("KKB362I", households=changed.height, increased=changed.filter(pl.col('change') > 0).height,
                decreased=changed.filter(pl.col('change') < 0).height,
                withholding_stopped=notices['withholding_stopped'].sum())
    doc = _sources(ctx, nhi_qualification=qgen, resident_tax_income=igens[-1], base_assessment=base)
    ctx.write_dataset("assessment", assessment_after, totals=doc)
    ctx.write_dataset("assessment_members", datasets.sort_by_key(members_after, MEMBER_KEY), totals=doc)
    ctx.write_dataset("installments", rows_after, totals=doc)  # inst.sort_rows: household, 納期限, method, 期
    ctx.write_dataset("corrections", datasets.sort_by_key(corrections, ("household_id", "installment_no", "method")),
                      totals=doc)
    ctx.write_dataset("change_notices", datasets.sort_by_key(notices, ("household_id",)), totals=doc)
    ctx.totals.written = notices.height  # the count operators read: households with a 変更通知書 record
    return None


def _changed_persons_income(ctx: StepContext, base_gen: str | None) -> pl.DataFrame:
    gens = [g for g in generations(ctx, "resident_tax_income") if base_gen is None or g > base_gen]
    if not gens:
        return pl.DataFrame(schema={"person_id": pl.String})
    return pl.concat([datasets.read("resident_tax_income", g).select(pl.col("person_id").cast(pl.String))
                      for g in gens]).unique()


QUAL_COMPARE = ("household_id", "householder_flag", "nominal_householder_flag", "birth_date", "acquired_date",
                "lost_date", "specified_same_household", "former_dependent", "separation_date",
                "separation_reason_code", "expected_birth_date", "multiple_birth", "ltc_exempt", "ltc_exempt_start")


def _changed_persons_qualification(base_gen: str | None, qualification: pl.DataFrame) -> pl.DataFrame:
    """Persons whose 資格 record differs from the one the current assessment used (added,
    removed or changed in any field the tax depends on)."""
    if base_gen is None:
        return qualification.select(pl.col("person_id").cast(pl.String)).unique()
    old = datasets.read("nhi_qualification", base_gen)
    cols = ["person_id"] + [c for c in QUAL_COMPARE if c in qualification.columns and c in old.columns]
    a = old.select(cols).unique(subset=["person_id"], keep="last")
    b = qualification.select(cols).unique(subset=["person_id"], keep="last")
    diff = pl.concat([a.join(b, on=cols, how="anti", nulls_equal=True), b.join(a, on=cols, how="anti", nulls_equal=True)])
    return diff.select(pl.col("person_id").cast(pl.String)).unique()


def _affected_households(persons: pl.DataFrame, qualification: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    now = qualification.select(pl.col("person_id").cast(pl.String), pl.col("household_id").cast(pl.String))
    before = members.select(pl.col("person_id").cast(pl.String), pl.col("household_id").cast(pl.String))
    ids = pl.concat([now.join(persons, on="person_id", how="semi"), before.join(persons, on="person_id", how="semi")])
    return ids.select("household_id").unique().sort("household_id")


def _reasons(affected: pl.DataFrame, income: pl.DataFrame, qual: pl.DataFrame, qualification: pl.DataFrame,
             members: pl.DataFrame) -> pl.DataFrame:
    def households(persons: pl.DataFrame) -> pl.DataFrame:
        return _affected_households(persons, qualification, members).with_columns(pl.lit(True).alias("_x"))

    i = households(income).rename({"_x": "_i"})
    q = households(qual).rename({"_x": "_q"})
    r = affected.join(i, on="household_id", how="left").join(q, on="household_id", how="left")
    return r.select("household_id", pl.when(pl.col("_i") & pl.col("_q")).then(pl.lit("both"))
                    .when(pl.col("_q")).then(pl.lit("qualification"))
                    .when(pl.col("_i")).then(pl.lit("income")).otherwise(pl.lit("other")).alias("reason"))


def _payments(ctx: StepContext, rows: pl.DataFrame) -> pl.DataFrame | None:
    """What was paid on the affected households' installments (``rows``), from the 収納台帳:
    household_id, method, installment_no, paid (``sql/ledger/paid_by_installment.sql``: the
    納付履歴 posted before the business date, 還付・充当 included). A city without a ledger (賦課
    only) gets None — every 期 counts as unpaid — with KKB690W (RC 4): a 減額 then produces no
    過誤納. Households whose 通知書 the ledger does not have (調定 not yet registered by SN100):
    unpaid, KKB691W (RC 4)."""
    if not ledger_present(ctx.config):
        ctx.message("KKB690W")
        return None
    rows = rows.filter(pl.col("amount") != 0).with_columns(
        levy_file.notice_number(pl.col("method"), pl.col("household_id").cast(pl.String)).alias("notice_number"))
    ledger = open_ledger(ctx)
    try:
        with ledger.transaction() as tx:
            tx.stage("_n", rows.select("notice_number").unique().sort("notice_number"))
            paid = tx.query("ledger/paid_by_installment", {"m": ctx.municipality, "y": ctx.fy,
                                                            "d": f"{ctx.business_date:%Y%m%d}"})
    finally:
        ledger.dispose()
    codes = {code: method for method, code in levy_file.METHOD_CODES.items()}
    paid = paid.select(
        pl.col("notice_number").str.slice(1).alias("household_id"),
        pl.col("collection_method").cast(pl.String).replace_strict(codes, return_dtype=pl.String).alias("method"),
        pl.col("installment_no").cast(pl.Int64), pl.col("paid").cast(pl.Int64))
    missing = rows.join(paid.select("household_id", "method").unique(), on=["household_id", "method"], how="anti")
    if missing.height:
        ids = missing["household_id"].unique().sort()
        ctx.message("KKB691W", households=ids.len(), first=ids[0])
    total = int(paid["paid"].sum() or 0)
    _money(ctx, "paid", total)
    ctx.message("KKB692I", installments=paid.filter(pl.col("paid") != 0).height, paid=total,
                households=paid.filter(pl.col("paid") != 0)["household_id"].n_unique(), date=ctx.business_date)
    return paid


def _correction_seq(ctx: StepContext) -> pl.DataFrame:
    """How many 更正 each household had before in this fiscal year (previous change_notices)."""
    gens = generations(ctx, "change_notices", before=True)
    if not gens:
        return pl.DataFrame(schema={"household_id": pl.String, "_prev": pl.Int64})
    prev = pl.concat([datasets.read("change_notices", g).filter(pl.col("installments_changed") > 0)
                      .select("household_id") for g in gens])
    return prev.group_by("household_id").agg(pl.len().cast(pl.Int64).alias("_prev"))


def job_ids() -> Iterable[str]:
    return ("FK110", "FK120", "FK130", "FK140", "FK210", "FK220")
