"""The regression corpus of malformed inbound files (issue 13), built deterministically.

Every case of ``tests/corpus/cases.yaml`` is one file: a good base file per layout (written by
the real codec from fixed rows, or a golden fixture), then one named mutation — a field given an
implausible but well-formed value (the writer fills the trailer, so it agrees), raw bytes patched
into a field (UTF-8 in a cp932 field, a non-digit, a wrong trailer total), or the file cut.

    python tests/corpus/build_corpus.py [--out DIR]     # writes DIR/<layout>/<case>.<ext>

``tests/corpus/test_corpus.py`` builds the same bytes in memory and runs each through the real
intake step. The same case name always gives the same bytes (no clock, no randomness).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jobs.common import fixedwidth as fw  # noqa: E402
from jobs.common import mynumber  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "intake"))
from intake_builders import default_value  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES_FILE = HERE / "cases.yaml"
FIXTURES = ROOT / "fixtures"
BUSINESS_DATE = dt.date(2026, 6, 29)  # the corpus's 業務日 (fiscal year 2026)
OTHER_CITY, OTHER_CITY5 = "131016", "13101"

#: job, inbox and file name pattern of each inbound layout (jobs/registry.py)
JOBS = {
    "nhi_qualification": ("FK020", "shikaku", "SHIKAKU_{case}.dat"),
    "resident_tax_income": ("FK010", "juminzei", "SHOTOKU_{case}.dat"),
    "tokucho_z21": ("FK030", "nenkin", "Z21_{case}.dta"),
    "direct_debit_mandate": ("SN010", "koufuri", "KOUFURI_{case}.dat"),
    "zengin_91_result": ("SN110", "bank", "KFR_{case}.txt"),
    "counter_payment": ("SN200", "counter", "COUNTER_{case}.dat"),
    "cvs_payment": ("SN210", "cvs", "CVS_{case}.dat"),
}


def my_number(first11: str) -> str:
    return first11 + str(mynumber.check_digit(first11))


# --- good rows per layout ------------------------------------------------------------------------------


def _default(field, layout):
    """The intake tests' plausible value of a field (tests/intake/intake_builders.py)."""
    return default_value(field, layout)


def _frame(layout, rt_name: str, rows: list[dict]):
    import polars as pl

    rt = layout.record_type(rt_name)
    full = []
    for r in rows:
        row = {f.name: _default(f, layout) for f in rt.columns}
        unknown = set(r) - set(row)
        assert not unknown, (layout.id, unknown)
        row.update(r)
        full.append(row)
    return pl.DataFrame(full, schema_overrides={f.name: pl.String for f in rt.columns if f.type == "digits"},
                        infer_schema_length=None)


def _rows(layout_id: str) -> list[dict]:
    """Five good data records of a layout (distinct keys, plausible values)."""
    out = []
    for i in range(1, 6):
        if layout_id == "nhi_qualification":
            out.append(dict(person_id=f"{i:010d}", household_id=f"{100 + i:010d}", my_number=my_number(f"{i:011d}"),
                            name_kanji="山田　太郎", birth_date=dt.date(1950 + i, 1, 1)))
        elif layout_id == "resident_tax_income":
            out.append(dict(person_id=f"{i:010d}", my_number=my_number(f"{i:011d}"), fiscal_year="2026",
                            total_income=1_000_000 * i, aggregate_income=1_000_000 * i))
        elif layout_id == "direct_debit_mandate":
            out.append(dict(payer_person_id=f"{i:010d}", household_id=f"{100 + i:010d}", start_month="202607",
                            account_number=f"{i:07d}", account_holder="ﾔﾏﾀﾞ ﾀﾛｳ"))
        elif layout_id == "zengin_91_result":
            out.append(dict(amount=10_000 * i, result_code="0" if i % 2 else "1", account_number=f"{i:07d}",
                            customer_number=f"{i:020d}"))
        elif layout_id == "counter_payment":
            out.append(dict(levy_year="2026", target_year="2026", notice_number=f"{10000000000 + i:011d}",
                            installment_no=1, amount=10_000 * i, paid_date=dt.date(2026, 6, 1),
                            received_date=dt.date(2026, 6, 2), slip_serial=f"{i:010d}"))
        elif layout_id == "cvs_payment":
            out.append(dict(amount=1_000 * i, paid_date=dt.date(2026, 6, 1)))
        else:
            raise KeyError(layout_id)
    return out


def _others(layout_id: str) -> dict[str, list[dict]]:
    if layout_id in ("nhi_qualification", "resident_tax_income"):
        return {"header": [dict(fiscal_year="2026")]}
    return {}


def build_base(layout_id: str, overrides: dict[int, dict] | None = None) -> bytes:
    """The good file of a layout; ``overrides`` {data record index (0-based): {field: value}} give
    well-formed values (the writer fills the trailer, so it agrees with the records)."""
    layout = fw.load_layout(layout_id)
    if layout_id == "tokucho_z21":
        assert not overrides
        return (FIXTURES / "tokucho_z21" / "Z2100001.dta").read_bytes()
    rows = _rows(layout_id)
    for i, o in (overrides or {}).items():
        rows[i] = {**rows[i], **o}
    frames = {layout.data_type.name: _frame(layout, layout.data_type.name, rows)}
    others = _others(layout_id)
    for rt in layout.record_types:
        if rt.role != "D":
            frames[rt.name] = _frame(layout, rt.name, others.get(rt.name, [{}]))
    return fw.write(layout, frames)


# --- byte patches ----------------------------------------------------------------------------------


def _geometry(layout, data: bytes) -> tuple[int, int]:
    lead = layout.lead_in.fields[-1].end if layout.lead_in is not None else 0
    n = layout.record_length
    stride = n + 2 if data[lead + n:lead + n + 2] == b"\r\n" else n
    return lead, stride


def patch(layout_id: str, data: bytes, record_no: int, record_type: str, field: str, value: bytes) -> bytes:
    """Overwrite field ``field`` of record ``record_no`` (1-based, in the file) with raw bytes."""
    layout = fw.load_layout(layout_id)
    f = layout.record_type(record_type).field(field)
    assert len(value) <= f.length, (field, value)
    value = value + b" " * (f.length - len(value)) if f.type == "text" else value.rjust(f.length, b"0")
    lead, stride = _geometry(layout, data)
    at = lead + (record_no - 1) * stride + f.offset
    return data[:at] + value + data[at + f.length:]


def records(layout_id: str, data: bytes) -> int:
    layout = fw.load_layout(layout_id)
    lead, stride = _geometry(layout, data)
    return (len(data) - lead + (stride - layout.record_length)) // stride


def _trailer_no(layout_id: str, data: bytes) -> int:
    """The record number of the (last) trailer."""
    layout = fw.load_layout(layout_id)
    res = fw.read(layout, data)
    t = [rt for rt in layout.record_types if rt.role == "T"][0]
    return int(res.frames[t.name]["record_no"][-1])


def _bump(layout_id: str, data: bytes, field: str, by: int = 1) -> bytes:
    layout = fw.load_layout(layout_id)
    t = [rt for rt in layout.record_types if rt.role == "T"][0]
    res = fw.read(layout, data)
    no = _trailer_no(layout_id, data)
    f = t.field(field)
    value = int(res.frames[t.name][field][-1]) + by
    return patch(layout_id, data, no, t.name, field, str(value).zfill(f.length).encode())


# --- mutations: name -> function(layout_id, params) -> bytes ----------------------------------------


def m_value(layout_id: str, p: dict) -> bytes:
    """Well-formed values in data record(s): {record: 1-based data index or 'all', set: {field: v}}."""
    values = {k: (dt.date.fromisoformat(v) if isinstance(v, str) and len(v) == 10 and v[4] == "-" else v)
              for k, v in p["set"].items()}
    n = len(_rows(layout_id))
    idx = range(n) if p.get("record") == "all" else [int(p.get("record", 1)) - 1]
    return build_base(layout_id, {i: values for i in idx})


def m_bytes(layout_id: str, p: dict) -> bytes:
    """Raw bytes into a field: {record_no (in the file; or a list), record_type, field, hex | ascii | utf8 | cp932}."""
    data = build_base(layout_id)
    if "hex" in p:
        value = bytes.fromhex(p["hex"])
    elif "utf8" in p:
        value = p["utf8"].encode("utf-8")
    elif "cp932" in p:
        value = p["cp932"].encode("cp932")
    else:
        value = str(p["ascii"]).encode("ascii")
    nos = p["record_no"] if isinstance(p["record_no"], list) else [p["record_no"]]
    for no in nos:
        data = patch(layout_id, data, int(no), p.get("record_type", "data"), p["field"], value)
    return data


def m_trailer(layout_id: str, p: dict) -> bytes:
    """A trailer total off by ``by`` (default 1): {field, by}."""
    return _bump(layout_id, build_base(layout_id), p["field"], int(p.get("by", 1)))


def m_reject_and_trailer(layout_id: str, p: dict) -> bytes:
    """A record rejected (raw bytes) AND a trailer total off elsewhere: {record_no, field, ascii, trailer}."""
    data = m_bytes(layout_id, p)
    return _bump(layout_id, data, p["trailer"], int(p.get("by", 1)))


def m_truncate(layout_id: str, p: dict) -> bytes:
    data = build_base(layout_id)
    return data[: len(data) - int(p.get("cut", 1))]


def m_empty(layout_id: str, p: dict) -> bytes:
    return b""


def m_drop_record(layout_id: str, p: dict) -> bytes:
    """Remove record ``record_no`` (the trailer then disagrees, or the structure breaks)."""
    layout = fw.load_layout(layout_id)
    data = build_base(layout_id)
    lead, stride = _geometry(layout, data)
    at = lead + (int(p["record_no"]) - 1) * stride
    return data[:at] + data[at + stride:]


def m_utf8_bom(layout_id: str, p: dict) -> bytes:
    return b"\xef\xbb\xbf" + build_base(layout_id)


MUTATIONS: dict[str, Callable[[str, dict], bytes]] = {
    "value": m_value, "bytes": m_bytes, "trailer": m_trailer, "reject_and_trailer": m_reject_and_trailer,
    "truncate": m_truncate, "empty": m_empty, "drop_record": m_drop_record, "utf8_bom": m_utf8_bom,
}


def load_cases() -> dict[str, dict]:
    doc = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return {c["case"]: c for c in doc["cases"]}


def build_case(case: dict) -> bytes:
    return MUTATIONS[case["mutation"]](case["layout"], case.get("params") or {})


def file_name(case: dict) -> str:
    return JOBS[case["layout"]][2].format(case=case["case"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "files")
    args = ap.parse_args(argv)
    for name, case in load_cases().items():
        target = args.out / case["layout"] / file_name(case)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(build_case(case))
    print(f"{len(load_cases())} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
