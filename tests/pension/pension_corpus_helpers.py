"""Valid 年金保険者 files made by the insurer simulator (jobs/synth/insurer.py), for TK110's
malformed-file corpus: a hand-built Z22 request (tests/synth/nenkin_bytes.py, FORMATS.md §2.2)
answered by ``simulate`` with every failure rate at 0.

The Z24 of the October pension month, created 2026-11-10, for three persons of payer 001:
lead-in (96 bytes), record 1 header, records 2–4 data, record 5 trailer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "synth"))
from nenkin_bytes import Group, build, people  # noqa: E402

from jobs.synth import insurer as ins  # noqa: E402

LEAD_IN = 96
RECORD = 500
Z24_NAME = "Z24_22_20261110.dta"
Z24_DATE = "2026-11-10"


def quiet_config(**over) -> ins.InsurerConfig:
    c = ins.load_insurer_config()
    zero = {"refusal_rates": {k: 0.0 for k in c.refusal_rates}, "result_rates": {k: 0.0 for k in c.result_rates},
            "late_death_rate": 0.0}
    return dataclasses.replace(c, **{**zero, **over})


def z22_request(tmp: Path, n: int = 3) -> ins.RequestFile:
    data, _ = build([Group("001", "01", people(n))], created="20260720")
    p = tmp / "Z22_01_20260720.dta"
    p.write_bytes(data)
    return ins.parse_request(p, municipality="11100")


def valid_z24(tmp: Path) -> bytes:
    ans = ins.simulate([z22_request(tmp)], as_of=dt.date(2026, 11, 10), seed=1, cfg=quiet_config())
    (f,) = [f for f in ans.files if f.name == Z24_NAME]
    return f.data


def split(data: bytes) -> tuple[bytearray, list[bytearray]]:
    """(lead-in, the 500-byte records) of a whole file, as bytearrays to mutate."""
    body = data[LEAD_IN:]
    return bytearray(data[:LEAD_IN]), [bytearray(body[i:i + RECORD]) for i in range(0, len(body), RECORD)]


def join(lead: bytes, recs: list[bytes]) -> bytes:
    return bytes(lead) + b"".join(bytes(r) for r in recs)


def put(rec: bytearray, start: int, value: bytes) -> None:
    """Overwrite ``value`` at the 1-based byte ``start`` of a record (FORMATS.md §2.2 positions)."""
    rec[start - 1:start - 1 + len(value)] = value
