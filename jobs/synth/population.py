"""Vectorised generation of one chunk of the synthetic city: households, members, incomes,
口座振替 mandates and 特別徴収 candidates.

Everything is numpy on whole arrays; the only Python loops run over household types, name pools
and code lists, never over people. One chunk is drawn from its own random stream
(``SeedSequence([seed, chunk_no])``), so the city is a pure function of (seed, config, N).

Dates are int64 day numbers (days since 1970-01-01) until the frames are built; ``NAT`` (a very
negative number) marks a blank date.

Kinds of person record (``kind``):
    0 insured member (被保険者)
    1 擬制世帯主 never insured (the householder is in employee insurance or 後期高齢者医療)
    2 former member who moved to 後期高齢者医療 at 75 and stays in the household (特定同一世帯所属者)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from jobs.common import mynumber

from . import pools
from .config import SynthConfig

NAT = np.int64(-(10 ** 9))

REL_HEAD, REL_SPOUSE, REL_CHILD, REL_PARENT, REL_OTHER = 1, 2, 3, 4, 9
REL_ORDER = np.zeros(10, dtype=np.int64)
REL_ORDER[[REL_HEAD, REL_SPOUSE, REL_PARENT, REL_CHILD, REL_OTHER]] = [0, 1, 2, 3, 4]

KIND_INSURED, KIND_NOMINAL, KIND_FORMER = 0, 1, 2

# occupations (internal, for incomes)
OCC_NONE, OCC_SELF, OCC_SALARIED, OCC_PART, OCC_UNEMPLOYED, OCC_FARMER, OCC_FREELANCE, OCC_LANDLORD = range(8)
OCC_EMPLOYEE = 8  # 擬制世帯主 in employee insurance
OCC_NAMES = {"none": OCC_NONE, "self_employed": OCC_SELF, "salaried": OCC_SALARIED, "part_time": OCC_PART,
             "unemployed": OCC_UNEMPLOYED, "farmer": OCC_FARMER, "freelance": OCC_FREELANCE, "landlord": OCC_LANDLORD}

ELIGIBLE_SEPARATION = np.array(["11", "12", "21", "22", "23", "31", "32", "33", "34"], dtype=object)
INELIGIBLE_SEPARATION = np.array(["40", "45", "50", "55"], dtype=object)

# ID bijections: x -> (a*x + b) mod P, P prime, so distinct indices give distinct numbers
P10 = 8_999_999_993      # 宛名番号 / 世帯番号: 1_000_000_000 + value -> 10 digits
P11 = 99_999_999_977     # 個人番号 first 11 digits
P_PENSION = 9_999_999_967  # 基礎年金番号 (10 digits)


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------

def ymd(y, m, d) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    months = (y - 1970) * 12 + (np.asarray(m, dtype=np.int64) - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (np.asarray(d, np.int64) - 1)


def day_of(date: dt.date) -> np.int64:
    return np.int64((date - dt.date(1970, 1, 1)).days)


def add_years(days: np.ndarray, k) -> np.ndarray:
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    return (m + (np.asarray(k, dtype=np.int64) * 12).astype("timedelta64[M]")).astype("datetime64[D]").astype(np.int64) + dom


def years_between(birth: np.ndarray, on) -> np.ndarray:
    """Completed years from birth to ``on`` (calendar count)."""
    b = birth.astype("datetime64[D]")
    o = np.broadcast_to(np.asarray(on, dtype=np.int64), birth.shape).astype("datetime64[D]")
    by, oy = b.astype("datetime64[Y]").astype(np.int64), o.astype("datetime64[Y]").astype(np.int64)
    bm = b.astype("datetime64[M]").astype(np.int64) % 12
    om = o.astype("datetime64[M]").astype(np.int64) % 12
    bd = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    od = (o - o.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    before = (om < bm) | ((om == bm) & (od < bd))
    return oy - by - before.astype(np.int64)


def str_series(name: str, values: np.ndarray) -> pl.Series:
    """An object array of str/None (small code lists) as a String series."""
    return pl.Series(name, np.asarray(values, dtype=object).tolist(), dtype=pl.String)


def flag_series(name: str, mask: np.ndarray) -> pl.Series:
    """A boolean mask as "1"/"0"."""
    return pl.Series(name, np.asarray(mask, bool)).cast(pl.UInt8).cast(pl.String)


def date_series(name: str, days: np.ndarray) -> pl.Series:
    d = days.astype("datetime64[D]").copy()
    d[days == NAT] = np.datetime64("NaT")
    return pl.Series(name, d)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def choice_keys(rng: np.random.Generator, weights: dict, size: int) -> np.ndarray:
    """Indices into ``list(weights)`` drawn with the given weights."""
    p = np.array([float(v) for v in weights.values()], dtype=np.float64)
    return rng.choice(len(p), size=size, p=p / p.sum())


def lognormal(rng, median: float, sigma: float, size: int) -> np.ndarray:
    return np.round(rng.lognormal(np.log(median), sigma, size) / 100) * 100


def uniform_int(rng, low: int, high: int, size: int) -> np.ndarray:
    """Integers in [low, high] inclusive, rounded to 100 yen when the range is money-sized."""
    v = rng.integers(low, high + 1, size=size)
    return (v // 100) * 100 if high >= 100_000 else v


def bracket(values: np.ndarray, table: list) -> np.ndarray:
    """Piecewise linear: rows [upper (inclusive, null = no bound), rate, add]."""
    conds, outs = [], []
    for upper, rate, add in table:
        conds.append(values <= upper if upper is not None else np.ones(values.shape, bool))
        outs.append(np.floor(values * float(rate)) + int(add))
    return np.select(conds, outs).astype(np.int64)


def salary_income(rev: np.ndarray, rule: dict) -> np.ndarray:
    """給与所得 from 給与収入 (令和2年分以後; 4,000円 units between 162.5万 and 660万)."""
    rev = rev.astype(np.int64)
    a = np.where((rev >= rule["unit_from"]) & (rev < rule["unit_to"]), (rev // 4000) * 4000, rev)
    inc = bracket(a, rule["brackets"])
    return np.where(rev < rule["zero_below"], 0, np.maximum(inc, 0)).astype(np.int64)


def pension_income(rev: np.ndarray, age65: np.ndarray, rule: dict) -> np.ndarray:
    """公的年金等の雑所得 (公的年金等以外の所得 1,000万円以下 の控除表)."""
    rev = rev.astype(np.int64)
    hi = bracket(rev, rule["age65"])
    lo = bracket(rev, rule["under65"])
    return np.maximum(np.where(age65, hi, lo), 0).astype(np.int64)


def fw_digits(expr: pl.Expr) -> pl.Expr:
    """ASCII digits to full-width (for kanji address numbers)."""
    return expr.str.replace_many([str(i) for i in range(10)], pools.FULLWIDTH_DIGITS)


def ids_from_index(index: np.ndarray, a: int, b: int, p: int) -> np.ndarray:
    return (np.asarray(index, dtype=np.int64) * np.int64(a) + np.int64(b)) % np.int64(p)


@dataclass(frozen=True)
class Constants:
    """Per-city constants derived from the seed (ID bijections)."""

    person: tuple[int, int]
    household: tuple[int, int]
    my_number: tuple[int, int]
    pension: tuple[int, int]

    @classmethod
    def from_seed(cls, seed: int) -> "Constants":
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC17]))

        def ab(p):
            return int(rng.integers(1, p)), int(rng.integers(0, p))

        return cls(person=ab(P10), household=ab(P10), my_number=ab(P11), pension=ab(P_PENSION))


@dataclass
class Chunk:
    """The frames of one chunk, in the columns of the layouts, plus figures for the manifest."""

    qualification: pl.DataFrame
    income: pl.DataFrame
    mandate: pl.DataFrame
    pension: pl.DataFrame   # 特別徴収対象者 candidates (layout-neutral columns; see output.py)
    households: int
    persons: int
    insured: int
    stats: dict[str, int] = field(default_factory=dict)
    ltc: pl.DataFrame | None = None  # 介護保険 被保険者台帳 (layouts/ltc_ledger data columns)


# --------------------------------------------------------------------------------------------
# households and members
# --------------------------------------------------------------------------------------------

class _Members:
    def __init__(self):
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, hh, relation, age, sex, kind=KIND_INSURED, variant=0):
        n = len(hh)
        self.parts.append({
            "hh": np.asarray(hh, np.int64),
            "relation": np.full(n, relation, np.int64),
            "age": np.asarray(age, np.int64),
            "sex": np.asarray(sex, np.int64),
            "kind": np.broadcast_to(np.asarray(kind, np.int64), (n,)).copy(),
            "variant": np.broadcast_to(np.asarray(variant, np.int64), (n,)).copy(),
        })

    def build(self) -> dict[str, np.ndarray]:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.lexsort((-cols["age"], REL_ORDER[cols["relation"]], cols["hh"]))
        return {k: v[order] for k, v in cols.items()}


def _sex(rng, male_rate: float, n: int) -> np.ndarray:
    return np.where(rng.random(n) < male_rate, 1, 2)


def _age_buckets(rng, buckets: dict, n: int) -> np.ndarray:
    idx = choice_keys(rng, buckets, n)
    bounds = np.array([[int(x) for x in k.split("-")] for k in buckets], dtype=np.int64)
    lo, hi = bounds[idx, 0], bounds[idx, 1]
    return lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)


def _spouse_age(rng, head_age, low, high):
    return np.clip(head_age + np.round(rng.normal(-2, 3, len(head_age))).astype(np.int64), low, high)


def make_members(rng, cfg: SynthConfig, n_households: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    types = list(cfg["household_types"])
    htype = choice_keys(rng, cfg["household_types"], n_households)
    male = float(cfg["householder_male_rate"])
    m = _Members()
    for ti, name in enumerate(types):
        hh = np.flatnonzero(htype == ti)
        n = len(hh)
        if n == 0:
            continue
        sex = _sex(rng, male, n)
        if name == "single_elderly":
            m.add(hh, REL_HEAD, rng.integers(65, 75, n), sex)
        elif name == "elderly_couple":
            a = rng.integers(65, 75, n)
            m.add(hh, REL_HEAD, a, sex)
            m.add(hh, REL_SPOUSE, _spouse_age(rng, a, 60, 74), 3 - sex)
        elif name == "single_adult":
            m.add(hh, REL_HEAD, _age_buckets(rng, cfg["single_adult_age_buckets"], n), sex)
        elif name == "family":
            a = rng.integers(25, 60, n)
            m.add(hh, REL_HEAD, a, sex)
            m.add(hh, REL_SPOUSE, _spouse_age(rng, a, 20, 64), 3 - sex)
            k = np.array([int(x) for x in cfg["family_children"]])[choice_keys(rng, cfg["family_children"], n)]
            ch = np.repeat(hh, k)
            upper = np.clip(np.repeat(a, k) - 23, 1, 23)
            cage = np.floor(rng.random(len(ch)) * upper).astype(np.int64)
            cage = np.where(rng.random(len(ch)) < float(cfg["newborn_in_year_rate"]), -1, cage)
            m.add(ch, REL_CHILD, cage, rng.integers(1, 3, len(ch)))
        elif name == "adult_couple":
            a = rng.integers(40, 65, n)
            m.add(hh, REL_HEAD, a, sex)
            m.add(hh, REL_SPOUSE, _spouse_age(rng, a, 35, 64), 3 - sex)
        elif name == "elderly_with_child":
            a = rng.integers(65, 75, n)
            m.add(hh, REL_HEAD, a, sex)
            m.add(hh, REL_CHILD, np.minimum(rng.integers(22, 50, n), a - 20), rng.integers(1, 3, n))
        elif name == "nominal":
            kind = choice_keys(rng, cfg["nominal_member_kind"], n)  # parents, child, spouse
            keys = list(cfg["nominal_member_kind"])
            parents, child, spouse = (kind == keys.index("parents"), kind == keys.index("child"),
                                      kind == keys.index("spouse"))
            a = np.where(parents, rng.integers(30, 51, n), np.where(child, rng.integers(45, 65, n), rng.integers(30, 65, n)))
            m.add(hh, REL_HEAD, a, sex, KIND_NOMINAL)
            two = parents & (rng.random(n) < 0.5)
            p1 = hh[parents]
            m.add(p1, REL_PARENT, rng.integers(65, 75, len(p1)), np.where(two[parents], 1, _sex(rng, 0.35, len(p1))))
            p2 = hh[two]
            m.add(p2, REL_PARENT, rng.integers(65, 75, len(p2)), np.full(len(p2), 2))
            c = hh[child]
            m.add(c, REL_CHILD, rng.integers(18, 31, len(c)), rng.integers(1, 3, len(c)))
            s = hh[spouse]
            m.add(s, REL_SPOUSE, _spouse_age(rng, a[spouse], 25, 64), 3 - sex[spouse])
        elif name == "former_dependent":
            m.add(hh, REL_HEAD, rng.integers(75, 80, n), np.ones(n, np.int64), KIND_NOMINAL, variant=1)
            m.add(hh, REL_SPOUSE, rng.integers(65, 75, n), np.full(n, 2), KIND_INSURED, variant=1)
        elif name == "specified":
            head_former = rng.random(n) < float(cfg["specified_householder_is_former"])
            old = rng.integers(75, 83, n)
            young = rng.integers(65, 75, n)
            m.add(hh, REL_HEAD, np.where(head_former, old, young), sex, np.where(head_former, KIND_FORMER, KIND_INSURED))
            m.add(hh, REL_SPOUSE, np.where(head_former, young, old), 3 - sex, np.where(head_former, KIND_INSURED, KIND_FORMER))
        else:
            raise ValueError(f"config/synth.yaml: unknown household type {name!r}")
    return htype, m.build()


def trim_to_insured(cols: dict[str, np.ndarray], n_households: int, remaining: int) -> tuple[dict[str, np.ndarray], int]:
    """Keep whole households until exactly ``remaining`` insured members; the last household
    loses its excess insured members (the youngest listed last)."""
    ins = cols["kind"] == KIND_INSURED
    per = np.bincount(cols["hh"][ins], minlength=n_households)
    cum = np.cumsum(per)
    if cum[-1] <= remaining:
        return cols, n_households
    h_star = int(np.searchsorted(cum, remaining))
    excess = int(cum[h_star] - remaining)
    keep = cols["hh"] <= h_star
    if excess:
        rows = np.flatnonzero((cols["hh"] == h_star) & ins)
        keep[rows[len(rows) - excess:]] = False
    return {k: v[keep] for k, v in cols.items()}, h_star + 1


# --------------------------------------------------------------------------------------------
# the chunk
# --------------------------------------------------------------------------------------------

def generate_chunk(cfg: SynthConfig, consts: Constants, seed: int, chunk_no: int, *, remaining_insured: int,
                   person_offset: int, household_offset: int, as_of: dt.date,
                   broken_my_number_rate: float = 0.0) -> Chunk:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(chunk_no)]))
    fy = cfg.fiscal_year
    F = day_of(dt.date(fy, 4, 1))
    A = day_of(as_of)
    window = int(A - F)  # days after 4/1 up to the base date

    # every household has at least one insured member, so `remaining` households always suffice
    H = min(int(cfg["households_per_chunk"]), int(remaining_insured))
    htype, cols = make_members(rng, cfg, H)
    cols, H = trim_to_insured(cols, H, remaining_insured)
    hh = cols["hh"]
    P = len(hh)
    age = cols["age"]
    sex = cols["sex"]
    kind = cols["kind"]
    rel = cols["relation"]
    variant = cols["variant"]
    htype = htype[:H]
    is_head = rel == REL_HEAD
    head_idx = np.full(H, -1, np.int64)
    head_idx[hh[is_head]] = np.flatnonzero(is_head)
    spouse_idx = np.full(H, -1, np.int64)
    sp = np.flatnonzero(rel == REL_SPOUSE)
    spouse_idx[hh[sp]] = sp
    size = np.bincount(hh, minlength=H)

    # ---- birth dates ----
    anchor = ymd(fy - np.maximum(age, 0), 4, 1)
    birth = anchor - rng.integers(0, 365, P)
    newborn = age < 0
    if window > 0:
        birth[newborn] = F + rng.integers(1, window + 1, int(newborn.sum()))
    else:
        birth[newborn] = F
    age_f = np.maximum(age, 0)  # age on 4/1 of the fiscal year (newborns 0)
    bd75 = add_years(birth, 75)

    # ---- qualification dates ----
    join = rng.random(H) < float(cfg["join_in_year_rate"])
    types = list(cfg["household_types"])
    for t in ("former_dependent", "specified"):  # their history is fixed by a 75th birthday
        if t in types:
            join &= htype != types.index(t)
    past = F - 1 - np.floor(rng.exponential(6.0 * 365.25, H)).astype(np.int64)
    hh_acq = np.where(join & (window > 0), F + rng.integers(1, max(window, 1) + 1, H), np.maximum(past, day_of(dt.date(1990, 4, 1))))
    acq = np.maximum(hh_acq[hh], birth)
    reason_keys = np.array(list(cfg["acquired_reasons_adult"]), dtype=object)
    acq_reason = reason_keys[choice_keys(rng, cfg["acquired_reasons_adult"], P)]
    # a household joins for one reason: members follow the householder
    acq_reason = acq_reason[np.where(head_idx[hh] >= 0, head_idx[hh], np.arange(P))]
    born_in = birth >= hh_acq[hh]
    acq_reason = np.where(born_in, "03", acq_reason)
    lost = np.full(P, NAT)
    lost_reason = np.full(P, None, dtype=object)
    specified = kind == KIND_FORMER
    nominal = (kind == KIND_NOMINAL) | ((kind == KIND_FORMER) & is_head)
    former_dep = np.zeros(P, bool)

    # never insured 擬制世帯主: no 資格
    acq = np.where(kind == KIND_NOMINAL, NAT, acq)
    acq_reason = np.where(kind == KIND_NOMINAL, None, acq_reason)
    # 特定同一世帯所属者: insured before, lost at 75 (後期高齢者医療)
    fm = kind == KIND_FORMER
    acq[fm] = np.minimum(acq[fm], bd75[fm] - 365 - rng.integers(0, 3650, int(fm.sum())))
    acq_reason[fm] = np.where(acq[fm] <= birth[fm], "03", acq_reason[fm])
    acq[fm] = np.maximum(acq[fm], birth[fm])
    lost[fm] = bd75[fm]
    lost_reason[fm] = "04"
    # 旧被扶養者: joined when the (employee-insured) householder moved to 後期 at 75
    fd = (variant == 1) & (kind == KIND_INSURED)
    if fd.any():
        h75 = bd75[head_idx[hh[fd]]]
        acq[fd] = h75
        acq_reason[fd] = "02"
        former_dep[fd] = years_between(birth[fd], h75) >= 65

    # losses in the year: turning 75 before the base date
    ins = kind == KIND_INSURED
    late = ins & (acq != NAT) & (acq >= bd75)  # nobody joins at 75: a mid-year household's 74-year-old was in before
    if late.any():
        acq[late] = np.maximum(birth[late], F - rng.integers(1, 3650, int(late.sum())))
    t75 = ins & (bd75 > F) & (bd75 <= A)
    lost[t75] = bd75[t75]
    lost_reason[t75] = "04"
    # other losses: whole single households, or non-head members
    single = size[hh] == 1
    cand = ins & (lost == NAT) & (acq < A - 1) & (single | ~is_head)
    lose = cand & (rng.random(P) < float(cfg["loss_in_year_rate"]))
    if lose.any():
        lo = np.maximum(acq[lose], F) + 1
        span = np.maximum(A - lo, 0)
        lost[lose] = lo + np.floor(rng.random(int(lose.sum())) * (span + 1)).astype(np.int64)
        lk = np.array(list(cfg["loss_reasons"]), dtype=object)
        lost_reason[lose] = lk[choice_keys(rng, cfg["loss_reasons"], int(lose.sum()))]
    # who is still insured at the base date; a head who turned 75 with insured members left
    # becomes a 擬制世帯主 and a 特定同一世帯所属者
    active = ins & (lost == NAT)
    active_per_hh = np.bincount(hh[active], minlength=H)
    others_left = active_per_hh[hh] > 0
    specified |= t75 & others_left
    nominal |= t75 & is_head & others_left

    # 非自発的失業
    recent = ins & (acq_reason == "02") & (acq >= ymd(fy - 2, 4, 1)) & (age_f >= 20) & (age_f <= 64) & ~former_dep
    invol = recent & (rng.random(P) < float(cfg["involuntary_unemployed_rate"]))
    sep_date = np.full(P, NAT)
    sep_date[invol] = acq[invol] - 1
    sep_code = np.full(P, None, dtype=object)
    ni = int(invol.sum())
    inel = rng.random(ni) < float(cfg["involuntary_ineligible_code_rate"])
    sep_code[invol] = np.where(inel, INELIGIBLE_SEPARATION[rng.integers(0, len(INELIGIBLE_SEPARATION), ni)],
                               ELIGIBLE_SEPARATION[rng.integers(0, len(ELIGIBLE_SEPARATION), ni)])

    # 産前産後
    peri = ins & (lost == NAT) & (sex == 2) & (age_f >= 18) & (age_f <= 45) & (rng.random(P) < float(cfg["perinatal_rate"]))
    due = np.full(P, NAT)
    due[peri] = F + rng.integers(-60, 401, int(peri.sum()))
    multi = np.full(P, None, dtype=object)
    multi[peri] = np.where(rng.random(int(peri.sum())) < float(cfg["multiple_birth_rate"]), "1", "0")

    # 介護適用除外
    ltc = ins & (age_f >= 40) & (age_f <= 64) & (rng.random(P) < float(cfg["ltc_exempt_rate"]))
    ltc_start = np.full(P, NAT)
    ltc_start[ltc] = np.maximum(acq[ltc], F - rng.integers(0, 3650, int(ltc.sum())))

    # ---- identifiers ----
    gi = person_offset + np.arange(P, dtype=np.int64)
    ghh = household_offset + hh
    person_id = 1_000_000_000 + ids_from_index(gi, *consts.person, P10)
    household_id = 1_000_000_000 + ids_from_index(ghh, *consts.household, P10)
    first11 = ids_from_index(gi, *consts.my_number, P11)
    digits = (first11[:, None] // (10 ** np.arange(10, -1, -1, dtype=np.int64))) % 10
    cd = mynumber.check_digits_array(digits)
    broken = rng.random(P) < float(broken_my_number_rate)
    cd = np.where(broken, (cd + rng.integers(1, 10, P)) % 10, cd)
    mn_blank = rng.random(P) < float(cfg["my_number_blank_rate"])
    my_number = pl.Series("my_number", first11 * 10 + cd).cast(pl.String).str.zfill(12)
    my_number = pl.select(pl.when(pl.Series(mn_blank)).then(None).otherwise(my_number)).to_series().alias("my_number")

    # ---- names ----
    sn_k, sn_h = pools.arrays(pools.SURNAMES)
    zipf = 1.0 / np.arange(1, len(sn_k) + 1) ** 0.6
    sur = rng.choice(len(sn_k), size=H, p=zipf / zipf.sum())[hh]
    gpools = pools.given_name_pools()
    g_k = np.concatenate([gpools[(s, e)][0] for s in (1, 2) for e in (0, 1, 2)])
    g_h = np.concatenate([gpools[(s, e)][1] for s in (1, 2) for e in (0, 1, 2)])
    sizes = np.array([len(gpools[(s, e)][0]) for s in (1, 2) for e in (0, 1, 2)])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    byear = birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    era = np.where(byear < pools.ERA_BOUNDS[0], 0, np.where(byear < pools.ERA_BOUNDS[1], 1, 2))
    combo = (sex - 1) * 3 + era
    given = offsets[combo] + np.floor(rng.random(P) * sizes[combo]).astype(np.int64)
    names = pl.DataFrame({
        "sk": pl.Series(sn_k).gather(sur), "sh": pl.Series(sn_h).gather(sur),
        "gk": pl.Series(g_k).gather(given), "gh": pl.Series(g_h).gather(given),
    }).select(
        pl.concat_str([pl.col("sk"), pl.lit("　"), pl.col("gk")]).alias("name_kanji"),
        pl.concat_str([pl.col("sh"), pl.lit(" "), pl.col("gh")]).alias("name_kana"),
    )

    # ---- addresses (per household) ----
    city = cfg["city"]
    w_k, w_h = pools.arrays(pools.WARDS)
    t_k, t_h = pools.arrays(pools.TOWNS)
    b_k, b_h = pools.arrays(pools.BUILDINGS)
    ward = rng.integers(0, len(w_k), H)
    town = rng.integers(0, len(t_k), H)
    chome = rng.integers(1, 6, H)
    ban = rng.integers(1, 31, H)
    go = rng.integers(1, 26, H)
    bldg = rng.random(H) < 0.3
    bname = rng.integers(0, len(b_k), H)
    room = rng.integers(1, 10, H) * 100 + rng.integers(1, 10, H)
    addr = pl.DataFrame({
        "ward_k": pl.Series(w_k).gather(ward), "ward_h": pl.Series(w_h).gather(ward),
        "town_k": pl.Series(t_k).gather(town), "town_h": pl.Series(t_h).gather(town),
        "bn_k": pl.Series(b_k).gather(bname), "bn_h": pl.Series(b_h).gather(bname),
        "chome": chome, "ban": ban, "go": go, "room": room, "bldg": bldg,
        "postal": (int(city["postal_prefix"]) * 10000 + (ward + 1) * 1000 + (town + 1) * 10 + chome),
    }).select(
        pl.concat_str([
            pl.lit(city["prefecture"] + city["name"]), pl.col("ward_k"), pl.col("town_k"),
            fw_digits(pl.col("chome").cast(pl.String)), pl.lit("丁目"),
            fw_digits(pl.col("ban").cast(pl.String)), pl.lit("番"),
            fw_digits(pl.col("go").cast(pl.String)), pl.lit("号"),
            pl.when(pl.col("bldg")).then(pl.concat_str([pl.lit("　"), pl.col("bn_k"), pl.col("town_k"),
                                                         fw_digits(pl.col("room").cast(pl.String))]))
            .otherwise(pl.lit("")),
        ]).alias("address_kanji"),
        pl.concat_str([
            pl.lit(city["prefecture_kana"] + city["name_kana"]), pl.col("ward_h"), pl.col("town_h"),
            pl.col("chome").cast(pl.String), pl.lit("-"), pl.col("ban").cast(pl.String), pl.lit("-"),
            pl.col("go").cast(pl.String),
            pl.when(pl.col("bldg")).then(pl.concat_str([pl.lit(" "), pl.col("bn_h"), pl.col("town_h"),
                                                         pl.col("room").cast(pl.String)]))
            .otherwise(pl.lit("")),
        ]).alias("address_kana"),
        pl.col("postal").cast(pl.String).str.zfill(7).alias("postal_code"),
    )
    addr_p = addr.select(pl.all().gather(pl.Series(hh)))

    # ---- incomes (calendar year fy-1) ----
    inc = _incomes(rng, cfg, fy, P, H, hh, age_f, kind, rel, head_idx, spouse_idx, birth, invol, variant)
    # no 住民税 record in this city: born in the fiscal year's calendar year or moved in after 1/1
    jan1 = day_of(dt.date(fy, 1, 1))
    has_income = ~((birth >= jan1) | ((acq_reason == "01") & (acq >= jan1) & (acq != NAT)))

    undeclared = _undeclared(rng, cfg, inc, age_f, has_income, kind)
    for k in ("salary_revenue", "pension_revenue", "business_income", "agricultural_income", "real_estate_income",
              "misc_income", "separate_transfer_income", "separate_dividend_income", "forest_income",
              "retirement_income", "family_employee_salary", "family_employee_deduction"):
        inc[k] = np.where(undeclared, 0, inc[k])
    age65_dec31 = birth <= ymd(fy - 65, 1, 1)
    rules = cfg["salary_deduction"]
    if str(fy - 1) not in rules:
        raise ValueError(f"config/synth.yaml: salary_deduction has no rule for income year {fy - 1}")
    inc["salary_income"] = salary_income(inc["salary_revenue"], rules[str(fy - 1)])
    inc["pension_income"] = pension_income(inc["pension_revenue"], age65_dec31, cfg["pension_deduction"])
    total = np.maximum(inc["salary_income"] + inc["pension_income"] + inc["business_income"] + inc["agricultural_income"]
                       + inc["real_estate_income"] + inc["misc_income"], 0)
    aggregate = total + inc["separate_transfer_income"] + inc["separate_dividend_income"] + inc["forest_income"]
    other = (inc["business_income"] != 0) | (inc["agricultural_income"] != 0) | (inc["real_estate_income"] != 0) | \
            (inc["misc_income"] != 0) | (inc["separate_transfer_income"] != 0) | (inc["forest_income"] != 0) | \
            (inc["separate_dividend_income"] != 0) | (inc["retirement_income"] != 0)
    sal, pen = inc["salary_revenue"] > 0, inc["pension_revenue"] > 0
    decl = np.select(
        [undeclared, other, sal & pen, sal, pen, age_f < 16],
        ["0", "1", "2", "3", "4", "5"],
        default=np.where(rng.random(P) < 0.5, "2", "6"),
    ).astype(object)

    # ---- frames ----
    muni = cfg.municipality_code
    q = pl.DataFrame({
        "municipality_code": pl.Series([muni] * P, dtype=pl.String),
        "person_id": pl.Series(person_id).cast(pl.String),
        "my_number": my_number,
        "household_id": pl.Series(household_id).cast(pl.String),
        "householder_flag": flag_series("", is_head),
        "nominal_householder_flag": flag_series("", nominal),
        "relation": pl.Series(rel).cast(pl.String).str.zfill(2),
        "name_kanji": names["name_kanji"],
        "name_kana": names["name_kana"],
        "birth_date": date_series("birth_date", birth),
        "sex": pl.Series(sex).cast(pl.String),
        "acquired_date": date_series("acquired_date", acq),
        "acquired_reason": str_series("acq_reason", acq_reason),
        "lost_date": date_series("lost_date", lost),
        "lost_reason": str_series("lost_reason", lost_reason),
        "specified_same_household": flag_series("", specified),
        "former_dependent": flag_series("", former_dep),
        "separation_date": date_series("separation_date", sep_date),
        "separation_reason_code": str_series("sep_code", sep_code),
        "expected_birth_date": date_series("expected_birth_date", due),
        "multiple_birth": str_series("multi", multi),
        "ltc_exempt": flag_series("", ltc),
        "ltc_exempt_start": date_series("ltc_exempt_start", ltc_start),
        "postal_code": addr_p["postal_code"],
        "address_kanji": addr_p["address_kanji"],
    })

    sel = np.flatnonzero(has_income)
    income = pl.DataFrame({
        "municipality_code": pl.Series([muni] * len(sel), dtype=pl.String),
        "person_id": q["person_id"].gather(sel),
        "my_number": my_number.gather(sel),
        "fiscal_year": pl.Series([str(fy)] * len(sel), dtype=pl.String),
        "change_kind": pl.Series(["1"] * len(sel), dtype=pl.String),
        "correction_date": pl.Series([None] * len(sel), dtype=pl.Date),
        "declaration_kind": str_series("declaration_kind", decl[sel]),
        "total_income": total[sel],
        "aggregate_income": aggregate[sel],
        "salary_revenue": inc["salary_revenue"][sel],
        "salary_income": inc["salary_income"][sel],
        "pension_revenue": inc["pension_revenue"][sel],
        "pension_income": inc["pension_income"][sel],
        "family_employee_salary": inc["family_employee_salary"][sel],
        "family_employee_deduction": inc["family_employee_deduction"][sel],
        "business_income": inc["business_income"][sel],
        "agricultural_income": inc["agricultural_income"][sel],
        "real_estate_income": inc["real_estate_income"][sel],
        "misc_income": inc["misc_income"][sel],
        "separate_transfer_income": inc["separate_transfer_income"][sel],
        "separate_dividend_income": inc["separate_dividend_income"][sel],
        "forest_income": inc["forest_income"][sel],
        "retirement_income": inc["retirement_income"][sel],
    })

    mandate, mstats = _mandates(rng, cfg, H, hh_acq, F, A, head_idx, q, names)

    # ---- 特別徴収 candidates (Z21 通知内容 00) ----
    tk = cfg["tokucho"]
    in_z21 = has_income & (age_f >= int(tk["age_low"])) & (age_f <= int(tk["age_high"])) & \
        (inc["pension_revenue"] >= int(tk["pension_min"]))
    zi = np.flatnonzero(in_z21)
    payer_keys = np.array(list(tk["payers"]), dtype=object)
    pcodes = np.array(tk["pension_codes"], dtype=object)
    pension_no = ids_from_index(gi[zi], *consts.pension, P_PENSION)
    pension = pl.DataFrame({
        "payer_code": str_series("payer_code", payer_keys[choice_keys(rng, tk["payers"], len(zi))]),
        "basic_pension_number": pl.Series(pension_no).cast(pl.String).str.zfill(10),
        "pension_code": str_series("pension_code", pcodes[rng.integers(0, len(pcodes), len(zi))]),
        "birth_date": q["birth_date"].gather(zi),
        "sex": q["sex"].gather(zi),
        "name_kana": q["name_kana"].gather(zi),
        "name_kanji": q["name_kanji"].gather(zi),
        "postal_code": q["postal_code"].gather(zi),
        "address_kana": addr_p["address_kana"].gather(zi),
        "address_kanji": q["address_kanji"].gather(zi),
        "kind_code": str_series("kind_code", np.where(rng.random(len(zi)) < float(tk["continuing_rate"]), "02", "01")),
        "pension_amount": inc["pension_revenue"][zi],
    })

    ltc_rows = _ltc_ledger(cfg, q, my_number, age_f, total, zi, pension)

    # ---- figures for the manifest ----
    insured_rec = kind == KIND_INSURED
    base = np.maximum(aggregate - 430_000, 0) * (insured_rec & has_income)
    hh_base = np.bincount(hh, weights=base, minlength=H)
    care_base = np.bincount(hh, weights=base * ((age_f >= 40) & (age_f <= 64)), minlength=H)
    cap, care_cap = float(cfg["over_cap_base"]), float(cfg["over_cap_care_base"])
    head_ok = (head_idx >= 0)
    hk = head_idx[head_ok]
    act_young = active & ((age_f < int(tk["age_low"])) | (age_f > int(tk["age_high"])))
    bad_member = np.bincount(hh[act_young], minlength=H) > 0
    cand = np.zeros(H, bool)
    cand[head_ok] = (kind[hk] == KIND_INSURED) & active[hk] & in_z21[hk] & ~bad_member[head_ok]
    und_hh = np.bincount(hh[undeclared], minlength=H) > 0
    preschool = insured_rec & (birth > ymd(fy - 6, 4, 1))
    stats = {
        "households": H,
        "records_qualification": P,
        "insured": int(insured_rec.sum()),
        "insured_active_at_base_date": int(active.sum()),
        "nominal_householders": int(nominal.sum()),
        "specified_same_household": int(specified.sum()),
        "former_dependents": int(former_dep.sum()),
        "insured_0_5_preschool": int(preschool.sum()),
        "insured_40_64": int((insured_rec & (age_f >= 40) & (age_f <= 64)).sum()),
        "insured_65_74": int((insured_rec & (age_f >= 65) & (age_f <= 74)).sum()),
        "joined_in_year": int((insured_rec & (acq > F)).sum()),
        "lost_in_year": int((insured_rec & (lost > F) & (lost <= A)).sum()),
        "involuntary_unemployed": int(invol.sum()),
        "perinatal": int(peri.sum()),
        "ltc_exempt": int(ltc.sum()),
        "undeclared_persons": int(undeclared.sum()),
        "households_with_undeclared": int(und_hh.sum()),
        "households_over_cap_base": int(((hh_base >= cap) & (care_base >= care_cap)).sum()),
        "tokucho_candidate_households": int(cand.sum()),
        "my_numbers_broken": int((broken & ~mn_blank).sum()),
        "my_numbers_blank": int(mn_blank.sum()),
        "ltc_first_insured": ltc_rows.height,
        "ltc_withholding": int((ltc_rows["ltc_withholding"] == "1").sum()),
        "ltc_premium_total": int(ltc_rows["ltc_premium_annual"].sum() or 0),
        **mstats,
    }
    for ti, name in enumerate(cfg["household_types"]):
        stats[f"households_{name}"] = int((htype == ti).sum())
    return Chunk(qualification=q, income=income, mandate=mandate, pension=pension, households=H, persons=P,
                 insured=int(insured_rec.sum()), stats=stats, ltc=ltc_rows)


def _ltc_ledger(cfg: SynthConfig, q: pl.DataFrame, my_number: pl.Series, age_f: np.ndarray, total: np.ndarray,
                zi: np.ndarray, pension: pl.DataFrame) -> pl.DataFrame:
    """The 介護保険 被保険者台帳 rows (第1号被保険者: 65 and over on 4/1) of the chunk, without a draw
    of the chunk's random stream (the other files stay as they were). The 介護保険料 is the
    standard annual amount × the 段階 ratio of the person's 合計所得 (config kaigo); the persons of
    the Z21 file (年金 ≥ 18万円) have it withheld from that same pension (特別徴収区分 1)."""
    kc = cfg["kaigo"]
    first = np.flatnonzero(age_f >= int(kc["age_min"]))
    bounds = np.array([int(b) for b, _ in kc["income_steps"]], dtype=np.int64)
    ratios = np.array([float(r) for _, r in kc["income_steps"]])
    step = np.searchsorted(bounds, total[first], side="right")
    step = np.minimum(step, len(ratios) - 1)
    unit = int(kc["premium_unit"])
    premium = (np.floor(int(kc["standard_annual"]) * ratios[step] / unit) * unit).astype(np.int64)
    w = np.zeros(len(age_f), bool)
    w[zi] = True
    payer = pl.Series([None] * len(age_f), dtype=pl.String).scatter(zi, pension["payer_code"]) if len(zi) else \
        pl.Series([None] * len(age_f), dtype=pl.String)
    pcode = pl.Series([None] * len(age_f), dtype=pl.String).scatter(zi, pension["pension_code"]) if len(zi) else payer
    bpn = pl.Series([None] * len(age_f), dtype=pl.String).scatter(zi, pension["basic_pension_number"]) if len(zi) else payer
    birth = q["birth_date"].gather(first)
    start = pl.select(pl.max_horizontal(birth.dt.offset_by(f"{int(kc['age_min'])}y").dt.offset_by("-1d"),
                                        pl.lit(dt.date.fromisoformat(str(kc["scheme_start"]))))).to_series()
    pid = q["person_id"].gather(first)
    return pl.DataFrame({
        "municipality_code": q["municipality_code"].gather(first),
        "person_id": pid,
        "my_number": my_number.gather(first),
        "ltc_insured_number": pid.str.slice(1).str.pad_start(10, "9").str.replace("^.", "9"),
        "ltc_acquired_date": start,
        "ltc_lost_date": pl.Series([None] * len(first), dtype=pl.Date),
        "ltc_premium_annual": pl.Series(premium, dtype=pl.Int64),
        "ltc_withholding": pl.Series(np.where(w[first], "1", "0"), dtype=pl.String),
        "ltc_payer_code": payer.gather(first),
        "ltc_pension_code": pcode.gather(first),
        "basic_pension_number": bpn.gather(first),
    })


def _incomes(rng, cfg, fy, P, H, hh, age_f, kind, rel, head_idx, spouse_idx, birth, invol, variant) -> dict[str, np.ndarray]:
    z = lambda: np.zeros(P, np.int64)  # noqa: E731
    out = {k: z() for k in ("salary_revenue", "pension_revenue", "business_income", "agricultural_income",
                            "real_estate_income", "misc_income", "separate_transfer_income",
                            "separate_dividend_income", "forest_income", "retirement_income",
                            "family_employee_salary", "family_employee_deduction")}
    occ = np.full(P, OCC_NONE, np.int64)
    working = (age_f >= 20) & (age_f <= 64) & (kind == KIND_INSURED)
    keys = list(cfg["occupation_working_age"])
    draw = np.array([OCC_NAMES[k] for k in keys])[choice_keys(rng, cfg["occupation_working_age"], P)]
    occ = np.where(working, draw, occ)
    teen = (age_f >= 16) & (age_f <= 19) & (rng.random(P) < 0.2)
    occ = np.where(teen, OCC_PART, occ)
    elderly = (age_f >= 65) & (age_f <= 74)
    side = elderly & (rng.random(P) < float(cfg["elderly_side_income_rate"]))
    side_kind = rng.random(P)
    occ = np.where(side, np.where(side_kind < 0.5, OCC_PART, np.where(side_kind < 0.8, OCC_SELF, OCC_LANDLORD)), occ)
    employee = (kind == KIND_NOMINAL) & (age_f < 75)
    occ = np.where(employee, OCC_EMPLOYEE, occ)

    # salary
    s_cfg, pt = cfg["salary"], cfg["part_time"]
    nm = cfg["nominal_householder_salary"]
    out["salary_revenue"] = np.select(
        [occ == OCC_SALARIED, occ == OCC_PART, occ == OCC_EMPLOYEE],
        [lognormal(rng, s_cfg["median"], s_cfg["sigma"], P), uniform_int(rng, pt["low"], pt["high"], P),
         lognormal(rng, nm["median"], nm["sigma"], P)], 0).astype(np.int64)
    # the 非自発的失業者 worked last year
    need = invol & (out["salary_revenue"] == 0)
    out["salary_revenue"] = np.where(need, lognormal(rng, s_cfg["median"], s_cfg["sigma"], P), out["salary_revenue"]).astype(np.int64)

    def with_losses(c, mask):
        v = lognormal(rng, c["median"], c["sigma"], P)
        loss = rng.random(P) < float(c["loss_rate"])
        v = np.where(loss, -uniform_int(rng, int(c["loss_low"]), int(c["loss_high"]), P), v)
        return np.where(mask, v, 0).astype(np.int64)

    out["business_income"] = with_losses(cfg["business"], occ == OCC_SELF)
    out["agricultural_income"] = with_losses(cfg["farm"], occ == OCC_FARMER)
    out["real_estate_income"] = with_losses(cfg["real_estate"], occ == OCC_LANDLORD)
    mc = cfg["misc"]
    out["misc_income"] = np.where(occ == OCC_FREELANCE, lognormal(rng, mc["median"], mc["sigma"], P), 0).astype(np.int64)

    # high incomes: a self-employed householder far above every cap
    hi_hh = rng.random(H) < float(cfg["high_income_household_rate"])
    heads = head_idx[hi_hh]
    heads = heads[(heads >= 0)]
    heads = heads[(kind[heads] == KIND_INSURED) & (age_f[heads] >= 25) & (age_f[heads] <= 74)]
    hc = cfg["high_income"]
    out["business_income"][heads] = np.round(float(hc["scale"]) * (1.0 + rng.pareto(float(hc["pareto_shape"]), len(heads))) / 1000) * 1000
    occ[heads] = OCC_SELF

    # 専従者給与: self-employed head pays the insured spouse
    fe = cfg["family_employee_salary"]
    h_all = np.flatnonzero(head_idx >= 0)
    hidx, sidx = head_idx[h_all], spouse_idx[h_all]
    ok = (sidx >= 0)
    hidx, sidx = hidx[ok], sidx[ok]
    ok = (occ[hidx] == OCC_SELF) & (kind[hidx] == KIND_INSURED) & (kind[sidx] == KIND_INSURED) & \
         (age_f[sidx] >= 18) & (age_f[sidx] <= 74) & (rng.random(len(hidx)) < float(cfg["family_employee_rate"]))
    hidx, sidx = hidx[ok], sidx[ok]
    amt = uniform_int(rng, int(fe["low"]), int(fe["high"]), len(hidx))
    out["family_employee_deduction"][hidx] = amt
    out["business_income"][hidx] -= amt
    out["family_employee_salary"][sidx] = amt
    out["salary_revenue"][sidx] = amt

    # pensions
    pc = cfg["pension"]
    small = rng.random(P) < float(pc["none_or_small_rate_65"])
    p65 = np.where(small, np.where(rng.random(P) < 0.5, 0, uniform_int(rng, 10_000, 179_900, P)),
                   lognormal(rng, pc["median_65"], pc["sigma_65"], P))
    early = (age_f >= 60) & (age_f <= 64) & (rng.random(P) < float(pc["early_rate_60_64"]))
    retiree = lognormal(rng, pc["employee_retiree_median"], 0.3, P)
    old = age_f >= 75
    out["pension_revenue"] = np.select(
        [elderly, early, old & (variant == 1), old],
        [p65, lognormal(rng, pc["median_60_64"], 0.4, P), retiree, lognormal(rng, pc["median_65"], pc["sigma_65"], P)],
        0).astype(np.int64)

    # separate taxation and the rest
    adult = age_f >= 20
    for key, col, lo_age in (("separate_transfer", "separate_transfer_income", 30),
                             ("separate_dividend", "separate_dividend_income", 20),
                             ("forest", "forest_income", 40)):
        c = cfg[key]
        m = adult & (age_f >= lo_age) & (rng.random(P) < float(c["rate"]))
        out[col] = np.where(m, uniform_int(rng, int(c["low"]), int(c["high"]), P), 0).astype(np.int64)
    rc = cfg["retirement"]
    m = (age_f >= 55) & (age_f <= 64) & (rng.random(P) < float(rc["rate_55_64"]))
    out["retirement_income"] = np.where(m, uniform_int(rng, int(rc["low"]), int(rc["high"]), P), 0).astype(np.int64)
    out["_occupation"] = occ
    return out


def _undeclared(rng, cfg, inc, age_f, has_income, kind) -> np.ndarray:
    """未申告: persons 16+ with nothing reported by an employer or a pension payer."""
    adult = has_income & (age_f >= 16)
    occ = inc["_occupation"]
    eligible = adult & (kind != KIND_NOMINAL) & (inc["pension_revenue"] == 0) & (inc["family_employee_salary"] == 0) & \
        (inc["family_employee_deduction"] == 0) & \
        np.isin(occ, [OCC_NONE, OCC_SELF, OCC_UNEMPLOYED, OCC_FREELANCE, OCC_FARMER]) & \
        (inc["business_income"] < 10_000_000) & (inc["salary_revenue"] == 0)
    n_elig = int(eligible.sum())
    if n_elig == 0:
        return np.zeros(len(age_f), bool)
    p = min(1.0, float(cfg["undeclared_rate"]) * int(adult.sum()) / n_elig)
    return eligible & (rng.random(len(age_f)) < p)


def _mandates(rng, cfg, H, hh_acq, F, A, head_idx, q: pl.DataFrame, names: pl.DataFrame):
    dd = cfg["direct_debit"]
    has = (rng.random(H) < float(dd["mandate_rate"])) & (head_idx >= 0)
    mh = np.flatnonzero(has)
    n = len(mh)
    payer = head_idx[mh]
    lo = np.maximum(hh_acq[mh], F - 3650)
    recv1 = np.minimum(np.where(hh_acq[mh] > F, hh_acq[mh] + rng.integers(0, 31, n),
                                lo + np.floor(rng.random(n) * np.maximum(F - 30 - lo, 1)).astype(np.int64)), A)
    room1 = A - recv1
    change = (rng.random(n) < float(dd["change_rate"])) & (room1 >= 2)
    recv2 = recv1 + 1 + np.floor(rng.random(n) * np.maximum(room1 - 1, 1)).astype(np.int64)
    last = np.where(change, recv2, recv1)
    stop = (rng.random(n) < float(dd["stop_rate"])) & (A - last >= 1)
    recv3 = last + 1 + np.floor(rng.random(n) * np.maximum(A - last, 1)).astype(np.int64)
    recv3 = np.minimum(recv3, A)

    bank_keys = np.array(list(dd["banks"]), dtype=object)

    def account(k):
        return (bank_keys[choice_keys(rng, dd["banks"], k)],
                rng.integers(1, int(dd["branch_code_max"]) + 1, k),
                np.where(rng.random(k) < float(dd["current_account_rate"]), "2", "1").astype(object),
                rng.integers(0, 10_000_000, k))

    b1, br1, t1, a1 = account(n)
    b2, br2, t2, a2 = account(n)
    stop_keys = np.array(list(dd["stop_reasons"]), dtype=object)
    sreason = stop_keys[choice_keys(rng, dd["stop_reasons"], n)]

    # rows: 新規 for all, 変更 where change, 停止 where stop (with the account then in force)
    rows_hh = np.concatenate([mh, mh[change], mh[stop]])
    seq = np.concatenate([np.zeros(n, np.int64), np.ones(int(change.sum()), np.int64), np.full(int(stop.sum()), 2)])
    kind = np.concatenate([np.full(n, "1", object), np.full(int(change.sum()), "2", object), np.full(int(stop.sum()), "3", object)])
    recv = np.concatenate([recv1, recv2[change], recv3[stop]])
    pay = np.concatenate([payer, payer[change], payer[stop]])
    st_bank = np.where(change, b2, b1)[stop]
    st_br = np.where(change, br2, br1)[stop]
    st_t = np.where(change, t2, t1)[stop]
    st_a = np.where(change, a2, a1)[stop]
    bank = np.concatenate([b1, b2[change], st_bank])
    branch = np.concatenate([br1, br2[change], st_br])
    atype = np.concatenate([t1, t2[change], st_t])
    acct = np.concatenate([a1, a2[change], st_a])
    reason = np.concatenate([np.full(n + int(change.sum()), None, object), sreason[stop]])
    order = np.lexsort((seq, rows_hh))
    start = (recv.astype("datetime64[D]").astype("datetime64[M]") + np.timedelta64(1, "M"))
    start_s = pl.Series(start.astype("datetime64[D]")).dt.strftime("%Y%m")
    df = pl.DataFrame({
        "municipality_code": pl.Series([cfg.municipality_code] * len(order), dtype=pl.String),
        "payer_person_id": q["person_id"].gather(pay[order]),
        "household_id": q["household_id"].gather(pay[order]),
        "registration_kind": str_series("registration_kind", kind[order]),
        "received_date": date_series("received_date", recv[order]),
        "start_month": start_s.gather(order),
        "bank_code": str_series("bank_code", bank[order]),
        "branch_code": pl.Series(branch[order]).cast(pl.String).str.zfill(3),
        "account_type": str_series("account_type", atype[order]),
        "account_number": pl.Series(acct[order]).cast(pl.String).str.zfill(7),
        "account_holder": names["name_kana"].gather(pay[order]),
        "stop_reason": str_series("stop_reason", reason[order]),
    })
    stats = {
        "mandate_households": n,
        "mandate_active_households": int(n - stop.sum()),
        "mandate_records_new": n,
        "mandate_records_change": int(change.sum()),
        "mandate_records_stop": int(stop.sum()),
    }
    return df, stats
