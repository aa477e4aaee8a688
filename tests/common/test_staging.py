"""Staging names, leftovers of dead writers, the one-rename folder swap and the crash hook."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest

from jobs.common import datasets, paths, staging


def dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              check=True, text=True).stdout)


def test_is_dead_knows_the_writer_by_host_and_pid(tmp_path):
    host, dead = staging.host(), dead_pid()
    assert staging.is_dead(f".x.dat.staged-{host}-{dead}-0badc0de")
    assert staging.is_dead(f".tmp-m111007_fy2026_d20260601-{host}-{dead}-0badc0de")
    assert not staging.is_dead(f".x.dat.staged-{host}-{os.getppid()}-0badc0de")  # alive
    assert not staging.is_dead(f".x.dat.staged-otherhost-{dead}-0badc0de")  # another host's: unsure
    assert not staging.is_dead("x.dat") and not staging.is_dead(f"x.dat.staged-{host}-{dead}-0badc0de")
    mine = paths.temp_path(tmp_path / "y.dat")  # this process writes it: kept until released
    assert not staging.is_dead(mine.name)
    staging.release(mine)
    assert staging.is_dead(mine.name)  # this pid, but nobody writes it any more


def test_sweep_removes_dead_leftovers_only(tmp_path):
    host, dead = staging.host(), dead_pid()
    (tmp_path / "bank" / "0001").mkdir(parents=True)
    keep = [tmp_path / "bank" / "0001" / "KOUFURI.dat", tmp_path / f".a.staged-{host}-{os.getppid()}-00000001"]
    gone = [tmp_path / "bank" / "0001" / f".KOUFURI.dat.tmp-{host}-{dead}-00000002",
            tmp_path / f".a.staged-{host}-{dead}-00000003"]
    for p in keep + gone:
        p.write_bytes(b"x")
    folder = tmp_path / f".m111007_fy2026_d20260701.staged-{host}-{dead}-00000004"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f.pdf").write_bytes(b"%PDF")
    removed = staging.sweep(tmp_path)
    assert sorted(removed) == sorted(gone + [folder])
    assert all(p.exists() for p in keep) and not any(p.exists() for p in gone) and not folder.exists()


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_dir_replaces_a_folder_whole(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(staging, "exchange", lambda a, b: False)
    tmp_path = tmp_path / "notices"
    tmp_path.mkdir()
    final = tmp_path / "gen"
    final.mkdir()
    (final / "old.pdf").write_bytes(b"old")
    new = tmp_path / f".gen.staged-{staging.tag()}"
    new.mkdir()
    (new / "new.pdf").write_bytes(b"new")
    staging.swap_dir(new, final)
    assert [p.name for p in final.iterdir()] == ["new.pdf"] and sorted(p.name for p in tmp_path.iterdir()) == ["gen"]
    fresh = tmp_path / f".other.staged-{staging.tag()}"
    fresh.mkdir()
    staging.swap_dir(fresh, tmp_path / "other")  # no folder there yet: a plain rename
    assert (tmp_path / "other").is_dir() and not fresh.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux")
def test_exchange_swaps_two_folders_in_one_call(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1").write_bytes(b"")
    (tmp_path / "b").mkdir()
    assert staging.exchange(tmp_path / "a", tmp_path / "b")
    assert not list((tmp_path / "a").iterdir()) and [p.name for p in (tmp_path / "b").iterdir()] == ["1"]


def test_a_dead_writers_dataset_temp_folder_is_recovered(kokuho_var):
    base = datasets.dataset_dir("things")
    left = base / f".tmp-m111007_fy2026_d20260601-{staging.host()}-{dead_pid()}-0badc0de"
    left.mkdir(parents=True)
    datasets.write("things", "m111007_fy2026_d20260601", pl.DataFrame({"a": [1]}))
    assert not left.exists()


def test_sort_by_key_gives_one_order_for_the_same_rows():
    a = pl.DataFrame({"k": [2, 1, 1], "v": ["b", "z", "a"], "l": [[1], [2], [3]]})
    b = a.reverse()
    assert datasets.sort_by_key(a, ("k",)).equals(datasets.sort_by_key(b, ("k",)))
    assert datasets.sort_by_key(a, ("k", "missing"))["v"].to_list() == ["a", "z", "b"]


def test_crash_point_is_inert_unless_named(monkeypatch):
    monkeypatch.delenv(staging.CRASH_ENV, raising=False)
    staging.crash_point("commit")
    monkeypatch.setenv(staging.CRASH_ENV, "staged")
    staging.crash_point("commit")
    monkeypatch.setenv(staging.CRASH_ENV, "commit#3")
    staging.crash_point("commit")  # the first of three: no kill yet
    proc = subprocess.run([sys.executable, "-c", "from jobs.common import staging\n"
                           "for _ in range(3): staging.crash_point('commit')\nprint('alive')"],
                          env=dict(os.environ, KOKUHO_CRASH_AT="commit#3"), capture_output=True, check=False)
    assert proc.returncode == -9 and b"alive" not in proc.stdout
