"""Tax rates and rules of one municipality and fiscal year (``TaxRates``), from config/.

Two layers, merged key by key (``jobs.common.config.deep_merge``):

    config/common/tax/fy<YYYY>.yaml                    statutory figures of the year (caps, 軽減 thresholds,
                                                       reduction rules, rounding, order switches)
    config/municipalities/<code>/fy<YYYY>/tax.yaml     the city's rates (and any lower cap) — loaded
                                                       through jobs.common.config like every other file

Both hold one top-level key ``tax:``. A component (medical, elderly_support, long_term_care,
child_support) takes any of income_rate (所得割率), asset_rate (資産割率), per_capita (均等割額),
adult_per_capita (18歳以上均等割額), per_household (平等割額): none is required, so 2方式, 3方式 and
4方式 cities all work. No yen amount, rate or date lives in code: everything is read here.

Rates and ratios are exact fractions (``Fraction("0.0713")``), so the engine and the reference
compute the same yen without floating point.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from jobs.common import config as config_mod
from jobs.common import paths

#: Component names in notice order (glossary names; the labels come from config).
COMPONENTS = ("medical", "elderly_support", "long_term_care", "child_support")

#: Order switches (``tax.order``) and their allowed values; the first is the documented default.
CAP_AND_PRORATION = ("cap_then_prorate", "prorate_then_cap")
REDUCTIONS_AND_CAP = ("reduce_then_cap", "cap_then_reduce")

#: Common denominator guard: numerators of one component stay far below 2**63.
_MAX_DENOMINATOR = 10 ** 6


class RatesError(config_mod.ConfigError):
    """The tax configuration is missing or inconsistent (message for operators)."""


def as_fraction(value: Any, what: str) -> Fraction:
    """0.0713, "0.0713", "7.13%" or 1 → an exact Fraction (never through binary floating point)."""
    if isinstance(value, bool) or value is None:
        raise RatesError(f"{what}: 数値ではありません: {value!r}")
    text = str(value).strip()
    try:
        if text.endswith("%"):
            frac = Fraction(text[:-1].strip()) / 100
        else:
            frac = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise RatesError(f"{what}: 数値ではありません: {value!r}") from exc
    if frac < 0:
        raise RatesError(f"{what}: 負の値は使えません: {value!r}")
    return frac


def _int(value: Any, what: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RatesError(f"{what}: 0以上の整数(円)が必要です: {value!r}")
    return int(value)


def month_day(value: Any, year: int, what: str) -> dt.date:
    """ "04-01" in ``year`` → a date."""
    try:
        m, d = (int(x) for x in str(value).split("-"))
        return dt.date(year, m, d)
    except (ValueError, TypeError) as exc:
        raise RatesError(f"{what}: 月日 MM-DD が必要です: {value!r}") from exc


def shift_years(day: dt.date, years: int) -> dt.date:
    """The same month-day ``years`` later (29 February → 28 February in a common year)."""
    y = day.year + years
    try:
        return day.replace(year=y)
    except ValueError:
        return dt.date(y, 2, 28)


@dataclass(frozen=True)
class ComponentRates:
    name: str
    label: str
    income_rate: Fraction | None = None
    asset_rate: Fraction | None = None
    per_capita: int | None = None
    adult_per_capita: int | None = None  # 18歳以上均等割 (child_support)
    per_household: int | None = None
    cap: int | None = None
    age_from: int | None = None  # inclusive ages of the months charged (介護 40–64)
    age_to: int | None = None
    minor_exempt_age: int | None = None  # 均等割 10割軽減 below this age (child_support: 18)

    @property
    def levies(self) -> tuple[str, ...]:
        """Which of 所得割/資産割/均等割/平等割 the city levies ("2方式" = income + per_capita)."""
        out = []
        if self.income_rate is not None:
            out.append("income")
        if self.asset_rate is not None:
            out.append("asset")
        if self.per_capita is not None or self.adult_per_capita is not None:
            out.append("per_capita")
        if self.per_household is not None:
            out.append("per_household")
        return tuple(out)


@dataclass(frozen=True)
class ReductionClass:
    code: int  # 7, 5, 2 (割)
    rate: Fraction  # 0.7 …
    per_person: int  # added per 被保険者 (and 特定同一世帯所属者) to the threshold


@dataclass(frozen=True)
class ReductionRules:
    base: int
    per_earner: int
    classes: tuple[ReductionClass, ...]
    components: tuple[str, ...]
    earner_salary_revenue_over: int
    earner_pension_revenue_over_under_age: int
    earner_pension_revenue_over_age: int
    earner_excludes_family_employee_salary: bool
    pension_age: int
    pension_age_reference: dt.date  # a person counts as pension_age+ who reached it by this day
    pension_special_deduction: int
    family_employee_salary_to_owner: bool

    def rate_of(self, code: int) -> Fraction:
        for c in self.classes:
            if c.code == code:
                return c.rate
        return Fraction(0)


@dataclass(frozen=True)
class Window:
    months_before: int
    months: int


@dataclass(frozen=True)
class TaxRates:
    """Everything the engine needs for one fiscal year of one municipality."""

    fy: int
    municipality: str | None
    label: str
    fy_start: dt.date
    components: tuple[ComponentRates, ...]
    basic_deduction: tuple[tuple[int | None, int], ...]  # (合計所得金額 up to, deduction)
    base_unit: int
    reduction: ReductionRules
    preschool_age: int
    preschool_ratio: Fraction
    preschool_components: tuple[str, ...]
    perinatal_single: Window
    perinatal_multiple: Window
    perinatal_effective_from: dt.date
    perinatal_components: tuple[str, ...]
    involuntary_reason_codes: tuple[str, ...]
    involuntary_salary_ratio: Fraction
    involuntary_max_age: int
    involuntary_following_years: int
    specified_stages: tuple[tuple[int, Fraction], ...]  # (months, ratio)
    specified_components: tuple[str, ...]
    former_dependent_income_ratio: Fraction
    former_dependent_per_capita_ratio: Fraction
    former_dependent_per_capita_months: int
    former_dependent_per_household_ratio: Fraction
    former_dependent_per_household_months: int
    former_dependent_components: tuple[str, ...]
    rounding_unit: int
    cap_and_proration: str
    reductions_and_cap: str
    undeclared_kinds: tuple[str, ...]
    no_record_declared_born_from: dt.date
    no_record_declared: bool
    unverified: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # --- loading ----------------------------------------------------------------------------

    @classmethod
    def load(cls, municipality: str | None = None, fy: int | None = None, *, root: Path | None = None) -> TaxRates:
        """The statutory figures of ``fy`` with the municipality's profile on top."""
        if fy is None:
            raise RatesError("年度 (fy) を指定してください")
        cfg = config_mod.load(municipality, int(fy), root=root)
        return cls.from_config(cfg, root=root)

    @classmethod
    def from_config(cls, cfg: config_mod.Config, *, root: Path | None = None) -> TaxRates:
        """From a loaded ``jobs.common.config.Config`` (municipality + fiscal year)."""
        if cfg.fy is None:
            raise RatesError("年度のない設定からは税率を作れません (config.load(municipality, fy))")
        base, base_path = statutory(cfg.fy, root=root)
        local = cfg.get("tax", {}) or {}
        files = (paths.relative(base_path),) + tuple(
            paths.relative(p) for p in cfg.sources if p.name == "tax.yaml")
        return cls.from_mapping(config_mod.deep_merge(base, local), municipality=cfg.municipality, sources=files,
                                fiscal_year_start=cfg.get("calendar.fiscal_year_start"))

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], fy: int, *, municipality: str | None = None,
                       root: Path | None = None, source: str = "") -> TaxRates:
        """The statutory figures of ``fy`` with ``overrides`` (a ``tax:`` mapping, or its content)
        on top: a rates file of `kokuho shisan`, or a test city's rates."""
        body = overrides.get("tax", overrides) if isinstance(overrides, Mapping) else {}
        year = int(body.get("fiscal_year", fy))
        base, base_path = statutory(year, root=root)
        merged = config_mod.deep_merge(base, body)
        start = config_mod.load_common(root=root).get("calendar.fiscal_year_start")
        return cls.from_mapping(merged, municipality=municipality, fiscal_year_start=start,
                                sources=(paths.relative(base_path),) + ((source,) if source else ()))

    @classmethod
    def from_mapping(cls, tax: Mapping[str, Any], *, fiscal_year_start: Any, municipality: str | None = None,
                     sources: tuple[str, ...] = ()) -> TaxRates:
        """From a complete, merged ``tax`` mapping (see config/common/tax/fy*.yaml) and the fiscal
        year's first day (``calendar.fiscal_year_start``, its one place: config/common/calendar.yaml)."""
        t = _Reader(tax)
        fy = _int(t.get("fiscal_year"), "tax.fiscal_year")
        if "fiscal_year_start" in tax:
            raise RatesError("tax.fiscal_year_start は使えません: 年度の初日は calendar.fiscal_year_start "
                             "(config/common/calendar.yaml) の1か所で設定します")
        fy_start = month_day(fiscal_year_start, fy, "calendar.fiscal_year_start")
        if fy_start.day != 1:
            raise RatesError("calendar.fiscal_year_start: 月割は月単位なので年度の初日は1日である必要があります")
        comps = []
        given = t.get("components") or {}
        unknown = [k for k in given if k not in COMPONENTS]
        if unknown:
            raise RatesError(f"tax.components: 未知の区分 {unknown} (使える区分: {', '.join(COMPONENTS)})")
        for name in COMPONENTS:
            c = given.get(name)
            if c is None:
                continue
            p = f"tax.components.{name}"
            rate = lambda k: None if c.get(k) is None else as_fraction(c[k], f"{p}.{k}")  # noqa: E731
            comp = ComponentRates(
                name=name, label=str(c.get("label") or name),
                income_rate=rate("income_rate"), asset_rate=rate("asset_rate"),
                per_capita=_int(c.get("per_capita"), f"{p}.per_capita", allow_none=True),
                adult_per_capita=_int(c.get("adult_per_capita"), f"{p}.adult_per_capita", allow_none=True),
                per_household=_int(c.get("per_household"), f"{p}.per_household", allow_none=True),
                cap=_int(c.get("cap"), f"{p}.cap", allow_none=True),
                age_from=_int(c.get("age_from"), f"{p}.age_from", allow_none=True),
                age_to=_int(c.get("age_to"), f"{p}.age_to", allow_none=True),
                minor_exempt_age=_int(c.get("minor_exempt_age"), f"{p}.minor_exempt_age", allow_none=True),
            )
            if (comp.age_from is None) != (comp.age_to is None):
                raise RatesError(f"{p}: age_from と age_to は両方指定してください")
            comps.append(comp)
        if not comps:
            raise RatesError("tax.components: 区分がありません")

        ded = []
        for row in t.get("income_base.basic_deduction"):
            upper, amount = row
            ded.append((_int(upper, "tax.income_base.basic_deduction", allow_none=True),
                        _int(amount, "tax.income_base.basic_deduction")))
        if ded[-1][0] is not None:
            raise RatesError("tax.income_base.basic_deduction: 最後の行の上限は null にしてください")

        r = t.sub("reduction")
        classes = tuple(sorted(
            (ReductionClass(code=_int(c["code"], "tax.reduction.classes.code"),
                            rate=as_fraction(c["rate"], "tax.reduction.classes.rate"),
                            per_person=_int(c["per_person"], "tax.reduction.classes.per_person"))
             for c in r.get("classes")), key=lambda c: -c.rate))
        if any(c.rate >= 1 for c in classes) or len({c.code for c in classes}) != len(classes):
            raise RatesError("tax.reduction.classes: 軽減割合は1未満、区分コードは重複不可です")
        income_year_end = month_day(r.get("pension_age_reference"), fy - 1, "tax.reduction.pension_age_reference")
        reduction = ReductionRules(
            base=_int(r.get("base"), "tax.reduction.base"),
            per_earner=_int(r.get("per_earner"), "tax.reduction.per_earner"),
            classes=classes,
            components=_names(r.get("components"), "tax.reduction.components"),
            earner_salary_revenue_over=_int(r.get("earner_salary_revenue_over"), "tax.reduction.earner_salary_revenue_over"),
            earner_pension_revenue_over_under_age=_int(r.get("earner_pension_revenue_over_under_age"), "earner_pension"),
            earner_pension_revenue_over_age=_int(r.get("earner_pension_revenue_over_age"), "earner_pension"),
            earner_excludes_family_employee_salary=bool(r.get("earner_excludes_family_employee_salary")),
            pension_age=_int(r.get("pension_age"), "tax.reduction.pension_age"),
            pension_age_reference=income_year_end,
            pension_special_deduction=_int(r.get("pension_special_deduction"), "pension_special_deduction"),
            family_employee_salary_to_owner=bool(r.get("family_employee_salary_to_owner")),
        )

        pn = t.sub("perinatal")
        eff = pn.get("effective_from")
        if not isinstance(eff, dt.date):
            eff = dt.date.fromisoformat(str(eff))
        iu = t.sub("involuntary_unemployed")
        sh = t.sub("specified_household")
        fd = t.sub("former_dependent")
        order = t.sub("order")
        cap_order = str(order.get("cap_and_proration"))
        red_order = str(order.get("reductions_and_cap"))
        if cap_order not in CAP_AND_PRORATION:
            raise RatesError(f"tax.order.cap_and_proration: {cap_order!r} (使える値: {', '.join(CAP_AND_PRORATION)})")
        if red_order not in REDUCTIONS_AND_CAP:
            raise RatesError(f"tax.order.reductions_and_cap: {red_order!r} (使える値: {', '.join(REDUCTIONS_AND_CAP)})")
        inc = t.sub("income")
        unit = _int(t.get("rounding.component_unit"), "tax.rounding.component_unit")
        base_unit = _int(t.get("income_base.unit"), "tax.income_base.unit")
        if unit < 1 or base_unit < 1:
            raise RatesError("tax.rounding.component_unit / tax.income_base.unit は1以上です")
        rates = cls(
            fy=fy, municipality=municipality,
            label=str(tax.get("municipality_label") or municipality or ""),
            fy_start=fy_start,
            components=tuple(comps),
            basic_deduction=tuple(ded),
            base_unit=base_unit,
            reduction=reduction,
            preschool_age=_int(t.get("preschool.age"), "tax.preschool.age"),
            preschool_ratio=as_fraction(t.get("preschool.ratio"), "tax.preschool.ratio"),
            preschool_components=_names(t.get("preschool.components"), "tax.preschool.components"),
            perinatal_single=Window(_int(pn.get("single.months_before"), "perinatal"),
                                    _int(pn.get("single.months"), "perinatal")),
            perinatal_multiple=Window(_int(pn.get("multiple.months_before"), "perinatal"),
                                      _int(pn.get("multiple.months"), "perinatal")),
            perinatal_effective_from=eff,
            perinatal_components=_names(pn.get("components"), "tax.perinatal.components"),
            involuntary_reason_codes=tuple(str(c) for c in iu.get("reason_codes")),
            involuntary_salary_ratio=as_fraction(iu.get("salary_ratio"), "tax.involuntary_unemployed.salary_ratio"),
            involuntary_max_age=_int(iu.get("max_age_at_separation"), "tax.involuntary_unemployed"),
            involuntary_following_years=_int(iu.get("following_fiscal_years"), "tax.involuntary_unemployed"),
            specified_stages=tuple((_int(s["months"], "tax.specified_household.stages"),
                                    as_fraction(s["ratio"], "tax.specified_household.stages"))
                                   for s in sh.get("stages")),
            specified_components=_names(sh.get("components"), "tax.specified_household.components"),
            former_dependent_income_ratio=as_fraction(fd.get("income_levy_ratio"), "tax.former_dependent"),
            former_dependent_per_capita_ratio=as_fraction(fd.get("per_capita_ratio"), "tax.former_dependent"),
            former_dependent_per_capita_months=_int(fd.get("per_capita_months"), "tax.former_dependent"),
            former_dependent_per_household_ratio=as_fraction(fd.get("per_household_ratio"), "tax.former_dependent"),
            former_dependent_per_household_months=_int(fd.get("per_household_months"), "tax.former_dependent"),
            former_dependent_components=_names(fd.get("components"), "tax.former_dependent.components"),
            rounding_unit=unit,
            cap_and_proration=cap_order,
            reductions_and_cap=red_order,
            undeclared_kinds=tuple(str(k) for k in inc.get("undeclared_kinds")),
            no_record_declared_born_from=month_day(inc.get("no_record_declared_born_from"), fy,
                                                   "tax.income.no_record_declared_born_from"),
            no_record_declared=bool(inc.get("no_record_declared")),
            unverified=tuple(str(x) for x in (tax.get("unverified_statutory") or []))
            + tuple(str(x) for x in (tax.get("unverified_local") or [])),
            sources=tuple(sources),
            raw=tax,
        )
        for c in rates.components:
            rates.denominator(c.name)  # refuse rates whose common denominator would overflow
        return rates

    # --- derived values used by the engine and the reference -------------------------------

    def component(self, name: str) -> ComponentRates | None:
        for c in self.components:
            if c.name == name:
                return c
        return None

    @property
    def fy_end(self) -> dt.date:
        return shift_years(self.fy_start, 1) - dt.timedelta(days=1)

    def age_cutoff(self, age: int) -> dt.date:
        """Born on or after this day = still "before the first 31 March after reaching ``age``"
        during this fiscal year (未就学児: 6, 子ども・子育て支援金の18歳未満: 18)."""
        return shift_years(self.fy_start, -age) + dt.timedelta(days=1)

    def pension_age_born_by(self) -> dt.date:
        """Born on or before this day = reached the pension age by the reference day (65歳以上)."""
        return shift_years(self.reduction.pension_age_reference + dt.timedelta(days=1), -self.reduction.pension_age)

    def basic_deduction_for(self, aggregate_income: int) -> int:
        for upper, amount in self.basic_deduction:
            if upper is None or aggregate_income <= upper:
                return amount
        return 0

    def applies(self, what: str, component: str) -> bool:
        lists = {"reduction": self.reduction.components, "preschool": self.preschool_components,
                 "perinatal": self.perinatal_components, "specified": self.specified_components,
                 "former_dependent": self.former_dependent_components}
        return component in lists[what]

    def factors(self, component: str) -> list[Fraction]:
        """Every fraction the engine multiplies a component's yen-months by (for the common
        denominator): rates, and per 軽減 class r: r, 1−r, (1−r)·未就学児, (1−r)·特定世帯,
        max(0, 旧被扶養者 − r)."""
        c = self.component(component)
        out = [Fraction(1)]
        ir = c.income_rate or Fraction(0)
        out += [ir, ir * self.former_dependent_income_ratio, c.asset_rate or Fraction(0)]
        for r in [Fraction(0)] + [k.rate for k in self.reduction.classes]:
            out += [r, 1 - r, (1 - r) * self.preschool_ratio]
            out += [(1 - r) * s for _, s in self.specified_stages]
            out += [max(Fraction(0), self.former_dependent_per_capita_ratio - r),
                    max(Fraction(0), self.former_dependent_per_household_ratio - r)]
        return out

    def denominator(self, component: str) -> int:
        d = 1
        for f in self.factors(component):
            d = math.lcm(d, f.denominator)
        if d > _MAX_DENOMINATOR:
            raise RatesError(f"tax.components.{component}: 税率の桁数が多すぎます (共通分母 {d})")
        return d

    def summary(self) -> dict[str, Any]:
        """A plain description (for `kokuho shisan --json` and logs)."""
        return {
            "fy": self.fy, "municipality": self.municipality, "label": self.label,
            "components": {c.name: {
                "label": c.label, "income_rate": _pct(c.income_rate), "asset_rate": _pct(c.asset_rate),
                "per_capita": c.per_capita, "adult_per_capita": c.adult_per_capita,
                "per_household": c.per_household, "cap": c.cap} for c in self.components},
            "reduction": {"base": self.reduction.base, "per_earner": self.reduction.per_earner,
                          "classes": [{"code": k.code, "rate": str(k.rate), "per_person": k.per_person}
                                      for k in self.reduction.classes]},
            "order": {"cap_and_proration": self.cap_and_proration, "reductions_and_cap": self.reductions_and_cap},
            "unverified": list(self.unverified),
            "sources": list(self.sources),
        }


def statutory(fy: int, *, root: Path | None = None) -> tuple[dict[str, Any], Path]:
    """The ``tax`` mapping of config/common/tax/fy<YYYY>.yaml."""
    base = Path(root) if root is not None else paths.config_root()
    path = base / "common" / "tax" / f"fy{int(fy):04d}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in (base / "common" / "tax").glob("fy*.yaml"))
        raise RatesError(f"{paths.relative(path)} がありません (法定の税率設定がある年度: {', '.join(have) or 'なし'})")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RatesError(f"設定ファイルを読めません: {paths.relative(path)}: {exc}") from exc
    if not isinstance(doc.get("tax"), Mapping):
        raise RatesError(f"{paths.relative(path)}: 最上位に tax: がありません")
    return dict(doc["tax"]), path


def _pct(f: Fraction | None) -> str | None:
    if f is None:
        return None
    return f"{float(f * 100):g}%"


def _names(values: Any, what: str) -> tuple[str, ...]:
    names = tuple(str(v) for v in (values or ()))
    bad = [n for n in names if n not in COMPONENTS]
    if bad:
        raise RatesError(f"{what}: 未知の区分 {bad}")
    return names


class _Reader:
    """Dotted access to a mapping with operator messages naming the missing key."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "tax"):
        self.data = data
        self.prefix = prefix

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise RatesError(f"設定項目がありません: {self.prefix}.{key}")
            node = node[part]
        return node

    def sub(self, key: str) -> _Reader:
        node = self.get(key)
        if not isinstance(node, Mapping):
            raise RatesError(f"{self.prefix}.{key} はマッピングである必要があります")
        return _Reader(node, f"{self.prefix}.{key}")


__all__ = ["COMPONENTS", "CAP_AND_PRORATION", "REDUCTIONS_AND_CAP", "ComponentRates", "RatesError",
           "ReductionClass", "ReductionRules", "TaxRates", "Window", "as_fraction", "shift_years", "statutory"]
