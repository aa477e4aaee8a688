"""``kokuho shisan``: trial calculation (試算) of one household's 国民健康保険税 for counter staff.

    kokuho shisan --input household.json [--json]
    kokuho shisan --fy 2026 [--municipality 111007 | --rates rates.yaml] \\
        --member "birth=1958-05-01,householder,income=900000,pension_revenue=2000000,pension_income=900000" \\
        --member "birth=1960-02-10,pension_revenue=600000" [--exemption "all:rate=0.5"] [--json]

The household goes through ``engine.assess`` — the batch engine itself — with the rates of the
municipality and fiscal year (config/) or a rates file (a ``tax:`` mapping laid over the year's
statutory figures). Output: the breakdown per component (所得割, 資産割, 均等割, 平等割, 軽減,
その他の減額, 限度超過, 月割, 減免, 端数, 賦課額) as a Japanese table, or JSON with ``--json``.

A member (JSON object or ``--member`` key=value list) takes the member-year frame's columns
(jobs/assessment/README.md) or these short names: ``birth`` (birth_date), ``householder``,
``nominal`` (擬制世帯主), ``specified`` (特定同一世帯所属者), ``former_dependent``, ``insured``,
``income`` (total_income; also aggregate_income unless given), ``undeclared``, ``acquired``,
``lost``, ``due`` (expected_birth_date), ``multiple``, ``months`` (insured for the last N months of
the year: acquired on the first day of month 12−N). A bare key means true.

Exit code 0; 2 for bad input (the message says what is wrong).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from jobs.common import messages

from . import engine
from .rates import COMPONENTS, RatesError, TaxRates

ALIASES = {
    "birth": "birth_date", "householder": "is_householder", "nominal": "is_nominal_householder",
    "specified": "is_specified_same_household", "former_dependent": "is_former_dependent",
    "insured": "is_insured", "acquired": "acquired_date", "lost": "lost_date", "due": "expected_birth_date",
    "multiple": "multiple_birth", "separation": "separation_date", "separation_reason": "separation_reason_code",
    "id": "person_id",
}
BOOLS = {"is_householder", "is_nominal_householder", "is_specified_same_household", "is_former_dependent",
         "is_insured", "multiple_birth", "ltc_exempt", "declared", "has_income_record"}
DATES = {"birth_date", "acquired_date", "lost_date", "separation_date", "expected_birth_date", "ltc_exempt_start"}
INTS = {"total_income", "aggregate_income", "salary_revenue", "salary_income", "pension_revenue", "pension_income",
        "family_employee_salary", "family_employee_deduction", "separate_income", "property_tax"}
STRINGS = {"person_id", "household_id", "separation_reason_code", "name"}

LABELS = {
    "income_levy": "所得割", "asset_levy": "資産割", "per_capita_levy": "均等割", "per_household_levy": "平等割",
    "reduction": "軽減", "other_reductions": "その他減額", "over_cap": "限度超過", "proration": "月割",
    "exemption": "減免", "rounding": "端数", "amount": "賦課額",
}
OTHER = ("minor_reduction", "preschool_reduction", "specified_household_reduction",
         "former_dependent_reduction", "perinatal_reduction")
OTHER_LABELS = {"minor_reduction": "18歳未満均等割", "preschool_reduction": "未就学児", "perinatal_reduction": "産前産後",
                "specified_household_reduction": "特定世帯", "former_dependent_reduction": "旧被扶養者"}


class InputError(ValueError):
    """Bad 試算 input (message for the counter staff)."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        doc = _document(args)
        rates = _rates(args, doc)
        members = member_frame(doc["members"], rates, household_id=str(doc.get("household_id") or "SHISAN"))
        exemptions = exemption_frame(doc.get("exemptions") or [], str(doc.get("household_id") or "SHISAN"))
    except (InputError, RatesError, OSError, json.JSONDecodeError, yaml.YAMLError) as exc:
        print(messages.line("KKB930E", error=exc), file=sys.stderr)
        return 2
    result = engine.assess(members, rates, exemptions=exemptions)
    row = result.row(0, named=True)
    if args.json:
        print(json.dumps(as_json(row, rates, members), ensure_ascii=False, indent=2, default=str))
    else:
        print(render(row, rates, members))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kokuho shisan", description="国民健康保険税の試算 (1世帯)")
    p.add_argument("--input", type=Path, help="世帯の JSON ファイル (members, 任意で fy, municipality, exemptions)")
    p.add_argument("--member", action="append", default=[], metavar="KEY=VALUE,...",
                   help="世帯員 (複数可): birth=YYYY-MM-DD,householder,income=900000,...")
    p.add_argument("--exemption", action="append", default=[], metavar="COMPONENT:rate=R|amount=N",
                   help="減免 (例 all:rate=0.5, medical:amount=10000)")
    p.add_argument("--fy", type=int, help="年度 (例 2026)")
    p.add_argument("--municipality", help="団体コード6桁 (既定: 設定の既定団体)")
    p.add_argument("--rates", type=Path, help="税率ファイル (YAML/JSON の tax: マッピング; 年度の法定値に上書き)")
    p.add_argument("--json", action="store_true", help="JSON で出力する")
    return p


# --- input ------------------------------------------------------------------------------------


def _document(args) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if args.input:
        doc = json.loads(args.input.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("members"), list):
            raise InputError(f"{args.input}: members (配列) のある JSON オブジェクトが必要です")
    members = list(doc.get("members") or []) + [parse_member_flag(m) for m in args.member]
    if not members:
        raise InputError("世帯員がありません (--input か --member を指定してください)")
    doc["members"] = members
    doc["exemptions"] = list(doc.get("exemptions") or []) + [parse_exemption_flag(e) for e in args.exemption]
    if args.fy:
        doc["fy"] = args.fy
    if args.municipality:
        doc["municipality"] = args.municipality
    return doc


def _rates(args, doc: dict[str, Any]) -> TaxRates:
    fy = doc.get("fy")
    if args.rates:
        text = args.rates.read_text(encoding="utf-8")
        data = json.loads(text) if args.rates.suffix.lower() == ".json" else yaml.safe_load(text)
        if not isinstance(data, dict):
            raise InputError(f"{args.rates}: tax: マッピングが必要です")
        body = data.get("tax", data)
        year = body.get("fiscal_year", fy)
        if year is None:
            raise InputError("年度がありません (--fy か税率ファイルの fiscal_year)")
        return TaxRates.from_overrides(data, int(year), municipality=doc.get("municipality"), source=str(args.rates))
    if fy is None:
        raise InputError("年度がありません (--fy か入力の fy)")
    return TaxRates.load(doc.get("municipality"), int(fy))


def parse_member_flag(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        out[key.strip()] = value.strip() if sep else True
    return out


def parse_exemption_flag(text: str) -> dict[str, Any]:
    comp, _, rest = text.partition(":")
    out: dict[str, Any] = {"component": comp.strip() or "all"}
    for part in rest.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() in ("rate", "amount"):
            out[key.strip()] = value.strip()
    return out


def _bool(v: Any, key: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "on"):
        return True
    if s in ("0", "false", "no", "n", "off", ""):
        return False
    raise InputError(f"{key}: 真偽値ではありません: {v!r}")


def _date(v: Any, key: str) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError as exc:
        raise InputError(f"{key}: 日付は YYYY-MM-DD です: {v!r}") from exc


def _money(v: Any, key: str) -> int:
    if v is None or v == "":
        return 0
    try:
        return int(str(v).replace(",", "").replace("_", ""))
    except ValueError as exc:
        raise InputError(f"{key}: 整数(円)ではありません: {v!r}") from exc


def member_frame(members: list[dict[str, Any]], rates: TaxRates, *, household_id: str = "SHISAN") -> pl.DataFrame:
    """The member-year frame of the 試算 household (one row per member)."""
    rows = []
    for i, raw in enumerate(members, start=1):
        if not isinstance(raw, dict):
            raise InputError(f"世帯員 {i}: オブジェクトが必要です")
        m: dict[str, Any] = {}
        for key, value in raw.items():
            name = ALIASES.get(key, key)
            if name == "income":
                m["total_income"] = _money(value, f"世帯員 {i} income")
            elif name == "undeclared":
                m["declared"] = not _bool(value, f"世帯員 {i} undeclared")
            elif name == "months":
                try:
                    n = int(value)
                except (TypeError, ValueError) as exc:
                    raise InputError(f"世帯員 {i} months: 1〜12 の整数です: {value!r}") from exc
                if not 0 <= n <= 12:
                    raise InputError(f"世帯員 {i} months: 0〜12 です: {n}")
                m["acquired_date"] = engine.fy_month_start(rates, 12 - n) if n < 12 else None
                if n == 0:
                    m["is_insured"] = False
            elif name in BOOLS:
                m[name] = _bool(value, f"世帯員 {i} {key}")
            elif name in DATES:
                m[name] = _date(value, f"世帯員 {i} {key}")
            elif name in INTS:
                m[name] = _money(value, f"世帯員 {i} {key}")
            elif name in STRINGS:
                m[name] = None if value is None else str(value)
            else:
                raise InputError(f"世帯員 {i}: 未知の項目 {key!r}")
        if m.get("birth_date") is None:
            raise InputError(f"世帯員 {i}: 生年月日 (birth) がありません")
        m.setdefault("aggregate_income", m.get("total_income", 0))
        m.setdefault("person_id", str(i))
        m.setdefault("name", m["person_id"])
        m["household_id"] = household_id
        rows.append(m)
    if not any(r.get("is_householder") for r in rows):
        rows[0]["is_householder"] = True  # the first member is the householder unless told
    if sum(1 for r in rows if r.get("is_householder")) > 1:
        raise InputError("世帯主 (householder) は1人です")
    schema = {"household_id": pl.String, "person_id": pl.String, "name": pl.String}
    for r in rows:
        for k in r:
            if k in BOOLS:
                schema[k] = pl.Boolean
            elif k in DATES:
                schema[k] = pl.Date
            elif k in INTS:
                schema[k] = pl.Int64
            elif k in STRINGS:
                schema[k] = pl.String
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def exemption_frame(exemptions: list[dict[str, Any]], household_id: str) -> pl.DataFrame | None:
    if not exemptions:
        return None
    rows = []
    for e in exemptions:
        comp = str(e.get("component") or "all")
        if comp not in COMPONENTS and comp != "all":
            raise InputError(f"減免の区分が不正です: {comp} (使える値: {', '.join(COMPONENTS)}, all)")
        try:
            rate = float(e["rate"]) if e.get("rate") not in (None, "") else None
        except ValueError as exc:
            raise InputError(f"減免の rate が数値ではありません: {e.get('rate')!r}") from exc
        amount = _money(e.get("amount"), "減免 amount") if e.get("amount") not in (None, "") else None
        if rate is not None and not 0 <= rate <= 1:
            raise InputError(f"減免の rate は 0〜1 です: {rate}")
        rows.append({"household_id": household_id, "component": comp, "rate": rate, "amount": amount})
    return pl.DataFrame(rows, schema={"household_id": pl.String, "component": pl.String, "rate": pl.Float64,
                                      "amount": pl.Int64})


# --- output -----------------------------------------------------------------------------------


def _era(rates: TaxRates) -> str:
    """和暦の年度名 from config/common/eras.yaml (the era of the fiscal year's first day)."""
    from jobs.common import config as config_mod

    try:
        eras = config_mod.load_common().get("eras")
    except config_mod.ConfigError:
        return f"{rates.fy}年度"
    day = rates.fy_start
    for era in sorted(eras, key=lambda e: e["start"], reverse=True):
        start = era["start"] if isinstance(era["start"], dt.date) else dt.date.fromisoformat(str(era["start"]))
        if start <= day:
            n = day.year - start.year + 1
            return f"{era['name']}{'元' if n == 1 else n}年度"
    return f"{rates.fy}年度"


def _yen(v: int) -> str:
    return f"{v:,}"


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def _pad(s: str, width: int, right: bool = True) -> str:
    gap = " " * max(0, width - _width(s))
    return gap + s if right else s + gap


def breakdown(row: dict[str, Any], rates: TaxRates) -> list[dict[str, Any]]:
    """One dict per levied component (and a total), with the table's columns."""
    out = []
    for c in rates.components:
        p = f"{c.name}_"
        if not c.levies:
            continue
        d = {"component": c.name, "label": c.label, "months": row[p + "months"]}
        for k in ("income_levy", "asset_levy", "per_capita_levy", "per_household_levy", "reduction",
                  "over_cap", "proration", "exemption", "rounding", "amount"):
            d[k] = row[p + k]
        d["other_reductions"] = sum(row[p + k] for k in OTHER)
        d["other_detail"] = {k: row[p + k] for k in OTHER if row[p + k]}
        out.append(d)
    return out


def render(row: dict[str, Any], rates: TaxRates, members: pl.DataFrame) -> str:
    parts = breakdown(row, rates)
    keys = ["income_levy", "asset_levy", "per_capita_levy", "per_household_levy", "reduction", "other_reductions",
            "over_cap", "proration", "exemption", "rounding", "amount"]
    keys = [k for k in keys if k in ("income_levy", "per_capita_levy", "reduction", "over_cap", "amount")
            or any(p[k] for p in parts)]
    sign = {"reduction": -1, "other_reductions": -1, "over_cap": -1, "exemption": -1, "rounding": -1}
    total = {k: sum(p[k] for p in parts) for k in keys}
    lines = [f"{_era(rates)} 国民健康保険税 試算  {rates.label or ''} {rates.municipality or ''}".rstrip()]
    cls = row["reduction_class"]
    lines.append(
        f"被保険者 {row['insured_count']}人  軽減判定所得 {_yen(row['reduction_judgment_income'])}円  "
        f"軽減 {str(cls) + '割' if cls else 'なし'}"
        + ("  (未申告者あり: 軽減なし)" if row["undeclared"] else "")
        + (f"  特定世帯{'' if row['specified_household'] == 1 else '(継続)'}" if row["specified_household"] else ""))
    header = ["区分", "月数"] + [LABELS[k] for k in keys]
    table = [header]
    for p in parts:
        table.append([p["label"], str(p["months"])] + [_yen(sign.get(k, 1) * p[k]) if p[k] else "0" for k in keys])
    table.append(["合計", ""] + [_yen(sign.get(k, 1) * total[k]) if total[k] else "0" for k in keys])
    widths = [max(_width(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        cells = [_pad(r[0], widths[0], right=False)] + [_pad(v, widths[j]) for j, v in enumerate(r[1:], start=1)]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"年税額 {_yen(row['annual_tax'])}円")
    notes = []
    for p in parts:
        if p["other_detail"]:
            notes.append(p["label"] + ": " + ", ".join(f"{OTHER_LABELS[k]} {_yen(v)}円" for k, v in p["other_detail"].items()))
    if notes:
        lines.append("その他減額の内訳  " + " / ".join(notes))
    if rates.unverified:
        lines.append(f"注意: この年度の税率設定には未確認の値が {len(rates.unverified)} 件あります:")
        lines += [f"  - {u}" for u in rates.unverified]
    return "\n".join(lines)


def as_json(row: dict[str, Any], rates: TaxRates, members: pl.DataFrame) -> dict[str, Any]:
    return {
        "fy": rates.fy, "municipality": rates.municipality, "label": rates.label,
        "household": {k: row[k] for k in ("insured_count", "reduction_class", "reduction_judgment_income",
                                          "reduction_judgment_date", "reduction_persons", "reduction_earners",
                                          "undeclared", "specified_household")},
        "components": breakdown(row, rates),
        "annual_tax": row["annual_tax"],
        "assessment": row,
        "unverified": list(rates.unverified),
        "rates_sources": list(rates.sources),
    }


__all__ = ["main", "member_frame", "exemption_frame", "render", "as_json", "breakdown", "InputError"]
