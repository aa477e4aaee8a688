"""The job nets under the REAL scheduler (issue 12): LocalExecutor workers, the task supervisor, the
execution API, the triggerer; driven only through the REST API as the UI drives it (tests/live/conftest.py
starts that Airflow once per session). The scenarios share one synthetic city and run in order:

1. KB100 取込 ends success; each step's control totals in its XCom equal the synth manifest.
2. A truncated 資格 file fails FK020 (RC 8); the complete file goes back; 消去 of FK020 with 下流 and
   失敗のみ as the UI sends it; the run completes, the steps that had succeeded did not run again
   (try numbers), and the datasets equal the clean run's of scenario 1, byte for byte.
3. KB300 当初賦課 with FK150 rendering several PDF files with 2 worker processes under the task
   supervisor (the BrokenProcessPool regression of issue 12).
4. KB400 with the day's counter and CVS files, again with the same files (nothing posted twice),
   KB410 on the request day, the banks' answers (bank simulator) and KB210 on the 振替日.
5. Two cities at once: KB100 of 111007 (``kokuho_intake``) and of 112011 (its own DAG
   ``kokuho_intake_112011``) triggered together, each city's files in its own inbox folder; both runs
   succeed, they overlap, and each city's totals and datasets hold its own data only.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.live, pytest.mark.e2e]

INSURED = 300
SEED = 20261206
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date
JOB_FILES = {"FK020": "shikaku", "FK010": "juminzei", "FK030": "nenkin", "FK035": "kaigo"}
KB100 = "kokuho_intake"
KB300 = "kokuho_initial_assessment"
MUNICIPALITY = "111007"

_state: dict[str, object] = {}


def _synth(inbox: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
    from e2e_helpers import synth_city

    return synth_city(inbox, insured=INSURED, seed=SEED)


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_totals_match_manifest(rows: dict[str, dict], manifest: dict) -> None:
    for job_id, key in JOB_FILES.items():
        got, want = rows[job_id], manifest["files"][key]
        reads = {rt: v["read"] for rt, v in got["by_record_type"].items() if rt != "lead_in"}
        assert reads == want["records"], f"{job_id}: records per type"
        lead_in = got["by_record_type"].get("lead_in", {}).get("read", 0)
        assert got["read"] == sum(want["records"].values()) + lead_in and lead_in <= 1, job_id
        assert got["accepted"] == got["read"] and got["rejected"] == 0, job_id
        assert got["money"] == want["money"], f"{job_id}: money totals"


def _rows(api, dag_id: str, run_id: str, job_ids) -> dict[str, dict]:
    return {j: api.xcom(dag_id, run_id, j.lower()) for j in job_ids}


def _env(live, monkeypatch) -> None:
    """This process reads the live Airflow's var/ and config (synth, datasets) like its tasks do."""
    for name in ("KOKUHO_VAR", "KOKUHO_HOME", "KOKUHO_SECRETS_DIR"):
        monkeypatch.setenv(name, live.env[name])


def test_kb100_clean_run_totals_equal_the_manifest(live_airflow, monkeypatch):
    live, api = live_airflow, live_airflow.api
    _env(live, monkeypatch)
    manifest = _synth(live.var / "inbox")
    api.wait_for_dag(KB100)
    api.unpause(KB100)
    run_id = api.trigger(KB100, {"business_date": INTAKE_DATE}, "live_kb100_clean")

    assert api.wait_run(KB100, run_id) == "success", api.states(KB100, run_id)
    assert set(api.states(KB100, run_id).values()) == {"success"}
    rows = _rows(api, KB100, run_id, JOB_FILES)
    for job_id, row in rows.items():
        assert row["rc"] == 0 and row["status"] == "success", (job_id, row["messages"])
        assert row["business_date"] == INTAKE_DATE and row["municipality"] == manifest["municipality_code"]
        assert row["committed"] is True
    _assert_totals_match_manifest(rows, manifest)
    log = api.log(KB100, run_id, "control_totals", 1)
    assert "統制合計表" in log and "FK020 国保資格取込" in log, log[-3000:]
    _state["clean_datasets"] = _tree_digest(live.var / "datasets")
    _state["manifest"] = manifest


def test_kb100_failed_fk020_cleared_like_the_ui_completes_as_a_clean_run(live_airflow, monkeypatch):
    if "clean_datasets" not in _state:
        pytest.fail("needs the clean KB100 run of test_kb100_clean_run_totals_equal_the_manifest first")
    live, api = live_airflow, live_airflow.api
    _env(live, monkeypatch)
    live.wipe_var()
    manifest = _synth(live.var / "inbox")
    shikaku = live.var / "inbox" / manifest["files"]["shikaku"]["path"]
    good = shikaku.read_bytes()
    shikaku.write_bytes(good[: len(good) - 150])  # cut inside the last records: the transfer broke
    run_id = api.trigger(KB100, {"business_date": INTAKE_DATE}, "live_kb100_clear")

    assert api.wait_run(KB100, run_id) == "failed"
    states = api.states(KB100, run_id)
    assert states["fk020"] == "failed" and states["check_business_day"] == "success", states
    assert {states[t] for t in ("fk010", "fk030", "control_totals")} == {"upstream_failed"}, states
    log = api.log(KB100, run_id, "fk020", 1)
    assert "RC=0008" in log and shikaku.name in log, log[-3000:]
    assert not (live.var / "datasets" / "nhi_qualification").exists() or not any(
        (live.var / "datasets" / "nhi_qualification").iterdir()), "RC >= 8 must commit nothing"

    # the operator puts the complete file back and clicks 消去 on FK020 (下流, 失敗のみ)
    shikaku.write_bytes(good)
    cleared = api.clear_like_the_ui(KB100, run_id, ["fk020"])
    assert set(cleared) == {"fk020", "fk010", "fk030", "wait_kaigo_file", "fk035", "control_totals"}

    assert api.wait_run(KB100, run_id) == "success", api.states(KB100, run_id)
    assert set(api.states(KB100, run_id).values()) == {"success"}
    tries = api.try_numbers(KB100, run_id)
    assert tries["check_business_day"] == 1, tries  # succeeded before the 消去: not run again
    assert tries["fk020"] == 2, tries
    assert "正常終了" in api.log(KB100, run_id, "fk020", 2)  # the second try's own log, beside the first
    _assert_totals_match_manifest(_rows(api, KB100, run_id, JOB_FILES), manifest)
    assert _tree_digest(live.var / "datasets") == _state["clean_datasets"]


def test_kb300_fk150_renders_several_pdfs_with_workers_under_the_supervisor(live_airflow, monkeypatch):
    """The BrokenProcessPool regression of issue 12: FK150's worker processes under the task supervisor."""
    live, api = live_airflow, live_airflow.api
    _env(live, monkeypatch)
    if not (live.var / "datasets" / "nhi_qualification").is_dir():
        pytest.fail("needs the intake of the KB100 tests first")
    api.wait_for_dag(KB300)
    api.unpause(KB300)
    run_id = api.trigger(KB300, {"business_date": ASSESS_DATE}, "live_kb300")

    assert api.wait_run(KB300, run_id, timeout=420) == "success", api.states(KB300, run_id)
    assert set(api.states(KB300, run_id).values()) == {"success"}
    fk150 = api.xcom(KB300, run_id, "fk150")
    assert fk150["rc"] == 0 and fk150["committed"], fk150["messages"]
    assert fk150["money"]["annual_tax"] == fk150["money"]["printed_annual_tax"]
    assert fk150["read"] == fk150["accepted"] == fk150["written"]
    households = fk150["written"]
    assert households > 2 * 50, households  # several files of households_per_pdf = 50
    _dat, pdf_dir = (Path(f) for f in fk150["files"])
    pdfs = sorted(pdf_dir.glob("tax_notice_*.pdf"))
    assert fk150["figures"]["pdf_files"] == len(pdfs) == -(-households // 50)
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert fk150["figures"]["pages"] >= households
    index = (pdf_dir / "tax_notice_index.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert len(index) == households and {line.split(",")[0] for line in index} == {p.name for p in pdfs}
    log = api.log(KB300, run_id, "fk150", 1)
    assert f"PDF {len(pdfs)}ファイルを 2 プロセスで作成します" in log, log[-3000:]  # KKB355I start
    fk110 = api.xcom(KB300, run_id, "fk110")
    assert fk110["money"]["annual_tax"] == fk150["money"]["annual_tax"]


KB400 = "kokuho_collection"
KB410 = "kokuho_direct_debit"
KB210 = "kokuho_bank_result"
PAY_SEED = 7


def test_kb400_and_the_direct_debit_cycle(live_airflow, monkeypatch, tmp_path):
    """KB400 収納消込 with the day's counter and CVS files (the file waits end on the triggerer), then
    KB410 口座振替請求 on the first 納期限's request day, the banks' answers (jobs.synth bank simulator),
    and KB210 口座振替結果 on the 振替日."""
    import datetime as dt
    import shutil

    from jobs.collection import direct_debit as dd
    from jobs.common import config
    from jobs.common.bizcal import BusinessCalendar
    from jobs.synth import payments as sp

    live, api = live_airflow, live_airflow.api
    _env(live, monkeypatch)
    levy_files = sorted((live.var / "outbox" / "ledger").glob("levy_initial_*.dat"))
    if not levy_files:
        pytest.fail("needs the 調定 file of the KB300 test first")
    levy = sp.load_levy(levy_files)
    first_due = levy.filter(levy["collection_method"] == "1")["due_date"].min()
    cfg = config.load(MUNICIPALITY, 2026)
    cal = BusinessCalendar.from_config(cfg)
    request_day = dd.request_day(cal, cfg, first_due)
    pay_date = cal.roll_forward(first_due + dt.timedelta(days=7))
    assert request_day < first_due < pay_date

    # --- KB400 on a business day a week after the first 納期限 ------------------------------------
    made = sp.generate(levy_files, tmp_path, business_date=pay_date, seed=PAY_SEED, channels=("counter", "cvs"))
    for m in made:
        src = Path(m["file"])
        (live.var / "inbox" / src.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, live.var / "inbox" / src.parent.name / src.name)
    for dag_id in (KB400, KB410, KB210):
        api.wait_for_dag(dag_id)
        api.unpause(dag_id)
    run_id = api.trigger(KB400, {"business_date": pay_date.isoformat()}, "live_kb400")

    assert api.wait_run(KB400, run_id, timeout=420) == "success", api.states(KB400, run_id)
    assert set(api.states(KB400, run_id).values()) == {"success"}, api.states(KB400, run_id)
    sn100 = api.xcom(KB400, run_id, "sn100")
    assert sn100["money"]["levy_amount"] == int(levy["amount"].sum())
    sn205, sn215 = api.xcom(KB400, run_id, "sn205"), api.xcom(KB400, run_id, "sn215")
    assert sn205["money"]["posted"] > 0 and sn215["money"]["posted"] > 0
    # the counter file went in slices of 20 records, a transaction each (conftest SLICED_POSTING)
    assert sn205["read"] >= 30 and any("KKB429I" in m for m in sn205["messages"]), sn205["messages"]
    sn400 = api.xcom(KB400, run_id, "sn400")
    assert sn400["rc"] == 0, sn400["messages"]
    day_posted = sum(v for k, v in sn400["money"].items() if k.endswith(".posted"))
    assert day_posted >= sn205["money"]["posted"] + sn215["money"]["posted"]
    assert not any((live.var / "inbox" / "counter").iterdir()) and not any((live.var / "inbox" / "cvs").iterdir())

    # the same files dropped again and KB400 triggered again for the same 業務日: nothing posted twice
    for m in made:
        src = Path(m["file"])
        shutil.copy(src, live.var / "inbox" / src.parent.name / src.name)
    again = api.trigger(KB400, {"business_date": pay_date.isoformat()}, "live_kb400_again")
    assert api.wait_run(KB400, again, timeout=420) == "success", api.states(KB400, again)
    sn205_again = api.xcom(KB400, again, "sn205")
    assert any("KKB422I" in m for m in sn205_again["messages"]), sn205_again["messages"]
    assert api.xcom(KB400, again, "sn400")["money"] == sn400["money"]

    # --- KB410 on the request day -------------------------------------------------------------------
    # KB410-WAIT waits for that day's SN100 (issue 12): the day's 調定登録, as KB400 of the request day would
    live._run(str(Path(sys.executable).parent / "kokuho"), "run", "SN100", "--date", request_day.isoformat())
    run_id = api.trigger(KB410, {"business_date": request_day.isoformat()}, "live_kb410")
    assert api.wait_run(KB410, run_id, timeout=300) == "success", api.states(KB410, run_id)
    sn120 = api.xcom(KB410, run_id, "sn120")
    requests = [Path(f) for f in sn120["files"]]
    assert requests and sn120["figures"]["request_files"] == len(requests)
    assert all(f.name == f"KOUFURI_111007_{f.parent.name}_{first_due:%Y%m%d}.dat" for f in requests), requests

    # --- the banks answer; KB210 on the 振替日 ------------------------------------------------------------
    bank_inbox = live.var / "inbox" / "bank"
    bank_inbox.mkdir(parents=True, exist_ok=True)
    results = [sp.write_debit_result_file(f, bank_inbox / f"KEKKA_{f.parent.name}_{f.stem}.dat", rng=i,
                                          failure_rates={"1": 0.2, "2": 0.05})
               for i, f in enumerate(requests)]
    assert sum(r["amount"] for r in results) == sn120["money"]["request_amount"]
    run_id = api.trigger(KB210, {"business_date": first_due.isoformat()}, "live_kb210")
    assert api.wait_run(KB210, run_id, timeout=300) == "success", api.states(KB210, run_id)
    sn115, sn130 = api.xcom(KB210, run_id, "sn115"), api.xcom(KB210, run_id, "sn130")
    debited = sum(r["amount"] - r["failed_amount"] for r in results)
    assert sn115["money"]["posted"] == sn130["money"]["done"] == debited
    assert sn130["money"]["failed"] == sum(r["failed_amount"] for r in results)
    assert not any(bank_inbox.iterdir())


SECOND_CITY = "112011"
CITY_SEEDS = {MUNICIPALITY: 31, SECOND_CITY: 32}
CITY_INSURED = 80


def _synth_for(inbox: Path, code: str, seed: int, scratch: Path) -> dict:
    """``kokuho synth`` of a city with 団体コード ``code`` (config/synth.yaml with that code) into ``inbox``."""
    import json

    import yaml

    from jobs.synth.cli import main

    root = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((root / "config" / "synth.yaml").read_text(encoding="utf-8"))
    cfg["city"]["municipality_code"] = code
    cfg_path = scratch / f"synth_{code}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert main(["--insured", str(CITY_INSURED), "--seed", str(seed), "--out", str(inbox), "--quiet",
                 "--config", str(cfg_path)]) == 0
    return json.loads((inbox / "synth_manifest.json").read_text(encoding="utf-8"))


def test_two_cities_at_once_under_the_scheduler(live_airflow, monkeypatch, tmp_path):
    """Issue 12 "Many cities": one DAG run per 団体コード in the same Airflow at the same time, under the
    real scheduler: 111007's run of ``kokuho_intake`` (the form's 団体コード) and 112011's run of its own
    DAG ``kokuho_intake_112011`` (its code fixed, no conf), each city's files in ``var/inbox/<code>/``."""
    from jobs.common import datasets

    live, api = live_airflow, live_airflow.api
    _env(live, monkeypatch)
    live.wipe_var()
    manifests = {code: _synth_for(live.var / "inbox" / code, code, seed, tmp_path)
                 for code, seed in CITY_SEEDS.items()}
    city_dag = f"{KB100}_{SECOND_CITY}"
    api.wait_for_dag(city_dag)
    api.unpause(KB100)
    api.unpause(city_dag)
    runs = {MUNICIPALITY: (KB100, api.trigger(KB100, {"business_date": INTAKE_DATE, "municipality": MUNICIPALITY},
                                              "live_two_cities_111007")),
            SECOND_CITY: (city_dag, api.trigger(city_dag, {"business_date": INTAKE_DATE}, "live_two_cities_112011"))}

    spans = {}
    for code, (dag_id, run_id) in runs.items():
        assert api.wait_run(dag_id, run_id) == "success", (code, api.states(dag_id, run_id))
        tis = api.task_instances(dag_id, run_id)
        assert {ti["state"] for ti in tis.values()} == {"success"}, (code, api.states(dag_id, run_id))
        spans[code] = (min(ti["start_date"] for ti in tis.values()), max(ti["end_date"] for ti in tis.values()))
        rows = _rows(api, dag_id, run_id, JOB_FILES)
        for job_id, row in rows.items():
            assert row["municipality"] == code and row["rc"] == 0, (code, job_id, row["messages"])
        _assert_totals_match_manifest(rows, manifests[code])
        # every KB100 file taken in, from its own folder only (the 口座振替依頼書 is KB410's: it stays)
        left = [p for source in JOB_FILES.values() for p in (live.var / "inbox" / code / source).rglob("*")
                if p.is_file()]
        assert left == [], (code, left)
        assert [p.name for p in (live.var / "inbox" / code / "koufuri").iterdir()] \
            == [Path(manifests[code]["files"]["koufuri"]["path"]).name], code
    (a0, a1), (b0, b1) = spans.values()
    assert a0 < b1 and b0 < a1, spans  # the two runs were active at the same time

    assert datasets.generations("nhi_qualification") == [f"m{code}_fy2026_d20260601" for code in sorted(CITY_SEEDS)]
    for code in CITY_SEEDS:
        got = datasets.read("nhi_qualification", municipality=code)
        assert set(got["municipality_code"].to_list()) == {code}, code
        for dataset in ("resident_tax_income", "tokucho_z21"):
            assert datasets.generations(dataset, municipality=code) == [f"m{code}_fy2026_d20260601"], (code, dataset)
