"""Checks that one step's dataset generation was made from another's (賦課 lineage)."""

from __future__ import annotations

import polars as pl


def stale_judgment(assessment: pl.DataFrame, judged: pl.DataFrame) -> str | None:
    """The 特別徴収判定 (``withholding``) of households whose annual tax differs from the
    assessment's, or that only one of them has: ``"12世帯"``, or None when they agree (FK120
    must be rerun after FK110 otherwise)."""
    j = assessment.select("household_id", pl.col("annual_tax").alias("_a")).join(
        judged.select("household_id", pl.col("annual_tax").alias("_j")), on="household_id", how="full", coalesce=True)
    bad = j.filter(pl.col("_a").is_null() | pl.col("_j").is_null() | (pl.col("_a") != pl.col("_j")))
    return f"{bad.height:,}世帯" if bad.height else None
