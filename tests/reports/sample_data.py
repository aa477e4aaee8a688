"""Hand-made assessment, installments and address frames in the engine's exact shape
(jobs/assessment/README.md), for the tests, the benchmark and previews of the notices.

    assessment, installments, addresses = sample_frames(1000, fy=2026, seed=1)

Not a tax calculation: amounts are plausible, consistent (components sum to 年税額, installments
sum to 年税額, 100円 multiples) and deterministic for a seed. The installment months and due
dates are sample values, not a city's schedule (that comes from config via installments.py).
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import polars as pl

COMPONENTS = ("medical", "elderly_support", "long_term_care", "child_support")
SURNAMES = ("山田", "鈴木", "佐藤", "田中", "高橋", "渡辺", "伊藤", "中村", "小林", "加藤", "吉田", "山本",
            "斎藤", "松本", "井上", "木村", "林", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川")
GIVEN = ("太郎", "花子", "一郎", "美咲", "健太", "陽子", "翔太", "由美", "大輔", "恵子", "浩二", "さくら",
         "誠", "裕子", "隆", "明美", "修", "直子", "剛", "智子")
WARDS = ("西区", "北区", "大宮区", "見沼区", "中央区", "桜区", "浦和区", "南区", "緑区", "岩槻区")
TOWNS = ("高砂", "常盤", "岸町", "仲町", "本町", "桜木町", "宮町", "大門町", "土手町", "浅間町")
BUILDINGS = ("ハイツ", "コーポ", "メゾン", "グランドパレス")
ORDINARY_MONTHS = (6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
WITHHOLDING_MONTHS = (4, 6, 8, 10, 12, 2)


def _fw_digits(v: int) -> str:
    return str(v).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def _month_end(fy: int, month: int) -> dt.date:
    year = fy if month >= 4 else fy + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def sample_frames(n: int, *, fy: int = 2026, seed: int = 0, withholding_share: float = 0.15,
                  components: tuple[str, ...] = COMPONENTS, first_household: int = 1,
                  installment_unit: int = 1000) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(assessment, installments, addresses) for ``n`` households."""
    rng = np.random.default_rng(seed)
    hid = np.arange(first_household, first_household + n)
    household_id = [f"{h:010d}" for h in hid]
    person_id = [f"{h * 10 + 1:010d}" for h in hid]
    insured = rng.integers(1, 5, n)
    reduction_class = rng.choice(np.array(["0", "2", "5", "7"]), n, p=[0.5, 0.15, 0.15, 0.2])
    factor = np.select([reduction_class == "7", reduction_class == "5", reduction_class == "2"], [0.7, 0.5, 0.2], 0.0)
    income_base = np.where(reduction_class == "0", rng.lognormal(14.2, 0.8, n), rng.lognormal(12.5, 0.8, n)).astype(np.int64)

    cols: dict[str, object] = {
        "fy": np.full(n, fy, dtype=np.int64), "household_id": household_id, "taxpayer_person_id": person_id,
        "insured_count": insured.astype(np.int64), "reduction_class": reduction_class,
        "reduction_judgment_income": income_base, "undeclared": np.zeros(n, dtype=bool),
    }
    # per component: rate, per-capita, cap (sample figures, not a city's rates)
    params = {"medical": (0.07, 37_000, 650_000), "elderly_support": (0.025, 13_000, 240_000),
              "long_term_care": (0.02, 15_000, 170_000), "child_support": (0.003, 1_500, 30_000)}
    ltc_members = rng.integers(0, 2, n) * (insured > 0)
    annual = np.zeros(n, dtype=np.int64)
    for c in components:
        rate, per_capita, cap = params[c]
        heads = ltc_members if c == "long_term_care" else insured
        income = (income_base * rate).astype(np.int64)
        capita = (heads * per_capita).astype(np.int64)
        reduction = (capita * factor).astype(np.int64) // 100 * 100
        preschool = np.where(rng.random(n) < 0.05, (per_capita * (1 - factor) / 2).astype(np.int64) // 100 * 100, 0)
        preschool = np.where(heads > 0, preschool, 0)
        perinatal = np.zeros(n, dtype=np.int64)
        proration = np.where(rng.random(n) < 0.08, -(rng.integers(1, 6, n) * (income + capita) // 12), 0)
        calculated = income + capita - reduction - preschool - perinatal + proration
        calculated = np.maximum(calculated, 0)
        over = np.maximum(calculated - cap, 0)
        after_cap = calculated - over
        exemption = np.where(rng.random(n) < 0.02, after_cap // 200 * 100, 0)
        before_round = after_cap - exemption
        amount = before_round // 100 * 100
        cols.update({
            f"{c}_income_levy": income, f"{c}_asset_levy": np.zeros(n, dtype=np.int64),
            f"{c}_per_capita_levy": capita, f"{c}_per_household_levy": np.zeros(n, dtype=np.int64),
            f"{c}_reduction": reduction, f"{c}_preschool_reduction": preschool,
            f"{c}_perinatal_reduction": perinatal, f"{c}_calculated": calculated, f"{c}_over_cap": over,
            f"{c}_exemption": exemption, f"{c}_rounding": before_round - amount, f"{c}_amount": amount,
            f"{c}_proration": proration,
        })
        annual += amount
    cols["annual_tax"] = annual
    assessment = pl.DataFrame(cols)

    # installments: withholding households pay 仮徴収 + 本徴収 (6 pension months), some both ways
    wh = rng.random(n) < withholding_share
    mixed = wh & (rng.random(n) < 0.3)
    plans = {  # kind → [(method, month, 期 or pension no)]
        0: [("ordinary", m, k + 1) for k, m in enumerate(ORDINARY_MONTHS)],
        1: [("withholding", m, k + 1) for k, m in enumerate(WITHHOLDING_MONTHS)],
        2: [("ordinary", m, k + 1) for k, m in enumerate((7, 8, 9))]
        + [("withholding", m, WITHHOLDING_MONTHS.index(m) + 1) for m in (10, 12, 2)],
    }
    kind = np.where(mixed, 2, np.where(wh, 1, 0))
    parts = []
    for kd, plan in plans.items():
        idx = np.flatnonzero(kind == kd)
        if len(idx) == 0:
            continue
        k = len(plan)
        total = annual[idx]
        unit = np.where(total >= installment_unit * k, installment_unit, 100)
        each = total // k // unit * unit
        first = total - each * (k - 1)
        amounts = np.column_stack([first] + [each] * (k - 1))  # (households, k)
        hids = np.array(household_id, dtype=object)[idx]
        parts.append(pl.DataFrame({
            "household_id": np.repeat(hids, k).astype(str),
            "installment_no": np.tile([p[2] for p in plan], len(idx)).astype(np.int64),
            "method": np.tile(np.array([p[0] for p in plan]), len(idx)),
            "month": np.tile([p[1] for p in plan], len(idx)).astype(np.int64),
            "amount": amounts.ravel().astype(np.int64),
        }))
    installments = pl.concat(parts) if parts else pl.DataFrame(
        schema={"household_id": pl.String, "installment_no": pl.Int64, "method": pl.String, "month": pl.Int64,
                "amount": pl.Int64})
    due = pl.DataFrame({"month": list(range(1, 13)), "due_date": [_month_end(fy, m) for m in range(1, 13)]},
                       schema={"month": pl.Int64, "due_date": pl.Date})
    installments = installments.join(due, on="month", how="left").select(
        pl.lit(fy, pl.Int64).alias("fy"), "household_id", "installment_no", "method", "month", "due_date", "amount",
    ).sort(["household_id", "due_date", "method"])

    ward = rng.integers(0, len(WARDS), n)
    town = rng.integers(0, len(TOWNS), n)
    chome, ban, go = rng.integers(1, 8, n), rng.integers(1, 30, n), rng.integers(1, 26, n)
    bldg = rng.random(n) < 0.3
    bname = rng.integers(0, len(BUILDINGS), n)
    room = rng.integers(1, 10, n) * 100 + rng.integers(1, 10, n)
    sur = rng.integers(0, len(SURNAMES), n)
    giv = rng.integers(0, len(GIVEN), n)
    address = [
        f"埼玉県さいたま市{WARDS[ward[i]]}{TOWNS[town[i]]}{_fw_digits(int(chome[i]))}丁目{_fw_digits(int(ban[i]))}番"
        f"{_fw_digits(int(go[i]))}号" + (f"　{BUILDINGS[bname[i]]}{TOWNS[town[i]]}{_fw_digits(int(room[i]))}" if bldg[i] else "")
        for i in range(n)
    ]
    addresses = pl.DataFrame({
        "person_id": person_id,
        "household_id": household_id,
        "name_kanji": [f"{SURNAMES[sur[i]]}　{GIVEN[giv[i]]}" for i in range(n)],
        "postal_code": [f"33{(ward[i] + 1) % 10}{town[i]:01d}{chome[i]:01d}{ban[i] % 10:01d}{go[i] % 10:01d}" for i in range(n)],
        "address_kanji": address,
    })
    return assessment, installments, addresses
