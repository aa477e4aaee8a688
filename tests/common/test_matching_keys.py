"""The matching keys (jobs.common.matching_keys): 通知書番号, the GS1-128 自由使用欄 and the 口座振替
顧客番号 are defined once, and every producer and consumer agrees with that definition."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import polars as pl
import pytest

from jobs.assessment import levy_file
from jobs.collection import keys
from jobs.common import config, matching_keys
from reports import print_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cfg():
    return config.load("111007", 2026)


def test_notice_number_is_method_code_and_household():
    df = pl.DataFrame({"method": ["ordinary", "withholding"], "household_id": ["0000000123", "0000000456"]})
    out = df.select(levy_file.notice_number(pl.col("method"), pl.col("household_id")).alias("n"),
                    keys.ordinary_notice_number(pl.col("household_id")).alias("o"))
    assert out["n"].to_list() == ["10000000123", "20000000456"]
    assert out["o"].to_list() == ["10000000123", "10000000456"]
    assert all(len(n) == matching_keys.NOTICE_NUMBER_LENGTH for n in out["n"])


def test_free_field_round_trip(cfg):
    spec = matching_keys.free_field_spec(cfg)
    assert spec == print_data.free_field_spec(cfg)
    items = {"tax_code": str(cfg.get("notices.cvs.tax_code")), "fy": 2026, "household_id": 123,
             "installment_no": 4, "revision": 0}
    free = matching_keys.format_free_field(spec, items)
    assert len(free) == 21 and free.isdigit()
    parsed = matching_keys.parse_free_field(cfg, free)
    assert parsed == print_data.parse_free_field(cfg, free)
    assert {k: (v if k == "tax_code" else int(v)) for k, v in parsed.items()} == {k: items[k] for k in parsed}
    exprs = pl.DataFrame({"f": [free, "12x"]}).select(
        **{k: e for k, e in matching_keys.free_field_exprs(cfg, pl.col("f")).items()})
    assert exprs.row(0, named=True) == {k: parsed.get(k) for k in exprs.columns}
    assert all(v is None for v in exprs.row(1))


def test_bad_free_field_layout(cfg):
    bad = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"cvs": {"free_field": [
        {"item": "fy", "width": 4}, {"item": "household_id", "width": 10}]}}}))
    with pytest.raises(matching_keys.FreeFieldError, match="21桁"):
        matching_keys.free_field_spec(bad)
    with pytest.raises(print_data.NoticeError, match="21桁"):
        print_data.free_field_spec(bad)


def test_customer_number_round_trip():
    df = pl.DataFrame({"y": [2026], "n": ["10000000123"], "i": [3], "s": [12]})
    num = df.select(keys.customer_number(pl.col("y"), pl.col("n"), pl.col("i"), pl.col("s")).alias("c"))["c"]
    assert num.to_list() == ["20261000000012303012"]
    assert len(num[0]) == keys.CUSTOMER_NUMBER_LENGTH == 20
    back = pl.DataFrame({"c": [num[0], "bad"]}).select(
        **keys.parse_customer_number(pl.col("c")))
    assert back.row(0) == (2026, "10000000123", 3, 12)
    assert back.row(1) == (None, None, None, None)


# the modules that build or read a matching key: none of them reaches into reports/
KEY_MODULES = ("jobs/assessment/levy_file.py", "jobs/collection/keys.py", "jobs/collection/channels.py",
               "jobs/synth/payments.py")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_layering_of_the_keys():
    """matching_keys imports only jobs.common (of the project's packages); the key modules do not
    import reports."""
    mk = ROOT / "jobs" / "common" / "matching_keys.py"
    offenders = [f"jobs/common/matching_keys.py: {n}" for n in _imports(mk)
                 if n.split(".")[0] in ("jobs", "reports", "dags") and not n.startswith("jobs.common")]
    for rel in KEY_MODULES:
        offenders += [f"{rel}: {n}" for n in _imports(ROOT / rel) if n.split(".")[0] == "reports"]
    assert offenders == []
