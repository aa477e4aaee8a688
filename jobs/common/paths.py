"""Where things live.

The project root is ``$KOKUHO_HOME`` or, by default, the checkout this package sits in. It holds
the versioned data (``config/``, ``layouts/``) and the runtime folder ``var/`` (git-ignored)::

    var/inbox/<source>/      files dropped by counterparties (bank, nenkin, shikaku, ...)
    var/datasets/<dataset>/  Parquet generations written by the steps
    var/outbox/<dest>/       files for counterparties (Zengin requests, 特別徴収, print data)
    var/reports/             PDFs and printed ledgers
    var/archive/<source>/    every processed input, as <sha256>_<name>
    var/errors/<job_id>/     error lists (エラーリスト), one CSV per generation
    var/secrets/             keys (the 個人番号 HMAC key); mode 0700

``$KOKUHO_VAR`` moves ``var/`` elsewhere (tests, or a bigger disk) without moving config/.
Every function reads the environment when called, so a test can point them at a temp dir.

Writing a file atomically is done here and nowhere else: ``write_atomic`` (bytes),
``atomic_path`` (a temporary path to write to, renamed into place on success) and, for the
files a step stages until it commits, ``stage_bytes`` + ``commit_file``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import staging

CHECKOUT = Path(__file__).resolve().parents[2]


def home() -> Path:
    """The project root: ``$KOKUHO_HOME`` or the checkout."""
    env = os.environ.get("KOKUHO_HOME")
    return Path(env).resolve() if env else CHECKOUT


def config_root() -> Path:
    return home() / "config"


def layouts_root() -> Path:
    return home() / "layouts"


def var_root() -> Path:
    """The runtime folder: ``$KOKUHO_VAR`` or ``<home>/var``."""
    env = os.environ.get("KOKUHO_VAR")
    return Path(env).resolve() if env else home() / "var"


def inbox(source: str) -> Path:
    return var_root() / "inbox" / _component(source)


def datasets_root() -> Path:
    return var_root() / "datasets"


def outbox(dest: str) -> Path:
    return var_root() / "outbox" / _component(dest)


def reports_root() -> Path:
    return var_root() / "reports"


def archive(source: str) -> Path:
    return var_root() / "archive" / _component(source)


def errors(job_id: str) -> Path:
    return var_root() / "errors" / _component(job_id)


def secrets_root() -> Path:
    return var_root() / "secrets"


def ensure_dir(path: Path, mode: int = 0o777) -> Path:
    """Create ``path`` (and parents) if missing; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path


def temp_path(path: Path) -> Path:
    """A temporary sibling of ``path``: the same folder (so the final rename is atomic), hidden
    (folder listings and the inbox sensors skip dot files) and unique to this process: it names
    the host and pid (``staging.tag``), so a leftover of a killed run is known as dead."""
    path = Path(path)
    return staging.hold(path.with_name(f".{path.name}.tmp-{staging.tag()}"))


def fsync_file(path: Path) -> None:
    """Flush the file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush the folder's entries (a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` (fsync'ed) to a ``temp_path`` of ``path`` and return that temporary file;
    ``commit_file`` puts it in place when the step commits, or the caller unlinks it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def commit_file(tmp: Path, path: Path) -> Path:
    """Rename the finished (fsync'ed) ``tmp`` onto ``path`` and flush the folder: a reader sees
    the old file or the whole new one, never a part."""
    os.replace(tmp, path)
    staging.release(tmp)
    fsync_dir(Path(path).parent)
    return Path(path)


@contextmanager
def atomic_path(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` to write the file to; on a clean exit it is
    fsync'ed (``mode``: chmod'ed first) and renamed onto ``path``; on an exception, or if the
    rename fails, it is removed and ``path`` is untouched.

        with paths.atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        fsync_file(tmp)
        commit_file(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        staging.release(tmp)


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (``atomic_path``)."""
    path = Path(path)
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)
    return path


def relative(path: Path) -> str:
    """``path`` relative to the project root (or var/) when inside it, for messages."""
    p = Path(path).resolve()
    for base, prefix in ((var_root(), "var"), (home(), "")):
        try:
            rel = p.relative_to(base)
        except ValueError:
            continue
        return str(Path(prefix) / rel) if prefix else str(rel)
    return str(p)


def _component(name: str) -> str:
    """A single safe path component (no separators, no '..')."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"not a valid folder name: {name!r}")
    return name
