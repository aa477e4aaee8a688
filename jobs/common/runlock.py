"""One run per job net and 団体コード at a time (issue 12): the run lock.

With ``KOKUHO_MAX_ACTIVE_RUNS`` > 1 (one Airflow for several municipalities) and with the per-city DAGs
(``kokuho_intake_112011`` beside ``kokuho_intake``, whose manual runs may name any 団体コード), Airflow's
own ``max_active_runs`` no longer keeps two runs of one job net for one city apart. The lock does:

    var/locks/<job net>_<団体コード>.json   {"jobnet", "municipality", "dag_id", "run_id", "taken_at", "host"}

- the first task of every job net (``KB100-LOCK 同時実行制御``) takes it for its DAG run, or waits
  while another *active* run holds it (KKB181W), and fails after its timeout (KKB182E);
- every job step checks it before it runs (``ensure``): its own run holds it (also after a 消去 and
  rerun: the run id stays), or it is free, or its holder is no longer active — then the step takes it;
  a step of a second run while the first is active is refused (KKB183E, RC 8: nothing done);
- the last task (``KB100-END 統制合計表``) releases it.

The holder is a DAG run, not a process: a worker that dies leaves the lock to its run, whose retry or
rerun goes on with it. A run that ended (success, failed: even one whose END never ran, or one an
operator marked failed) holds nothing: the next run finds it not active (``alive``, which the Airflow
side answers from the run's state) and takes the lock over. The file lives in the shared var/ (the
same file system every worker mounts, see README *More workers on other hosts*); it is created with
``link`` (atomic, also on NFS), never overwritten in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from jobs.common import paths


@dataclass(frozen=True)
class Holder:
    jobnet: str
    municipality: str
    dag_id: str
    run_id: str
    taken_at: str = ""
    host: str = ""

    def describe(self) -> str:
        return f"{self.dag_id} の実行 {self.run_id} ({self.taken_at} から, {self.host})"


def lock_dir() -> Path:
    return paths.var_root() / "locks"


def lock_path(jobnet: str, municipality: str) -> Path:
    return lock_dir() / f"{jobnet}_{municipality}.json"


def holder(jobnet: str, municipality: str) -> Holder | None:
    """Who holds the lock of (``jobnet``, ``municipality``), or None."""
    try:
        data = json.loads(lock_path(jobnet, municipality).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # unreadable: treat as a holder of no run (taken over)
        return Holder(jobnet, municipality, "?", "?")
    return Holder(**{k: str(data.get(k, "")) for k in Holder.__dataclass_fields__})


def _link(path: Path, mine: Holder) -> bool:
    """Create ``path`` holding ``mine`` atomically; False when it exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(asdict(mine), ensure_ascii=False, sort_keys=True), encoding="utf-8")
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def acquire(jobnet: str, municipality: str, *, dag_id: str, run_id: str,
            alive: Callable[[Holder], bool]) -> Holder | None:
    """Take the lock for DAG run ``run_id``. None: this run holds it (taken now, held already, or
    taken over from a run that ``alive`` says is no longer active); else the active holder."""
    path = lock_path(jobnet, municipality)
    mine = Holder(jobnet, municipality, dag_id, run_id,
                  dt.datetime.now().astimezone().isoformat(timespec="seconds"), socket.gethostname())
    for _ in range(5):
        if _link(path, mine):
            return None
        current = holder(jobnet, municipality)
        if current is None:
            continue  # released in between
        if current.dag_id == dag_id and current.run_id == run_id:
            return None
        if alive(current):
            return current
        # the holder's run is over: move its lock aside, and check it was that one (not a newer lock)
        aside = path.with_name(f".{path.name}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            continue
        try:
            moved = json.loads(aside.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            moved = {}
        if moved.get("run_id", "?") != current.run_id or moved.get("dag_id", "?") != current.dag_id:
            try:  # another run took it meanwhile: give it back
                os.link(aside, path)
            except FileExistsError:
                pass
        aside.unlink(missing_ok=True)
    current = holder(jobnet, municipality)
    return current if current is not None and (current.dag_id, current.run_id) != (dag_id, run_id) else None


def release(jobnet: str, municipality: str, *, dag_id: str, run_id: str) -> bool:
    """Give the lock back if ``run_id`` holds it; True when released."""
    current = holder(jobnet, municipality)
    if current is None or (current.dag_id, current.run_id) != (dag_id, run_id):
        return False
    path = lock_path(jobnet, municipality)
    aside = path.with_name(f".{path.name}.released-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    moved = holder_of_file(aside)
    if moved is not None and (moved.dag_id, moved.run_id) != (dag_id, run_id):
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def holder_of_file(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Holder(**{k: str(data.get(k, "")) for k in Holder.__dataclass_fields__})
