"""Where things live.

The project root is ``$KOKUHO_HOME`` or, by default, the checkout this package sits in. It holds
the versioned data (``config/``, ``layouts/``) and the runtime folder ``var/`` (git-ignored)::

    var/inbox/<source>/      files dropped by counterparties (bank, nenkin, shikaku, ...)
    var/inbox/<code>/<source>/  the same, per 団体コード when one var/ serves several (``inbox_subpath``)
    var/datasets/<dataset>/  Parquet generations written by the steps
    var/outbox/<dest>/       files for counterparties (Zengin requests, 特別徴収, print data)
    var/reports/             PDFs and printed ledgers
    var/archive/<source>/    every processed input, as <sha256>_<name>
    var/errors/<job_id>/     error lists (エラーリスト), one CSV per generation

The keys (the 個人番号 HMAC key, the archive keys) live OUTSIDE var/, in the user's config folder
``secrets_root()``: ``$KOKUHO_SECRETS_DIR`` or ``$XDG_CONFIG_HOME/kokuho`` (``~/.config/kokuho``),
mode 0700. ``var/secrets/`` is only the old place, migrated from (``legacy_secrets_root``).

``$KOKUHO_VAR`` moves ``var/`` elsewhere (tests, or a bigger disk) without moving config/.
Every process that writes under var/ first calls ``private_umask()`` (umask 077): every file it
creates is 0600 and every folder 0700 (owner only).
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


def inbox_root() -> Path:
    """Where the counterparties drop their files: ``var/inbox/``."""
    return var_root() / "inbox"


def inbox(source: str, municipality: str | None = None) -> Path:
    """The inbox folder of ``source`` for a run of ``municipality`` (``inbox_subpath``)."""
    return inbox_root() / inbox_subpath(source, municipality)


def inbox_subpath(source: str, municipality: str | None = None) -> str:
    """``source``'s inbox relative to the inbox root, for a run of 団体コード ``municipality``.

    One Airflow may run several municipalities (one DAG run per 団体コード): each keeps its files in
    ``var/inbox/<団体コード>/<source>/``, so two runs at once never see each other's files. The
    shared ``var/inbox/<source>/`` (one city, as before) is read only by runs of the default
    municipality (``system.default_municipality``) and only while ``var/inbox/<its code>/`` does
    not exist; any other municipality never reads it. ``municipality=None``: the shared folder."""
    source = _component(source)
    if municipality is None:
        return source
    code = _component(str(municipality))
    if (inbox_root() / code).is_dir():
        return f"{code}/{source}"
    from . import config  # lazy: config imports this module

    if code == config.default_municipality():
        return source
    return f"{code}/{source}"


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
    """The keys' folder, outside var/: ``$KOKUHO_SECRETS_DIR`` or ``$XDG_CONFIG_HOME/kokuho``
    (default ``~/.config/kokuho``)."""
    env = os.environ.get("KOKUHO_SECRETS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return (base / "kokuho").resolve()


def legacy_secrets_root() -> Path:
    """Where the keys were before they moved out of var/ (only read to migrate them)."""
    return var_root() / "secrets"


PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Set the process umask to 077 (files 0600, folders 0700: owner only); return the old one.
    The step runtime, the ``kokuho`` command and the Airflow task wrapper call it before writing."""
    return os.umask(PRIVATE_UMASK)


#: The folders of var/ only the runtime writes; ``tighten_runtime_dirs`` makes them 0700.
RUNTIME_DIRS = ("datasets", "ledger", "outbox", "reports", "archive", "errors")


def tighten_runtime_dirs() -> list[Path]:
    """Make the runtime's folders of var/ (``RUNTIME_DIRS``) 0700 when an older version left them
    open: a 0700 folder closes everything below it. The inbox is not touched (a transfer account
    may deliver into it). Returns the folders changed."""
    changed = []
    for name in RUNTIME_DIRS:
        p = var_root() / name
        try:
            st = p.stat()
        except OSError:
            continue
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.chmod(p, 0o700)
            changed.append(p)
    return changed


def ensure_dir(path: Path, mode: int = 0o777) -> Path:
    """Create ``path`` (and parents) if missing; return it. Under ``private_umask`` a new
    folder is 0700 whatever ``mode`` says."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) 0700 and make sure ``path`` itself is 0700."""
    path = Path(path)
    old = os.umask(PRIVATE_UMASK)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    finally:
        os.umask(old)
    if (path.stat().st_mode & 0o777) != 0o700:
        os.chmod(path, 0o700)
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


#: Flush a folder's entries (a rename inside it) to disk; defined beside the staging names.
fsync_dir = staging.fsync_dir


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
