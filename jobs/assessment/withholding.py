"""特別徴収 (pension withholding): 判定, 仮徴収 / 本徴収, 平準化 (TAX_RULES.md §7, FORMATS.md §2).

Every figure is in ``config/common/withholding.yaml`` (``WithholdingRules.from_config``).

判定 (``judge``), one row per household of the assessment; a household is withheld when all hold:
the householder is insured (not a 擬制世帯主); every insured member has reached 65 by the judgment
date and none reaches 75 within the fiscal year; the householder's 特別徴収対象年金 (from the
pension insurer's file) is at least 18万円 a year; 国保税 + 介護保険料 ≤ half the pension. The
介護保険料 is the ``ltc_premium_annual`` column of the pension frame (from the 介護保険 system);
where it is null, ``eligibility.ltc_premium_missing`` decides (``ordinary`` or ``ignore``).

Status (``status`` column) and the installments it gives (``installment_rows``):

- ``continuing`` 継続 (withheld last February, still eligible): 仮徴収 in April/June/August =
  last February's amount (平準化 of the configured months when enabled); 本徴収 in October/
  December/February = (annual − 仮徴収) ÷ 3 floored to 100円, remainder in October.
- ``new_provisional`` 新規, 仮徴収 from a given month (``provisional_start_month`` of the prior
  frame, a household captured in the previous year): each 仮徴収 = (前年度年税額 − 前年度介護分) ÷ 6
  floored to 100円; then 本徴収 as above.
- ``new_final`` 新規 from October (eligible, nothing withheld before): 普通徴収 in July/August/
  September for half the annual tax (1,000円 units, remainder first), then 本徴収 for the rest.
- ``stopped`` (仮徴収 ran but the household is no longer eligible): the 仮徴収 stays, the rest is
  collected by 普通徴収 over the year's ordinary installments.
- ``ordinary``: everything by 普通徴収 (installments.ordinary_installments).

When 仮徴収 exceeds the annual tax, 本徴収 is 0 and the 仮徴収 levies are reduced, latest first
(``provisional_reduced``): the money already withheld beyond them is left to the collection side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from jobs.common import bizcal
from jobs.common import config as config_mod

from . import installments as inst

# status values
CONTINUING = "continuing"
NEW_PROVISIONAL = "new_provisional"
NEW_FINAL = "new_final"
STOPPED = "stopped"
ORDINARY = "ordinary"
STATUS_LABELS = {
    CONTINUING: "特別徴収(継続)",
    NEW_PROVISIONAL: "特別徴収(新規・仮徴収から)",
    NEW_FINAL: "特別徴収(新規・本徴収から)",
    STOPPED: "特別徴収中止(仮徴収後 普通徴収)",
    ORDINARY: "普通徴収",
}

# ineligibility reasons, in the order they are tested
REASONS = {
    "no_pension": "特別徴収対象年金の情報がない",
    "opt_out": "口座振替による納付の申出がある",
    "nominal_householder": "擬制世帯主(世帯主が国保被保険者でない)",
    "householder_not_insured": "世帯主が国保被保険者でない",
    "no_insured_member": "被保険者がいない",
    "member_age": "65歳未満または年度内に75歳に達する被保険者がいる",
    "pension_below_min": "対象年金額が基準額未満",
    "ltc_premium_unknown": "介護保険料が不明(2分の1判定不可)",
    "ltc_not_withheld": "介護保険料が特別徴収されていない",
    "over_half": "国保税と介護保険料の合計が対象年金額の2分の1を超える",
    "no_tax": "年税額が0円",
}

JUDGED_SCHEMA: dict[str, pl.DataType] = {
    "fy": pl.Int32(),
    "household_id": pl.String(),
    "taxpayer_person_id": pl.String(),
    "annual_tax": pl.Int64(),
    "status": pl.String(),
    "eligible": pl.Boolean(),
    "reason": pl.String(),
    "reason_label": pl.String(),
    "pension_annual": pl.Int64(),
    "ltc_premium_annual": pl.Int64(),
    "payer_code": pl.String(),
    "basic_pension_number": pl.String(),
    "pension_code": pl.String(),
    "category": pl.String(),
    "prior_february_amount": pl.Int64(),
    "prior_annual_tax": pl.Int64(),
    "prior_ltc_amount": pl.Int64(),
    "provisional_start_month": pl.Int32(),
    "provisional_amounts": pl.List(pl.Int64()),  # per provisional month (withholding.provisional.months), after reduction
    "provisional_total": pl.Int64(),
    "provisional_reduced": pl.Int64(),
    "final_total": pl.Int64(),
    "ordinary_total": pl.Int64(),
}

PENSION_COLUMNS = ("person_id", "pension_annual", "ltc_premium_annual", "ltc_withholding", "payer_code",
                   "basic_pension_number", "pension_code", "category")
PRIOR_COLUMNS = ("household_id", "prior_february_amount", "prior_annual_tax", "prior_ltc_amount",
                 "provisional_start_month")


def _fraction(cfg: config_mod.Config, key: str) -> tuple[int, int]:
    num, den = int(cfg.get(f"{key}.numerator")), int(cfg.get(f"{key}.denominator"))
    if num < 0 or den <= 0:
        raise config_mod.ConfigError(f"{key} が不正です: {num}/{den}")
    return num, den


@dataclass(frozen=True)
class WithholdingRules:
    householder_insured: bool
    age_min: int
    age_limit: int
    pension_min_annual: int
    share: tuple[int, int]
    ltc_premium_missing: str
    pension_months: tuple[int, ...]
    payment_day: int
    payment_day_rule: str
    amount1_payments_per_year: int
    provisional_months: tuple[int, ...]
    new_basis: str
    new_divisor: int
    new_unit: int
    leveling: bool
    leveling_months: tuple[int, ...]
    leveling_divisor: int
    leveling_unit: int
    final_months: tuple[int, ...]
    final_unit: int
    midyear_ordinary_months: tuple[int, ...]
    midyear_ordinary_share: tuple[int, int]

    @classmethod
    def from_config(cls, cfg: config_mod.Config) -> WithholdingRules:
        g = cfg.get
        r = cls(
            householder_insured=bool(g("withholding.eligibility.householder_insured")),
            age_min=int(g("withholding.eligibility.member_age_min")),
            age_limit=int(g("withholding.eligibility.member_age_limit")),
            pension_min_annual=int(g("withholding.eligibility.pension_min_annual")),
            share=_fraction(cfg, "withholding.eligibility.max_share_of_pension"),
            ltc_premium_missing=str(g("withholding.eligibility.ltc_premium_missing")),
            pension_months=tuple(int(m) for m in g("withholding.pension_months")),
            payment_day=int(g("withholding.payment_day")),
            payment_day_rule=str(g("withholding.payment_day_rule")),
            amount1_payments_per_year=int(g("withholding.pension_file.amount1_payments_per_year")),
            provisional_months=tuple(int(m) for m in g("withholding.provisional.months")),
            new_basis=str(g("withholding.provisional.new.basis")),
            new_divisor=int(g("withholding.provisional.new.divisor")),
            new_unit=int(g("withholding.provisional.new.unit")),
            leveling=bool(g("withholding.provisional.leveling.enabled")),
            leveling_months=tuple(int(m) for m in g("withholding.provisional.leveling.months")),
            leveling_divisor=int(g("withholding.provisional.leveling.divisor")),
            leveling_unit=int(g("withholding.provisional.leveling.unit")),
            final_months=tuple(int(m) for m in g("withholding.final.months")),
            final_unit=int(g("withholding.final.unit")),
            midyear_ordinary_months=tuple(int(m) for m in g("withholding.midyear_start.ordinary_months")),
            midyear_ordinary_share=_fraction(cfg, "withholding.midyear_start.ordinary_share"),
        )
        r.check()
        return r

    def check(self) -> None:
        bad = []
        if self.ltc_premium_missing not in ("ordinary", "ignore"):
            bad.append(f"eligibility.ltc_premium_missing={self.ltc_premium_missing} (ordinary | ignore)")
        if not set(self.provisional_months) | set(self.final_months) <= set(self.pension_months):
            bad.append("provisional.months / final.months must be pension_months")
        if set(self.provisional_months) & set(self.final_months) or not self.final_months:
            bad.append("provisional.months and final.months overlap, or final.months is empty")
        if not set(self.leveling_months) <= set(self.provisional_months):
            bad.append("provisional.leveling.months must be provisional months")
        if self.new_basis not in ("annual_excluding_ltc", "annual"):
            bad.append(f"provisional.new.basis={self.new_basis}")
        if min(self.new_divisor, self.new_unit, self.leveling_divisor, self.leveling_unit, self.final_unit) < 1:
            bad.append("divisors and units must be positive")
        if bad:
            raise config_mod.ConfigError("withholding の設定が不正です: " + "; ".join(bad))

    def installment_no(self, month: int) -> int:
        """特別徴収の期 (1..6) of a pension payment month."""
        return self.pension_months.index(month) + 1

    def payment_date(self, fy: int, month: int, cal: bizcal.BusinessCalendar) -> dt.date:
        year = inst.fiscal_month_year(fy, month, cal.fiscal_year_start[0])
        return inst.due_date(year, month, self.payment_day, cal, self.payment_day_rule)


# --- ages -------------------------------------------------------------------------------------


def reaches_age_by(birth: dt.date, age: int, day: dt.date) -> bool:
    """Has a person born on ``birth`` reached ``age`` on ``day``? An age is reached on the day
    before the birthday (年齢計算ニ関スル法律; a 2/29 birthday falls on 3/1 in common years)."""
    y = birth.year + age
    try:
        anniversary = birth.replace(year=y)
    except ValueError:  # 2/29 in a common year
        anniversary = dt.date(y, 3, 1)
    return anniversary - dt.timedelta(days=1) <= day


def reaches_age_by_series(births: pl.Series, age: int, day: dt.date) -> pl.Series:
    uniq = births.drop_nulls().unique()
    table = pl.DataFrame({"_b": uniq, "_r": [reaches_age_by(b, age, day) for b in uniq.to_list()]},
                         schema={"_b": pl.Date, "_r": pl.Boolean})
    return pl.DataFrame({"_b": births}).join(table, on="_b", how="left", maintain_order="left")["_r"]


# --- 判定 ---------------------------------------------------------------------------------------


def judge(assessment: pl.DataFrame, members: pl.DataFrame, pensions: pl.DataFrame, rules: WithholdingRules,
          *, judgment_date: dt.date, fy_end: dt.date, prior: pl.DataFrame | None = None,
          opt_out: pl.DataFrame | None = None) -> pl.DataFrame:
    """特別徴収 判定 of every household of ``assessment`` (``household_id``, ``taxpayer_person_id``,
    ``annual_tax``, ``fy``, and ``long_term_care_amount`` if any).

    ``members``: the member-year frame (``household_id``, ``person_id``, ``is_householder``,
    ``is_insured``, ``birth_date``, optional ``is_nominal_householder``, ``acquired_date``,
    ``lost_date``). ``pensions``: one row per person (``person_id``, ``pension_annual``, optional
    ``ltc_premium_annual``, ``ltc_withholding`` (介護保険料 is withheld from a pension; null = not
    known), ``payer_code``, ``basic_pension_number``, ``pension_code``, ``category``). ``prior``: per household ``prior_february_amount`` (withheld last February),
    ``prior_annual_tax``, ``prior_ltc_amount``, ``provisional_start_month`` (any may be null).
    ``opt_out``: households (``household_id``) that applied to pay by 口座振替 instead (申出)."""
    pensions = _with_columns(pensions, PENSION_COLUMNS, {
        "pension_annual": pl.Int64, "ltc_premium_annual": pl.Int64, "ltc_withholding": pl.Boolean,
        "person_id": pl.String,
        "payer_code": pl.String, "basic_pension_number": pl.String, "pension_code": pl.String,
        "category": pl.String})
    dup = pensions.filter(pl.col("person_id").is_duplicated())
    if dup.height:
        raise ValueError(f"pensions: person_id が重複しています ({dup['person_id'].n_unique()} 人)")
    prior = _with_columns(prior if prior is not None else pl.DataFrame(), PRIOR_COLUMNS, {
        "household_id": pl.String, "prior_february_amount": pl.Int64, "prior_annual_tax": pl.Int64,
        "prior_ltc_amount": pl.Int64, "provisional_start_month": pl.Int32})
    hh = _member_flags(members, rules, judgment_date, fy_end)

    a = assessment.select(
        pl.col("fy").cast(pl.Int32), pl.col("household_id").cast(pl.String),
        pl.col("taxpayer_person_id").cast(pl.String), pl.col("annual_tax").fill_null(0).cast(pl.Int64),
    )
    out_ids = (opt_out.select(pl.col("household_id").cast(pl.String)).unique()
               if opt_out is not None and opt_out.height else pl.DataFrame(schema={"household_id": pl.String}))
    a = a.with_columns(pl.col("household_id").is_in(out_ids["household_id"].implode()).alias("_opt_out"))
    j = (a.join(hh, on="household_id", how="left")
          .join(pensions.rename({"person_id": "taxpayer_person_id"}), on="taxpayer_person_id", how="left")
          .join(prior, on="household_id", how="left"))
    num, den = rules.share
    ltc = pl.col("ltc_premium_annual")
    ltc_known = ltc.is_not_null() | pl.lit(rules.ltc_premium_missing == "ignore")
    burden = pl.col("annual_tax") + ltc.fill_null(0)
    checks = [
        ("no_pension", pl.col("pension_annual").is_null()),
        ("opt_out", pl.col("_opt_out")),
        ("nominal_householder", pl.col("_nominal").fill_null(False) & pl.lit(rules.householder_insured)),
        ("householder_not_insured", ~pl.col("_head_insured").fill_null(False) & pl.lit(rules.householder_insured)),
        ("no_insured_member", pl.col("_insured").fill_null(0) == 0),
        ("member_age", ~pl.col("_ages_ok").fill_null(False)),
        ("pension_below_min", pl.col("pension_annual") < rules.pension_min_annual),
        ("ltc_premium_unknown", ~ltc_known),
        # 介護保険料が特別徴収されていること (FORMATS.md §2.7); null = not stated by the 介護 ledger
        ("ltc_not_withheld", ltc.is_not_null() & ~pl.col("ltc_withholding").fill_null(True)),
        ("over_half", burden * den > pl.col("pension_annual") * num),
        ("no_tax", pl.col("annual_tax") <= 0),
    ]
    reason = pl.when(checks[0][1]).then(pl.lit(checks[0][0]))
    for code, cond in checks[1:]:
        reason = reason.when(cond).then(pl.lit(code))
    reason = reason.otherwise(pl.lit(None, dtype=pl.String))
    j = j.with_columns(reason.alias("reason"))
    j = j.with_columns(
        pl.col("reason").is_null().alias("eligible"),
        pl.col("reason").replace_strict(REASONS, default=None, return_dtype=pl.String).alias("reason_label"),
    )
    had_continuing = pl.col("prior_february_amount").fill_null(0) > 0
    had_new = pl.col("provisional_start_month").is_not_null() & ~had_continuing
    j = j.with_columns(
        pl.when(pl.col("eligible") & had_continuing).then(pl.lit(CONTINUING))
          .when(pl.col("eligible") & had_new).then(pl.lit(NEW_PROVISIONAL))
          .when(pl.col("eligible")).then(pl.lit(NEW_FINAL))
          .when(had_continuing | had_new).then(pl.lit(STOPPED))
          .otherwise(pl.lit(ORDINARY)).alias("status"))
    j = _amounts(j, rules)
    return j.select([pl.col(c).cast(t) for c, t in JUDGED_SCHEMA.items()]).sort("household_id")


def _with_columns(frame: pl.DataFrame, names, types: dict) -> pl.DataFrame:
    cols = []
    for n in names:
        t = types.get(n, pl.String)
        cols.append(pl.col(n).cast(t) if n in frame.columns else pl.lit(None, dtype=t).alias(n))
    return frame.select(cols) if frame.width else pl.DataFrame(schema={n: types.get(n, pl.String) for n in names})


def _member_flags(members: pl.DataFrame, rules: WithholdingRules, jd: dt.date, fy_end: dt.date) -> pl.DataFrame:
    m = members
    for c, t in (("is_nominal_householder", pl.Boolean), ("acquired_date", pl.Date), ("lost_date", pl.Date)):
        if c not in m.columns:
            m = m.with_columns(pl.lit(None, dtype=t).alias(c))
    m = m.with_columns(
        reaches_age_by_series(m["birth_date"], rules.age_min, jd).alias("_min"),
        reaches_age_by_series(m["birth_date"], rules.age_limit, fy_end).alias("_limit"),
    )
    active = (pl.col("is_insured").fill_null(False)
              & (pl.col("acquired_date").is_null() | (pl.col("acquired_date") <= jd))
              & (pl.col("lost_date").is_null() | (pl.col("lost_date") > jd)))
    m = m.with_columns(active.alias("_active"))
    return m.group_by("household_id").agg(
        (pl.col("_active") & pl.col("is_householder").fill_null(False)).any().alias("_head_insured"),
        (pl.col("is_nominal_householder").fill_null(False) & pl.col("is_householder").fill_null(False))
        .any().alias("_nominal"),
        pl.col("_active").sum().alias("_insured"),
        (~pl.col("_active") | (pl.col("_min").fill_null(False) & ~pl.col("_limit").fill_null(True)))
        .all().alias("_ages_ok"),
    ).with_columns(pl.col("household_id").cast(pl.String))


def _floor(x: np.ndarray, unit: int) -> np.ndarray:
    return np.maximum(x, 0) // unit * unit


def provisional_matrix(j: pl.DataFrame, rules: WithholdingRules) -> np.ndarray:
    """(households × provisional months) 仮徴収 amounts before any reduction (0 = none that month)."""
    months = rules.provisional_months
    n = j.height
    feb = j["prior_february_amount"].fill_null(0).to_numpy().astype(np.int64)
    prior_annual = j["prior_annual_tax"].fill_null(0).to_numpy().astype(np.int64)
    prior_ltc = j["prior_ltc_amount"].fill_null(0).to_numpy().astype(np.int64)
    start = j["provisional_start_month"].fill_null(0).to_numpy().astype(np.int64)
    status = j["status"].to_numpy()
    cont = feb > 0
    P = np.zeros((n, len(months)), dtype=np.int64)
    P[cont] = feb[cont, None]
    if rules.leveling:
        has_prior = cont & (j["prior_annual_tax"].is_not_null().to_numpy())
        lev = [months.index(m) for m in rules.leveling_months]
        other = [i for i in range(len(months)) if i not in lev]
        one = _floor(prior_annual // rules.leveling_divisor, rules.leveling_unit)  # ① 前年度年税額 ÷ 6
        target = one * len(months) - P[:, other].sum(axis=1)
        leveled = _floor(target // len(lev), rules.leveling_unit)
        for i in lev:
            P[has_prior, i] = leveled[has_prior]
    new = (~cont) & (start > 0) & np.isin(status, [NEW_PROVISIONAL, STOPPED])
    if new.any():
        basis = prior_annual - (prior_ltc if rules.new_basis == "annual_excluding_ltc" else 0)
        each = _floor(basis // rules.new_divisor, rules.new_unit)
        lut = np.array([_fy_order(mm, rules) for mm in range(13)])
        start_order = lut[np.clip(start, 0, 12)]
        for i, m in enumerate(months):
            on = new & (_fy_order(m, rules) >= start_order)
            P[on, i] = each[on]
    return P


def _fy_order(month: int, rules: WithholdingRules) -> int:
    return rules.pension_months.index(month) if month in rules.pension_months else 99


def _amounts(j: pl.DataFrame, rules: WithholdingRules) -> pl.DataFrame:
    P = provisional_matrix(j, rules)
    annual = j["annual_tax"].to_numpy().astype(np.int64)
    status = j["status"].to_numpy()
    raw = P.sum(axis=1)
    excess = np.maximum(raw - annual, 0)
    reduced = excess.copy()
    for i in range(P.shape[1] - 1, -1, -1):  # latest first
        take = np.minimum(P[:, i], excess)
        P[:, i] -= take
        excess -= take
    prov = P.sum(axis=1)
    withheld_final = np.isin(status, [CONTINUING, NEW_PROVISIONAL])
    ordinary_total = np.where(status == ORDINARY, annual, 0)
    ordinary_total = np.where(status == STOPPED, annual - prov, ordinary_total)
    num, den = rules.midyear_ordinary_share
    ordinary_total = np.where(status == NEW_FINAL, annual * num // den, ordinary_total)
    final_total = np.where(withheld_final, annual - prov, 0)
    final_total = np.where(status == NEW_FINAL, annual - ordinary_total, final_total)
    return j.with_columns(
        pl.Series("provisional_total", prov, dtype=pl.Int64),
        pl.Series("provisional_reduced", reduced, dtype=pl.Int64),
        pl.Series("final_total", final_total, dtype=pl.Int64),
        pl.Series("ordinary_total", ordinary_total, dtype=pl.Int64),
        pl.Series("provisional_amounts", P).cast(pl.List(pl.Int64)),
    )


# --- installments -----------------------------------------------------------------------------


def provisional_amounts(judged: pl.DataFrame, rules: WithholdingRules) -> np.ndarray:
    """The ``provisional_amounts`` column as a (households × provisional months) matrix."""
    k = len(rules.provisional_months)
    if judged.height == 0:
        return np.zeros((0, k), dtype=np.int64)
    col = judged["provisional_amounts"]
    if col.list.len().min() != k or col.list.len().max() != k:
        raise ValueError(f"provisional_amounts must have {k} months (withholding.provisional.months)")
    return col.list.to_array(k).to_numpy().astype(np.int64).reshape(judged.height, k)


def installment_rows(judged: pl.DataFrame, rules: WithholdingRules, schedule: inst.Schedule) -> pl.DataFrame:
    """The installments of every judged household (both methods), in the installments shape."""
    fy = schedule.fy
    cal = schedule.calendar
    parts = []
    P = provisional_amounts(judged, rules)
    status = judged["status"].to_numpy()
    ids = judged["household_id"]

    def wrows(mask: np.ndarray, months: tuple[int, ...], matrix: np.ndarray) -> None:
        if not mask.any():
            return
        periods = [inst.Period(rules.installment_no(m), m, inst.fiscal_month_year(fy, m, cal.fiscal_year_start[0]),
                               rules.payment_date(fy, m, cal)) for m in months]
        parts.append(inst.rows_from_matrix(fy, ids.filter(pl.Series(mask)), periods, matrix[mask], inst.WITHHOLDING))

    had_prov = np.isin(status, [CONTINUING, NEW_PROVISIONAL, STOPPED])
    # 仮徴収: only the months with a levy (a 新規 starting in June has no April row)
    for i, m in enumerate(rules.provisional_months):
        wrows(had_prov & (P[:, i] > 0), (m,), P[:, [i]])
    # 本徴収
    fin = np.isin(status, [CONTINUING, NEW_PROVISIONAL, NEW_FINAL])
    if fin.any():
        wrows(fin, rules.final_months, inst.split(judged["final_total"].to_numpy() * fin, len(rules.final_months),
                                                  rules.final_unit))
    ords = judged["ordinary_total"].to_numpy()
    # 普通徴収 parts
    for st, periods in ((ORDINARY, schedule.periods), (STOPPED, schedule.periods),
                        (NEW_FINAL, tuple(schedule.period_of_month(m) for m in rules.midyear_ordinary_months))):
        mask = status == st
        if st == STOPPED:
            mask = mask & (ords > 0)
        if mask.any():
            m = inst.split(ords[mask], len(periods), schedule.unit)
            parts.append(inst.rows_from_matrix(fy, ids.filter(pl.Series(mask)), periods, m, inst.ORDINARY))
    if not parts:
        return inst.empty()
    return inst.sort_rows(pl.concat(parts, how="vertical"))


def summary(judged: pl.DataFrame) -> pl.DataFrame:
    """Households and money by status (for the job log)."""
    return judged.group_by("status").agg(
        pl.len().alias("households"), pl.col("annual_tax").sum(), pl.col("provisional_total").sum(),
        pl.col("final_total").sum(), pl.col("ordinary_total").sum(),
    ).sort("status")
