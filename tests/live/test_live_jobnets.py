"""The job nets under the REAL scheduler (issue 12): LocalExecutor workers, the task supervisor, the
execution API, the triggerer; driven only through the REST API as the UI drives it (tests/live/conftest.py
starts that Airflow once per session). The scenarios share one synthetic city and run in order:

1. KB100 取込 ends success; each step's control totals in its XCom equal the synth manifest.
2. A truncated 資格 file fails FK020 (RC 8); the complete file goes back; 消去 of FK020 with 下流 and
   失敗のみ as the UI sends it; the run completes, the steps that had succeeded did not run again
   (try numbers), and the datasets equal the clean run's of scenario 1, byte for byte.
3. KB300 当初賦課 with FK150 rendering several PDF files with 2 worker processes under the task
   supervisor (the BrokenProcessPool regression of issue 12).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.live]

INSURED = 300
SEED = 20261206
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date
JOB_FILES = {"FK020": "shikaku", "FK010": "juminzei", "FK030": "nenkin", "FK035": "kaigo"}
KB100 = "kokuho_intake"
KB300 = "kokuho_initial_assessment"

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
