"""The member-year frame (input of ``engine.assess``) from the intake datasets.

``nhi_qualification`` (国保資格: one row per insured member, 擬制世帯主 and 特定同一世帯所属者) is
joined with ``resident_tax_income`` (住民税所得: one row per person with a 住民税 record) on
``person_id`` (宛名番号). Two cases are told apart (``has_income_record``, ``declared``):

- a 住民税 record whose 申告区分 is in ``tax.income.undeclared_kinds`` ("0") → 未申告: the
  household gets no 7/5/2 軽減;
- no 住民税 record at all: a person born on/after ``tax.income.no_record_declared_born_from``
  (1 January of the fiscal year, the 住民税 賦課期日) has no income of the year before and counts
  as declared; anyone else (moved in after 1 January: 所得照会 pending) counts as declared only
  when ``tax.income.no_record_declared`` is true. Either way the incomes are 0.

Columns (jobs/assessment/README.md "Member-year frame"): ``total_income`` is 総所得金額等 =
総所得金額 + 分離課税の所得 (分離譲渡 + 分離配当 + 山林); 退職所得 is not part of it.
"""

from __future__ import annotations

import polars as pl

from jobs.common import config as config_mod

from .rates import TaxRates

#: Money columns of resident_tax_income that the engine uses (0 when there is no record).
INCOME_COLUMNS = ("total_income", "aggregate_income", "salary_revenue", "salary_income", "pension_revenue",
                  "pension_income", "family_employee_salary", "family_employee_deduction",
                  "separate_transfer_income", "separate_dividend_income", "forest_income")

#: The columns of nhi_qualification and resident_tax_income that ``build_members`` reads (a step or
#: a benchmark reads only these: the names and addresses are not needed for the tax).
QUALIFICATION_COLUMNS = ("record_no", "person_id", "household_id", "householder_flag", "nominal_householder_flag",
                         "specified_same_household", "former_dependent", "birth_date", "acquired_date", "lost_date",
                         "separation_date", "separation_reason_code", "expected_birth_date", "multiple_birth",
                         "ltc_exempt", "ltc_exempt_start")
INCOME_READ_COLUMNS = ("record_no", "person_id", "fiscal_year", "change_kind", "correction_date", "declaration_kind",
                       *INCOME_COLUMNS)

#: The member-year frame's schema (the engine accepts extra columns and fills missing optional ones).
SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.String(), "person_id": pl.String(),
    "is_householder": pl.Boolean(), "is_insured": pl.Boolean(), "is_nominal_householder": pl.Boolean(),
    "is_specified_same_household": pl.Boolean(), "is_former_dependent": pl.Boolean(),
    "birth_date": pl.Date(), "acquired_date": pl.Date(), "lost_date": pl.Date(),
    "separation_date": pl.Date(), "separation_reason_code": pl.String(),
    "expected_birth_date": pl.Date(), "multiple_birth": pl.Boolean(),
    "ltc_exempt": pl.Boolean(), "ltc_exempt_start": pl.Date(),
    "has_income_record": pl.Boolean(), "declared": pl.Boolean(),
    "total_income": pl.Int64(), "aggregate_income": pl.Int64(),
    "salary_revenue": pl.Int64(), "salary_income": pl.Int64(),
    "pension_revenue": pl.Int64(), "pension_income": pl.Int64(),
    "family_employee_salary": pl.Int64(), "family_employee_deduction": pl.Int64(),
    "separate_income": pl.Int64(), "property_tax": pl.Int64(),
}


def build_members(qualification: pl.DataFrame | pl.LazyFrame, income: pl.DataFrame | pl.LazyFrame, *,
                  fy: int, config: config_mod.Config | None = None, rates: TaxRates | None = None,
                  municipality: str | None = None) -> pl.DataFrame:
    """The member-year frame of fiscal year ``fy`` (one row per person of ``qualification``)."""
    return build_members_lazy(qualification, income, fy=fy, config=config, rates=rates,
                              municipality=municipality).collect()


def build_members_lazy(qualification, income, *, fy: int, config: config_mod.Config | None = None,
                       rates: TaxRates | None = None, municipality: str | None = None) -> pl.LazyFrame:
    if rates is None:
        rates = TaxRates.from_config(config) if config is not None else TaxRates.load(municipality, fy)
    if rates.fy != int(fy):
        raise ValueError(f"税率の年度 {rates.fy} と対象年度 {fy} が違います")
    # person_id as an integer when both sides' ids are digits of one length: the same matches, and
    # the duplicate check and the join are much cheaper on integers than on strings
    key = "person_id"
    keys = _digit_keys(qualification, income)
    if keys is not None:
        key = "_person_key"
        qualification = qualification.with_columns(keys[0].alias(key))
        income = income.with_columns(keys[1].alias(key))
    # de-duplication (latest record per person) only where a person appears twice: it is a sort
    q_dups = _has_duplicates(qualification, key)
    i_dups = _has_duplicates(income, key)
    q = qualification.lazy() if isinstance(qualification, pl.DataFrame) else qualification
    inc = income.lazy() if isinstance(income, pl.DataFrame) else income
    qcols = q.collect_schema().names()
    icols = inc.collect_schema().names()

    # the latest record per person (当初 then 異動 by 所得更正年月日, then file order)
    if "fiscal_year" in icols:
        inc = inc.filter(pl.col("fiscal_year").cast(pl.Int32, strict=False) == int(fy))
    if i_dups:
        order = [c for c in ("change_kind", "correction_date", "record_no") if c in icols]
        if order:
            inc = inc.sort(order, nulls_last=False)
        inc = inc.unique(subset=[key], keep="last", maintain_order=False)
    money = [pl.col(c).cast(pl.Int64).alias(f"_i_{c}") if c in icols else pl.lit(0, pl.Int64).alias(f"_i_{c}")
             for c in INCOME_COLUMNS]
    kind = pl.col("declaration_kind").cast(pl.String) if "declaration_kind" in icols else pl.lit(None, pl.String)
    inc = inc.select(pl.col(key) if key != "person_id" else pl.col(key).cast(pl.String), kind.alias("_i_kind"), *money,
                     pl.lit(True).alias("has_income_record"))

    if q_dups:
        if "record_no" in qcols:
            q = q.sort("record_no")
        q = q.unique(subset=[key], keep="last", maintain_order=True)

    def flag(name: str) -> pl.Expr:
        if name not in qcols:
            return pl.lit(False)
        return pl.col(name).cast(pl.String).fill_null("0") == "1"

    def date(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Date) if name in qcols else pl.lit(None, pl.Date)

    def text(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String) if name in qcols else pl.lit(None, pl.String)

    acquired = date("acquired_date")
    lost = date("lost_date")
    insured = (acquired.is_not_null() & (acquired <= pl.lit(rates.fy_end))
               & (lost.is_null() | (lost > pl.lit(rates.fy_start))))
    m = q.select(
        pl.col("household_id").cast(pl.String),
        pl.col("person_id").cast(pl.String),
        flag("householder_flag").alias("is_householder"),
        insured.alias("is_insured"),
        flag("nominal_householder_flag").alias("is_nominal_householder"),
        flag("specified_same_household").alias("is_specified_same_household"),
        flag("former_dependent").alias("is_former_dependent"),
        date("birth_date").alias("birth_date"),
        acquired.alias("acquired_date"),
        lost.alias("lost_date"),
        date("separation_date").alias("separation_date"),
        text("separation_reason_code").alias("separation_reason_code"),
        date("expected_birth_date").alias("expected_birth_date"),
        flag("multiple_birth").alias("multiple_birth"),
        flag("ltc_exempt").alias("ltc_exempt"),
        date("ltc_exempt_start").alias("ltc_exempt_start"),
        *([pl.col(key)] if key != "person_id" else []),
    ).join(inc, on=key, how="left", maintain_order="left")  # the file's order: "the first householder" is stable

    has = pl.col("has_income_record").fill_null(False)
    born_late = pl.col("birth_date") >= pl.lit(rates.no_record_declared_born_from)
    undeclared = pl.col("_i_kind").is_in(list(rates.undeclared_kinds)).fill_null(False)
    declared = (pl.when(has).then(~undeclared)
                .otherwise(born_late.fill_null(False) | pl.lit(rates.no_record_declared)))
    v = {c: pl.col(f"_i_{c}").fill_null(0) for c in INCOME_COLUMNS}
    separate = v["separate_transfer_income"] + v["separate_dividend_income"] + v["forest_income"]
    return m.with_columns(
        has.alias("has_income_record"),
        declared.alias("declared"),
        (v["total_income"] + separate).alias("total_income"),
        v["aggregate_income"].alias("aggregate_income"),
        v["salary_revenue"].alias("salary_revenue"),
        v["salary_income"].alias("salary_income"),
        v["pension_revenue"].alias("pension_revenue"),
        v["pension_income"].alias("pension_income"),
        v["family_employee_salary"].alias("family_employee_salary"),
        v["family_employee_deduction"].alias("family_employee_deduction"),
        separate.alias("separate_income"),
        pl.lit(0, pl.Int64).alias("property_tax"),  # 固定資産税額 (資産割): no interface carries it yet
    ).select([pl.col(c).cast(t) for c, t in SCHEMA.items()])


def _has_duplicates(frame: pl.DataFrame | pl.LazyFrame, key: str = "person_id") -> bool:
    """Whether a person has two records (a LazyFrame is assumed to: checking would read it)."""
    if not isinstance(frame, pl.DataFrame):
        return True
    return frame.height > 0 and frame[key].n_unique() < frame.height


def _digit_ids(*frames: pl.DataFrame | pl.LazyFrame) -> bool:
    """Whether every person_id of every frame (all DataFrames) is ASCII digits of one same length
    (at most 18): then the integer values match exactly when the strings do."""
    return _digit_keys(*frames) is not None


def _digit_keys(*frames: pl.DataFrame | pl.LazyFrame) -> list[pl.Series] | None:
    """The integer values of each frame's person_id when ``_digit_ids`` holds, else None."""
    lengths = set()
    keys = []
    for f in frames:
        if not isinstance(f, pl.DataFrame) or f.schema.get("person_id") != pl.String() or f.height == 0:
            return None
        ids = f["person_id"]
        if ids.null_count() or ids.str.starts_with("+").any() or ids.str.starts_with("-").any():
            return None
        n = ids.str.len_bytes()
        lengths |= {n.min(), n.max()}
        if len(lengths) > 1 or not 0 < n.min() <= 18:
            return None
        value = ids.str.to_integer(strict=False)
        if value.null_count():
            return None
        keys.append(value)
    return keys


def from_datasets(rates: TaxRates, *, generation: str | None = None, municipality: str | None = None,
                  income_generation: str | None = None) -> pl.DataFrame:
    """The member-year frame from the latest (or given) generations of the intake datasets."""
    from jobs.common import datasets

    q = datasets.scan("nhi_qualification", generation, municipality=municipality)
    i = datasets.scan("resident_tax_income", income_generation or generation, municipality=municipality)
    return build_members(q, i, fy=rates.fy, rates=rates)


__all__ = ["INCOME_COLUMNS", "INCOME_READ_COLUMNS", "QUALIFICATION_COLUMNS", "SCHEMA", "build_members", "build_members_lazy", "from_datasets"]
