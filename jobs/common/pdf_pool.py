"""PDF files rendered side by side in worker processes: FK150/FK230 納税通知書, TN010 督促状, TN120 催告書.

A step splits its documents into files, and ``render_files`` renders them, one file per process at a
time (``notice_output.pdf_workers``: 0 = one per CPU core), in ``spawn`` processes that are independent of
the parent's main program (a step runs under ``kokuho``, the Airflow task supervisor, a test runner):

- while the workers start, ``__main__`` is an empty module, so a worker imports only what it unpickles
  (the render function's module), never the parent's entry point (issue 12: under the supervisor the
  ``airflow`` entry point failed in the children);
- a worker dies with its step (``PR_SET_PDEATHSIG``), and checks before and after each file that its
  parent is still the step that started it;
- a worker writes only a private hidden name (``.<file>.tmp-<host>-<pid>-<token>``) beside the file's name
  in the step's staging folder; the step renames it (``adopt``), so nobody ever reads a half-written PDF,
  and the staging folder is swapped in whole at the step's commit.

The files come back in the order of the jobs, and each file's bytes do not depend on the process that
rendered it (tests compare the bytes of a parallel and a serial run).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from jobs.common import staging
from jobs.common.config import Config, ConfigError
from jobs.common.step import crash_point

WORKERS_KEY = "notice_output.pdf_workers"


def workers(cfg: Config, given: Any = None) -> int:
    """The PDF rendering processes: ``given`` (a step option) or ``notice_output.pdf_workers``; 0 = cores."""
    n = int(cfg.get(WORKERS_KEY) if given is None else given)
    if n < 0:
        raise ConfigError(f"{WORKERS_KEY} は0 (コア数) 以上です: {n}")
    return n or (os.cpu_count() or 1)


def render_files(fn: Callable[..., dict[str, Any]], jobs: Sequence[tuple], n_workers: int,
                 on_parallel: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """``fn(*job)`` for every job, in order, each adopted by this process (``adopt``). ``fn`` is a module-level
    function (it is pickled by name) that writes ``private_name(path)`` and returns a dict with ``private``
    and ``path``. With more than one job and worker, in ``min(n_workers, len(jobs))`` spawned processes
    (``on_parallel(workers)`` is called first: the step's message); else in this process."""
    n = min(n_workers, len(jobs))
    if n <= 1:
        return [adopt(fn(*j)) for j in jobs]
    if on_parallel is not None:
        on_parallel(n)
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init, initargs=(os.getpid(),)) as pool:
        with _workers_without_main():  # the workers start (spawn) while the jobs are submitted
            futures = [pool.submit(fn, *j) for j in jobs]
        return [adopt(f.result()) for f in futures]


def private_name(path: str | Path) -> Path:
    """The worker-private hidden name a file is rendered to, beside its name."""
    target = Path(path)
    return target.with_name(f".{target.name}.tmp-{staging.tag()}")


def adopt(result: dict[str, Any]) -> dict[str, Any]:
    """The step (the parent) renames a finished PDF from its private name to its name in the staging
    folder: a worker never writes a name anybody reads."""
    os.rename(result["private"], result["path"])
    crash_point("pdf")
    return result


def render_document(render: Callable[..., Any], rows: Any, cfg: Config, path: str) -> dict[str, Any]:
    """A job of ``render_files`` for a document renderer ``render(rows, cfg, path) -> stats`` (督促状,
    催告書): renders to the private name; ``stats`` is the renderer's result."""
    check_parent()
    private = private_name(path)
    stats = render(rows, cfg, private)
    check_parent()
    return {"stats": stats, "private": str(private), "path": path}


_PARENT_PID: int | None = None


@contextlib.contextmanager
def _workers_without_main() -> Iterator[None]:
    """While the workers are spawned, ``__main__`` is an empty module: a spawned worker imports only what
    it unpickles, never the parent's main script (``kokuho``, an Airflow entry point, a test runner) as
    ``__mp_main__``."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _worker_init(parent_pid: int) -> None:
    """Pool initializer: the worker dies with the step. Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, then
    the parent is checked to be still the one that started the pool (it may have died before the
    prctl); every PDF checks it again before it is written."""
    global _PARENT_PID
    _PARENT_PID = parent_pid
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    check_parent()


def check_parent() -> None:
    """In a worker: end at once when the step that started it is gone."""
    if _PARENT_PID is not None and os.getppid() != _PARENT_PID:
        os._exit(1)
