"""Many cities in one var/ (issue 12, "Many cities and more than one machine"): each 団体コード reads
only its own inbox, ``var/inbox/<団体コード>/<source>/`` (jobs.common.paths.inbox_subpath), and the
shared ``var/inbox/<source>/`` stays the default municipality's while it has no folder of its own.

Two synthetic cities, 111007 (the default) and 112011 (config/municipalities/112011, a copy), each in
its own inbox folder: FK020 of one city reads only its own file, writes a generation named after its
own code with its own records, and leaves the other city's file where it is. The real-scheduler
test of the same (two KB100 runs at once on a Celery worker) is test_celery_e2e.py."""

from __future__ import annotations

from pathlib import Path

import cluster
import pytest

from jobs.common import datasets, paths

INSURED = 60
DATE = "2026-06-01"
DEFAULT, SECOND = "111007", "112011"


def synth(inbox: Path, code: str, seed: int, tmp_path: Path) -> dict:
    return cluster.synth(inbox, code, insured=INSURED, seed=seed, scratch=tmp_path)


def test_which_inbox_a_run_reads(kokuho_var: Path):
    inbox = kokuho_var / "inbox"
    # one city, as before: the default municipality reads var/inbox/<source>/
    assert paths.inbox_subpath("shikaku") == "shikaku"
    assert paths.inbox_subpath("shikaku", DEFAULT) == "shikaku"
    # any other municipality never reads the shared folder, even before its own exists
    assert paths.inbox_subpath("shikaku", SECOND) == f"{SECOND}/shikaku"
    assert paths.inbox("shikaku", SECOND) == inbox.resolve() / SECOND / "shikaku"
    # once the default municipality has a folder of its own, it reads only that one
    (inbox / DEFAULT).mkdir()
    assert paths.inbox_subpath("kaigo", DEFAULT) == f"{DEFAULT}/kaigo"
    with pytest.raises(ValueError):
        paths.inbox_subpath("shikaku", "../111007")


def test_two_cities_in_one_var_keep_apart(kokuho_var: Path, tmp_path: Path):
    from jobs.runner import run_job

    inbox = kokuho_var / "inbox"
    manifests = {DEFAULT: synth(inbox / DEFAULT, DEFAULT, 11, tmp_path),
                 SECOND: synth(inbox / SECOND, SECOND, 12, tmp_path)}
    files = {code: inbox / code / m["files"]["shikaku"]["path"] for code, m in manifests.items()}

    second = run_job("FK020", business_date=DATE, municipality=SECOND)

    assert second.rc == 0, second.log_text
    assert second.totals.read == sum(manifests[SECOND]["files"]["shikaku"]["records"].values())
    assert not files[SECOND].exists()  # taken in and archived
    assert files[DEFAULT].is_file()  # the other city's file is untouched
    assert datasets.generations("nhi_qualification") == [f"m{SECOND}_fy2026_d20260601"]

    first = run_job("FK020", business_date=DATE, municipality=DEFAULT)

    assert first.rc == 0, first.log_text
    assert not files[DEFAULT].exists()
    assert datasets.generations("nhi_qualification") == [f"m{DEFAULT}_fy2026_d20260601",
                                                         f"m{SECOND}_fy2026_d20260601"]
    for code in (DEFAULT, SECOND):
        got = datasets.read("nhi_qualification", municipality=code)
        assert got.height > 0 and set(got["municipality_code"].to_list()) == {code}, code


def test_a_city_without_files_does_not_take_the_shared_inbox(kokuho_var: Path, tmp_path: Path):
    """112011 has no folder of its own: its FK020 finds nothing (the default city's file in the
    shared var/inbox/shikaku/ is not its), says where it looked, and leaves that file alone."""
    from jobs.runner import run_job

    m = synth(kokuho_var / "inbox", DEFAULT, 13, tmp_path)
    shared = kokuho_var / "inbox" / m["files"]["shikaku"]["path"]

    r = run_job("FK020", business_date=DATE, municipality=SECOND)

    assert r.rc == 4 and r.totals.read == 0, r.log_text  # due and missing: KKB110W (warning, grace days)
    assert f"inbox/{SECOND}/shikaku" in r.log_text, r.log_text
    assert shared.is_file()
    assert datasets.generations("nhi_qualification") == []


def test_an_intake_keeps_the_archive_temporaries_of_a_live_run(kokuho_var: Path, tmp_path: Path):
    """The archive folder of a source is shared by the municipalities: FK020 of one city must not
    delete what FK020 of another city, running at the same moment, is writing there (before, it
    deleted every temporary and failed the other run); a dead writer's temporary still goes."""
    import os
    import subprocess
    import sys

    from jobs.common import staging
    from jobs.runner import run_job

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder = paths.ensure_dir(paths.archive("shikaku"))
    live_tmp = folder / f".abc_X.dat.tmp-{staging.host()}-{os.getppid()}-0123abcd"
    dead_tmp = folder / f".abc_Y.dat.tmp-{staging.host()}-{int(dead.stdout)}-0123abcd"
    for p in (live_tmp, dead_tmp):
        p.write_bytes(b"part of a file")
    synth(kokuho_var / "inbox" / SECOND, SECOND, 14, tmp_path)

    r = run_job("FK020", business_date=DATE, municipality=SECOND)

    assert r.rc == 0, r.log_text
    assert live_tmp.exists() and not dead_tmp.exists()
    assert "KKB172I 保管の一時ファイルを削除 1件" in r.log_text


def test_the_file_wait_watches_the_runs_municipality(kokuho_var: Path, airflow_db):
    """KB100-WAIT (a deferrable FileSensor) pokes ``<団体コード>/kaigo/*`` for a run of 112011 and
    ``kaigo/*`` for the default city without a folder of its own; it finds 112011's file only there."""
    import datetime as dt
    from types import SimpleNamespace

    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.standard.sensors.filesystem import FileSensor
    from airflow.sdk.exceptions import TaskDeferred

    bag = DagBag(dag_folder=str(paths.CHECKOUT / "dags" / "kokuho_intake.py"))
    sensor = bag.get_dag("kokuho_intake").get_task("wait_kaigo_file")

    def context(code: str) -> dict:
        run = SimpleNamespace(run_after=dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.timezone.utc), run_type="manual",
                              conf={}, run_id="t", triggering_user_name=None)
        return {"params": {"business_date": DATE, "municipality": code}, "dag_run": run}

    (kokuho_var / "inbox" / SECOND / "kaigo").mkdir(parents=True)
    (kokuho_var / "inbox" / SECOND / "kaigo" / "KAIGO_DAICHO_20260601.dat").write_bytes(b"x")
    sensor.execute(context(SECOND))  # found at once: no deferral
    assert isinstance(sensor, FileSensor) and sensor.filepath == f"{SECOND}/kaigo/*"
    with pytest.raises(TaskDeferred):  # the default city's shared folder is empty: it waits (deferred)
        sensor.execute(context(DEFAULT))
    assert sensor.filepath == "kaigo/*" and sensor.path == str(kokuho_var / "inbox" / "kaigo" / "*")
