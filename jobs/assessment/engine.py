"""The NHI tax engine (賦課): member-year frame → one assessment row per household.

Vectorized, whatever the number of households: Polars expressions over the members, then two
per-household reductions (numpy ``ufunc.at`` by household number, households numbered in
``household_id`` order: no string group-by, no join, no final sort), then Polars expressions over
the households. The rules (../shared/docs/TAX_RULES.md §1–5, §9) and every figure come from
``TaxRates`` (config/); jobs/assessment/README.md documents the definitions this module computes
and ``reference.py`` computes the same columns household by household, independently.

How one component (医療分, 支援分, 介護分, 子ども・子育て支援金分) of a household is computed
-------------------------------------------------------------------------------------------
Months: month k of the fiscal year (0 = April) counts for a member when the member is insured in
it (資格取得日の属する月 … 喪失日の属する月の前月) and, for 介護分, aged 40–64 in it (from the month of
the day before the 40th birthday to the month before that of the day before the 65th) and not
介護適用除外. ``L`` = the months in which at least one member counts (the household's months).

Every amount is first a sum over member-months (yen × months), exact, then turned into an
"annual equivalent" by dividing by ``L``: for a household whose members all count for the same
months this is exactly the annual amount; a member who counts for fewer months weighs less.
The running total N_k is built step by step and each breakdown column is the difference of two
successive ``floor(N_k / L)`` — so the columns add up exactly and ``calculated`` is the exact
amount floored once:

  1 income_levy (所得割)        + Σ base × rate            base = 旧ただし書き所得 of the month
  2 asset_levy (資産割)         + Σ 固定資産税額 × rate
  3 per_capita_levy (均等割)    + Σ 均等割 (+ 18歳以上均等割 for adults)
  4 per_household_levy (平等割) + 平等割 × L
  5 minor_reduction             − 均等割 of members under the minor age (child_support: 10割)
  6 reduction (7/5/2割)         − r × (均等割 left + 平等割)
  7 preschool_reduction         − 未就学児's 均等割 after 6 × 1/2
  8 specified_household_red.    − 平等割 after 6 × 1/2 (特定世帯) or 1/4 (特定継続世帯)
  9 former_dependent_reduction  − 旧被扶養者: 所得割 × ratio, 均等割 × max(0, 1/2 − r) (2 years),
                                  平等割 × max(0, 1/2 − r) (2 years, households of 旧被扶養者 only)
 10 perinatal_reduction         − 産前産後 months: that member's 所得割 and 均等割 after 6
    calculated (算出額, annual equivalent) = floor(N_10 / L)   (each N_k is kept ≥ 0)

Then, per ``tax.order``: the cap (限度額) and 月割 (× L / 12, floored): cap_then_prorate
(default: over_cap = calculated − cap, then the capped amount × L/12) or prorate_then_cap (the
exact amount × L/12, then the cap); the cap on what is left after the reductions
(reduce_then_cap, default) or on the levies less the 所得割-based reductions (旧被扶養者, 産前産後),
the 均等割/平等割 reductions then coming off the capped amount (cap_then_reduce). Then 減免
(``exemptions``: a rate or an amount per component or for all), then the component is floored
to the rounding unit (100円). annual_tax = Σ amounts.

Member-level reductions never overlap: a 未就学児 is not a 旧被扶養者, and 産前産後 applies to
neither (the combinations do not occur; without this rule two reductions could take the same
yen twice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from .rates import COMPONENTS, TaxRates

MONEY = pl.Int64
#: Per-component output columns, in order (prefix ``<component>_``).
COMPONENT_COLUMNS = (
    "months", "income_levy", "asset_levy", "per_capita_levy", "per_household_levy",
    "minor_reduction", "reduction", "preschool_reduction", "specified_household_reduction",
    "former_dependent_reduction", "perinatal_reduction", "calculated", "over_cap", "proration",
    "exemption", "rounding", "amount",
)
#: Household output columns before the component columns.
HOUSEHOLD_COLUMNS = (
    "fy", "household_id", "taxpayer_person_id", "insured_count", "reduction_class",
    "reduction_judgment_income", "reduction_judgment_date", "reduction_persons", "reduction_earners",
    "undeclared", "specified_household",
)
_PPM = 1_000_000  # exemption rates are held in millionths

_DEFAULTS: dict[str, tuple[pl.DataType, object]] = {
    "is_householder": (pl.Boolean(), False),
    "is_nominal_householder": (pl.Boolean(), False),
    "is_specified_same_household": (pl.Boolean(), False),
    "is_former_dependent": (pl.Boolean(), False),
    "acquired_date": (pl.Date(), None),
    "lost_date": (pl.Date(), None),
    "separation_date": (pl.Date(), None),
    "separation_reason_code": (pl.String(), None),
    "expected_birth_date": (pl.Date(), None),
    "multiple_birth": (pl.Boolean(), False),
    "ltc_exempt": (pl.Boolean(), False),
    "ltc_exempt_start": (pl.Date(), None),
    "has_income_record": (pl.Boolean(), True),
    "declared": (pl.Boolean(), True),
    "total_income": (MONEY, 0),
    "aggregate_income": (MONEY, 0),
    "salary_revenue": (MONEY, 0),
    "salary_income": (MONEY, 0),
    "pension_revenue": (MONEY, 0),
    "pension_income": (MONEY, 0),
    "family_employee_salary": (MONEY, 0),
    "family_employee_deduction": (MONEY, 0),
    "separate_income": (MONEY, 0),
    "property_tax": (MONEY, 0),
}


def output_columns(rates: TaxRates | None = None) -> list[str]:
    """The assessment frame's columns (every component always present; zero when not levied)."""
    cols = list(HOUSEHOLD_COLUMNS)
    for c in COMPONENTS:
        cols += [f"{c}_{k}" for k in COMPONENT_COLUMNS]
    return cols + ["annual_tax"]


def assess(members: pl.DataFrame | pl.LazyFrame, rates: TaxRates, *,
           exemptions: pl.DataFrame | None = None) -> pl.DataFrame:
    """The assessment frame (jobs/assessment/README.md), one row per household, sorted by id."""
    m = _normalize(members).collect()
    households = _Households.of(m["household_id"])
    # one chunk per column: the member frame (a join's output) comes in chunks of different sizes
    # from column to column, and every eager select over such a frame realigns them first
    mc = _member_columns(m.lazy(), rates).collect().rechunk()
    first = _first_pass(mc, households, rates)
    judged = _judgment(mc, households, first["_d"], rates)
    hh = pl.concat([households.households(m["household_id"]), first, judged], how="horizontal")
    hh = _exemption_columns(hh.lazy(), exemptions)
    hh = _components(hh, rates)
    return hh.select(output_columns(rates)).collect()


def assess_lazy(members: pl.DataFrame | pl.LazyFrame, rates: TaxRates, *,
                exemptions: pl.DataFrame | None = None) -> pl.LazyFrame:
    """``assess`` as a LazyFrame (computed when called: the household passes are eager)."""
    return assess(members, rates, exemptions=exemptions).lazy()


# --- households: order and per-household reductions -----------------------------------------------


@dataclass(frozen=True)
class _Households:
    """The households of a member frame, numbered 0, 1, … in ``household_id`` order (the output's
    order): ``number`` is the household number of each member row (the members stay in their
    order), ``first_row`` the row of one member of each household."""

    number: np.ndarray
    first_row: pl.Series

    @classmethod
    def of(cls, household_id: pl.Series) -> _Households:
        key = _sort_key(household_id)
        perm = pl.DataFrame({"k": key}).select(pl.arg_sort_by("k", maintain_order=True)).to_series()
        sorted_number = key.gather(perm).rle_id().to_numpy()
        number = np.empty(len(sorted_number), np.intp)
        number[perm.to_numpy()] = sorted_number
        starts = np.flatnonzero(np.diff(sorted_number, prepend=-1)) if len(sorted_number) else np.empty(0, np.intp)
        return cls(number, perm.gather(starts))

    @property
    def count(self) -> int:
        return len(self.first_row)

    def households(self, household_id: pl.Series) -> pl.DataFrame:
        """One row per household: its id."""
        return pl.DataFrame({"household_id": household_id.gather(self.first_row)})

    def gather(self, per_household: pl.Series) -> pl.Series:
        """A per-household value on each member row."""
        return per_household.gather(self.number)

    def reduce(self, frame: pl.DataFrame, aggs: dict[str, tuple[str, pl.Expr]]) -> pl.DataFrame:
        """Per-household ``sum``, ``min``, ``max``, ``or`` (bits) or ``any`` of member expressions
        over ``frame`` (one value a member row, unbuffered ``ufunc.at`` by household number). Nulls
        are skipped: a household whose values are all null gets 0 (sum), False (any) or null (min,
        max, or)."""
        same: dict[str, str] = {}  # an aggregate equal to an earlier one (same operation, same expression)
        unique: dict[str, tuple[str, pl.Expr]] = {}
        for n, (op, e) in aggs.items():
            same[n] = next((u for u, (op0, e0) in unique.items() if op0 == op and e.meta.eq(e0)), n)
            if same[n] == n:
                unique[n] = (op, e)
        # lazily: the eager select does not share the common subexpressions of the aggregates
        values = frame.lazy().select([e.alias(n) for n, (_op, e) in unique.items()]).collect()
        done = {n: self._reduce(values[n], op) for n, (op, _e) in unique.items()}
        return pl.DataFrame([done[same[n]].alias(n) for n in aggs])

    def _reduce(self, s: pl.Series, op: str) -> pl.Series:
        if op == "sum":
            out = np.zeros(self.count, np.int64)
            values = s.cast(pl.Int64).fill_null(0).to_numpy()
            nonzero = np.flatnonzero(values)
            if len(nonzero) < len(values) // 4:  # mostly zeros (the reductions of a few members): only the others
                np.add.at(out, self.number[nonzero], values[nonzero])
            else:
                np.add.at(out, self.number, values)
            return pl.Series(s.name, out, pl.Int64)
        if op == "any":
            out = np.zeros(self.count, bool)
            out[self.number[np.flatnonzero(s.fill_null(False).to_numpy())]] = True
            return pl.Series(s.name, out, pl.Boolean)
        phys = s.to_physical()
        dtype = phys.head(0).to_numpy().dtype
        info = np.iinfo(dtype)
        fill = {"min": info.max, "max": info.min, "or": 0}[op]
        ufunc = {"min": np.minimum, "max": np.maximum, "or": np.bitwise_or}[op]
        out = np.full(self.count, fill, dtype)
        values = phys.fill_null(fill).to_numpy()
        if s.null_count():  # only the rows with a value (a null row would fold in ``fill``: no change)
            rows = np.flatnonzero(s.is_not_null().to_numpy())
            ufunc.at(out, self.number[rows], values[rows])
            valid = np.zeros(self.count, bool)
            valid[self.number[rows]] = True
            result = pl.select(pl.when(pl.lit(pl.Series(valid))).then(pl.lit(pl.Series(s.name, out, phys.dtype)))) \
                .to_series().alias(s.name)
        else:
            ufunc.at(out, self.number, values)
            result = pl.Series(s.name, out, phys.dtype)
        return result.cast(s.dtype)


def _sort_key(household_id: pl.Series) -> pl.Series:
    """``household_id`` itself, or its integer value when every id is a run of ASCII digits of one
    length (the same order, an integer sort being much cheaper than a string sort)."""
    if len(household_id) and household_id.null_count() == 0:
        n = household_id.str.len_bytes()
        if n.min() == n.max() and 0 < n.min() <= 18:
            value = household_id.str.to_integer(strict=False)
            if value.null_count() == 0 and not household_id.str.starts_with("+").any() \
                    and not household_id.str.starts_with("-").any():
                return value
    return household_id


# --- inputs ------------------------------------------------------------------------------------


def _normalize(members: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    lf = members.lazy() if isinstance(members, pl.DataFrame) else members
    names = set(lf.collect_schema().names())
    missing = [c for c in ("household_id", "person_id", "birth_date") if c not in names]
    if missing:
        raise ValueError(f"members: 必須の列がありません: {missing}")
    cols = [pl.col("household_id").cast(pl.String), pl.col("person_id").cast(pl.String),
            pl.col("birth_date").cast(pl.Date)]
    for name, (dtype, default) in _DEFAULTS.items():
        if name in names:
            e = pl.col(name).cast(dtype)
            cols.append((e.fill_null(default) if default is not None else e).alias(name))
        else:
            cols.append(pl.lit(default, dtype).alias(name))
    # not given (a frame built by hand, 試算): everyone is insured but the 擬制世帯主 / 特定同一
    nominal = pl.col("is_nominal_householder").cast(pl.Boolean).fill_null(False) \
        if "is_nominal_householder" in names else pl.lit(False)
    spec = pl.col("is_specified_same_household").cast(pl.Boolean).fill_null(False) \
        if "is_specified_same_household" in names else pl.lit(False)
    default = ~nominal & ~spec
    insured = pl.col("is_insured").cast(pl.Boolean).fill_null(default) if "is_insured" in names else default
    cols.append(insured.alias("is_insured"))
    return lf.select(cols)


# --- member-level columns ----------------------------------------------------------------------


def _idx(expr: pl.Expr, rates: TaxRates) -> pl.Expr:
    """Month number relative to the first month of the fiscal year (April = 0), unclipped."""
    base = rates.fy_start.year * 12 + rates.fy_start.month
    return expr.dt.year().cast(pl.Int32) * 12 + expr.dt.month().cast(pl.Int32) - base


def _clip12(expr: pl.Expr) -> pl.Expr:
    return expr.clip(0, 12)


def _overlap(a: pl.Expr, b: pl.Expr, c: pl.Expr, d: pl.Expr) -> pl.Expr:
    return (pl.min_horizontal(b, d) - pl.max_horizontal(a, c)).clip(lower_bound=0)


def _floor_mul(expr: pl.Expr, frac: Fraction) -> pl.Expr:
    """floor(expr × frac) for expr ≥ 0, without overflow of the intermediate product."""
    p, q = frac.numerator, frac.denominator
    if q == 1:
        return expr * p
    return (expr // q) * p + (expr % q) * p // q


def _deduction(agg: pl.Expr, rates: TaxRates) -> pl.Expr:
    rows = rates.basic_deduction
    expr = pl.lit(rows[-1][1], MONEY)
    for upper, amount in reversed(rows[:-1]):
        expr = pl.when(agg <= upper).then(pl.lit(amount, MONEY)).otherwise(expr)
    return expr


def _floor_unit(expr: pl.Expr, unit: int) -> pl.Expr:
    return expr if unit == 1 else (expr // unit) * unit


def _member_columns(m: pl.LazyFrame, rates: TaxRates) -> pl.LazyFrame:
    r = rates
    acq, lost, birth = pl.col("acquired_date"), pl.col("lost_date"), pl.col("birth_date")
    ins = pl.col("is_insured")
    ins_s = pl.when(ins).then(pl.when(acq.is_null()).then(0).otherwise(_clip12(_idx(acq, r)))).otherwise(0)
    ins_e = pl.when(ins).then(pl.when(lost.is_null()).then(12).otherwise(_clip12(_idx(lost, r)))).otherwise(0)
    birth_m1 = _idx(birth - pl.duration(days=1), r)  # month of "the day before the birthday" (年齢到達)

    # involuntary unemployment (非自発的失業): eligible and its window of months
    sep = pl.col("separation_date")
    start = sep + pl.duration(days=1)
    inv_ok = (ins & sep.is_not_null()
              & pl.col("separation_reason_code").is_in(list(r.involuntary_reason_codes)).fill_null(False)
              & ((birth - pl.duration(days=1)).dt.offset_by(f"{r.involuntary_max_age + 1}y") > sep))
    start_fy = start.dt.year().cast(pl.Int32) - (start.dt.month() < r.fy_start.month).cast(pl.Int32)
    inv_s = pl.when(inv_ok).then(_clip12(_idx(start, r))).otherwise(12)
    inv_e = pl.when(inv_ok).then(_clip12((start_fy + 1 + r.involuntary_following_years - r.fy) * 12)).otherwise(12)

    # The member-level reductions never overlap: a 未就学児 is not a 旧被扶養者 (65歳以上), and 産前産後
    # applies to neither (README "Rules the sources leave open").
    preschool = (birth >= pl.lit(r.age_cutoff(r.preschool_age))).fill_null(False)

    # perinatal (産前産後) window
    due = pl.col("expected_birth_date")
    single, multi = r.perinatal_single, r.perinatal_multiple
    before = pl.when(pl.col("multiple_birth")).then(multi.months_before).otherwise(single.months_before)
    span = pl.when(pl.col("multiple_birth")).then(multi.months).otherwise(single.months)
    eff = (r.perinatal_effective_from.year * 12 + r.perinatal_effective_from.month
           - (r.fy_start.year * 12 + r.fy_start.month))
    p_raw = _idx(due, r) - before
    peri_ok = ins & due.is_not_null() & ~preschool & ~(pl.col("is_former_dependent") & ins)
    p_s = pl.when(peri_ok).then(_clip12(pl.max_horizontal(p_raw, pl.lit(eff)))).otherwise(12)
    p_e = pl.when(peri_ok).then(_clip12(p_raw + span)).otherwise(12)

    # former dependent (旧被扶養者) windows
    fd = pl.col("is_former_dependent") & ins & ~preschool
    fd_raw = pl.when(acq.is_null()).then(0).otherwise(_idx(acq, r))
    fd_pc_s = pl.when(fd).then(_clip12(fd_raw)).otherwise(12)
    fd_pc_e = pl.when(fd).then(_clip12(fd_raw + r.former_dependent_per_capita_months)).otherwise(12)

    # bases (旧ただし書き所得), normal and with 給与所得 × 30/100
    total, agg, sal = pl.col("total_income"), pl.col("aggregate_income"), pl.col("salary_income")
    sal_red = _floor_mul(sal.clip(lower_bound=0), r.involuntary_salary_ratio)
    total_inv = (total - sal + sal_red).clip(lower_bound=0)
    agg_inv = agg - sal + sal_red
    base_n = _floor_unit((total - _deduction(agg, r)).clip(lower_bound=0), r.base_unit)
    base_i = _floor_unit((total_inv - _deduction(agg_inv, r)).clip(lower_bound=0), r.base_unit)

    out = m.with_columns(
        ins_s.cast(pl.Int32).alias("_ins_s"), ins_e.cast(pl.Int32).alias("_ins_e0"),
        birth_m1.alias("_bm1"),
        inv_ok.alias("_inv"), inv_s.cast(pl.Int32).alias("_inv_s"), inv_e.cast(pl.Int32).alias("_inv_e"),
        total_inv.alias("_total_inv"),
        p_s.cast(pl.Int32).alias("_p_s"), p_e.cast(pl.Int32).alias("_p_e"),
        fd.alias("_fd"), fd_raw.cast(pl.Int32).alias("_fd_raw"),
        fd_pc_s.cast(pl.Int32).alias("_fd_s"), fd_pc_e.cast(pl.Int32).alias("_fd_e"),
        base_n.alias("_base_n"), base_i.alias("_base_i"),
        preschool.alias("_preschool"),
        (birth <= pl.lit(r.pension_age_born_by())).fill_null(False).alias("_age65"),
    ).with_columns(pl.max_horizontal("_ins_s", "_ins_e0").alias("_ins_e"))

    cols = []
    for c in r.components:
        s, e = _interval(c, r)
        cols += [s.alias(f"_s_{c.name}"), e.alias(f"_e_{c.name}")]
    return out.with_columns(cols)


def _interval(c, r: TaxRates) -> tuple[pl.Expr, pl.Expr]:
    s, e = pl.col("_ins_s"), pl.col("_ins_e")
    if c.age_from is not None:
        a_s = _clip12(pl.col("_bm1") + 12 * c.age_from)
        a_e = _clip12(pl.col("_bm1") + 12 * (c.age_to + 1))
        s = pl.max_horizontal(s, a_s)
        e = pl.min_horizontal(e, a_e)
    if c.name == "long_term_care":  # 介護適用除外: from the month of 特例開始年月日
        start = pl.col("ltc_exempt_start")
        ex = pl.when(start.is_null()).then(0).otherwise(_clip12(_idx(start, r)))
        e = pl.when(pl.col("ltc_exempt")).then(pl.min_horizontal(e, ex)).otherwise(e)
    e = pl.max_horizontal(s, e)
    return s.cast(pl.Int32), e.cast(pl.Int32)


def _interval_names(r: TaxRates) -> dict[str, str]:
    """Component → the component whose month interval (``_s_``, ``_e_``) it shares (the first with
    the same expressions): the sums of components with the same months are then the same
    expressions, and the household pass computes each once."""
    seen: list[tuple[pl.Expr, pl.Expr, str]] = []
    out = {}
    for c in r.components:
        s, e = _interval(c, r)
        out[c.name] = next((n for s0, e0, n in seen if s.meta.eq(s0) and e.meta.eq(e0)), c.name)
        if out[c.name] == c.name:
            seen.append((s, e, c.name))
    return out


def _component_member_sums(c, r: TaxRates, interval: str) -> dict[str, pl.Expr]:
    """The member-level values of component ``c`` summed (``_<key>_<component>``) or or-ed
    (``_mask_<component>``) per household; ``interval``: the component whose months it uses."""
    n = c.name
    s, e = pl.col(f"_s_{interval}"), pl.col(f"_e_{interval}")
    months = (e - s).cast(MONEY)
    inv_s, inv_e = pl.col("_inv_s"), pl.col("_inv_e")
    base_n, base_i = pl.col("_base_n"), pl.col("_base_i")
    m_inv = _overlap(s, e, inv_s, inv_e).cast(MONEY)
    b = base_n * (months - m_inv) + base_i * m_inv
    # perinatal months of this component and their base
    ps = pl.max_horizontal(s, pl.col("_p_s"))
    pe = pl.max_horizontal(ps, pl.min_horizontal(e, pl.col("_p_e")))
    mp = (pe - ps).cast(MONEY)
    mp_inv = _overlap(ps, pe, inv_s, inv_e).cast(MONEY)
    bp = base_n * (mp - mp_inv) + base_i * mp_inv

    minor_exempt = c.minor_exempt_age is not None
    minor = (pl.col("birth_date") >= pl.lit(r.age_cutoff(c.minor_exempt_age))).fill_null(False) \
        if minor_exempt else pl.lit(False)
    per_capita = c.per_capita or 0
    adult_add = c.adult_per_capita or 0
    pc_unit = pl.lit(per_capita, MONEY) + pl.when(minor).then(0).otherwise(adult_add)
    pcn_unit = pl.when(minor & pl.lit(minor_exempt)).then(0).otherwise(pc_unit)  # 均等割 left after 10割
    peri = r.applies("perinatal", n)
    fd_on = r.applies("former_dependent", n)
    fd = pl.col("_fd")
    fd_months = _overlap(s, e, pl.col("_fd_s"), pl.col("_fd_e")).cast(MONEY)
    zero = pl.lit(0, MONEY)
    sums = {
        "B": b,
        "A": pl.col("property_tax") * months,
        "PC": pc_unit * months,
        "PCminor": pl.when(minor & pl.lit(minor_exempt)).then(pl.lit(per_capita, MONEY) * months).otherwise(zero),
        "PCpre": pl.when(pl.col("_preschool")).then(pcn_unit * months).otherwise(zero),
        "Bfd": pl.when(fd & pl.lit(fd_on)).then(b).otherwise(zero),
        "PCfd": pl.when(fd & pl.lit(fd_on)).then(pcn_unit * fd_months).otherwise(zero),
        "Bperi": bp if peri else zero,
        "PCperi": (pcn_unit * mp) if peri else zero,
    }
    unused = _unused_sums(c, r)
    return {f"_mask_{n}": _pow2(e) - _pow2(s)} | {f"_{k}_{n}": x for k, x in sums.items() if k not in unused}


def _unused_sums(c, r: TaxRates) -> frozenset[str]:
    """The sums of component ``c`` that are zero or only ever multiplied by zero (no 所得割 rate: the
    bases; no 資産割 rate: the 資産割 base; no 均等割: the 均等割 sums; a reduction the component
    does not have): they are not computed, and are 0 in the household pass."""
    out = set()
    if not c.income_rate:
        out |= {"B", "Bfd", "Bperi"}
    if not c.asset_rate:
        out.add("A")
    if not (c.per_capita or c.adult_per_capita):
        out |= {"PC", "PCminor", "PCpre", "PCfd", "PCperi"}
    if c.minor_exempt_age is None:
        out.add("PCminor")
    if not r.applies("former_dependent", c.name):
        out |= {"Bfd", "PCfd"}
    if not r.applies("perinatal", c.name):
        out |= {"Bperi", "PCperi"}
    return frozenset(out)


_POW2 = {i: 2 ** i for i in range(13)}


def _lookup(values: dict[int, int], key: pl.Expr) -> pl.Expr:
    """``values[key]`` (Int64) for a key that is always one of the small non-negative integers of
    ``values`` (the engine's month numbers 0–12 and 軽減 codes): a gather from a table, several times
    cheaper than ``replace_strict``; a null key gives null."""
    assert min(values) >= 0 and max(values) < 4096, values
    table = [0] * (max(values) + 1)
    for k, v in values.items():
        table[k] = v
    return pl.lit(pl.Series(table, dtype=MONEY)).gather(key)


def _pow2(expr: pl.Expr) -> pl.Expr:
    return _lookup(_POW2, expr)


def _window_mask(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    s = _clip12(start)
    e = pl.max_horizontal(s, _clip12(end))
    return _pow2(e) - _pow2(s)


# --- household passes --------------------------------------------------------------------------


def _first_pass(m: pl.DataFrame, households: _Households, r: TaxRates) -> pl.DataFrame:
    acq, lost, ins = pl.col("acquired_date"), pl.col("lost_date"), pl.col("is_insured")
    fy_start, fy_end = pl.lit(r.fy_start), pl.lit(r.fy_end)
    on_start = ins & (acq.is_null() | (acq <= fy_start)) & (lost.is_null() | (lost > fy_start))
    joins = ins & acq.is_not_null() & (acq > fy_start) & (acq <= fy_end) & (lost.is_null() | (lost > acq))
    aggs = {
        "_taxpayer_at": ("min", pl.when(pl.col("is_householder")).then(pl.int_range(pl.len(), dtype=pl.Int64))),
        "insured_count": ("sum", pl.col("_ins_e") > pl.col("_ins_s")),
        "_on_start": ("any", on_start),
        "_first_join": ("min", pl.when(joins).then(acq)),
        "_fd_hh_raw": ("min", pl.when(pl.col("_fd")).then(pl.col("_fd_raw"))),
    }
    intervals = _interval_names(r)
    for c in r.components:
        for name, x in _component_member_sums(c, r, intervals[c.name]).items():
            aggs[name] = ("or" if name.startswith("_mask_") else "sum", x)
    g = households.reduce(m, aggs)
    g = g.with_columns([pl.lit(0, MONEY).alias(f"_{k}_{c.name}") for c in r.components for k in _unused_sums(c, r)])
    # the first householder of the household (in the members' order): the 納税義務者
    taxpayer = m["person_id"].gather(g["_taxpayer_at"])
    g = g.with_columns(taxpayer.alias("taxpayer_person_id"), pl.col("insured_count").cast(pl.Int32)) \
        .drop("_taxpayer_at")
    d = pl.when(pl.col("_on_start")).then(fy_start).otherwise(pl.col("_first_join").fill_null(fy_start))
    months = r.former_dependent_per_household_months
    return g.with_columns(
        d.alias("_d"),
        pl.when(pl.col("_fd_hh_raw").is_null()).then(pl.lit(0, MONEY))
          .otherwise(_window_mask(pl.col("_fd_hh_raw"), pl.col("_fd_hh_raw") + months)).alias("_fdwin"),
    )


def _judgment(m: pl.DataFrame, households: _Households, dates: pl.Series, r: TaxRates) -> pl.DataFrame:
    """軽減判定 (7/5/2), 特定世帯 and 旧被扶養者-only households, on the judgment date ``dates``
    (one per household)."""
    red = r.reduction
    # the judgment date's month number per household, then on each member (not per member row)
    d_month = dates.to_frame("_d").select(_idx(pl.col("_d"), r)).to_series()
    m = m.with_columns(households.gather(dates).alias("_d"), households.gather(d_month).alias("_d_idx"))
    d = pl.col("_d")
    acq, lost = pl.col("acquired_date"), pl.col("lost_date")
    on_d = pl.col("is_insured") & (acq.is_null() | (acq <= d)) & (lost.is_null() | (lost > d))
    spec = pl.col("is_specified_same_household")
    counted = pl.col("is_householder") | on_d | spec
    d_idx = pl.col("_d_idx")
    inv_at_d = pl.col("_inv") & (pl.col("_inv_s") <= d_idx) & (d_idx < pl.col("_inv_e"))
    fes = pl.col("family_employee_salary").clip(lower_bound=0)
    srev, sinc = pl.col("salary_revenue"), pl.col("salary_income")
    fes_part = (pl.when(fes <= 0).then(0)
                .when(fes >= srev).then(sinc)
                .otherwise(sinc * fes // srev)) if red.family_employee_salary_to_owner else pl.lit(0)
    owner = pl.col("family_employee_deduction") if red.family_employee_salary_to_owner else pl.lit(0)
    pension_ded = pl.when(pl.col("_age65")).then(
        pl.min_horizontal(pl.col("pension_income").clip(lower_bound=0), pl.lit(red.pension_special_deduction))
    ).otherwise(0)
    j_total = pl.when(inv_at_d).then(pl.col("_total_inv")).otherwise(pl.col("total_income"))
    j = (j_total - pension_ded - pl.when(inv_at_d).then(0).otherwise(fes_part) + owner).clip(lower_bound=0)
    sal_for_earner = srev - (fes if red.earner_excludes_family_employee_salary else 0)
    earner = (sal_for_earner > red.earner_salary_revenue_over) | (
        pl.col("pension_revenue") > pl.when(pl.col("_age65")).then(red.earner_pension_revenue_over_age)
        .otherwise(red.earner_pension_revenue_over_under_age))
    trans = pl.when(spec & lost.is_not_null() & (lost <= d)).then(
        lost.dt.year().cast(pl.Int32) * 12 + lost.dt.month().cast(pl.Int32))
    g = households.reduce(m, {
        "reduction_judgment_income": ("sum", pl.when(counted).then(j).otherwise(0)),
        "reduction_earners": ("sum", earner & counted),
        "reduction_persons": ("sum", on_d | spec),
        "undeclared": ("any", counted & ~pl.col("declared")),
        "_on_d": ("sum", on_d),
        "_fd_on_d": ("sum", on_d & pl.col("_fd")),
        "_any_spec": ("any", spec),
        "_spec_last": ("max", trans),
    }).with_columns(
        dates.alias("reduction_judgment_date"),
        pl.col("reduction_judgment_income").cast(MONEY),
        pl.col("reduction_earners", "reduction_persons", "_on_d", "_fd_on_d").cast(pl.Int32),
    )
    s, n, persons = pl.col("reduction_judgment_income"), pl.col("reduction_earners"), pl.col("reduction_persons")
    earners_extra = (n - 1).clip(lower_bound=0).cast(MONEY) * red.per_earner
    cls = pl.lit(0, pl.Int8)
    for k in reversed(red.classes):  # highest rate wins: build the chain from the lowest
        threshold = red.base + persons.cast(MONEY) * k.per_person + earners_extra
        cls = pl.when(s <= threshold).then(pl.lit(k.code, pl.Int8)).otherwise(cls)
    cls = pl.when(pl.col("undeclared")).then(pl.lit(0, pl.Int8)).otherwise(cls)
    d_ym = pl.col("reduction_judgment_date").dt.year().cast(pl.Int32) * 12 + \
        pl.col("reduction_judgment_date").dt.month().cast(pl.Int32)
    since = d_ym - pl.col("_spec_last")
    stage = pl.lit(0, pl.Int8)
    limit = 0
    bounds = []
    for months, _ratio in r.specified_stages:
        limit += months
        bounds.append(limit)
    for i in reversed(range(len(bounds))):
        stage = pl.when(since < bounds[i]).then(pl.lit(i + 1, pl.Int8)).otherwise(stage)
    stage = pl.when(pl.col("_any_spec") & (pl.col("_on_d") == 1) & pl.col("_spec_last").is_not_null()) \
        .then(stage).otherwise(pl.lit(0, pl.Int8))
    return g.with_columns(
        cls.alias("reduction_class"),
        stage.alias("specified_household"),
        ((pl.col("_fd_on_d") >= 1) & (pl.col("_fd_on_d") == pl.col("_on_d"))).alias("_fd_only"),
    ).drop("_any_spec", "_spec_last", "_fd_on_d", "_on_d")


def _exemption_columns(hh: pl.LazyFrame, exemptions: pl.DataFrame | None) -> pl.LazyFrame:
    names = [f"_exr_{c}" for c in COMPONENTS] + [f"_exa_{c}" for c in COMPONENTS] + ["_exa_all"]
    if exemptions is None or exemptions.height == 0:
        return hh.with_columns([pl.lit(0, MONEY).alias(n) for n in names])
    ex = exemptions.lazy() if isinstance(exemptions, pl.DataFrame) else exemptions
    cols = set(ex.collect_schema().names())
    if not {"household_id", "component"} <= cols:
        raise ValueError("exemptions: household_id と component の列が必要です")
    bad = set(exemptions["component"].unique().to_list()) - set(COMPONENTS) - {"all"}
    if bad:
        raise ValueError(f"exemptions: 未知の区分 {sorted(bad)} (使える値: {', '.join(COMPONENTS)}, all)")
    rate = (pl.col("rate").cast(pl.Float64).fill_null(0.0) * _PPM).round().cast(MONEY) if "rate" in cols \
        else pl.lit(0, MONEY)
    amount = pl.col("amount").cast(MONEY).fill_null(0) if "amount" in cols else pl.lit(0, MONEY)
    ex = ex.select(pl.col("household_id").cast(pl.String), pl.col("component").cast(pl.String),
                   rate.alias("_rate"), amount.alias("_amount"))
    comp = pl.col("component")
    aggs = []
    for c in COMPONENTS:
        aggs.append(pl.col("_rate").filter(comp.is_in([c, "all"])).sum().alias(f"_exr_{c}"))
        aggs.append(pl.col("_amount").filter(comp == c).sum().alias(f"_exa_{c}"))
    aggs.append(pl.col("_amount").filter(comp == "all").sum().alias("_exa_all"))
    g = ex.group_by("household_id").agg(aggs)
    return hh.join(g, on="household_id", how="left", maintain_order="left").with_columns(
        [pl.col(n).fill_null(0).cast(MONEY) for n in names])


# --- components ---------------------------------------------------------------------------------


def _by_class(values: dict[int, int], key: pl.Expr) -> pl.Expr:
    return _lookup(values, key)


def _components(hh: pl.LazyFrame, r: TaxRates) -> pl.LazyFrame:
    red = r.reduction
    codes = [0] + [k.code for k in red.classes]
    cls = pl.col("reduction_class").cast(pl.Int64)
    stage = pl.col("specified_household").cast(pl.Int64)
    out = hh.with_columns(pl.lit(r.fy, pl.Int32).alias("fy"))
    ys = {}
    for name in COMPONENTS:
        c = r.component(name)
        if c is None:
            out = out.with_columns([pl.lit(0, MONEY if k != "months" else pl.Int32).alias(f"{name}_{k}")
                                    for k in COMPONENT_COLUMNS])
            continue
        D = r.denominator(name)
        ir = c.income_rate or Fraction(0)
        ar = c.asset_rate or Fraction(0)

        def k(f: Fraction) -> int:  # integer multiple of 1/D
            v = f * D
            assert v.denominator == 1, (name, f, D)
            return int(v)

        rate_of = {code: red.rate_of(code) for code in codes}
        use_red = r.applies("reduction", name)
        rD = {code: k(rate_of[code]) if use_red else 0 for code in codes}
        eff_r = {code: (rate_of[code] if use_red else Fraction(0)) for code in codes}
        omrD = {code: k(1 - eff_r[code]) for code in codes}
        preD = {code: k((1 - eff_r[code]) * r.preschool_ratio) if r.applies("preschool", name) else 0 for code in codes}
        spec = {}
        for code in codes:
            spec[code * 10] = 0
            for i, (_m, ratio) in enumerate(r.specified_stages):
                spec[code * 10 + i + 1] = k((1 - eff_r[code]) * ratio) if r.applies("specified", name) else 0
        fd_on = r.applies("former_dependent", name)
        fdpcD = {code: k(max(Fraction(0), r.former_dependent_per_capita_ratio - eff_r[code])) if fd_on else 0
                 for code in codes}
        fdphD = {code: k(max(Fraction(0), r.former_dependent_per_household_ratio - eff_r[code])) if fd_on else 0
                 for code in codes}
        ir_fd = k(ir * r.former_dependent_income_ratio) if fd_on else 0

        col = lambda key: pl.col(f"_{key}_{name}")  # noqa: E731,B023
        L = pl.col(f"_mask_{name}").bitwise_count_ones().cast(MONEY)
        Lfd = pl.when(pl.col("_fd_only")).then(
            (pl.col(f"_mask_{name}") & pl.col("_fdwin")).bitwise_count_ones().cast(MONEY)).otherwise(0)
        ph = pl.lit(c.per_household or 0, MONEY) * pl.col("_L")  # 平等割 × months
        # each running total from the one before it (a column, not a nested expression)
        N = lambda i: pl.col(f"_n{i}")  # noqa: E731
        steps = [
            col("B") * k(ir),
            N(1) + col("A") * k(ar),
            N(2) + col("PC") * D,
            N(3) + ph * D,
            (N(4) - col("PCminor") * D).clip(lower_bound=0),
            (N(5) - (col("PC") - col("PCminor")) * _by_class(rD, cls) - ph * _by_class(rD, cls)).clip(lower_bound=0),
            (N(6) - col("PCpre") * _by_class(preD, cls)).clip(lower_bound=0),
            (N(7) - ph * _by_class(spec, cls * 10 + stage)).clip(lower_bound=0),
            (N(8) - col("Bfd") * ir_fd - col("PCfd") * _by_class(fdpcD, cls)
             - pl.lit(c.per_household or 0, MONEY) * Lfd * _by_class(fdphD, cls)).clip(lower_bound=0),
            (N(9) - col("Bperi") * k(ir) - col("PCperi") * _by_class(omrD, cls)).clip(lower_bound=0),
        ]
        out = out.with_columns(L.alias("_L"))
        for i, step in enumerate(steps, 1):
            out = out.with_columns(step.alias(f"_n{i}"))
        den = pl.col("_L") * D
        v = {i: pl.when(pl.col("_L") > 0).then(pl.col(f"_n{i}") // den).otherwise(0) for i in range(1, 11)}
        out = out.with_columns([v[i].alias(f"_v{i}") for i in range(1, 11)])
        V = {i: pl.col(f"_v{i}") for i in range(1, 11)}
        p = f"{name}_"
        out = out.with_columns(
            pl.col("_L").cast(pl.Int32).alias(p + "months"),
            V[1].alias(p + "income_levy"),
            (V[2] - V[1]).alias(p + "asset_levy"),
            (V[3] - V[2]).alias(p + "per_capita_levy"),
            (V[4] - V[3]).alias(p + "per_household_levy"),
            (V[4] - V[5]).alias(p + "minor_reduction"),
            (V[5] - V[6]).alias(p + "reduction"),
            (V[6] - V[7]).alias(p + "preschool_reduction"),
            (V[7] - V[8]).alias(p + "specified_household_reduction"),
            (V[8] - V[9]).alias(p + "former_dependent_reduction"),
            (V[9] - V[10]).alias(p + "perinatal_reduction"),
            V[10].alias(p + "calculated"),
        )
        # cap and 月割 (exact numerators: N / (D·L) is the annual equivalent, × L/12 the months)
        calc, L12 = pl.col(p + "calculated"), pl.col("_L")
        n10, DL = pl.col("_n10"), pl.col("_L") * D
        # cap_then_reduce: the cap applies to the levies less the 所得割-based reductions (旧被扶養者,
        # 産前産後 所得割), and the 均等割/平等割 reductions come off the capped amount
        g_num = (pl.col("_n4") - col("Bfd") * ir_fd - col("Bperi") * k(ir)).clip(lower_bound=0)
        r_num = (g_num - n10).clip(lower_bound=0)
        cap = c.cap
        if r.cap_and_proration == "cap_then_prorate":
            if cap is None:
                x = calc
            elif r.reductions_and_cap == "reduce_then_cap":
                x = pl.min_horizontal(calc, pl.lit(cap, MONEY))
            else:
                x = pl.when(L12 > 0).then(
                    (pl.min_horizontal(g_num, DL * cap) - r_num).clip(lower_bound=0) // DL).otherwise(0)
            out = out.with_columns(x.alias("_x"))
            x = pl.col("_x")
            out = out.with_columns((x * L12 // 12).alias(f"_y_{name}"))
            y = pl.col(f"_y_{name}")
            over = calc - x
            proration = y - x
        else:
            out = out.with_columns(pl.when(L12 > 0).then(n10 // (12 * D)).otherwise(0).alias("_prorated"))
            prorated = pl.col("_prorated")
            proration = prorated - calc
            if cap is None:
                y = prorated
            elif r.reductions_and_cap == "reduce_then_cap":
                y = pl.min_horizontal(prorated, pl.lit(cap, MONEY))
            else:
                y = pl.when(L12 > 0).then(
                    (pl.min_horizontal(g_num * L12, DL * cap * 12) - r_num * L12).clip(lower_bound=0)
                    // (DL * 12)).otherwise(0)
            out = out.with_columns(y.alias(f"_y_{name}"))
            y = pl.col(f"_y_{name}")
            over = prorated - y
        out = out.with_columns(over.alias(p + "over_cap"), proration.alias(p + "proration"))
        ys[name] = True

    # 減免: rate and own amount per component, then an "all" amount in component order
    parts = []
    for name in COMPONENTS:
        if name not in ys:
            continue
        y = pl.col(f"_y_{name}")
        own = pl.min_horizontal(y, y * pl.col(f"_exr_{name}").clip(0, _PPM) // _PPM + pl.col(f"_exa_{name}"))
        parts.append((name, own))
    out = out.with_columns([own.alias(f"_e0_{name}") for name, own in parts])
    prev = pl.lit(0, MONEY)
    cols = []
    for name, _own in parts:
        room = pl.col(f"_y_{name}") - pl.col(f"_e0_{name}")
        alloc = pl.min_horizontal(room, (pl.col("_exa_all") - prev).clip(lower_bound=0))
        cols.append((pl.col(f"_e0_{name}") + alloc).alias(f"{name}_exemption"))
        prev = prev + room
    out = out.with_columns(cols)
    unit = r.rounding_unit
    fin = []
    for name, _own in parts:
        net = pl.col(f"_y_{name}") - pl.col(f"{name}_exemption")
        fin += [(net // unit * unit).alias(f"{name}_amount"), (net - net // unit * unit).alias(f"{name}_rounding")]
    out = out.with_columns(fin)
    out = out.with_columns(pl.sum_horizontal([pl.col(f"{c}_amount") for c in COMPONENTS]).cast(MONEY).alias("annual_tax"))
    money = [f"{c}_{k}" for c in COMPONENTS for k in COMPONENT_COLUMNS if k != "months"]
    return out.with_columns([pl.col(x).cast(MONEY) for x in money]
                            + [pl.col(f"{c}_months").cast(pl.Int32) for c in COMPONENTS]
                            + [pl.col("reduction_class").cast(pl.Int8), pl.col("specified_household").cast(pl.Int8),
                               pl.col("reduction_judgment_date").cast(pl.Date)])


def fy_month_start(rates: TaxRates, k: int) -> dt.date:
    """The first day of month ``k`` (0 = the first month) of the fiscal year."""
    y, m = divmod(rates.fy_start.year * 12 + rates.fy_start.month - 1 + k, 12)
    return dt.date(y, m + 1, 1)


__all__ = ["COMPONENT_COLUMNS", "HOUSEHOLD_COLUMNS", "assess", "assess_lazy", "output_columns"]
