"""Build small interface files from a layout for the intake tests (through the real codec)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common import mynumber, paths

DATE = dt.date(2026, 6, 1)
CITY, CITY5, CONSIGNOR = "111007", "11100", "1110070001"  # the synthetic city (config municipality.yaml)


def default_value(field, layout, *, date: dt.date = DATE):
    """A plausible value of ``field``: the city's codes, the first allowed value, zeros, ``date``,
    one kana (full-width where the charset is JIS X 0208 or cp932)."""
    if field.check == "consignor":
        return CONSIGNOR
    if field.check == "municipality" or field.name == "municipality_code":
        return CITY if field.length == 6 else CITY5
    if field.values:
        return field.values[0]
    if field.type == "digits":
        return "0" * field.length
    if field.type in ("numeric", "zoned", "packed"):
        return 0
    if field.type == "date":
        return date.strftime("%m%d") if field.format == "mmdd" else date
    if field.type == "text":
        kind = getattr(layout.charset_of(field), "kind", "sbcs")
        return "ア" if kind in ("jis0208", "cp932") else "ｱ"
    raise AssertionError(f"no default for {field.type}")


def row(layout, record_type: str, **overrides) -> dict:
    rt = layout.record_type(record_type)
    out = {f.name: default_value(f, layout) for f in rt.columns}
    unknown = set(overrides) - set(out)
    assert not unknown, unknown
    out.update(overrides)
    return out


def frame(layout, record_type: str, rows: list[dict]) -> pl.DataFrame:
    rt = layout.record_type(record_type)
    full = [row(layout, record_type, **r) for r in rows]
    return pl.DataFrame(full, schema_overrides={f.name: pl.String for f in rt.columns if f.type == "digits"},
                        infer_schema_length=None)


def build(layout, data: list[dict], **others: list[dict]) -> bytes:
    frames = {layout.data_type.name: frame(layout, layout.data_type.name, data)}
    for rt in layout.record_types:
        if rt.role != "D":
            frames[rt.name] = frame(layout, rt.name, others.get(rt.name, [{}]))
    return fw.write(layout, frames)


def drop(source: str, name: str, data: bytes) -> Path:
    p = paths.ensure_dir(paths.inbox(source)) / name
    p.write_bytes(data)
    return p


def my_number(first11: str) -> str:
    return first11 + str(mynumber.check_digit(first11))


def bad_my_number(first11: str) -> str:
    return first11 + str((mynumber.check_digit(first11) + 1) % 10)
