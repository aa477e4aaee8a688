"""Staging names, leftovers of killed runs, the folder swap and the crash test hook.

Every file or folder a step writes first appears under a hidden staging name next to its final
place, and carries who writes it: ``<host>-<pid>-<token>`` (``tag()``):

    .<name>.tmp-<host>-<pid>-<token>          paths.temp_path (atomic writes, FileWriter, PDFs)
    .<name>.staged-<host>-<pid>-<token>       StepContext.stage_file, the PDF staging folder
    .tmp-<generation>-<host>-<pid>-<token>/   datasets.stage

A run killed with ``kill -9`` leaves such names behind. ``is_dead`` tells a leftover from a
live writer's file: the writer ran on this host and its process is gone (or it is this process
and the name is not one it is still writing, ``live``). ``sweep`` removes the dead ones under a
folder; ``StepContext`` sweeps the step's output places when a step starts.

``swap_dir`` replaces a whole folder with one rename (``renameat2(RENAME_EXCHANGE)`` on Linux).

``crash_point`` is a test hook, inert unless ``KOKUHO_CRASH_AT`` names the point.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import signal
import socket
from pathlib import Path

CRASH_ENV = "KOKUHO_CRASH_AT"
_MARK = re.compile(r"\.(?:tmp|staged)-(?:.*-)?(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-(?P<token>[0-9a-f]+)$")
_live: set[str] = set()  # staging names this process is writing now


def host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def tag() -> str:
    """``<host>-<pid>-<token>``: the writer part of a staging name."""
    return f"{host()}-{os.getpid()}-{secrets.token_hex(4)}"


def hold(path: Path) -> Path:
    """Note that this process writes ``path`` now (``is_dead`` keeps it); ``release`` it after."""
    _live.add(Path(path).name)
    return Path(path)


def release(path: Path) -> None:
    _live.discard(Path(path).name)


def is_leftover_name(name: str) -> bool:
    return name.startswith(".") and _MARK.search(name) is not None


def is_dead(name: str) -> bool:
    """A staging name whose writer (on this host) has exited; False when unsure."""
    m = _MARK.search(name)
    if not name.startswith(".") or m is None or m["host"] != host():
        return False
    pid = int(m["pid"])
    if pid == os.getpid():
        return name not in _live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep(folder: Path, *, recursive: bool = True) -> list[Path]:
    """Remove the dead staging files and folders under ``folder``; returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if is_leftover_name(entry.name):
            if is_dead(entry.name):
                try:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(path)
                    else:
                        path.unlink(missing_ok=True)
                except OSError:  # not ours to remove after all (permissions): leave it
                    continue
                removed.append(path)
            continue
        if recursive and entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            removed += sweep(path)
    return removed


# --- one-rename folder swap -------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc = None


def _renameat2():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    return getattr(_libc, "renameat2", None)


def exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (one ``renameat2(RENAME_EXCHANGE)``); False when the
    system or file system cannot."""
    fn = _renameat2() if os.name == "posix" else None
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def swap_dir(staging: Path, final: Path) -> None:
    """Put the folder ``staging`` at ``final`` with one rename and remove the folder it replaces.

    A reader sees the old folder or the new one, never a mix. Where ``RENAME_EXCHANGE`` is not
    available the old folder is first renamed aside (``.<final>.staged-…`` by this process, so a
    crash in between leaves a dead staging name that ``sweep`` removes; the final name is then
    missing until the rerun)."""
    staging, final = Path(staging), Path(final)
    if not final.exists():
        os.rename(staging, final)
    elif exchange(staging, final):
        crash_point("swap")
        shutil.rmtree(staging)  # now the old folder
    else:
        aside = final.with_name(f".{final.name}.staged-{tag()}")
        os.rename(final, aside)
        crash_point("swap")
        os.rename(staging, final)
        shutil.rmtree(aside)
    fsync_dir(final.parent)


def fsync_dir(path: Path) -> None:
    """Flush the folder's entries (a rename inside it) to disk (``paths.fsync_dir``)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the crash test hook ----------------------------------------------------------------------------


def crash_point(name: str) -> None:
    """Test hook: when ``$KOKUHO_CRASH_AT`` is ``name`` (or ``name#n``: its n-th time in this
    process), this process kills itself with SIGKILL here, as ``kill -9`` would. Inert otherwise."""
    want = os.environ.get(CRASH_ENV)
    if not want:
        return
    point, _, nth = want.partition("#")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_hits: dict[str, int] = {}
