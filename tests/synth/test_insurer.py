"""The pension-insurer simulator (jobs/synth/insurer.py, ``kokuho synth-nenkin``).

Inputs are hand-built from FORMATS.md §2.2 (nenkin_bytes.py); answers are read back with the
project's own codec (layouts/tokucho_500) as a cross-check of the simulator's writer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random

import pytest
from nenkin_bytes import Group, Person, assemble, build, people, write

from jobs.common import fixedwidth as fw
from jobs.synth import insurer as ins

MUNI = "11100"


def cfg(**rates) -> ins.InsurerConfig:
    c = ins.load_insurer_config()
    zero = {"refusal_rates": {k: 0.0 for k in c.refusal_rates}, "result_rates": {k: 0.0 for k in c.result_rates},
            "late_death_rate": 0.0}
    return dataclasses.replace(c, **{**zero, **rates})


def z22(tmp_path, groups, name="Z22_01_20260720.dta", created="20260720", **kw):
    data, _ = build(groups, created=created, **kw)
    return write(tmp_path / "outbox", name, data)


# --- the parser --------------------------------------------------------------------------------


def test_parses_hand_built_z22(tmp_path):
    g1 = Group("001", "01", people(3))
    g2 = Group("501", "01", people(2, start=50, amounts=(5000, 4800, 123)))
    p = z22(tmp_path, [g1, g2])
    f = ins.parse_request(p, municipality=MUNI)
    assert (f.kind, f.municipality_code, f.created_on, f.records) == ("Z22", MUNI, dt.date(2026, 7, 20), 9)
    assert [d.payer_code for d in f.data] == ["001"] * 3 + ["501"] * 2
    assert [d.record_no for d in f.data] == [2, 3, 4, 7, 8]
    d = f.data[1]
    assert (d.basic_pension_number, d.pension_code, d.birth_date, d.sex) == ("1000000002", "0110", dt.date(1956, 4, 12), "1")
    assert (d.notice_code, d.category, d.amount1, d.amount2, d.amount3) == ("01", "01", 12400, 11100, None)
    assert f.data[3].amount3 == 123
    assert f.trailers == ({"payer_code": "001", "notice_code": "01", "count": 3, "amounts": (12300 + 12400 + 12500,
                                                                                             11000 + 11100 + 11200, 0)},
                          {"payer_code": "501", "notice_code": "01", "count": 2, "amounts": (10100, 9700, 346)})
    assert d.person[51:54] == b"\x1b$B"  # bytes 22–381 kept raw (シフトコード1 at 73)


def _tamper(recs, i, start, value: bytes):
    recs[i][start - 1:start - 1 + len(value)] = value


def _case(kind):
    """(file bytes, expected record, expected field) of one malformed request."""
    g = [Group("001", "01", people(3))]
    data, recs = build(g)
    if kind == "short_file":
        return data[:-1], 0, "length"
    if kind == "long_file":
        return data + b" ", 0, "length"
    if kind == "no_lead_in":
        return data[:50], 0, "length"
    if kind == "lead_count":
        return assemble(recs, lead_count=4), 0, "record_count"
    if kind == "lead_municipality":
        return assemble(recs, muni="13101"), 0, "municipality_code"
    if kind == "lead_date":
        return assemble(recs, created="20261340"), 0, "created_on"
    if kind == "trailer_count":
        _tamper(recs, 4, 22, b"000000004")
        return assemble(recs), 5, "total_count"
    if kind in ("trailer_amount1", "trailer_amount2", "trailer_amount3"):
        j = int(kind[-1])
        _tamper(recs, 4, 31 + 11 * (j - 1), b"00000000001")
        return assemble(recs), 5, f"total_amount{j}"
    if kind == "record_kind":
        _tamper(recs, 2, 1, b"9")
        return assemble(recs), 3, "record_kind"
    if kind == "notice_code":
        for r in recs:
            _tamper([r], 0, 10, b"22")
        return assemble(recs), 1, "notice_code"
    if kind == "data_notice_mismatch":
        _tamper(recs, 2, 10, b"31")
        return assemble(recs), 3, "notice_code"
    if kind == "payer_mismatch":
        _tamper(recs, 3, 7, b"501")
        return assemble(recs), 4, "payer_code"
    if kind == "record_municipality":
        _tamper(recs, 1, 2, b"13101")
        return assemble(recs), 2, "municipality_code"
    if kind == "amount_not_digits":
        _tamper(recs, 1, 395, b"0000012A300")
        return assemble(recs), 2, "amount1"
    if kind == "amount1_missing":
        _tamper(recs, 2, 395, b" " * 11)
        return assemble(recs), 3, "amount1"
    if kind == "sex":
        _tamper(recs, 1, 47, b"3")
        return assemble(recs), 2, "sex"
    if kind == "birth_date":
        _tamper(recs, 3, 39, b"19560231")
        return assemble(recs), 4, "birth_date"
    if kind == "shift_code":
        _tamper(recs, 1, 73, b"   ")
        return assemble(recs), 2, "shift1"
    if kind == "pension_number":
        _tamper(recs, 1, 22, b"12345 7890")
        return assemble(recs), 2, "basic_pension_number"
    if kind == "missing_trailer":
        return assemble(recs[:-1]), 4, "structure"
    if kind == "missing_header":
        return assemble(recs[1:]), 1, "structure"
    if kind == "two_headers":
        return assemble(recs[:4] + [recs[0]] + recs[4:]), 5, "structure"
    if kind == "only_lead_in":
        return assemble([]), 0, "structure"
    raise AssertionError(kind)


CASES = ["short_file", "long_file", "no_lead_in", "lead_count", "lead_municipality", "lead_date", "trailer_count",
         "trailer_amount1", "trailer_amount2", "trailer_amount3", "record_kind", "notice_code", "data_notice_mismatch",
         "payer_mismatch", "record_municipality", "amount_not_digits", "amount1_missing", "sex", "birth_date",
         "shift_code", "pension_number", "missing_trailer", "missing_header", "two_headers", "only_lead_in"]


@pytest.mark.parametrize("kind", CASES)
def test_refuses_malformed_request(tmp_path, kind):
    data, record, field = _case(kind)
    p = write(tmp_path / "outbox", "Z22_01_20260720.dta", data)
    with pytest.raises(ins.Refusal) as e:
        ins.parse_request(p, municipality=MUNI)
    assert (e.value.file, e.value.record, e.value.field) == ("Z22_01_20260720.dta", record, field)
    assert "Z22_01_20260720.dta" in str(e.value) and f"レコード {record}" in str(e.value)


def test_refuses_wrong_name_and_checksum(tmp_path):
    data, _ = build([Group("001", "01", people(1))])
    with pytest.raises(ins.Refusal, match="ファイル名"):
        ins.parse_request(write(tmp_path, "X22_20260720.dta", data))
    p = write(tmp_path / "ob", "Z22_01_20260720.dta", data)
    (tmp_path / "ob" / "Z22_01_20260720.dta.sha256").write_text("0" * 64 + "  Z22_01_20260720.dta\n")
    ok, bad = ins.read_requests(tmp_path / "ob", municipality=MUNI)
    assert ok == [] and [(b.file, b.field) for b in bad] == [(p.name, "checksum")]


def test_z2a_carries_41_and_61_only(tmp_path):
    data, _ = build([Group("001", "01", people(1))])
    with pytest.raises(ins.Refusal) as e:
        ins.parse_request(write(tmp_path, "Z2A_20261120.dta", data))
    assert e.value.field == "notice_code"
    data, _ = build([Group("001", "41", people(1, amounts=(None, None, None), category="01"))])
    assert ins.parse_request(write(tmp_path, "Z2A_20261120.dta", data)).data[0].notice_code == "41"


def test_cli_refuses_with_exit_code_and_answers_the_rest(tmp_path, capsys):
    good, _ = build([Group("001", "01", people(2))])
    bad, _, _ = _case("trailer_amount2")
    write(tmp_path / "outbox", "Z22_01_20260720.dta", good)
    write(tmp_path / "outbox", "Z22_01_20260721.dta", bad)
    rc = ins.main(["--date", "2026-09-30", "--outbox", str(tmp_path / "outbox"), "--inbox", str(tmp_path / "inbox"),
                   "--refusal-rates", "01=0,02=0,03=0"])
    out = capsys.readouterr()
    assert rc == 8
    assert "KKB560E" in out.err and "Z22_01_20260721.dta レコード 5 項目 合計金額 金額2" in out.err
    assert "KKB561E" in out.err
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == ["Z23_02_20260810.dta", "Z23_02_20260810.dta.sha256"]


# --- the answers -------------------------------------------------------------------------------


def _read_back(data: bytes, tmp_path, name):
    p = tmp_path / "readback" / name
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(data)
    res = fw.read(fw.load_layout("tokucho_500"), p)
    assert res.totals["rejected"] == 0, res.errors if hasattr(res, "errors") else res.totals
    return res.frames["data"]


def test_whole_year_without_failures(tmp_path):
    ppl = people(4)
    files = [ins.parse_request(z22(tmp_path, [Group("001", "01", ppl[:3]), Group("700", "01", ppl[3:])]))]
    ans = ins.simulate(files, as_of=dt.date(2027, 3, 31), seed=7, cfg=cfg())
    names = [f.name for f in ans.files]
    assert names == ["Z23_02_20260810.dta", "Z24_22_20261110.dta", "Z24_22_20270110.dta", "Z24_22_20270310.dta"]
    z23 = ans.files[0]
    assert z23.totals() == {"00": (4, sum(p.amounts[0] for p in ppl))}
    oct_, dec, feb = ans.files[1:]
    assert oct_.pension_month == (2026, 10) and feb.pension_month == (2027, 2)
    assert oct_.totals() == {"00": (4, sum(p.amounts[0] for p in ppl))}
    assert dec.totals() == feb.totals() == {"00": (4, sum(p.amounts[1] for p in ppl))}
    assert ans.summary()["withheld_yen"] == sum(p.amounts[0] + 2 * p.amounts[1] for p in ppl)
    for f in ans.files:
        df = _read_back(f.data, tmp_path, f.name)
        assert df.height == 4
        assert set(df["notice_code"]) == {f.notice_code}
        assert sorted(df["basic_pension_number"]) == sorted(p.bpn for p in ppl)
    df = _read_back(oct_.data, tmp_path, "oct")
    assert df["event_date"].to_list() == [dt.date(2026, 10, 15)] * 4
    assert sorted(df["name_kanji"].to_list())[0].startswith("山田太郎")


def test_as_of_date_limits_the_files(tmp_path):
    files = [ins.parse_request(z22(tmp_path, [Group("001", "01", people(2))]))]
    c = cfg()
    assert [f.name for f in ins.simulate(files, as_of=dt.date(2026, 8, 9), seed=1, cfg=c).files] == []
    assert [f.name for f in ins.simulate(files, as_of=dt.date(2026, 11, 10), seed=1, cfg=c).files] == [
        "Z23_02_20260810.dta", "Z24_22_20261110.dta"]
    later = ins.simulate(files, as_of=dt.date(2027, 1, 10), seed=1, cfg=c)
    earlier = ins.simulate(files, as_of=dt.date(2026, 11, 10), seed=1, cfg=c)
    assert {f.name: f.data for f in earlier.files}.items() <= {f.name: f.data for f in later.files}.items()


def test_deterministic_and_order_independent(tmp_path):
    c = cfg(refusal_rates={"01": 0.05, "02": 0.05, "03": 0.05}, result_rates={"01": 0.05, "02": 0.05, "03": 0.05, "05": 0},
            late_death_rate=0.05)
    a = ins.parse_request(z22(tmp_path, [Group("001", "01", people(60))], name="Z22_01_20260720.dta"))
    b = ins.parse_request(z22(tmp_path, [Group("501", "01", people(40, start=500))], name="Z22_01_20260725.dta",
                              created="20260725"))
    one = ins.simulate([a, b], as_of=dt.date(2027, 3, 31), seed=3, cfg=c)
    two = ins.simulate([b, a], as_of=dt.date(2027, 3, 31), seed=3, cfg=c)
    assert [(f.name, f.data) for f in one.files] == [(f.name, f.data) for f in two.files]
    other = ins.simulate([a, b], as_of=dt.date(2027, 3, 31), seed=4, cfg=c)
    assert [f.data for f in one.files] != [f.data for f in other.files]
    ins.write_answer(one, tmp_path / "in1")
    ins.write_answer(one, tmp_path / "in1")   # re-run: same names, same bytes
    for f in one.files:
        p = tmp_path / "in1" / f.name
        assert p.read_bytes() == f.data
        assert (tmp_path / "in1" / f"{f.name}.sha256").read_text() == f"{hashlib.sha256(f.data).hexdigest()}  {f.name}\n"


def test_totals_reconcile_with_failures(tmp_path):
    c = cfg(refusal_rates={"01": 0.05, "02": 0.05, "03": 0.1}, result_rates={"01": 0.04, "02": 0.04, "03": 0.04, "05": 0.02},
            late_death_rate=0.04)
    ppl = people(300)
    f = ins.parse_request(z22(tmp_path, [Group("001", "01", ppl)]))
    ans = ins.simulate([f], as_of=dt.date(2027, 3, 31), seed=11, cfg=c)
    z23 = ans.files[0]
    refused = {k: v[0] for k, v in z23.totals().items() if k != "00"}
    assert refused == ans.refused and sum(refused.values()) > 0 and set(refused) <= {"01", "02", "03"}
    assert ans.accepted == z23.totals()["00"][0]
    accepted = {r.source.basic_pension_number for r in z23.records if r.result == "00"}
    byp = {p.bpn: p for p in ppl}
    scheduled = withheld = lost = 0
    z24 = [x for x in ans.files if x.notice_code == "22"]
    seen_codes = set()
    for x in z24:
        for r in x.records:
            seen_codes.add(r.category)
            assert r.source.basic_pension_number in accepted
            if r.category == "00":
                withheld += r.amounts[0]
            else:
                assert r.amounts[0] == 0
                lost += r.amounts[1]
    assert {"00", "01", "02", "03", "05"} <= seen_codes
    assert withheld == ans.summary()["withheld_yen"] == sum(v[1] for v in ans.withheld.values())
    assert lost == sum(v[1] for v in ans.not_withheld.values())
    # each accepted person: withheld + not withheld + months never reached (after a stop) = scheduled
    for bpn in accepted:
        p = byp[bpn]
        scheduled += p.amounts[0] + 2 * p.amounts[1]
    assert withheld + lost <= scheduled
    # late deaths: amounts withheld after death, then a 01 dated at the death (before that payment)
    assert ans.refund_due
    for key, m, yen in ans.refund_due:
        later = [r for x in z24 if x.pension_month > m for r in x.records if r.source.key == key]
        if later:
            assert later[0].category == "01" and later[0].event_date < dt.date(m[0], m[1], 15)
    per_file = {x.pension_month: x.totals() for x in z24}
    for m, (n, yen) in ans.withheld.items():
        assert per_file[m]["00"] == (n, yen)


def test_addition_31_starts_at_the_capture_rule(tmp_path):
    # 31 sent in September (capture month August → start February, FORMATS.md §2.5)
    ppl = people(2, amounts=(7000, 6500, None))
    p = z22(tmp_path, [Group("001", "31", ppl)], name="Z22_31_20260910.dta", created="20260910")
    ans = ins.simulate([ins.parse_request(p)], as_of=dt.date(2027, 3, 31), seed=1, cfg=cfg())
    assert [f.name for f in ans.files] == ["Z23_32_20261010.dta", "Z24_22_20270310.dta"]
    assert ans.files[1].totals() == {"00": (2, 14100)}
    # 31 sent in November (capture October → start April of the next year: nothing this year)
    p = z22(tmp_path, [Group("001", "31", ppl)], name="Z22_31_20261110.dta", created="20261110")
    ans = ins.simulate([ins.parse_request(p)], as_of=dt.date(2027, 3, 31), seed=1, cfg=cfg())
    assert [f.name for f in ans.files] == ["Z23_32_20261210.dta"]


def test_41_stops_and_next_year_provisional_continues(tmp_path):
    ppl = people(3)
    req = ins.parse_request(z22(tmp_path, [Group("001", "01", ppl)]))
    # odd month (September) 41 for person 1: October still withheld, stopped from December
    stop = Person(bpn=ppl[0].bpn, amounts=(None, None, None), category="01", event_date="20260901")
    data, _ = build([Group("001", "41", [stop])], created="20260920")
    z2a = ins.parse_request(write(tmp_path / "outbox", "Z2A_41_20260920.dta", data))
    # 61 in May of the next year for person 2: June and August provisional = 9000
    chg = Person(bpn=ppl[1].bpn, amounts=(9000, None, None), category="00")
    data, _ = build([Group("001", "61", [chg])], created="20270510")
    z61 = ins.parse_request(write(tmp_path / "outbox", "Z2A_61_20270510.dta", data))
    ans = ins.simulate([req, z2a, z61], as_of=dt.date(2027, 9, 30), seed=1, cfg=cfg())
    by = {f.pension_month: {r.source.basic_pension_number: r.amounts[0] for r in f.records}
          for f in ans.files if f.pension_month}
    assert set(by[(2026, 10)]) == {p.bpn for p in ppl}
    assert set(by[(2026, 12)]) == set(by[(2027, 2)]) == {ppl[1].bpn, ppl[2].bpn}
    # 継続: April/June/August at the February amount, 61 from June
    assert by[(2027, 4)] == {ppl[1].bpn: ppl[1].amounts[1], ppl[2].bpn: ppl[2].amounts[1]}
    assert by[(2027, 6)] == by[(2027, 8)] == {ppl[1].bpn: 9000, ppl[2].bpn: ppl[2].amounts[1]}


def test_cli_prints_totals(tmp_path, capsys):
    write(tmp_path / "outbox", "Z22_01_20260720.dta", build([Group("001", "01", people(5))])[0])
    args = ["--date", "2026-11-10", "--outbox", str(tmp_path / "outbox"), "--inbox", str(tmp_path / "inbox"),
            "--refusal-rates", "01=0,02=0,03=0", "--result-rates", "01=0,02=0,03=0,05=0", "--late-death-rate", "0",
            "--json"]
    assert ins.main(args) == 0
    out = capsys.readouterr().out
    yen = sum(12300 + 100 * i for i in range(5))
    assert f"Z24_22_20261110.dta  通知内容 22 特別徴収結果 2026-10月分  5件  00: 5件 {yen:,}円" in out
    assert f"特別徴収額 合計 5件 {yen:,}円" in out
    first = {p.name: p.read_bytes() for p in (tmp_path / "inbox").iterdir()}
    assert ins.main(args) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "inbox").iterdir()} == first


def test_rates_from_the_command_line_are_checked(capsys):
    assert ins.main(["--date", "2026-11-10", "--result-rates", "01=0.9,02=0.9"]) == 2
    assert ins.main(["--date", "2026-11-10", "--refusal-rates", "01=x"]) == 2


def test_shuffled_files_same_answer(tmp_path):
    files = [ins.parse_request(z22(tmp_path, [Group("001", "01", people(5, start=10 * i))], name=f"Z22_01_2026072{i}.dta",
                                   created=f"2026072{i}")) for i in range(4)]
    c = cfg(result_rates={"01": 0.1, "02": 0.1, "03": 0.1, "05": 0.0})
    base = [(f.name, f.data) for f in ins.simulate(files, as_of=dt.date(2027, 3, 31), seed=5, cfg=c).files]
    rnd = random.Random(0)
    for _ in range(3):
        rnd.shuffle(files)
        assert [(f.name, f.data) for f in ins.simulate(files, as_of=dt.date(2027, 3, 31), seed=5, cfg=c).files] == base


def test_aligned_with_the_city_sender(tmp_path):
    """The request shapes of config/common/pension_request.yaml (branch pension-send): every Z21 candidate is
    answered (各種区分 03 = 非対象者, amounts 0), 01 金額1–3 = October, December, February; 31 with 各種年月日 =
    the start month and 金額1 each month; 61 on the final half with 金額1–3 = 10/12/2 from 各種年月日."""
    target = Person(bpn="2000000001", amounts=(9100, 9000, 8900))
    other = Person(bpn="2000000002", amounts=(0, 0, 0), category="03")
    req = ins.parse_request(z22(tmp_path, [Group("001", "01", [target, other])], created="20260805",
                                name="Z22_01_KK_20260805.dta"))
    add = Person(bpn="2000000003", amounts=(4000, 0, 0), event_date="20261201")
    data, _ = build([Group("001", "31", [add])], created="20260820")
    req31 = ins.parse_request(write(tmp_path / "outbox", "Z22_31_KK_20260820.dta", data))
    chg = Person(bpn=target.bpn, amounts=(9100, 5000, 5000), category="00", event_date="20261201")
    data, _ = build([Group("001", "61", [chg])], created="20261105")
    req61 = ins.parse_request(write(tmp_path / "outbox", "Z2A_KK_20261105.dta", data))
    ans = ins.simulate([req, req31, req61], as_of=dt.date(2027, 3, 31), seed=1,
                       cfg=cfg(refusal_rates={"01": 0.5, "02": 0.0, "03": 0.0}))
    names = [f.name for f in ans.files]
    # 02 in September (month after), 32 in the first even month after August (October), 62 in December
    assert names[:3] == ["Z23_02_20260910.dta", "Z23_32_20261010.dta", "Z24_22_20261110.dta"]
    assert "Z2A_62_20261210.dta" in names
    z23 = ans.files[0]
    non_target = [r for r in z23.records if r.source.basic_pension_number == other.bpn]
    assert [(r.category, r.result) for r in non_target] == [("03", "00")]   # acknowledged, never refused
    by = {f.pension_month: {r.source.basic_pension_number: r.amounts[0] for r in f.records}
          for f in ans.files if f.pension_month}
    t_ok = [r.result for r in z23.records if r.source.basic_pension_number == target.bpn] == ["00"]
    exp_t = {(2026, 10): 9100, (2026, 12): 5000, (2027, 2): 5000} if t_ok else {}
    for m in ((2026, 10), (2026, 12), (2027, 2)):
        assert other.bpn not in by.get(m, {})
        assert by.get(m, {}).get(target.bpn) == exp_t.get(m)
    a_ok = ans.files[1].records[0].result == "00"
    assert (by[(2026, 12)].get(add.bpn), by[(2027, 2)].get(add.bpn)) == ((4000, 4000) if a_ok else (None, None))
    for f in ans.files:
        df = _read_back(f.data, tmp_path, f.name)
        assert df.height == len(f.records)


def test_refusal_only_for_targets_and_the_seed_decides(tmp_path):
    ppl = people(200)
    f = ins.parse_request(z22(tmp_path, [Group("001", "01", ppl)]))
    c = cfg(refusal_rates={"01": 0.1, "02": 0.1, "03": 0.1})
    a = ins.simulate([f], as_of=dt.date(2026, 9, 30), seed=1, cfg=c)
    n = sum(a.refused.values())
    assert 30 <= n <= 90 and a.accepted + n == 200    # ~30 % of 200


def test_reads_the_codec_bytes_of_the_synthetic_z21(small_city, tmp_path):
    """The synthetic city's Z21 (written by the project's codec, layouts/tokucho_z21) turned into a request
    (通知内容 00 → 01 in every record, same bytes otherwise) is accepted by the simulator's own reader:
    lead-in, shift codes, kanji padding and trailer sums of the codec agree with FORMATS.md as read here."""
    out, manifest = small_city
    raw = bytearray((out / manifest["files"]["nenkin"]["path"]).read_bytes())
    n = (len(raw) - 96) // 500
    kinds = {}
    for i in range(n):
        at = 96 + 500 * i
        assert raw[at + 9:at + 11] == b"00"
        raw[at + 9:at + 11] = b"01"
        k = bytes(raw[at:at + 1])
        kinds[k] = kinds.get(k, 0) + 1
        if raw[at:at + 1] == b"2" and raw[at + 381:at + 383] not in (b"01", b"02"):
            raw[at + 381:at + 383] = b"01"      # 各種区分 01 新規者 / 02 継続者 → 01 / 02 対象者
    f = ins.parse_request(write(tmp_path / "ob", "Z22_01_20260515.dta", bytes(raw)), municipality=MUNI)
    assert len(f.data) == kinds.get(b"2", 0) == manifest["files"]["nenkin"]["records"]["data"]
    assert len(f.trailers) == kinds[b"3"]
    assert sum(t["amounts"][0] for t in f.trailers) == sum(d.amount1 or 0 for d in f.data) > 0
