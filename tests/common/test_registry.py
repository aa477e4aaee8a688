"""The job catalogue and the job nets: ids, names, that every intake spec matches its layout,
that every step function resolves, the graph derivation, and that importing the registry is cheap."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from jobs import registry
from jobs.common import fixedwidth as fw
from jobs.common.jobspec import (
    CHECK,
    DATASET_WAIT,
    STEP,
    TOTALS,
    WAIT,
    DatasetWait,
    EntryCheck,
    FileWait,
    JobNet,
    JobSpec,
)
from jobs.intake.generic import dataset_map

EXPECTED = {
    "FK020": ("国保資格取込", "shikaku", "nhi_qualification"),
    "FK010": ("住民税所得取込", "juminzei", "resident_tax_income"),
    "FK030": ("年金特徴対象者取込", "nenkin", "tokucho_z21"),
    "SN010": ("口座振替依頼書取込", "koufuri", "direct_debit_mandate"),
    "SN110": ("口座振替結果取込", "bank", "zengin_91_result"),
}


def test_intake_jobs():
    for job_id, (name, inbox, layout) in EXPECTED.items():
        spec = registry.get(job_id)
        assert (spec.name_ja, spec.inbox, spec.layout) == (name, inbox, layout)
        assert spec.title == f"{job_id} {name}"
    assert registry.get("fk010").job_id == "FK010"
    assert registry.get("FK030").pattern == "Z21*.dta"
    assert registry.get("FK010").after == ("FK020",)
    assert "person_key" in registry.get("FK020").outputs


def test_unknown_job_suggests():
    with pytest.raises(KeyError, match="FK011.*FK010"):
        registry.get("FK011")


def test_register_refuses_duplicates():
    with pytest.raises(ValueError):
        registry.register(registry.get("FK010"))


@pytest.mark.parametrize("job_id", sorted(EXPECTED))
def test_datasets_cover_every_record_type_of_the_layout(job_id):
    spec = registry.get(job_id)
    layout = fw.load_layout(spec.layout)
    mapping = dataset_map(spec, layout)
    assert mapping[layout.data_type.name] == spec.layout
    assert set(mapping.values()) <= set(spec.outputs)


def test_importing_the_registry_imports_no_step_code():
    """The DAG processor imports jobs.registry at parse time: no step module, no heavy library."""
    heavy = ["polars", "duckdb", "sqlalchemy", "numba", "pyarrow", "pandas", "reportlab", "airflow"]
    code = ("import json, sys, jobs.registry; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('jobs', *%r))))" % (heavy,))
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(root)}, cwd=root)
    loaded = set(__import__("json").loads(out.stdout))
    assert not {m for m in loaded if m.split(".")[0] in heavy}, loaded
    assert loaded == {"jobs", "jobs.registry", "jobs.common", "jobs.common.jobspec"}


def test_every_step_function_resolves():
    for spec in registry.JOBS.values():
        assert isinstance(spec.func, str), f"{spec.job_id}: a lazy 'module:function' reference"
        assert callable(spec.resolve()), spec.job_id
    assert registry.get("SN205").resolve() is registry.get("SN215").resolve()  # one post_channel
    with pytest.raises(ValueError, match="module:function"):
        JobSpec("ZZ001", "x", "jobs.intake.intake_step").resolve()


def test_posting_steps_name_the_intake_they_post():
    """The contract with the ledger: a 消込 step's options["source"] is its intake step's inbox,
    layout and job id, and it reads that step's data dataset."""
    for posting, intake in (("SN115", "SN110"), ("SN205", "SN200"), ("SN215", "SN210")):
        spec, src = registry.get(posting), registry.get(intake)
        assert dict(spec.options["source"]) == {"inbox": src.inbox, "layout": src.layout, "job_id": src.job_id}
        assert spec.inputs == (src.datasets["data"],) and intake in spec.after
        assert spec.options["channel"] and spec.writes_ledger
    assert "source" not in registry.get("SN235").options
    assert registry.get("SN235").options["channel"] == "pension"


def test_job_nets_are_consistent():
    """Every step is in one job net; every ``after`` names a step; a file wait is on an intake
    step (it watches the inbox); waits and tasks have unique ids."""
    placed = [job_id for net in registry.JOBNETS.values() for job_id in net.steps]
    assert sorted(placed) == sorted(registry.JOBS)
    for spec in registry.JOBS.values():
        assert set(spec.after) <= set(registry.JOBS), spec.job_id
        if spec.wait is not None:
            assert spec.inbox and spec.layout, spec.job_id
    for net in registry.JOBNETS.values():
        assert registry.jobnet(net.jobnet_id) is registry.jobnet(net.dag_id) is net
        ids = [n.task_id for n in registry.tasks(net)]
        assert len(ids) == len(set(ids)), net.jobnet_id
    with pytest.raises(KeyError, match="ジョブネット"):
        registry.jobnet("KB999")


def test_edges_are_the_transitive_reduction_of_after(monkeypatch):
    """Within a job net, a step's edges are its ``after`` less what another predecessor implies;
    steps of other job nets are run order only."""
    specs = [JobSpec("ZZ001", "一", "m:f", after=("FK140",)),
             JobSpec("ZZ002", "二", "m:f", inbox="zz", layout="zz", after=("ZZ001",),
                     wait=FileWait("wait_zz", "ZZ到着待ち", timedelta(minutes=5), soft_fail=True)),
             JobSpec("ZZ003", "三", "m:f", after=("ZZ002", "ZZ001")),
             JobSpec("ZZ004", "四", "m:f", after=("ZZ001",)),
             JobSpec("ZZ005", "五", "m:f", after=("ZZ003", "ZZ004", "ZZ001"), trigger_rule="none_failed")]
    for spec in specs:
        monkeypatch.setitem(registry.JOBS, spec.job_id, spec)
    net = JobNet("KB999", "zz", "テストジョブネット", "", None, EntryCheck(), tuple(s.job_id for s in specs))
    assert registry.edges(net) == {"ZZ001": (), "ZZ002": ("ZZ001",), "ZZ003": ("ZZ002",), "ZZ004": ("ZZ001",),
                                   "ZZ005": ("ZZ003", "ZZ004")}
    nodes = registry.tasks(net)
    assert [(n.task_id, n.kind, n.upstream) for n in nodes] == [
        ("check_business_day", CHECK, ()),
        ("zz001", STEP, ("check_business_day",)),
        ("wait_zz", WAIT, ("zz001",)),
        ("zz002", STEP, ("wait_zz",)),
        ("zz003", STEP, ("zz002",)),
        ("zz004", STEP, ("zz001",)),
        ("zz005", STEP, ("zz003", "zz004")),
        ("control_totals", TOTALS, ("zz005",)),
    ]
    names = [n.display_name for n in nodes]
    assert (names[0], names[2], names[6], names[7]) == ("KB999-CAL 開庁日判定", "KB999-WAIT ZZ到着待ち", "ZZ005 五",
                                                        "KB999-END 統制合計表")
    assert "ZZ005 五" in registry.diagram(net) and "◀ ZZ003, ZZ004" in registry.diagram(net)
    backwards = JobNet("KB998", "zz", "逆", "", None, None, ("ZZ002", "ZZ001"))
    with pytest.raises(ValueError, match="comes later"):
        registry.edges(backwards)


def test_collection_graph():
    """KB400 as the operators know it: the channels after 調定登録, then 速報未確報・過誤納・日計."""
    net = registry.JOBNETS["KB400"]
    up = {n.task_id: set(n.upstream) for n in registry.tasks(net)}
    assert up["wait_counter_file"] == up["wait_cvs_file"] == up["sn235"] == {"sn100"}
    assert up["sn410"] == {"sn205", "sn215", "sn235"} and up["control_totals"] == {"sn400"}


def test_kb620_and_kb530_wait_for_the_days_kb400():
    """Issue 12: the steps that read the day's 収納消込 wait for KB400's SN400 of that business date
    (``daily_collection``) like KB600's TN010: in KB620 one wait before TN210 (and so TN220) and TN410,
    which read the unpaid installments; TN310/TN320 (返戻) do not wait; in KB530 before TK290."""
    wait = registry.get("TN010").dataset_wait
    assert wait.dataset == "daily_collection" and wait.source == "KB400 SN400" and not wait.go_on
    assert registry.get("TN210").dataset_wait == registry.get("TN410").dataset_wait == wait
    assert registry.get("TK290").dataset_wait == wait
    assert registry.get("TN220").dataset_wait is None and registry.get("TN310").dataset_wait is None
    up = {n.task_id: (n.kind, set(n.upstream)) for n in registry.tasks(registry.JOBNETS["KB620"])}
    assert up["wait_daily_collection"] == (DATASET_WAIT, {"check_business_day"})
    assert up["tn210"][1] == up["tn410"][1] == {"wait_daily_collection"}
    assert up["tn220"][1] == {"tn210"} and up["tn310"][1] == {"check_business_day"}
    assert "KB620-WAIT 収納消込待ち" in registry.diagram(registry.JOBNETS["KB620"])
    up = {n.task_id: set(n.upstream) for n in registry.tasks(registry.JOBNETS["KB530"])}
    assert up["wait_daily_collection"] == {"check_run_day"} and up["tk290"] == {"wait_daily_collection"}


def test_steps_share_a_wait_only_when_it_is_the_same(monkeypatch):
    """Two steps of a net with the same wait after the same tasks share one wait task; a wait of that
    id that differs (another dataset, or after other tasks) is refused."""
    w = DatasetWait("wait_zz", "ZZ待ち", "daily_collection", "jobs.common.dataset_waits:same_business_date",
                    timedelta(minutes=5))
    other = DatasetWait("wait_zz", "ZZ待ち", "levy_registration", "jobs.common.dataset_waits:same_business_date",
                        timedelta(minutes=5))
    for spec in (JobSpec("ZZ001", "一", "m:f", dataset_wait=w), JobSpec("ZZ002", "二", "m:f", dataset_wait=w),
                 JobSpec("ZZ003", "三", "m:f", after=("ZZ001",), dataset_wait=w),
                 JobSpec("ZZ004", "四", "m:f", dataset_wait=other)):
        monkeypatch.setitem(registry.JOBS, spec.job_id, spec)
    net = JobNet("KB999", "zz", "テスト", "", None, EntryCheck(), ("ZZ001", "ZZ002"))
    assert [(n.task_id, n.upstream) for n in registry.tasks(net)] == [
        ("check_business_day", ()), ("wait_zz", ("check_business_day",)), ("zz001", ("wait_zz",)),
        ("zz002", ("wait_zz",)), ("control_totals", ("zz001", "zz002"))]
    for steps in (("ZZ001", "ZZ003"), ("ZZ001", "ZZ004")):
        with pytest.raises(ValueError, match="wait_zz differs"):
            registry.tasks(JobNet("KB999", "zz", "テスト", "", None, EntryCheck(), steps))


def test_a_spec_states_its_rules():
    with pytest.raises(ValueError, match="trigger rule"):
        JobSpec("ZZ001", "x", "m:f", trigger_rule="one_success")
    with pytest.raises(ValueError, match="inbox"):
        JobSpec("ZZ001", "x", "m:f", wait=FileWait("w", "w", timedelta(minutes=1), soft_fail=True))
    spec = registry.get("SN205")
    assert (spec.task_id, spec.pool, registry.get("SN200").pool) == ("sn205", "kokuho_ledger", None)
    assert registry.get("SN200").wait_filepath == "counter/*" and spec.wait_filepath is None


def test_steps_of_other_job_nets_run_earlier_in_the_morning():
    """A step's ``after`` in another scheduled job net is run order: that job net's cron fires
    earlier the same weekday morning (KB100 06:30 < KB300/KB310 07:30 < KB400 08:30 < KB410 09:00)."""
    net_of = {job_id: net for net in registry.JOBNETS.values() for job_id in net.steps}

    def fire_time(net: JobNet) -> tuple[int, int]:
        minute, hour, dom, month, dow = net.schedule.split()
        assert (dom, month, dow) == ("*", "*", "1-5"), net.jobnet_id
        return int(hour), int(minute)

    checked = 0
    for spec in registry.JOBS.values():
        mine = net_of[spec.job_id]
        for before in spec.after:
            theirs = net_of[before]
            if theirs is mine or mine.schedule is None or theirs.schedule is None:
                continue  # an edge, or a manually triggered job net (KB210)
            assert fire_time(theirs) < fire_time(mine), f"{spec.job_id} after {before}"
            checked += 1
    assert checked >= 6
