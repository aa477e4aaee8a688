"""異動賦課 (reassessment): 更正 per installment after a change, and the data of the 変更通知書.

Twice a month the 住民税 異動 and 資格 changes name the affected households; the engine assesses
them again (``engine.assess``) and ``reassess`` compares the new assessment with the current one:

- Δ = new annual tax − current annual tax, per household.
- An installment (期) is *open* when its 納期限 is at least
  ``installments.midyear.min_days_before_due`` days after the business date (``Schedule.is_open``).
- Increase (Δ > 0): spread over the open 普通徴収 期 (1,000円 units, remainder in the first open
  期; ``installments.split_one``); with no 期 open, one extra 期 (随時期). A withheld household's
  increase also goes to 普通徴収 (``withholding.midyear_change.increase: ordinary``).
- Decrease (Δ < 0): taken from the unpaid part of the installments, latest 納期限 first; what is
  left then lowers paid installments (latest first) below what was paid on them: the 期別税額
  falls (減額更正) and the difference is the household's 過誤納, recorded per installment
  (``overpayment``). The 収納台帳 then holds 累計収納額 > 期別税額 for that 期, which SN300
  過誤納整理 finds (事由 01 減額更正) and refunds or offsets (還付・充当 are the collection side's).
- A withheld household whose tax falls (``withholding.midyear_change.decrease: stop``): its open
  特別徴収 levies are stopped (set to what was paid of them) and what is still due goes to 普通徴収;
  ``withholding_stopped`` tells the notices and the pension-insurer file (通知内容 41).

Per household: Σ amount_after = new annual tax (the 調定 follows the tax; the 過誤納 is money
paid, not levied). Paid amounts come from the ``payments`` frame (``household_id``, ``method``,
``installment_no``, ``paid``): FK210 reads them from the 収納台帳 (``steps._payments``:
``sql/ledger/paid_by_installment.sql``, the 納付履歴 posted before the business date).

Outputs (``Reassessment``): ``installments`` (the affected households' new rows, installments
shape with components), ``corrections`` (one row per household × method × 期 before/after, the
更正), ``notices`` (one row per household: the 変更通知書 data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from jobs.common import config as config_mod

from . import installments as inst

CORRECTION_SCHEMA: dict[str, pl.DataType] = {
    **{k: v for k, v in inst.SCHEMA.items() if k != "amount"},  # the installment's key and dates
    "amount_before": pl.Int64(),
    "amount_after": pl.Int64(),
    "change": pl.Int64(),
    "paid": pl.Int64(),
    "overpayment": pl.Int64(),
    "is_open": pl.Boolean(),
    "changed": pl.Boolean(),
}

NOTICE_SCHEMA: dict[str, pl.DataType] = {
    "fy": pl.Int32(),
    "household_id": pl.String(),
    "taxpayer_person_id": pl.String(),
    "notice_date": pl.Date(),
    "reason": pl.String(),
    "annual_before": pl.Int64(),
    "annual_after": pl.Int64(),
    "change": pl.Int64(),
    "overpayment": pl.Int64(),
    "withholding_stopped": pl.Boolean(),
    "installments_changed": pl.Int32(),
}

REASON_LABELS = {"income": "所得異動", "qualification": "資格異動", "both": "所得・資格異動", "other": "その他"}


@dataclass(frozen=True)
class ReassessmentRules:
    increase_to: str  # ordinary
    withholding_decrease: str  # stop | reduce

    @classmethod
    def from_config(cls, cfg: config_mod.Config) -> ReassessmentRules:
        inc = str(cfg.get("withholding.midyear_change.increase"))
        dec = str(cfg.get("withholding.midyear_change.decrease"))
        if inc != "ordinary" or dec not in ("stop", "reduce"):
            raise config_mod.ConfigError(
                f"withholding.midyear_change が不正です: increase={inc} (ordinary), decrease={dec} (stop | reduce)")
        return cls(inc, dec)


@dataclass
class Slot:
    """One installment of one household during a correction."""

    method: str
    no: int
    month: int
    due_date: dt.date
    amount: int
    paid: int = 0
    is_open: bool = False
    before: int = 0
    overpayment: int = 0

    @property
    def unpaid(self) -> int:
        return max(self.amount - self.paid, 0)


@dataclass
class HouseholdResult:
    slots: list[Slot]
    overpayment: int
    withholding_stopped: bool


def correct_household(slots: list[Slot], delta: int, open_periods: Iterable[inst.Period], unit: int,
                      *, withholding_decrease: str = "stop") -> HouseholdResult:
    """Apply the change ``delta`` to one household's installments (the rules of the module
    docstring). ``slots`` carry amount (current levy), paid and is_open; ``open_periods`` are the
    普通徴収 期 still open (or the one extra 期). Returns the slots after the correction (new
    ones added for open 期 the household had no row for), each with ``before`` kept."""
    slots = [Slot(**{**s.__dict__}) for s in slots]
    for s in slots:
        s.before = s.amount
        s.overpayment = 0
    stopped = False
    d = int(delta)
    if d < 0 and withholding_decrease == "stop":
        moved = 0
        for s in slots:
            if s.method == inst.WITHHOLDING and s.is_open and s.unpaid > 0:
                moved += s.unpaid
                s.amount = s.paid
                stopped = True
        d += moved
    if d > 0:
        targets = _ordinary_open_slots(slots, open_periods)
        for s, add in zip(targets, inst.split_one(d, len(targets), unit), strict=True):
            s.amount += add
    elif d < 0:
        dec = -d
        order = sorted(slots, key=lambda s: (s.due_date, s.method == inst.WITHHOLDING, s.no), reverse=True)
        for s in order:  # unpaid first, latest first
            if dec == 0:
                break
            if withholding_decrease == "stop" and s.method == inst.WITHHOLDING and s.is_open:
                continue  # already stopped
            take = min(s.unpaid, dec)
            s.amount -= take
            dec -= take
        for s in order:  # what is left lowers paid installments: 減額更正 below the paid, 過誤納
            if dec == 0:
                break
            take = min(s.amount, dec)
            s.amount -= take
            s.overpayment += take  # unpaid is 0 here: amount ≤ paid
            dec -= take
        if dec:
            raise inst.InstallmentError(f"減額 {-d:,} 円を期別に配分できません (残 {dec:,} 円)")
    overpay = sum(s.overpayment for s in slots)
    return HouseholdResult(slots, overpay, stopped)


def _ordinary_open_slots(slots: list[Slot], open_periods: Iterable[inst.Period]) -> list[Slot]:
    """The 普通徴収 slots an increase goes to: the open 期 with nothing paid on them (a paid
    installment is never changed; new slots for open 期 the household has no row for). With none
    left, the extra 期 (随時期) after the last one."""
    by_no = {s.no: s for s in slots if s.method == inst.ORDINARY}
    periods = list(open_periods)
    out = []
    for p in periods:
        s = by_no.get(p.no)
        if s is not None and s.paid > 0:
            continue
        if s is None:
            s = Slot(inst.ORDINARY, p.no, p.month, p.due_date, 0, is_open=True)
            slots.append(s)
            by_no[p.no] = s
        out.append(s)
    if not out:
        last = max([p.no for p in periods] + [s.no for s in slots if s.method == inst.ORDINARY] + [0])
        base = periods[-1]
        s = Slot(inst.ORDINARY, last + 1, base.month, base.due_date, 0, is_open=True)
        slots.append(s)
        out.append(s)
    return out


# --- frames -----------------------------------------------------------------------------------


@dataclass
class Reassessment:
    installments: pl.DataFrame
    corrections: pl.DataFrame
    notices: pl.DataFrame
    households: int = 0
    changed_households: int = 0
    messages: list[str] = field(default_factory=list)


def reassess(current: pl.DataFrame, new: pl.DataFrame, installments: pl.DataFrame, payments: pl.DataFrame | None,
             schedule: inst.Schedule, rules: ReassessmentRules, *, as_of: dt.date) -> Reassessment:
    """更正 of the households of ``new`` (the new assessment of the affected households only).

    ``current``: their current assessment rows (a household absent is new: current tax 0);
    ``installments``: their current installments (other households are ignored);
    ``payments``: paid per (household_id, method, installment_no), may be empty or None.
    ``new`` may carry ``reason`` (income | qualification | both | other) for the notice."""
    fy = schedule.fy
    ids = new["household_id"].cast(pl.String)
    cur = current.filter(pl.col("household_id").is_in(ids.implode()))
    cur_annual = dict(zip(cur["household_id"].to_list(), cur["annual_tax"].fill_null(0).to_list(), strict=True))
    rows = installments.filter(pl.col("household_id").is_in(ids.implode()))
    paid = _paid_map(payments)
    open_periods = schedule.open_periods(as_of)
    by_household: dict[str, list[Slot]] = {}
    for r in rows.select("household_id", "method", "installment_no", "month", "due_date", "amount").iter_rows():
        hid, method, no, month, due, amount = r
        by_household.setdefault(hid, []).append(Slot(
            method, int(no), int(month), due, int(amount), paid=paid.get((hid, method, int(no)), 0),
            is_open=schedule.is_open(due, as_of)))

    corr_rows, inst_rows, notice_rows = [], [], []
    taxpayer = dict(zip(new["household_id"].to_list(), new["taxpayer_person_id"].to_list(), strict=True))
    reasons = (dict(zip(new["household_id"].to_list(), new["reason"].to_list(), strict=True))
               if "reason" in new.columns else {})
    changed_households = 0
    for hid, after in zip(ids.to_list(), new["annual_tax"].fill_null(0).to_list(), strict=True):
        before_total = int(cur_annual.get(hid, 0))
        slots = by_household.get(hid, [])
        levied = sum(s.amount for s in slots)
        if levied != before_total:
            raise inst.InstallmentError(
                f"世帯 {hid}: 現在の期別額の合計 {levied:,} 円が年税額 {before_total:,} 円と一致しません")
        res = correct_household(slots, int(after) - before_total, open_periods, schedule.unit,
                                withholding_decrease=rules.withholding_decrease)
        n_changed = 0
        for s in res.slots:
            changed = s.amount != s.before or s.overpayment != 0
            n_changed += changed
            corr_rows.append((fy, hid, s.no, s.method, s.month, s.due_date, s.before, s.amount, s.amount - s.before,
                              s.paid, s.overpayment, s.is_open, changed))
            inst_rows.append((fy, hid, s.no, s.method, s.month, s.due_date, s.amount))
        changed_households += bool(n_changed)
        reason = reasons.get(hid) or "other"
        notice_rows.append((fy, hid, taxpayer.get(hid), as_of, REASON_LABELS.get(reason, reason), before_total,
                            int(after), int(after) - before_total, res.overpayment, res.withholding_stopped,
                            n_changed))
    corrections = pl.DataFrame(corr_rows, schema=CORRECTION_SCHEMA, orient="row")
    rows_after = pl.DataFrame(inst_rows, schema=inst.SCHEMA, orient="row")
    notices = pl.DataFrame(notice_rows, schema=NOTICE_SCHEMA, orient="row")
    targets = component_targets(new)
    rows_after = inst.sort_rows(inst.allocate_components(rows_after, targets))
    notices = _with_components(notices, current, new)
    return Reassessment(rows_after, corrections.sort(["household_id", "due_date", "method", "installment_no"]),
                        notices.sort("household_id"), households=new.height, changed_households=changed_households)


def _paid_map(payments: pl.DataFrame | None) -> dict[tuple[str, str, int], int]:
    if payments is None or payments.height == 0:
        return {}
    p = payments.group_by("household_id", "method", "installment_no").agg(pl.col("paid").sum())
    return {(h, m, int(n)): int(v) for h, m, n, v in p.iter_rows()}


def component_targets(new: pl.DataFrame) -> pl.DataFrame:
    """The per-component totals the corrected installments are split into: the new assessment's
    components (Σ installments = the new annual tax; a 過誤納 is paid money, not a levy)."""
    cols = inst.component_columns(new)
    return new.select("household_id", *[pl.col(c).fill_null(0).cast(pl.Int64) for c in cols])


def _with_components(notices: pl.DataFrame, current: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    cols = inst.component_columns(new)
    before = current.select("household_id", *[pl.col(c).fill_null(0).cast(pl.Int64).alias(f"{c}_before")
                                              for c in cols if c in current.columns])
    after = new.select("household_id", *[pl.col(c).fill_null(0).cast(pl.Int64).alias(f"{c}_after") for c in cols])
    out = notices.join(before, on="household_id", how="left").join(after, on="household_id", how="left")
    return out.with_columns([pl.col(f"{c}_before").fill_null(0) for c in cols if f"{c}_before" in out.columns])
