"""Per-household reference implementation of the assessment rules, in plain Python.

Written independently of ``engine.py`` (it does not call it): the engine works on month
intervals and bit masks over whole frames; this module walks the twelve months of the fiscal
year for every member with ``datetime`` arithmetic and exact ``Fraction`` amounts. It computes the
same columns (jobs/assessment/README.md), so a test can require every column to be equal on
thousands of households, and the benchmark measures the engine against it.

    assess_household(members: list[dict], rates, exemptions=None) -> dict
    assess_frame(members: pl.DataFrame, rates, exemptions=None) -> pl.DataFrame   (loops households)
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from fractions import Fraction
from typing import Any

from .rates import COMPONENTS, TaxRates, shift_years

_COLUMNS = (
    "months", "income_levy", "asset_levy", "per_capita_levy", "per_household_levy",
    "minor_reduction", "reduction", "preschool_reduction", "specified_household_reduction",
    "former_dependent_reduction", "perinatal_reduction", "calculated", "over_cap", "proration",
    "exemption", "rounding", "amount",
)


def _month_first(rates: TaxRates, k: int) -> dt.date:
    """First day of month k of the fiscal year (k may be any integer)."""
    total = rates.fy_start.year * 12 + (rates.fy_start.month - 1) + k
    return dt.date(total // 12, total % 12 + 1, 1)


def _month_no(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _reached(birth: dt.date, age: int) -> dt.date:
    """The day a person born on ``birth`` reaches ``age`` (年齢計算ニ関スル法律: the day before the
    anniversary; born 29 February → 28 February in a common year)."""
    y = birth.year + age
    if birth.month == 2 and birth.day == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        return dt.date(y, 2, 28)
    return dt.date(y, birth.month, birth.day) - dt.timedelta(days=1)


def _fiscal_year_of(day: dt.date, rates: TaxRates) -> int:
    return day.year if (day.month, day.day) >= (rates.fy_start.month, rates.fy_start.day) else day.year - 1


def _get(p: dict, key: str, default: Any) -> Any:
    v = p.get(key, default)
    return default if v is None else v


class _Person:
    """One member with the per-month facts the rules need."""

    def __init__(self, p: dict, rates: TaxRates):
        self.p = p
        self.id = str(p["person_id"])
        self.birth: dt.date = p["birth_date"]
        self.householder = bool(_get(p, "is_householder", False))
        self.nominal = bool(_get(p, "is_nominal_householder", False))
        self.specified = bool(_get(p, "is_specified_same_household", False))
        if "is_insured" in p and p["is_insured"] is not None:
            self.insured = bool(p["is_insured"])
        else:
            self.insured = not (self.nominal or self.specified)
        self.preschool = p["birth_date"] >= rates.age_cutoff(rates.preschool_age)
        # 旧被扶養者 (65歳以上) is never a 未就学児; 産前産後 applies to neither of them
        self.former_dependent = bool(_get(p, "is_former_dependent", False)) and self.insured and not self.preschool
        self.acquired: dt.date | None = p.get("acquired_date")
        self.lost: dt.date | None = p.get("lost_date")
        self.declared = bool(_get(p, "declared", True))
        self.total = int(_get(p, "total_income", 0))
        self.aggregate = int(_get(p, "aggregate_income", 0))
        self.salary_revenue = int(_get(p, "salary_revenue", 0))
        self.salary_income = int(_get(p, "salary_income", 0))
        self.pension_revenue = int(_get(p, "pension_revenue", 0))
        self.pension_income = int(_get(p, "pension_income", 0))
        self.fes = int(_get(p, "family_employee_salary", 0))
        self.fe_deduction = int(_get(p, "family_employee_deduction", 0))
        self.property_tax = int(_get(p, "property_tax", 0))
        r = rates
        self.age65 = _reached(self.birth, r.reduction.pension_age) <= r.reduction.pension_age_reference
        # bases: normal, and with 給与所得 × ratio (非自発的失業)
        self.base_normal = self._base(self.total, self.aggregate, rates)
        reduced_salary = math.floor(max(self.salary_income, 0) * r.involuntary_salary_ratio)
        self.total_inv = max(0, self.total - self.salary_income + reduced_salary)
        self.base_inv = self._base(self.total_inv, self.aggregate - self.salary_income + reduced_salary, rates)
        sep = p.get("separation_date")
        code = p.get("separation_reason_code")
        self.inv_from: dt.date | None = None
        self.inv_last_fy: int | None = None
        if (self.insured and sep is not None and code is not None and str(code) in r.involuntary_reason_codes
                and _reached(self.birth, r.involuntary_max_age + 1) > sep):
            start = sep + dt.timedelta(days=1)
            self.inv_from = start
            self.inv_last_fy = _fiscal_year_of(start, r) + r.involuntary_following_years
        due = p.get("expected_birth_date")
        self.peri_months: set[int] = set()
        if self.insured and due is not None and not self.preschool and not bool(_get(p, "is_former_dependent", False)):
            w = r.perinatal_multiple if _get(p, "multiple_birth", False) else r.perinatal_single
            first = _month_no(due) - w.months_before
            eff = _month_no(r.perinatal_effective_from)
            self.peri_months = {mo for mo in range(first, first + w.months) if mo >= eff}
        self.fd_first = _month_no(self.acquired) if (self.former_dependent and self.acquired) else \
            (_month_no(r.fy_start) if self.former_dependent else None)
        self._bases: dict[int, int] = {}
        self.ltc_exempt = bool(_get(p, "ltc_exempt", False))
        self.ltc_exempt_start: dt.date | None = p.get("ltc_exempt_start")

    @staticmethod
    def _base(total: int, aggregate: int, rates: TaxRates) -> int:
        b = max(0, total - rates.basic_deduction_for(aggregate))
        return b - b % rates.base_unit

    def insured_in(self, first: dt.date, nxt: dt.date) -> bool:
        """Counts for the month [first, nxt): joined before its end, not lost before its end."""
        if not self.insured:
            return False
        if self.acquired is not None and self.acquired >= nxt:
            return False
        return self.lost is None or self.lost >= nxt

    def insured_on(self, day: dt.date) -> bool:
        if not self.insured:
            return False
        if self.acquired is not None and self.acquired > day:
            return False
        return self.lost is None or self.lost > day

    def in_component(self, comp, first: dt.date, nxt: dt.date) -> bool:
        if not self.insured_in(first, nxt):
            return False
        if comp.age_from is not None:
            if not (_reached(self.birth, comp.age_from) < nxt and _reached(self.birth, comp.age_to + 1) >= nxt):
                return False
        if comp.name == "long_term_care" and self.ltc_exempt:
            if self.ltc_exempt_start is None or self.ltc_exempt_start < nxt:
                return False
        return True

    def base_of_month(self, k: int, first: dt.date, nxt: dt.date, rates: TaxRates) -> int:
        if k not in self._bases:
            self._bases[k] = self.base_in(first, nxt, rates)
        return self._bases[k]

    def involuntary_in(self, first: dt.date, nxt: dt.date, rates: TaxRates) -> bool:
        if self.inv_from is None or self.inv_from >= nxt:
            return False
        return _fiscal_year_of(first, rates) <= self.inv_last_fy

    def base_in(self, first: dt.date, nxt: dt.date, rates: TaxRates) -> int:
        return self.base_inv if self.involuntary_in(first, nxt, rates) else self.base_normal


def assess_household(members: list[dict], rates: TaxRates, exemptions: list[dict] | None = None) -> dict:
    """The assessment row of one household (same keys and values as ``engine.assess``)."""
    r = rates
    if not members:
        raise ValueError("members is empty")
    hid = str(members[0]["household_id"])
    people = [_Person(p, r) for p in members]
    months = [(_month_first(r, k), _month_first(r, k + 1)) for k in range(12)]

    # --- judgment date: 4/1 if anyone is insured then, else the first acquisition in the year ---
    if any(x.insured_on(r.fy_start) for x in people):
        judged_on = r.fy_start
    else:
        joins = [x.acquired for x in people if x.insured and x.acquired is not None
                 and r.fy_start < x.acquired <= r.fy_end and (x.lost is None or x.lost > x.acquired)]
        judged_on = min(joins) if joins else r.fy_start
    jm = next(k for k, (a, b) in enumerate(months) if a <= judged_on < b)
    jfirst, jnext = months[jm]

    # --- 軽減判定 ---
    red = r.reduction
    income = 0
    earners = 0
    persons = 0
    undeclared = False
    insured_now = 0
    fd_now = 0
    last_move: int | None = None
    any_specified = False
    for x in people:
        on = x.insured_on(judged_on)
        counted = x.householder or on or x.specified
        if on or x.specified:
            persons += 1
        if on:
            insured_now += 1
            if x.former_dependent:
                fd_now += 1
        if x.specified:
            any_specified = True
            if x.lost is not None and x.lost <= judged_on:
                mo = _month_no(x.lost)
                last_move = mo if last_move is None else max(last_move, mo)
        if not counted:
            continue
        if not x.declared:
            undeclared = True
        inv_now = x.involuntary_in(jfirst, jnext, r)
        j = x.total_inv if inv_now else x.total
        if x.age65:
            j -= min(max(x.pension_income, 0), red.pension_special_deduction)
        if red.family_employee_salary_to_owner:
            j += x.fe_deduction
            if not inv_now and x.fes > 0:
                j -= x.salary_income if x.fes >= x.salary_revenue else x.salary_income * x.fes // x.salary_revenue
        income += max(j, 0)
        salary = x.salary_revenue - (max(x.fes, 0) if red.earner_excludes_family_employee_salary else 0)
        pension_over = red.earner_pension_revenue_over_age if x.age65 else red.earner_pension_revenue_over_under_age
        if salary > red.earner_salary_revenue_over or x.pension_revenue > pension_over:
            earners += 1
    code = 0
    if not undeclared:
        for k in red.classes:  # highest rate first
            limit = red.base + k.per_person * persons + red.per_earner * max(earners - 1, 0)
            if income <= limit:
                code = k.code
                break
    rate = red.rate_of(code)

    stage = 0
    if any_specified and insured_now == 1 and last_move is not None:
        since = _month_no(judged_on) - last_move
        bound = 0
        for i, (span, _ratio) in enumerate(r.specified_stages):
            bound += span
            if since < bound:
                stage = i + 1
                break
    fd_only = fd_now >= 1 and fd_now == insured_now
    fd_firsts = [x.fd_first for x in people if x.former_dependent]
    fd_hh_first = min(fd_firsts) if fd_firsts else None

    row: dict[str, Any] = {
        "fy": r.fy, "household_id": hid,
        "taxpayer_person_id": next((x.id for x in people if x.householder), None),
        "insured_count": sum(1 for x in people if any(x.insured_in(a, b) for a, b in months)),
        "reduction_class": code, "reduction_judgment_income": income, "reduction_judgment_date": judged_on,
        "reduction_persons": persons, "reduction_earners": earners, "undeclared": undeclared,
        "specified_household": stage,
    }

    ex_rate: dict[str, Fraction] = defaultdict(Fraction)
    ex_amount: dict[str, int] = defaultdict(int)
    ex_all = 0
    for e in exemptions or ():
        comp = e["component"]
        rt = Fraction(round(float(e.get("rate") or 0) * 1_000_000), 1_000_000)
        amt = int(e.get("amount") or 0)
        targets = COMPONENTS if comp == "all" else (comp,)
        for c in targets:
            ex_rate[c] += rt
        if comp == "all":
            ex_all += amt
        else:
            ex_amount[comp] += amt

    after_cap: dict[str, int] = {}
    for name in COMPONENTS:
        comp = r.component(name)
        if comp is None:
            for k in _COLUMNS:
                row[f"{name}_{k}"] = 0
            continue
        vals, y = _component(comp, people, months, r, rate, stage, fd_only, fd_hh_first)
        row.update({f"{name}_{k}": v for k, v in vals.items()})
        after_cap[name] = y

    # 減免 then rounding
    left = ex_all
    for name in COMPONENTS:
        if name not in after_cap:
            continue
        y = after_cap[name]
        share = min(ex_rate[name], Fraction(1))
        own = min(y, math.floor(y * share) + ex_amount[name])
        room = y - own
        take = min(room, max(left, 0))
        left -= room
        exemption = own + take
        net = y - exemption
        amount = net - net % r.rounding_unit
        row[f"{name}_exemption"] = exemption
        row[f"{name}_amount"] = amount
        row[f"{name}_rounding"] = net - amount
    row["annual_tax"] = sum(row[f"{c}_amount"] for c in COMPONENTS)
    return row


def _component(comp, people: list[_Person], months, r: TaxRates, rate: Fraction, stage: int,
               fd_only: bool, fd_hh_first: int | None) -> tuple[dict[str, int], int]:
    name = comp.name
    use = {w: r.applies(w, name) for w in ("reduction", "preschool", "perinatal", "specified", "former_dependent")}
    red_rate = rate if use["reduction"] else Fraction(0)
    keep = 1 - red_rate
    ir = comp.income_rate or Fraction(0)
    ar = comp.asset_rate or Fraction(0)
    pc = comp.per_capita or 0
    adult_add = comp.adult_per_capita or 0
    ph = comp.per_household or 0
    minor_cut = r.age_cutoff(comp.minor_exempt_age) if comp.minor_exempt_age is not None else None

    # integer sums over member-months (yen × months); the fractions are applied once at the end
    base_sum = asset_sum = capita = household = minor = 0
    pre_left = fd_base = fd_left = peri_base = peri_left = 0
    active = 0
    fd_months_hh = 0
    for k, (first, nxt) in enumerate(months):
        mo = _month_no(first)
        in_month = [x for x in people if x.in_component(comp, first, nxt)]
        if not in_month:
            continue
        active += 1
        household += ph
        if fd_only and use["former_dependent"] and fd_hh_first is not None and \
                fd_hh_first <= mo < fd_hh_first + r.former_dependent_per_household_months:
            fd_months_hh += 1
        for x in in_month:
            base = x.base_of_month(k, first, nxt, r)
            is_minor = minor_cut is not None and x.birth >= minor_cut
            unit = pc + (0 if is_minor else adult_add)
            left = 0 if is_minor else unit  # 均等割 left after the minor's 10割
            base_sum += base
            asset_sum += x.property_tax
            capita += unit
            if is_minor:
                minor += pc
            if x.preschool and use["preschool"]:
                pre_left += left
            if x.former_dependent and use["former_dependent"]:
                fd_base += base
                if x.fd_first <= mo < x.fd_first + r.former_dependent_per_capita_months:
                    fd_left += left
            if use["perinatal"] and mo in x.peri_months:
                peri_base += base
                peri_left += left
    income = base_sum * ir
    asset = asset_sum * ar
    preschool = pre_left * keep * r.preschool_ratio
    fd_income = fd_base * ir * r.former_dependent_income_ratio
    fd_capita = fd_left * max(Fraction(0), r.former_dependent_per_capita_ratio - red_rate)
    peri_income = peri_base * ir
    peri_capita = peri_left * keep
    zero = {k: 0 for k in _COLUMNS}
    if active == 0:
        return zero, 0

    steps = [income, asset, capita, household]
    running = [Fraction(0)]
    for s in steps:
        running.append(running[-1] + s)

    def down(value: Fraction, amount: Fraction) -> Fraction:
        return max(Fraction(0), value - amount)

    n4 = running[4]
    n5 = down(n4, minor)
    n6 = down(n5, (capita - minor) * red_rate + household * red_rate)
    n7 = down(n6, preschool)
    spec = Fraction(0)
    if use["specified"] and stage:
        spec = household * keep * r.specified_stages[stage - 1][1]
    n8 = down(n7, spec)
    fd_hh = ph * fd_months_hh * max(Fraction(0), r.former_dependent_per_household_ratio - red_rate) \
        if use["former_dependent"] else Fraction(0)
    n9 = down(n8, fd_income + fd_capita + fd_hh)
    n10 = down(n9, peri_income + peri_capita)
    v = [math.floor(n / active) for n in (running[1], running[2], running[3], n4, n5, n6, n7, n8, n9, n10)]
    out = {
        "months": active,
        "income_levy": v[0], "asset_levy": v[1] - v[0], "per_capita_levy": v[2] - v[1],
        "per_household_levy": v[3] - v[2], "minor_reduction": v[3] - v[4], "reduction": v[4] - v[5],
        "preschool_reduction": v[5] - v[6], "specified_household_reduction": v[6] - v[7],
        "former_dependent_reduction": v[7] - v[8], "perinatal_reduction": v[8] - v[9],
        "calculated": v[9],
    }
    calc = v[9]
    # cap_then_reduce: cap the levies less the 所得割-based reductions; the rest comes off after
    levies = max(Fraction(0), n4 - fd_income - peri_income) / active
    rest = max(Fraction(0), levies - n10 / active)
    cap = comp.cap
    if r.cap_and_proration == "cap_then_prorate":
        if cap is None:
            kept = calc
        elif r.reductions_and_cap == "reduce_then_cap":
            kept = min(calc, cap)
        else:
            kept = math.floor(max(Fraction(0), min(levies, cap) - rest))
        over = calc - kept
        y = kept * active // 12
        proration = y - kept
    else:
        prorated = math.floor(n10 / active * Fraction(active, 12))
        proration = prorated - calc
        if cap is None:
            y = prorated
        elif r.reductions_and_cap == "reduce_then_cap":
            y = min(prorated, cap)
        else:
            share = Fraction(active, 12)
            y = math.floor(max(Fraction(0), min(levies * share, cap) - rest * share))
        over = prorated - y
    out.update({"over_cap": over, "proration": proration, "exemption": 0, "rounding": 0, "amount": 0})
    return out, y


def assess_frame(members, rates: TaxRates, exemptions=None):
    """Every household of a member-year frame through ``assess_household`` (sorted by id)."""
    import polars as pl

    from .engine import output_columns  # column order only; no computation is borrowed

    by_hh: dict[str, list[dict]] = defaultdict(list)
    for row in members.iter_rows(named=True):
        by_hh[str(row["household_id"])].append(row)
    ex: dict[str, list[dict]] = defaultdict(list)
    if exemptions is not None:
        for row in exemptions.iter_rows(named=True):
            ex[str(row["household_id"])].append(row)
    rows = [assess_household(by_hh[h], rates, ex.get(h)) for h in sorted(by_hh)]
    cols = output_columns(rates)
    frame = pl.DataFrame(rows, schema_overrides={"reduction_judgment_date": pl.Date}, infer_schema_length=None)
    return frame.select(cols)


__all__ = ["assess_household", "assess_frame", "shift_years"]
