"""Helpers of the assessment-engine tests (tests/assessment/test_tax_*.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from jobs.assessment import engine, reference
from jobs.assessment.rates import TaxRates


def city(fy: int, components: dict[str, dict[str, Any]], **extra: Any) -> TaxRates:
    """A test city's rates: the statutory figures of ``fy`` with these components (and any
    other ``tax`` keys) on top."""
    return TaxRates.from_overrides({"components": components, **extra}, fy, municipality="test")


def household(*members: dict[str, Any], household_id: str = "H1") -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(members, start=1):
        row = {"household_id": household_id, "person_id": f"{household_id}-{i}", **m}
        row.setdefault("aggregate_income", row.get("total_income", 0))
        out.append(row)
    if not any(r.get("is_householder") for r in out):
        out[0]["is_householder"] = True
    return out


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {}
    for r in rows:
        for k, v in r.items():
            if k in schema:
                continue
            if isinstance(v, bool):
                schema[k] = pl.Boolean()
            elif isinstance(v, dt.date):
                schema[k] = pl.Date()
            elif isinstance(v, int):
                schema[k] = pl.Int64()
            elif v is not None:
                schema[k] = pl.String()
    for r in rows:
        for k, v in r.items():
            if k not in schema:
                key = k
                schema[key] = pl.Date() if k.endswith("_date") or k.endswith("_start") else pl.String()
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def assess_one(rows: list[dict[str, Any]], rates: TaxRates, exemptions: list[dict] | None = None) -> dict[str, Any]:
    """engine.assess on one household; also checks the reference gives the same row."""
    ex = None
    if exemptions:
        ex = pl.DataFrame(exemptions, schema={"household_id": pl.String, "component": pl.String,
                                              "rate": pl.Float64, "amount": pl.Int64})
    out = engine.assess(frame(rows), rates, exemptions=ex)
    assert out.height == 1
    row = out.row(0, named=True)
    ref = reference.assess_household(rows, rates, exemptions)
    diff = {k: (row[k], ref[k]) for k in row if row[k] != ref[k]}
    assert not diff, f"engine != reference: {diff}"
    return row


def component_total(row: dict[str, Any], name: str) -> int:
    return row[f"{name}_amount"]


def per_capita_after(row: dict[str, Any], name: str) -> int:
    """均等割 after every reduction of the 均等割 (the household's)."""
    p = f"{name}_"
    return (row[p + "per_capita_levy"] - row[p + "minor_reduction"] - row[p + "reduction"]
            - row[p + "preschool_reduction"])
