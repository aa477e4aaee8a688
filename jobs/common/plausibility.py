"""妥当性検査: plausibility limits of inbound records, one mechanism for every layout.

A layout field names a rule (``check: counter_amount``); the rules and their limits are config
(``plausibility.rules`` in config/common/plausibility.yaml, overridable per municipality). The
codec reads what is well formed; ``apply`` then rejects what is well formed but implausible:

| kind | limit |
|---|---|
| ``range`` | ``min`` ≤ value ≤ ``max`` (amounts: a ¥0 payment and a ¥9,999,999,999 one are refused) |
| ``date_window`` | not before the first day of the fiscal year of the record's ``fiscal_year_field`` (else ``years_back`` fiscal years before the business date's) and not after the 業務日 |
| ``age`` | a birth date ``min_years``–``max_years`` years before the 業務日 |
| ``own_municipality`` | the city's 6-digit code (``municipality.code``) or, in a 5-digit field, ``municipality.code5`` |
| ``own_consignor`` | one of the city's 委託者コード (``direct_debit.consignor_code`` and the collecting banks') |

A data record failing a rule is rejected alone, into the same rejects as the codec's (record
number, byte offset, field, raw bytes, and a reason naming the value, the limit and the config
key); a header or trailer failing one refuses the file (``Implausible``), and so does a file
whose every data record fails (``refuse_when_all_rejected``). Used by the generic intake step
and, on the archived file, by the 消込 steps (the same rejects again, so no record is lost).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from . import fixedwidth as fw
from .fixedwidth.reader import REJECT_SCHEMA, mask_secrets

KINDS = {"range", "date_window", "age", "own_municipality", "own_consignor"}


class Implausible(fw.FileRefused):
    """The whole file is implausible (a header or trailer fails a rule, or every data record does)."""


@dataclass(frozen=True)
class Limits:
    rules: Mapping[str, Mapping]
    business_date: dt.date
    fiscal_year_start: tuple[int, int]
    code6: str
    code5: str
    consignors: frozenset[str]
    refuse_when_all_rejected: bool = True

    @classmethod
    def of(cls, config, business_date: dt.date, calendar) -> Limits:
        p = config.get("plausibility")
        dd = config.get("direct_debit", {}) or {}
        consignors = {str(dd.get("consignor_code"))} if dd.get("consignor_code") else set()
        consignors |= {str(b["consignor_code"]) for b in dd.get("collecting_banks", []) or [] if b.get("consignor_code")}
        rules = dict(p["rules"])
        for name, r in rules.items():
            if r.get("kind") not in KINDS:
                raise ValueError(f"plausibility.rules.{name}: unknown kind {r.get('kind')!r} (one of {sorted(KINDS)})")
        return cls(rules, business_date, calendar.fiscal_year_start, str(config.get("municipality.code")),
                   str(config.get("municipality.code5")), frozenset(consignors),
                   bool(p.get("refuse_when_all_rejected", True)))

    def fy_first_day(self, fy: int) -> dt.date:
        return dt.date(int(fy), *self.fiscal_year_start)

    @property
    def business_fy(self) -> int:
        d = self.business_date
        return d.year if (d.month, d.day) >= self.fiscal_year_start else d.year - 1


def checked_fields(layout) -> list[tuple]:
    return [(rt, f) for rt in layout.record_types for f in rt.fields if f.check]


def _yen(v) -> str:
    return f"{int(v):,}"


def _rule_exprs(rt, f, rule_name: str, rule: Mapping, limits: Limits) -> tuple[pl.Expr, pl.Expr]:
    """(bad, reason) expressions for one field of one record type."""
    col = pl.col(f.name)
    key = f"plausibility.rules.{rule_name}"
    kind = rule["kind"]
    val_s = col.cast(pl.String)
    if kind == "range":
        lo, hi = rule.get("min"), rule.get("max")
        unit = rule.get("unit", "")
        v = col.cast(pl.Int64, strict=False)
        bad = pl.lit(False)
        reason = pl.lit(None, dtype=pl.String)
        if hi is not None:
            bad_hi = v > int(hi)
            reason = pl.when(bad_hi).then(pl.format(
                f"{f.label}({f.name}) {{}}{unit} が上限 {_yen(hi)}{unit} を超えています [{key}.max] / "
                f"{f.name} {{}} above the limit {int(hi)}", v, v)).otherwise(reason)
            bad = bad | bad_hi
        if lo is not None:
            bad_lo = v < int(lo)
            reason = pl.when(bad_lo).then(pl.format(
                f"{f.label}({f.name}) {{}}{unit} が下限 {_yen(lo)}{unit} 未満です [{key}.min] / "
                f"{f.name} {{}} below the limit {int(lo)}", v, v)).otherwise(reason)
            bad = bad | bad_lo
        return bad.fill_null(False), reason
    if kind == "date_window":
        bd = limits.business_date
        fy_field = rule.get("fiscal_year_field")
        back = int(rule.get("years_back", 5))
        default_lo = limits.fy_first_day(limits.business_fy - back)
        m, d = limits.fiscal_year_start
        if fy_field and fy_field in [x.name for x in rt.fields]:
            fy = pl.col(fy_field).cast(pl.Int32, strict=False)
            lo = pl.when(fy.is_not_null() & (fy > 1900)).then(pl.date(fy, m, d)).otherwise(pl.lit(default_lo))
            lo_key = f"{key}.fiscal_year_field ({fy_field})"
        else:
            lo = pl.lit(default_lo)
            lo_key = f"{key}.years_back"
        bad_hi = (col > pl.lit(bd)) if rule.get("not_after_business_date", True) else pl.lit(False)
        bad_lo = col < lo
        reason = (pl.when(bad_hi).then(pl.format(
            f"{f.label}({f.name}) {{}} が業務日 {bd.isoformat()} より後です [{key}.not_after_business_date] / "
            f"{f.name} {{}} after the business date {bd.isoformat()}", val_s, val_s))
            .when(bad_lo).then(pl.format(
                f"{f.label}({f.name}) {{}} が対象年度の初日 {{}} より前です [{lo_key}] / {f.name} {{}} before {{}}",
                val_s, lo.cast(pl.String), val_s, lo.cast(pl.String))))
        return (bad_hi | bad_lo).fill_null(False), reason
    if kind == "age":
        bd = limits.business_date
        oldest = _years_before(bd, int(rule.get("max_years", 130)))
        youngest = _years_before(bd, int(rule.get("min_years", 0)))
        bad_old, bad_young = col < pl.lit(oldest), col > pl.lit(youngest)
        reason = (pl.when(bad_young).then(pl.format(
            f"{f.label}({f.name}) {{}} が業務日 {bd.isoformat()} の {int(rule.get('min_years', 0))} 年前より後です "
            f"[{key}.min_years] / {f.name} {{}} after {youngest.isoformat()}", val_s, val_s))
            .when(bad_old).then(pl.format(
                f"{f.label}({f.name}) {{}} が業務日の {int(rule.get('max_years', 130))} 年前 {oldest.isoformat()} "
                f"より前です [{key}.max_years] / {f.name} {{}} before {oldest.isoformat()}", val_s, val_s)))
        return (bad_old | bad_young).fill_null(False), reason
    if kind == "own_municipality":
        code = limits.code6 if f.length == 6 else limits.code5 if f.length == 5 else None
        if code is None:
            raise ValueError(f"{rt.name}.{f.name}: own_municipality needs a 5- or 6-digit field")
        bad = col.is_not_null() & (col != code)
        cfg_key = "municipality.code" if f.length == 6 else "municipality.code5"
        reason = pl.when(bad).then(pl.format(
            f"{f.label}({f.name}) {{}} は本市 ({code}) のものではありません [{cfg_key}] / {f.name} {{}} is not "
            f"the city's {code}", col, col))
        return bad.fill_null(False), reason
    # own_consignor
    codes = sorted(limits.consignors)
    bad = col.is_not_null() & ~col.is_in(codes)
    reason = pl.when(bad).then(pl.format(
        f"{f.label}({f.name}) {{}} は本市の委託者コード ({','.join(codes)}) ではありません [direct_debit.consignor_code] / "
        f"{f.name} {{}} is not one of the city's consignor codes", col, col))
    return bad.fill_null(False), reason


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def apply(layout, res: fw.ReadResult, limits: Limits, data: Path | bytes | Callable[[list[int]], list]) -> fw.ReadResult:
    """``res`` with the records failing a rule moved from its frames to its rejects (or
    ``Implausible`` for a header/trailer failing one, or every data record failing)."""
    fields = checked_fields(layout)
    if not fields:
        return res
    frames = dict(res.frames)
    found: list[pl.DataFrame] = []
    for rt in layout.record_types:
        mine = [f for r, f in fields if r is rt]
        df = frames.get(rt.name)
        if not mine or df is None or df.height == 0:
            continue
        bads, reasons = [], []
        for f in mine:
            if f.name not in df.columns:
                continue
            if f.check not in limits.rules:
                raise ValueError(f"layout {layout.id} {rt.name}.{f.name}: check {f.check!r} is not in plausibility.rules")
            rule = limits.rules[f.check]
            b, r = _rule_exprs(rt, f, f.check, rule, limits)
            for other, values in (rule.get("not_for") or {}).items():  # records the rule does not apply to
                if other in df.columns:
                    b = b & ~pl.col(other).cast(pl.String).is_in([str(v) for v in values]).fill_null(False)
            bads.append((f, b))
            reasons.append(r)
        if not bads:
            continue
        # the first failing field of each record, in field order
        field_expr = pl.lit(None, dtype=pl.String)
        label_expr = pl.lit(None, dtype=pl.String)
        reason_expr = pl.lit(None, dtype=pl.String)
        for (f, b), r in reversed(list(zip(bads, reasons))):
            field_expr = pl.when(b).then(pl.lit(f.name)).otherwise(field_expr)
            label_expr = pl.when(b).then(pl.lit(f.label)).otherwise(label_expr)
            reason_expr = pl.when(b).then(r).otherwise(reason_expr)
        flagged = df.select("record_no", field_expr.alias("field"), label_expr.alias("label"),
                            reason_expr.alias("reason")).filter(pl.col("field").is_not_null())
        if flagged.height == 0:
            continue
        if rt.role != "D":
            first = flagged.row(0, named=True)
            f = rt.field(first["field"])
            raise Implausible(res.source, first["reason"], int(first["record_no"]), f.name, f.label,
                              res.byte_offset(int(first["record_no"])) + f.offset)
        if limits.refuse_when_all_rejected and flagged.height == df.height:
            first = flagged.row(0, named=True)
            raise Implausible(res.source, f"全 {df.height} 件のデータレコードが妥当性検査に不合格です (最初: {first['reason']})"
                              f" [plausibility.refuse_when_all_rejected] / every data record is implausible",
                              int(first["record_no"]), first["field"], first["label"],
                              res.byte_offset(int(first["record_no"])))
        nos = flagged["record_no"].to_list()
        offsets = [res.byte_offset(int(n)) for n in nos]
        raws = _records(data, offsets, layout.record_length, rt)
        found.append(flagged.select(
            pl.col("record_no").cast(pl.Int64), pl.Series("byte_offset", offsets, dtype=pl.Int64),
            pl.lit(rt.name, dtype=pl.String).alias("record_type"), "field", "label", "reason",
            pl.Series("raw", raws, dtype=pl.Binary)))
        frames[rt.name] = df.filter(~pl.col("record_no").is_in(nos))
    if not found:
        return res
    extra = pl.concat(found, how="vertical").cast(REJECT_SCHEMA)
    rejects = pl.concat([res.rejects.cast(REJECT_SCHEMA), extra], how="vertical").sort("record_no", maintain_order=True)
    totals = dict(res.totals)
    totals["accepted"] = int(totals.get("accepted", 0)) - extra.height
    totals["rejected"] = int(totals.get("rejected", 0)) + extra.height
    totals["implausible"] = extra.height
    return replace(res, frames=frames, rejects=rejects, totals=totals)


def _records(data, offsets: list[int], length: int, rt) -> list[bytes]:
    """The records at ``offsets`` (secrets masked) from a path, the bytes, or a reader callable
    (``ArchivedFile.records``)."""
    if callable(data):
        return [mask_secrets(rt, r) if r is not None else None for r in data(offsets)]
    if isinstance(data, (bytes, bytearray, memoryview)):
        buf = bytes(data)
        return [mask_secrets(rt, buf[o:o + length]) for o in offsets]
    out = []
    with open(data, "rb") as fh:
        for o in offsets:
            fh.seek(o)
            out.append(mask_secrets(rt, fh.read(length)))
    return out
