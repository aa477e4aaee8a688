"""The simulator's 捕捉 of REAL persons of the synthetic city (``--capture-city``): a synthetic city through
当初賦課 (pension_apply_helpers.make_city), TK210's Z22 of July, then the insurer's 捕捉 file of 2026-10-10
naming 世帯主 of the city aged 65–74 who are in no request (FK120 left them to 普通徴収: no Z21 pension),
with the 氏名・生年月日・性別・住所 of the city's 資格 file → TK110 (2026-10-10) → TK220 (2026-10-20) finds each
of them (カナ氏名 + 生年月日 + 性別 → 宛名番号 → 世帯) and answers 31: 01 where the household passes the
特別徴収 判定 with the captured pension, 03 otherwise → the simulator's Z23 32 (2026-12-10) answers every 31.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pension_apply_helpers as h  # noqa: E402

from jobs.common import datasets, paths  # noqa: E402
from jobs.synth import insurer as ins  # noqa: E402

D = dt.date
CAPTURE = D(2026, 10, 10)
SEND = D(2026, 10, 20)
N = 4


def gen(d) -> str:
    return datasets.generation_name(h.MUNI, 2026, d)


@pytest.fixture
def city(kokuho_var, monkeypatch):
    h.make_city(kokuho_var, monkeypatch)
    return kokuho_var


def _cfg() -> ins.InsurerConfig:
    c = ins.load_insurer_config().with_capture(N)
    c = c.with_rates(refusal={"01": 0, "02": 0, "03": 0}, result={"01": 0, "02": 0, "03": 0, "05": 0}, late_death=0)
    return dataclasses.replace(c, capture=dataclasses.replace(c.capture, months=(10,)))


def test_capture_of_city_persons_gets_a_31_each(city):
    h.check(h.run("FK035", h.INTAKE_DATE))      # the 介護保険料 the 2分の1 test of TK220 needs
    h.check(h.run("TK210", D(2026, 7, 17)))
    outbox = paths.outbox("nenkin")
    files, refusals = ins.read_requests(outbox, municipality=h.MUNI5)
    assert files and not refusals
    shikaku = next((city / "archive" / "shikaku").glob("*KOKUHO_SHIKAKU_*.dat"))
    persons = ins.load_city_persons(shikaku)      # the archived (encrypted) file the intake kept
    assert persons and all(p.person_id.isdigit() for p in persons)

    ans = ins.simulate(files, as_of=CAPTURE, seed=5, cfg=_cfg(), capture_persons=persons)
    (cap,) = [f for f in ans.files if f.notice_code == "30"]
    assert cap.name == "Z21_30_20261010.dta" and len(cap.records) == N
    by_key = {(p.name_kana, p.birth_date, p.sex): p for p in persons}
    picked = []
    requested = {(d.person[26:51].decode("cp932").strip(), d.birth_date, d.sex) for f in files for d in f.data}
    for r in cap.records:
        k = (r.source.person[26:51].decode("cp932").strip(), r.source.birth_date, r.source.sex)
        assert k in by_key and k not in requested          # a real person, not one the city already requested
        p = by_key[k]
        assert 65 <= ins._age_on(p.birth_date, CAPTURE) <= ins.CITY_AGE_HIGH
        picked.append(p.person_id)
    # stateless and seeded: the same persons again; never the same person in two capture files
    again = ins.simulate(files, as_of=CAPTURE, seed=5, cfg=_cfg(), capture_persons=persons)
    assert [f.data for f in again.files] == [f.data for f in ans.files]
    two = ins.simulate(files, as_of=D(2026, 12, 10), seed=5, cfg=dataclasses.replace(
        _cfg(), capture=dataclasses.replace(_cfg().capture, months=(10, 12))), capture_persons=persons)
    caps = [f for f in two.files if f.notice_code == "30"]
    keys = [r.source.person[26:51] + r.source.birth_date.isoformat().encode() for f in caps for r in f.records]
    assert len(caps) == 2 and caps[0].data == cap.data and len(keys) == len(set(keys)) > N

    inbox = paths.ensure_dir(paths.inbox("nenkin"))
    (inbox / cap.name).write_bytes(cap.data)
    h.check(h.run("TK110", CAPTURE))
    r220 = h.check(h.run("TK220", SEND))
    sent = datasets.read("pension_request_addition", gen(SEND)).filter(pl.col("notice_code") == "31")
    assert sent.height == N                                  # every captured person answered
    targets = sent.filter(pl.col("category") == "01")
    assert sorted(targets["person_id"].to_list()) == sorted(p for p in targets["person_id"].to_list() if p in picked)
    assert targets.height >= 1, sent.select("category", "person_id", "amount1").rows()
    withheld = datasets.read("withholding", gen(h.ASSESS_DATE))
    assert not set(targets["household_id"]) & set(
        withheld.filter(pl.col("status").is_in(h.WITHHELD))["household_id"])   # they were 普通徴収
    assert (targets["amount1"] > 0).all() and set(targets["event_date"]) == {D(2027, 4, 1)}  # capture 10 → April
    assert r220.totals.money["amount1"] == int(sent["amount1"].sum())
    print(f"捕捉 {N}人 (市の世帯主) → 31: 対象 {targets.height}, 非対象 {sent.height - targets.height}; "
          f"金額1 {int(targets['amount1'].sum()):,}円")

    # the insurer answers every 31 with a 32 (even month after the request: December)
    files, refusals = ins.read_requests(outbox, municipality=h.MUNI5)
    assert not refusals
    dec = ins.simulate(files, as_of=D(2026, 12, 10), seed=5, cfg=_cfg(), capture_persons=persons)
    (z32,) = [f for f in dec.files if f.notice_code == "32"]
    assert len(z32.records) == N and {r.result for r in z32.records} == {"00"}
