"""The insurer simulator's 追加候補者 (捕捉, 通知内容 30) files: TK110 takes them in with their
trailer totals; FK030, whose Z21*.dta pattern also matches them, refuses them naming TK110 (KKB562E)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
from pension_corpus_helpers import quiet_config, z22_request

from jobs.common import datasets, paths
from jobs.common import fixedwidth as fw
from jobs.runner import run_job
from jobs.synth import insurer as ins


def _capture_cfg(n: int, **over):
    c = quiet_config().with_capture(n)
    return dataclasses.replace(c, capture=dataclasses.replace(c.capture, **over)) if over else c


def test_default_config_writes_no_capture_file(tmp_path):
    """Existing options, existing bytes: without candidates the answer has no Z21 file and is
    byte-identical to an answer of the same config with the capture section removed."""
    req = [z22_request(tmp_path)]
    cfg = quiet_config()
    assert cfg.capture.candidates == 0
    plain = dataclasses.replace(cfg, capture=ins.CaptureConfig(candidates=0))
    a = ins.simulate(req, as_of=dt.date(2027, 3, 31), seed=1, cfg=cfg)
    b = ins.simulate(req, as_of=dt.date(2027, 3, 31), seed=1, cfg=plain, municipality="11100")
    assert [f.name for f in a.files] == [f.name for f in b.files]
    assert [f.data for f in a.files] == [f.data for f in b.files]
    assert not any(f.name.startswith("Z21") for f in a.files) and "captured" not in a.summary()


def test_capture_files_even_months_from_august(tmp_path):
    req = [z22_request(tmp_path)]
    ans = ins.simulate(req, as_of=dt.date(2027, 3, 31), seed=3, cfg=_capture_cfg(7, moved_in_rate=0.4))
    caps = [f for f in ans.files if f.notice_code == "30"]
    assert [f.name for f in caps] == ["Z21_30_20260810.dta", "Z21_30_20261010.dta", "Z21_30_20261210.dta",
                                      "Z21_30_20270210.dta"]
    layout = fw.load_layout("tokucho_capture")
    for f in caps:
        res = fw.read(layout, f.data, source=f.name)       # the city's codec: trailer count and sums checked
        assert res.totals["rejected"] == 0
        d = res.frames["data"]
        assert d.height == 7 and d["basic_pension_number"].n_unique() == 7
        assert set(d["category"]) <= {"01", "02"}
        t = res.frames["trailer"].row(0, named=True)
        assert (t["total_count"], t["total_amount1"]) == (7, d["amount1"].sum()) == ans.captured[f.created_on]
        assert (d["amount1"] % 100 == 0).all() and d["amount1"].min() >= 20000
        new = d.filter(d["category"] == "01")
        # a 新規者 turned 65 on 各種年月日, within the two months before the capture date
        for row in new.iter_rows(named=True):
            assert (row["event_date"].year - row["birth_date"].year, row["event_date"].month,
                    row["event_date"].day) == (65, row["birth_date"].month, row["birth_date"].day)
            assert dt.timedelta(0) < f.created_on - row["event_date"] <= dt.timedelta(days=61)
    # stateless: the same bytes again; an earlier date writes a prefix of the files
    again = ins.simulate(req, as_of=dt.date(2027, 3, 31), seed=3, cfg=_capture_cfg(7, moved_in_rate=0.4))
    assert [f.data for f in again.files] == [f.data for f in ans.files]
    early = ins.simulate(req, as_of=dt.date(2026, 10, 9), seed=3, cfg=_capture_cfg(7, moved_in_rate=0.4))
    assert [f.name for f in early.files if f.notice_code == "30"] == ["Z21_30_20260810.dta"]


def test_cli_capture_option_and_tk110_takes_it_in(tmp_path, capsys):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    z22_request(outbox)
    inbox = paths.ensure_dir(paths.inbox("nenkin"))
    rc = ins.main(["--date", "2026-08-10", "--outbox", str(outbox), "--inbox", str(inbox), "--capture", "12",
                   "--refusal-rates", "01=0,02=0,03=0", "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Z21_30_20260810.dta  通知内容 30 追加候補者 (捕捉)  12件" in out
    names = sorted(p.name for p in inbox.glob("*.dta"))
    assert names == ["Z21_30_20260810.dta", "Z23_02_20260810.dta"]
    cap = ins.simulate([ins.parse_request(outbox / "Z22_01_20260720.dta")], as_of=dt.date(2026, 8, 10), seed=1,
                       cfg=ins.load_insurer_config().with_capture(12)).captured[dt.date(2026, 8, 10)]
    r = run_job("TK110", business_date="2026-08-10")
    assert r.rc == 0, r.log_text
    got = datasets.read("tokucho_capture", "m111007_fy2026_d20260810")
    got = got.filter(pl.col("record_kind") == "2")  # the data records (the trailers are kept beside them)
    assert (got.height, int(got["amount1"].sum())) == cap
    assert r.totals.money["tokucho_capture.amount1"] == cap[1]
    assert set(got["notice_code"]) == {"30"} and set(got["source_file"]) == {"Z21_30_20260810.dta"}


def test_fk030_refuses_a_capture_file_named_z21(tmp_path):
    """FK030 reads Z21*.dta (通知内容 00): a 捕捉 file matches the pattern; it is refused with
    KKB562E naming the file, the record, the field and TK110, and stays in the inbox."""
    ans = ins.simulate([z22_request(tmp_path)], as_of=dt.date(2026, 8, 10), seed=1, cfg=_capture_cfg(3))
    (cap,) = [f for f in ans.files if f.notice_code == "30"]
    p = paths.ensure_dir(paths.inbox("nenkin")) / cap.name
    p.write_bytes(cap.data)
    r = run_job("FK030", business_date="2026-08-10")
    assert r.rc == 8 and not r.committed, r.log_text
    (msg,) = [m.text for m in r.messages if m.msg_id == "KKB562E"]
    assert cap.name in msg and "レコード 1" in msg and "通知内容コード(notice_code) = 30" in msg and "TK110" in msg
    assert p.read_bytes() == cap.data
    assert datasets.generations("tokucho_z21") == []
