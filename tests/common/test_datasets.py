"""Dataset store: generations, replace on rerun, byte-identical output, crash safety (SIGKILL)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from jobs.common import datasets, paths

ROOT = Path(__file__).resolve().parents[2]
GEN = datasets.generation_name("111007", 2026, dt.date(2026, 6, 15))


def frame(n: int = 10, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame({
        "person_id": [f"{i:010d}" for i in range(offset, offset + n)],
        "amount": list(range(offset, offset + n)),
        "due": [dt.date(2026, 7, 31)] * n,
        "note": [None if i % 3 else "ｱｲｳ" for i in range(n)],
    })


def test_generation_name_round_trip():
    assert GEN == "m111007_fy2026_d20260615"
    assert datasets.parse_generation(GEN) == ("111007", 2026, dt.date(2026, 6, 15))
    with pytest.raises(ValueError):
        datasets.generation_name("11100", 2026, dt.date(2026, 6, 15))
    with pytest.raises(ValueError):
        datasets.parse_generation("latest")


def test_write_read_and_totals():
    path = datasets.write("debit_result", GEN, frame(), totals={"money": {"amount": 45}})
    assert path == paths.datasets_root() / "debit_result" / GEN
    assert sorted(p.name for p in path.iterdir()) == ["_totals.json", "part-0.parquet"]
    assert datasets.read("debit_result", GEN).equals(frame())
    assert datasets.read("debit_result").equals(frame())  # latest
    t = datasets.read_totals("debit_result", GEN)
    assert t["rows"] == 10 and t["money"] == {"amount": 45} and t["generation"] == GEN
    assert ["amount", "Int64"] in t["columns"]


def test_rerun_replaces_only_its_generation():
    other = datasets.generation_name("111007", 2026, dt.date(2026, 6, 16))
    datasets.write("d", GEN, frame(5))
    datasets.write("d", other, frame(7))
    datasets.write("d", GEN, frame(3, offset=100))
    assert datasets.generations("d") == [GEN, other]
    assert datasets.read("d", GEN).equals(frame(3, offset=100))
    assert datasets.read("d", other).height == 7
    assert not [p for p in (paths.datasets_root() / "d").iterdir() if p.name.startswith(".")]


def test_latest_filters():
    gens = [datasets.generation_name(m, 2026, dt.date(2026, 6, d)) for m in ("111007", "131016") for d in (1, 2, 3)]
    for g in gens:
        datasets.write("k", g, frame(1))
    assert datasets.latest("k", municipality="111007") == "m111007_fy2026_d20260603"
    assert datasets.latest("k", municipality="111007", upto="m111007_fy2026_d20260602") == "m111007_fy2026_d20260602"
    assert datasets.latest("k", municipality="111007", before="m111007_fy2026_d20260602") == "m111007_fy2026_d20260601"
    assert datasets.latest("k", municipality="111007", before="m111007_fy2026_d20260601") is None
    assert datasets.latest("nothing") is None
    with pytest.raises(datasets.DatasetNotFound, match="nothing"):
        datasets.read("nothing")
    assert datasets.datasets() == ["k"]


def test_staged_generation_is_invisible_until_commit_and_discard_leaves_old():
    datasets.write("s", GEN, frame(2))
    staged = datasets.stage("s", GEN, frame(9))
    assert datasets.read("s", GEN).height == 2
    staged.discard()
    assert datasets.read("s", GEN).height == 2
    assert not staged.tmp_dir.exists()
    staged2 = datasets.stage("s", GEN, frame(9))
    staged2.commit()
    assert datasets.read("s", GEN).height == 9
    with pytest.raises(RuntimeError):
        staged2.commit()


def test_output_is_byte_identical_on_rerun():
    big = pl.DataFrame({
        "person_id": [f"{i:010d}" for i in range(300_000)],  # more than one row group
        "amount": [i * 7 % 100_003 for i in range(300_000)],
        "kind": [("0", "1", "9")[i % 3] for i in range(300_000)],
    })
    p = datasets.write("big", GEN, big)
    first = {f.name: f.read_bytes() for f in p.iterdir()}
    p = datasets.write("big", GEN, big)
    second = {f.name: f.read_bytes() for f in p.iterdir()}
    assert first == second
    doc = json.loads(first["_totals.json"])
    assert set(doc) == {"dataset", "generation", "rows", "columns"}  # no timestamps


def test_bad_names_are_refused():
    with pytest.raises(ValueError):
        datasets.write("../evil", GEN, frame())
    with pytest.raises(ValueError):
        datasets.write("d", "../x", frame())
    with pytest.raises(ValueError):
        datasets.write("d", GEN, frame(), totals={"rows": 1})  # reserved key


# --- crash safety ------------------------------------------------------------------------------

CHILD = r"""
import signal, sys
import polars as pl
from jobs.common import datasets

point, name, gen = sys.argv[1:4]

def block():
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    while True:
        signal.pause()

if point == "writing":
    def partial(frame, path):
        frame.write_parquet(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        block()
    datasets._write_parquet = partial
else:
    real, calls = datasets._rename, []
    def rename(src, dst):
        real(src, dst)
        calls.append(dst)
        if (point == "aside" and len(calls) == 1) or (point == "swapped" and len(calls) == 2):
            block()
    datasets._rename = rename

datasets.write(name, gen, pl.DataFrame({"x": list(range(1000, 2000))}))
sys.stdout.write("DONE\n")
"""


@pytest.mark.parametrize("point, survivor", [
    ("writing", "old"),   # killed while writing the temp folder
    ("aside", "old"),     # killed after the old generation was renamed aside
    ("swapped", "new"),   # killed after the new one was renamed in, before deleting the old
])
def test_sigkill_leaves_a_complete_generation(point, survivor, tmp_path):
    old = pl.DataFrame({"x": list(range(10))})
    new = pl.DataFrame({"x": list(range(1000, 2000))})
    datasets.write("crash", GEN, old)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, point, "crash", GEN],
                                stdout=subprocess.PIPE, stderr=err, env=env)
        line = proc.stdout.readline()  # blocks until the writer reached the crash point
        assert line == b"READY\n", (tmp_path / "stderr.txt").read_text()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    expected = old if survivor == "old" else new
    assert datasets.generations("crash") == [GEN]
    assert datasets.read("crash", GEN).equals(expected)          # readers see a whole generation
    assert datasets.read_totals("crash", GEN)["rows"] == expected.height

    base = paths.datasets_root() / "crash"
    datasets.recover("crash")                                    # the next writer cleans up
    assert sorted(p.name for p in base.iterdir()) == [GEN]
    assert datasets.read("crash", GEN).equals(expected)
    datasets.write("crash", GEN, new)                            # and a rerun completes normally
    assert datasets.read("crash", GEN).equals(new)
    assert sorted(p.name for p in base.iterdir()) == [GEN]
