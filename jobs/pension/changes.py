"""What the pension insurers were told, and what changed since: 追加依頼 (31) and 各種異動 (41 / 61). Pure.

The insurer withholds, per pension (義務者 × 基礎年金番号 × 年金コード), what the city last sent:
- 01 特別徴収依頼: 金額1–3 = the 本徴収 of 10月・12月・2月 (``pension_request.request.amount_months``);
- 31 追加依頼: 金額1 in every pension month from the start month (各種年月日);
- 61 仮徴収額変更: the three amounts of the half-year it names;
- 41 資格喪失等: nothing from then on;
- and, for a household withheld last year, the 仮徴収 (4・6・8月) = last year's February amount
  (TAX_RULES.md §7: the insurer continues the February amount).

Every sent-records dataset keeps that expectation per pension month (``expected_mMM`` columns), so
``insurer_state`` folds the history into the current expectation; ``change_records`` compares it with
the current installments (or, before the year's 当初賦課, with ``leveling.next_provisional``):

- a 資格喪失 of the person (nhi_qualification lost_date ≤ the business date) → 41 with the 各種区分 of
  its 資格喪失事由 (``pension_request.change.loss_category``);
- a 仮徴収 month still ahead whose amount differs (平準化, a 仮徴収 reduced) → 61 with the new amounts;
- a 本徴収 month still ahead with less to withhold → 41 特別事情 (``withholding.midyear_change.decrease``
  stop: the rest goes to 普通徴収) or 61 (reduce); more to withhold → nothing is sent (普通徴収 takes the
  increase; counted).

"Still ahead": a change sent in an even month takes effect from the next pension month, one sent in an
odd month one pension month later (``pension_request.change.effect_lag_months``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from jobs.assessment import installments as inst
from jobs.assessment import withholding as wh
from jobs.common import datasets

from . import leveling
from . import requests as rq

#: the pension months any configuration can name (even months) → expected_mMM columns
EXPECTED_MONTHS = (4, 6, 8, 10, 12, 2)
EXPECTED_COLUMNS = tuple(f"expected_m{m:02d}" for m in EXPECTED_MONTHS)


def ecol(month: int) -> str:
    return f"expected_m{month:02d}"


def expected_from_request(recs: pl.DataFrame, rules: rq.RequestRules, wrules: wh.WithholdingRules) -> list[pl.Expr]:
    """01 records: the expectation they set (金額1–3 → amount_months; nothing for 03)."""
    target = pl.col("category") == rq.CATEGORY_TARGET
    out = []
    for m in EXPECTED_MONTHS:
        if m in rules.amount_months:
            i = rules.amount_months.index(m) + 1
            out.append(pl.when(target).then(pl.col(f"amount{i}")).otherwise(None).cast(pl.Int64).alias(ecol(m)))
        else:
            out.append(pl.lit(None, dtype=pl.Int64).alias(ecol(m)))
    return out


def capture_records(frame: pl.DataFrame) -> pl.DataFrame:
    """The 捕捉 (通知内容 30) data records of the ``tokucho_capture`` dataset (ダミー 70 dropped)."""
    f = frame
    if "notice_code" in f.columns:
        f = f.filter(pl.col("notice_code") == "30")
    if "record_kind" in f.columns:
        f = f.filter(pl.col("record_kind").cast(pl.String).is_in(["2", "data"]))
    if "category" in f.columns:
        f = f.filter(pl.col("category").fill_null("") != "70")
    if "source_sha256" not in f.columns:
        f = f.with_columns(pl.lit(None, dtype=pl.String).alias("source_sha256"))
    return f


def current_targets(*frames: pl.DataFrame) -> pl.DataFrame:
    """Pensions and households requested (01/31 with 各種区分 01) in ``frames``."""
    parts = [f.filter(pl.col("notice_code").is_in([rq.NOTICE_REQUEST, rq.NOTICE_ADDITION])
                      & (pl.col("category") == rq.CATEGORY_TARGET)).select(*rq.KEY, "household_id")
             for f in frames if f.height and "category" in f.columns]
    if not parts:
        return pl.DataFrame(schema={**{k: pl.String for k in rq.KEY}, "household_id": pl.String})
    return pl.concat(parts, how="vertical").unique()


def _floor(x: int, unit: int) -> int:
    return max(int(x), 0) // unit * unit


def addition_records(captures: pl.DataFrame, *, qualification: pl.DataFrame, assessment: pl.DataFrame,
                     members: pl.DataFrame, ltc: pl.DataFrame | None, already: pl.DataFrame,
                     wrules: wh.WithholdingRules, rules: rq.RequestRules, business_date: dt.date,
                     fy_end: dt.date, fy_start_month: int) -> tuple[pl.DataFrame, dict]:
    """31 records answering the 捕捉 records: 01 when the captured person's household passes the
    特別徴収 判定 with the captured pension, 03 otherwise; pensions or households already requested
    are left out (counted as ``already``)."""
    key = ["name_kana", "birth_date", "sex"]
    q = qualification.select(pl.col("person_id").cast(pl.String), *key).unique()
    cand = q.group_by(key).agg(pl.col("person_id").first(), pl.len().alias("_n"))
    c = captures.join(cand, on=key, how="left").with_columns(
        pl.when(pl.col("_n") == 1).then(pl.col("person_id")).otherwise(None).alias("person_id"))
    hh = assessment.select(pl.col("household_id").cast(pl.String), pl.col("taxpayer_person_id").cast(pl.String)
                           .alias("person_id"))
    c = c.join(hh, on="person_id", how="left")
    done_keys = already.select(*rq.KEY).with_columns(pl.lit(True).alias("_done_k"))
    done_hh = already.select("household_id").unique().with_columns(pl.lit(True).alias("_done_h"))
    c = c.join(done_keys, on=list(rq.KEY), how="left").join(done_hh, on="household_id", how="left")
    skip = c["_done_k"].fill_null(False) | c["_done_h"].fill_null(False)
    n_already = int(skip.sum())
    c = c.filter(~skip).unique(subset=list(rq.KEY), keep="first", maintain_order=True)
    # 判定 with the captured pension (no prior year: a 新規)
    pensions = c.filter(pl.col("household_id").is_not_null()).select(
        "person_id", (pl.col("amount1").fill_null(0) * wrules.amount1_payments_per_year).cast(pl.Int64).alias("pension_annual"),
        *[pl.col(k).cast(pl.String) for k in rq.KEY], pl.col("category").cast(pl.String)).unique("person_id")
    if ltc is not None and ltc.height:
        pensions = pensions.join(ltc.select(pl.col("person_id").cast(pl.String),
                                            pl.col("ltc_premium_annual").cast(pl.Int64)), on="person_id", how="left")
    hids = pensions.join(hh, on="person_id")["household_id"]
    a = assessment.filter(pl.col("household_id").cast(pl.String).is_in(hids.implode()))
    judged = wh.judge(a, members.filter(pl.col("household_id").cast(pl.String).is_in(hids.implode())), pensions, wrules,
                      judgment_date=business_date, fy_end=fy_end) if a.height else pl.DataFrame(
        schema={"household_id": pl.String, "eligible": pl.Boolean, "annual_tax": pl.Int64})
    ltc_amount = (a.select(pl.col("household_id").cast(pl.String), pl.col("long_term_care_amount").cast(pl.Int64))
                  if "long_term_care_amount" in a.columns else a.select(pl.col("household_id").cast(pl.String),
                                                                         pl.lit(0, dtype=pl.Int64).alias("long_term_care_amount")))
    j = judged.select("household_id", "eligible", "annual_tax").join(ltc_amount, on="household_id", how="left")
    c = c.drop([x for x in ("category",) if x in c.columns]).join(j, on="household_id", how="left")
    basis = pl.col("annual_tax") - (pl.col("long_term_care_amount").fill_null(0)
                                    if wrules.new_basis == "annual_excluding_ltc" else pl.lit(0))
    each = (pl.max_horizontal(basis // wrules.new_divisor, pl.lit(0)) // wrules.new_unit * wrules.new_unit)
    ok = pl.col("eligible").fill_null(False) & (each > 0)
    capture_month = (pl.col("created_on").dt.month() if "created_on" in c.columns else pl.lit(business_date.month))
    c = c.with_columns(
        pl.when(ok).then(pl.lit(rq.CATEGORY_TARGET)).otherwise(pl.lit(rq.CATEGORY_NON_TARGET)).alias("category"),
        pl.when(ok).then(each).otherwise(0).cast(pl.Int64).alias("amount1"),
        pl.lit(0, dtype=pl.Int64).alias("amount2"), pl.lit(0, dtype=pl.Int64).alias("amount3"),
        pl.when(ok).then(pl.col("household_id")).otherwise(None).alias("household_id"),
        pl.when(ok).then(pl.col("person_id")).otherwise(None).alias("person_id"),
        capture_month.fill_null(business_date.month).alias("_cm"))
    start = {int(k): int(v) for k, v in rules.start_by_capture.items()}
    cm = c["_cm"].to_list()
    base_year = [business_date.year] * len(cm)
    starts = []
    for m, y in zip(cm, base_year, strict=True):
        s = start.get(int(m))
        starts.append(None if s is None else dt.date(y if s > m else y + 1, s, 1))
    c = c.with_columns(pl.Series("event_date", starts, dtype=pl.Date))
    fy = business_date.year if business_date.month >= fy_start_month else business_date.year - 1
    exps = []
    for m in EXPECTED_MONTHS:
        when = dt.date(inst.fiscal_month_year(fy, m, fy_start_month), m, 1)
        exps.append(pl.when((pl.col("category") == rq.CATEGORY_TARGET) & (pl.col("event_date") <= pl.lit(when)))
                    .then(pl.col("amount1")).otherwise(None).cast(pl.Int64).alias(ecol(m)))
    c = c.with_columns(pl.lit(rq.NOTICE_ADDITION).alias("notice_code"), *exps)
    recs = c.select(*rq.RECORD_SCHEMA, "source_sha256", *EXPECTED_COLUMNS).pipe(
        lambda f: f.with_columns([pl.col(k).cast(t) for k, t in rq.RECORD_SCHEMA.items()])).sort(
        ["notice_code", *rq.KEY], maintain_order=True)
    figs = {"targets": int((recs["category"] == rq.CATEGORY_TARGET).sum()),
            "non_targets": int((recs["category"] == rq.CATEGORY_NON_TARGET).sum()), "already": n_already}
    return recs, figs


# --- the insurer's state -----------------------------------------------------------------------------


def insurer_state(history: pl.DataFrame, *, fy: int, wrules: wh.WithholdingRules) -> pl.DataFrame:
    """Per pension requested (01/31 各種区分 01) in fiscal year ``fy`` or the year before: the
    household, the person's record fields, ``stopped`` (a 41 since) and the amount the insurer
    withholds in each pension month of ``fy`` (``expected_mMM``; null = not known)."""
    if history.height == 0:
        return pl.DataFrame()
    h = history
    for c in EXPECTED_COLUMNS:
        if c not in h.columns:
            h = h.with_columns(pl.lit(None, dtype=pl.Int64).alias(c))
    h = h.filter(pl.col("notice_code").is_in([rq.NOTICE_REQUEST, rq.NOTICE_ADDITION, rq.NOTICE_LOSS,
                                              rq.NOTICE_PROVISIONAL_CHANGE]))
    h = h.with_columns(pl.col("generation").map_elements(lambda g: datasets.parse_generation(g)[1],
                                                         return_dtype=pl.Int64).alias("_fy"))
    h = h.sort("generation", maintain_order=True)
    feb = wrules.pension_months[-1]
    person = (*rq.PERSON_FIELDS, "household_id", "person_id")
    state: dict[tuple, dict] = {}
    for r in h.iter_rows(named=True):
        k = tuple(r[x] for x in rq.KEY)
        kind = r["notice_code"]
        s = state.get(k)
        if kind in (rq.NOTICE_REQUEST, rq.NOTICE_ADDITION):
            if r["category"] != rq.CATEGORY_TARGET:
                continue
            if s is None or s["stopped"]:
                s = state[k] = {"stopped": False, "exp": {}}
            s.update({f: r.get(f) for f in person})
        elif s is None:
            continue
        elif kind == rq.NOTICE_LOSS:
            s["stopped"] = True
            s["exp"] = {m: 0 for m in EXPECTED_MONTHS}
            continue
        elif s["stopped"]:
            continue
        if r["_fy"] == fy - 1:
            # last year's February amount is what the insurer continues as this year's 仮徴収
            if r[ecol(feb)] is not None:
                for m in wrules.provisional_months:
                    s["exp"][m] = int(r[ecol(feb)])
        elif r["_fy"] == fy:
            for m in EXPECTED_MONTHS:
                if r[ecol(m)] is not None:
                    s["exp"][m] = int(r[ecol(m)])
    rows = []
    for k, s in sorted(state.items()):
        rows.append({**dict(zip(rq.KEY, k, strict=True)), **{f: s.get(f) for f in (*rq.PERSON_FIELDS, "household_id", "person_id")},
                     "stopped": s["stopped"], **{ecol(m): s["exp"].get(m) for m in EXPECTED_MONTHS}})
    schema = {k: v for k, v in rq.RECORD_SCHEMA.items() if k in (*rq.KEY, *rq.PERSON_FIELDS, "household_id", "person_id")}
    return pl.DataFrame(rows, schema={**{k: schema[k] for k in (*rq.KEY, *rq.PERSON_FIELDS, "household_id", "person_id")},
                                      "stopped": pl.Boolean, **{c: pl.Int64 for c in EXPECTED_COLUMNS}})


def current_from_installments(installments: pl.DataFrame, wrules: wh.WithholdingRules) -> pl.DataFrame:
    """Per household the 特別徴収 of each pension month in the current installments (``cur_mMM``, 0 = none)."""
    w = installments.filter(pl.col("method") == inst.WITHHOLDING).group_by("household_id", "month").agg(
        pl.col("amount").sum())
    out = installments.select(pl.col("household_id").cast(pl.String)).unique()
    for m in EXPECTED_MONTHS:
        part = w.filter(pl.col("month") == m).select(pl.col("household_id").cast(pl.String),
                                                    pl.col("amount").cast(pl.Int64).alias(f"cur_m{m:02d}"))
        out = out.join(part, on="household_id", how="left").with_columns(pl.col(f"cur_m{m:02d}").fill_null(0))
    return out


def current_from_prior_year(state: pl.DataFrame, prior_assessment: pl.DataFrame | None,
                            wrules: wh.WithholdingRules) -> pl.DataFrame:
    """Before the year's 当初賦課: the 仮徴収 of this year from last year's February amount (the
    expectation of the first 仮徴収 month) and last year's annual tax (平準化 when configured);
    the 本徴収 months unknown (null: not compared)."""
    if state.height == 0:
        return pl.DataFrame(schema={"household_id": pl.String})
    first = wrules.provisional_months[0]
    annual = {}
    if prior_assessment is not None:
        annual = dict(zip(prior_assessment["household_id"].cast(pl.String).to_list(),
                          prior_assessment["annual_tax"].to_list(), strict=True))
    rows = []
    for r in state.filter(~pl.col("stopped") & pl.col(ecol(first)).is_not_null()).iter_rows(named=True):
        amounts = leveling.next_provisional(r[ecol(first)], annual.get(r["household_id"]), wrules)
        row = {"household_id": r["household_id"], **{f"cur_m{m:02d}": None for m in EXPECTED_MONTHS}}
        for m, a in zip(wrules.provisional_months, amounts, strict=True):
            row[f"cur_m{m:02d}"] = int(a)
        rows.append(row)
    return pl.DataFrame(rows, schema={"household_id": pl.String, **{f"cur_m{m:02d}": pl.Int64 for m in EXPECTED_MONTHS}}
                        ).unique("household_id", keep="first", maintain_order=True)


def effective_months(business_date: dt.date, fy: int, fy_start_month: int, months: tuple[int, ...],
                     lag_even: int, lag_odd: int) -> list[int]:
    """The pension months of ``fy`` a change sent on ``business_date`` still reaches."""
    lag = lag_even if business_date.month % 2 == 0 else lag_odd
    y, m = business_date.year, business_date.month + lag
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    start = dt.date(y, m, 1)
    return [mm for mm in months if dt.date(inst.fiscal_month_year(fy, mm, fy_start_month), mm, 1) >= start]


def change_records(state: pl.DataFrame, *, qualification: pl.DataFrame, current: pl.DataFrame,
                   rules: rq.RequestRules, wrules: wh.WithholdingRules, business_date: dt.date, fy: int,
                   fy_start_month: int, decrease: str, have_installments: bool
                   ) -> tuple[pl.DataFrame, dict, pl.DataFrame]:
    """(records, figures, unknown): the 41 / 61 records to send now; ``unknown`` = active pensions
    whose household is not in the current installments (cannot be judged)."""
    figs = {"losses": 0, "changes": 0, "stops": 0, "increases": 0}
    empty = rq.empty_records().with_columns([pl.lit(None, dtype=pl.Int64).alias(c) for c in EXPECTED_COLUMNS])
    if state.height == 0:
        return empty, figs, state
    active = state.filter(~pl.col("stopped"))
    lost = qualification.select(pl.col("person_id").cast(pl.String), "lost_date",
                                pl.col("lost_reason").cast(pl.String)).filter(
        pl.col("lost_date").is_not_null() & (pl.col("lost_date") <= pl.lit(business_date))).unique(
        "person_id", keep="first")
    a = active.join(lost, on="person_id", how="left")
    out: list[dict] = []
    eff = effective_months(business_date, fy, fy_start_month, wrules.pension_months, rules.lag_even, rules.lag_odd)
    cur = {r["household_id"]: r for r in current.iter_rows(named=True)} if current.height else {}
    unknown = []
    for r in a.iter_rows(named=True):
        base = {k: r[k] for k in (*rq.KEY, *rq.PERSON_FIELDS, "household_id", "person_id")}
        if r["lost_date"] is not None:
            out.append({**base, "notice_code": rq.NOTICE_LOSS,
                        "category": rules.loss_category.get(r["lost_reason"] or "", rules.decrease_stop_category),
                        "event_date": r["lost_date"], "amount1": 0, "amount2": 0, "amount3": 0,
                        **{ecol(m): 0 for m in EXPECTED_MONTHS}})
            figs["losses"] += 1
            continue
        c = cur.get(r["household_id"])
        if c is None:
            if have_installments:
                unknown.append(base)
            continue
        prov_diff = [m for m in wrules.provisional_months if m in eff and r[ecol(m)] is not None
                     and c.get(f"cur_m{m:02d}") is not None and c[f"cur_m{m:02d}"] != r[ecol(m)]]
        fin = [m for m in wrules.final_months if m in eff and r[ecol(m)] is not None
               and c.get(f"cur_m{m:02d}") is not None]
        dec = [m for m in fin if c[f"cur_m{m:02d}"] < r[ecol(m)]]
        inc = [m for m in fin if c[f"cur_m{m:02d}"] > r[ecol(m)]]
        if dec and decrease == "stop":
            out.append({**base, "notice_code": rq.NOTICE_LOSS, "category": rules.decrease_stop_category,
                        "event_date": business_date, "amount1": 0, "amount2": 0, "amount3": 0,
                        **{ecol(m): 0 for m in EXPECTED_MONTHS}})
            figs["stops"] += 1
            continue
        for half, diff in ((wrules.provisional_months, prov_diff), (wrules.final_months, dec)):
            if not diff:
                continue
            amounts = [c.get(f"cur_m{m:02d}") if c.get(f"cur_m{m:02d}") is not None else (r[ecol(m)] or 0)
                       for m in half]
            first = min(diff, key=lambda m: dt.date(inst.fiscal_month_year(fy, m, fy_start_month), m, 1))
            out.append({**base, "notice_code": rq.NOTICE_PROVISIONAL_CHANGE, "category": rq.CATEGORY_INITIAL,
                        "event_date": dt.date(inst.fiscal_month_year(fy, first, fy_start_month), first, 1),
                        **{f"amount{i}": int(v) for i, v in enumerate((amounts + [0, 0, 0])[:3], start=1)},
                        **{ecol(m): (int(v) if m in half else None) for m in EXPECTED_MONTHS
                           for v in [amounts[half.index(m)] if m in half else None]}})
            figs["changes"] += 1
        if inc and not dec:
            figs["increases"] += 1
    schema = {**rq.RECORD_SCHEMA, **{c: pl.Int64 for c in EXPECTED_COLUMNS}}
    recs = pl.DataFrame(out, schema=schema) if out else empty
    recs = recs.sort(["notice_code", *rq.KEY], maintain_order=True)
    unknown_f = pl.DataFrame(unknown, schema={k: rq.RECORD_SCHEMA[k] for k in
                                              (*rq.KEY, *rq.PERSON_FIELDS, "household_id", "person_id")}) \
        if unknown else state.head(0).select(*rq.KEY, *rq.PERSON_FIELDS, "household_id", "person_id")
    return recs, figs, unknown_f
