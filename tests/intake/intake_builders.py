"""Build small interface files from a layout for the intake tests (through the real codec)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common import mynumber, paths

DATE = dt.date(2026, 6, 1)


def default_value(field, layout):
    if field.check == "consignor":
        return "1110070001"  # the synthetic city's 委託者コード (config municipality.yaml direct_debit)
    if field.values:
        return field.values[0]
    if field.type == "digits":
        return "0" * field.length
    if field.type in ("numeric", "zoned", "packed"):
        return 0
    if field.type == "date":
        return DATE.strftime("%m%d") if field.format == "mmdd" else DATE
    if field.type == "text":
        kind = layout.charset_of(field).kind if hasattr(layout.charset_of(field), "kind") else "sbcs"
        return "ア" if kind == "jis0208" else "ｱ"
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
