"""One set of scheduled DAGs per municipality (issue 12; dags/_kokuho/jobnet.py ``jobnet_dag``), over a
DagBag of dags/: the default municipality's DAGs keep their dag_ids (``kokuho_intake`` …), every other
scheduled municipality gets its own (``kokuho_intake_112011``) with its name in the display name, its
calendar in the timetable and its 団体コード fixed in the trigger form, so a scheduled run is that city's."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs import registry
from jobs.common import config

DAGS_FOLDER = __import__("pathlib").Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def city_bag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    mp = pytest.MonkeyPatch()
    mp.setenv(config.SCHEDULED_MUNICIPALITIES_ENV, "all")
    try:
        yield DagBag(dag_folder=str(DAGS_FOLDER))
    finally:
        mp.undo()


def test_only_the_default_city_is_scheduled_by_default(monkeypatch):
    monkeypatch.delenv(config.SCHEDULED_MUNICIPALITIES_ENV, raising=False)
    # 112011 is the synthetic test city: its municipality.yaml says scheduled: false
    assert config.municipality_codes() == ["111007", "112011"]
    assert config.scheduled_municipalities() == ["111007"]
    monkeypatch.setenv(config.SCHEDULED_MUNICIPALITIES_ENV, "112011")
    assert config.scheduled_municipalities() == ["111007", "112011"]  # the default one always
    monkeypatch.setenv(config.SCHEDULED_MUNICIPALITIES_ENV, "112011,999999")
    with pytest.raises(config.ConfigError, match="999999"):
        config.scheduled_municipalities()


def test_one_dag_per_job_net_and_city(city_bag):
    assert city_bag.import_errors == {}
    expected = {net.dag_id for net in registry.JOBNETS.values()}
    assert set(city_bag.dag_ids) == expected | {f"{d}_112011" for d in expected}
    for net in registry.JOBNETS.values():
        default, city = city_bag.get_dag(net.dag_id), city_bag.get_dag(f"{net.dag_id}_112011")
        # Japanese display names with the city's name and code
        assert default.dag_display_name == f"{net.title} (さいたま市 111007)"
        assert city.dag_display_name == f"{net.title} (第二合成市 112011)"
        assert "**団体**: 第二合成市 (112011)" in city.doc_md
        assert city.fileloc == default.fileloc and city.description == default.description
        # the same graph, task by task
        assert [t.task_id for t in city.tasks] == [t.task_id for t in default.tasks]
        assert [t.task_display_name for t in city.tasks] == [t.task_display_name for t in default.tasks]
        # the 団体コード: fixed on the city's DAG, free (empty = default) on the default one
        assert city.params.dump()["municipality"] == "112011"
        assert city.params.get_param("municipality").schema["enum"] == ["112011"]
        assert default.params.dump()["municipality"] is None
        # the schedule: the city's calendar (same time and rule)
        if net.schedule:
            assert city.timetable._municipality == "112011" and default.timetable._municipality is None
            assert city.timetable.serialize()["municipality"] == "112011"
            assert city.timetable.summary == default.timetable.summary
        else:
            assert type(city.timetable) is type(default.timetable)  # manual trigger only


def test_a_scheduled_run_of_the_city_dag_is_that_citys(city_bag):
    """What the steps get from a scheduled run (params at their defaults): the city's 団体コード, its calendar."""
    import pendulum

    from jobs.airflow_task import run_parameters

    class DagRun:
        run_type = "scheduled"
        run_after = pendulum.datetime(2026, 6, 1, 6, 30, tz="Asia/Tokyo")
        data_interval_start = run_after
        logical_date = run_after

    for dag_id, code in (("kokuho_intake_112011", "112011"), ("kokuho_intake", "111007")):
        params = city_bag.get_dag(dag_id).params.dump()
        run = run_parameters({"params": params, "dag_run": DagRun(), "data_interval_start": DagRun.run_after})
        assert run == {"business_date": dt.date(2026, 6, 1), "fy": 2026, "municipality": code}


def test_the_city_timetable_plans_on_the_city_calendar(city_bag):
    import pendulum
    from airflow.timetables.base import TimeRestriction

    tt = city_bag.get_dag("kokuho_intake_112011").timetable
    start = pendulum.datetime(2026, 12, 25, 12, 0, tz="Asia/Tokyo")
    info = tt.next_dagrun_info(last_automated_data_interval=None,
                               restriction=TimeRestriction(earliest=start, latest=None, catchup=False))
    # 年末年始 of 112011's calendar (a copy of 111007's): the next KB100 is 2026-12-28 06:30
    assert info is not None and info.run_after.in_timezone("Asia/Tokyo") == pendulum.datetime(
        2026, 12, 28, 6, 30, tz="Asia/Tokyo")
