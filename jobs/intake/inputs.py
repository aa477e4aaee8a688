"""Input files of an intake run: pick-up, SHA-256, duplicate check, archive.

Which files a run reads, in this order:
1. ``files=[...]`` given to the run (``kokuho run ... --file PATH``): exactly those;
2. the files in ``var/inbox/<source>/`` matching the job's pattern (sorted by name; hidden
   files and ``*.tmp``/``*.part`` are ignored: a sender still writing uses those names);
3. nothing in the inbox and the run's generation already committed: the archived inputs of
   that generation (a rerun re-reads exactly what the first run read).

After the step commits, each input is archived as ``var/archive/<source>/<sha256>_<name>`` with
a sidecar ``.json`` naming the job and generation that first processed it; inbox files are
removed from the inbox (so tomorrow's run does not read them again), ``--file`` inputs stay. A
file whose content was already processed by another run is refused (RC 8) unless ``force=True``.

The archive copy is encrypted at rest (``jobs.common.crypto``, AES-256-GCM in 1 MiB chunks, the
archive key outside var/): it is encrypted while it is copied from the inbox, so no plaintext
copy is ever written to the archive; ``<sha256>`` is the plaintext's. ``content`` and
``ArchivedFile`` decrypt it; an archive file written before encryption (plain) is still read.
Temporary files an interrupted archiving left behind are removed at the start of the next intake
(``prepare``).

Checksums: an inbox (or ``--file``) input with a ``<name>.sha256`` beside it is verified before
it is read; a mismatch refuses the run (RC 8) and the file stays in the inbox. Without one the
file is taken unless the source's profile says ``require_checksum`` (config/common/handoff.yaml).

Complete files only (issue 12): an inbox file is taken only when it is complete by its source's
profile (``handoff.inbox.<source>.complete``, ``Completeness``): ``rule: stable`` = its size and
modification time have not changed for ``seconds`` seconds; ``rule: marker`` = a ``<name><suffix>``
(default ``.done``) is beside it, or its ``<name>.sha256`` where the profile requires checksums;
``rule: [stable, marker]`` = both. No ``complete`` entry = ``stable`` 0 s (a file is complete as
soon as it is there, as before). An incomplete file stays in the inbox and is reported (KKB114W);
when nothing complete is there the step ends with RC 4 and writes nothing (KKB115W). The Airflow
file-wait sensor (``dags/_kokuho/steps.py``) uses the same rule. The marker is removed with the
file when it is archived.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jobs.common import crypto, handoff, paths, staging
from jobs.common.step import StepContext, StepEnd, StepError

MARKER_SUFFIX = ".done"
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", handoff.SUFFIX, MARKER_SUFFIX)
RULES = ("stable", "marker")


@dataclass(frozen=True)
class Completeness:
    """When an inbox file of a source is complete (``handoff.inbox.<source>.complete``)."""

    stable_seconds: float | None = 0.0  # None: no stability rule
    marker_suffix: str | None = None  # None: no marker rule
    checksum_is_marker: bool = False  # the profile requires a .sha256: it counts as the marker

    def marker_paths(self, path: Path) -> list[Path]:
        if self.marker_suffix is None:
            return []
        out = [path.with_name(path.name + self.marker_suffix)]
        if self.checksum_is_marker:
            out.append(handoff.checksum_path(path))
        return out

    def incomplete_reason(self, path: Path, now: float | None = None) -> str | None:
        """None when ``path`` is complete, else why not: ``stable`` (still changing / too new) or
        ``marker`` (no marker beside it)."""
        path = Path(path)
        if self.stable_seconds:
            try:
                first = path.stat()
                second = path.stat()
            except FileNotFoundError:
                return "stable"
            now = time.time() if now is None else now
            if ((first.st_size, first.st_mtime_ns) != (second.st_size, second.st_mtime_ns)
                    or now - second.st_mtime < self.stable_seconds):
                return "stable"
        if self.marker_suffix is not None and not any(m.is_file() for m in self.marker_paths(path)):
            return "marker"
        return None

    def ignores(self, name: str) -> bool:
        return self.marker_suffix is not None and name.lower().endswith(self.marker_suffix.lower())


def completeness(source: str, cfg=None) -> Completeness:
    """The completeness rule of ``source``'s inbox profile (``cfg``: a run's config, else the
    common config). A malformed entry raises ConfigError naming the key."""
    from jobs.common import config as config_mod

    cfg = cfg if cfg is not None else config_mod.load_common()
    key = f"handoff.inbox.{source}"
    entry = cfg.get(f"{key}.complete", None)
    if entry is None:
        return Completeness()
    if not isinstance(entry, Mapping):
        raise config_mod.ConfigError(f"{key}.complete は {{rule: stable, seconds: N}} か {{rule: marker, suffix: .done}} です: {entry!r}")
    rules = entry.get("rule", "stable")
    rules = [rules] if isinstance(rules, str) else list(rules or ())
    if not rules or any(r not in RULES for r in rules):
        raise config_mod.ConfigError(f"{key}.complete.rule は stable / marker (または両方のリスト) です: {entry.get('rule')!r}")
    seconds = None
    if "stable" in rules:
        seconds = float(entry.get("seconds", 0))
        if seconds < 0:
            raise config_mod.ConfigError(f"{key}.complete.seconds は 0 以上です: {seconds}")
    suffix = None
    if "marker" in rules:
        suffix = str(entry.get("suffix") or MARKER_SUFFIX)
        if not suffix.startswith(".") or suffix.lower() == handoff.SUFFIX:
            raise config_mod.ConfigError(f"{key}.complete.suffix は .done のような拡張子です (.sha256 以外): {suffix!r}")
    required = bool(cfg.get(f"{key}.require_checksum", False))
    return Completeness(seconds, suffix, checksum_is_marker=suffix is not None and required)


@dataclass(frozen=True)
class InputFile:
    path: Path
    name: str
    sha256: str
    size: int
    origin: str  # inbox | given | archive

    @property
    def archive_name(self) -> str:
        return f"{self.sha256}_{self.name}"

    def to_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "size": self.size, "origin": self.origin}


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def describe(path: Path, origin: str, name: str | None = None) -> InputFile:
    p = Path(path)
    if origin == "archive" and crypto.is_encrypted(p):
        digest = hashlib.sha256()
        size = 0
        with open(p, "rb") as fh:
            for part in crypto.iter_decrypt(fh):
                digest.update(part)
                size += len(part)
        return InputFile(p, name or p.name, digest.hexdigest(), size, origin)
    return InputFile(p, name or p.name, sha256_of(p), p.stat().st_size, origin)


def content(f: InputFile) -> Path | bytearray:
    """What the codec reads: the file itself, or an encrypted archive copy decrypted in memory
    (the codec holds the whole file anyway; never a plaintext file on disk)."""
    if f.origin == "archive" and crypto.is_encrypted(f.path):
        return crypto.decrypt_bytes(f.path)
    return f.path


def prepare(ctx: StepContext) -> None:
    """At the start of an intake step: remove the archive temporaries an interrupted run left
    (they may hold a part of a file), and move the 個人番号 key out of var/ if it is still there.
    Only a dead writer's temporaries go (``staging.is_dead``): the archive folder of a source is
    shared by every municipality, and another municipality's run may be writing there right now."""
    from . import keys

    folder = paths.archive(ctx.spec.inbox)
    if folder.is_dir():
        stale = [p for p in folder.iterdir() if p.name.startswith(".") and ".tmp-" in p.name
                 and (staging.is_dead(p.name) or not staging.is_leftover_name(p.name))]
        for p in stale:
            p.unlink(missing_ok=True)
        if stale:
            ctx.message("KKB172I", count=len(stale), folder=paths.relative(folder))
    inbox = paths.inbox(ctx.spec.inbox, ctx.municipality)
    if inbox.is_dir():  # a .sha256 that came after its file was taken in: the archive has that content
        for side in sorted(inbox.glob(f"*{handoff.SUFFIX}")):
            data = side.with_name(side.name[: -len(handoff.SUFFIX)])
            if data.exists():
                continue
            digest = handoff.parse_checksum(side.read_text(encoding="ascii", errors="replace"), data.name)
            if digest and claims(ctx.spec.inbox, digest):
                side.unlink(missing_ok=True)
                ctx.message("KKB175I", checksum=side.name)
    old = paths.relative(paths.legacy_secrets_root() / keys.FILE_NAME)
    if keys.migrate_legacy_key():
        ctx.message("KKB173I", old=old, new=str(paths.secrets_root() / keys.FILE_NAME))


def verify_checksums(ctx: StepContext, files: list[InputFile]) -> None:
    """Check the ``<name>.sha256`` beside each inbox / given input (RC 8 on a mismatch, or on a
    missing one when the source's profile requires it)."""
    required = bool(ctx.config.get(f"handoff.inbox.{ctx.spec.inbox}.require_checksum", False))
    for f in files:
        if f.origin == "archive":
            continue
        side = handoff.checksum_path(f.path)
        if not side.is_file():
            if required:
                raise StepError.of("KKB171E", "missing", file=f.name, inbox=ctx.spec.inbox,
                                   checksum=paths.relative(side))
            continue
        expected = handoff.parse_checksum(side.read_text(encoding="ascii", errors="replace"), f.path.name)
        if expected is None:
            raise StepError.of("KKB171E", "malformed", checksum=paths.relative(side))
        if expected != f.sha256:
            raise StepError.of("KKB171E", file=f.name, checksum=side.name, expected=expected, actual=f.sha256)
        ctx.message("KKB170I", file=f.name, checksum=side.name)


def given_files(ctx: StepContext) -> list[InputFile]:
    """The files a run names itself (option ``files``: one path or a list; ``kokuho run --file``),
    each checked to exist (KKB103E); [] when none is given."""
    given = ctx.options.get("files") or ()
    if isinstance(given, (str, bytes)) or hasattr(given, "__fspath__"):
        given = [given]
    out = []
    for p in given:
        path = Path(p).expanduser()
        if not path.is_file():
            raise StepError.of("KKB103E", "given", path=p)
        out.append(describe(path, "given"))
    return out


def inbox_files(source: str, pattern: str, municipality: str | None = None,
                complete: Completeness | None = None) -> list[Path]:
    """The files of ``pattern`` in ``source``'s inbox of ``municipality`` (``paths.inbox_subpath``:
    ``var/inbox/<団体コード>/<source>/`` when one var/ serves several municipalities), complete
    or not (``complete``: its marker files are not inputs)."""
    folder = paths.inbox(source, municipality)
    if not folder.is_dir():
        return []
    pat = pattern.lower()
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".")
        and not p.name.lower().endswith(IGNORED_SUFFIXES)
        and not (complete is not None and complete.ignores(p.name))
        and fnmatch.fnmatchcase(p.name.lower(), pat)
    )


def split_complete(files: list[Path], complete: Completeness,
                   now: float | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``files`` parted into the complete ones and the incomplete ones with the reason."""
    done, pending = [], []
    for p in files:
        reason = complete.incomplete_reason(p, now)
        if reason is None:
            done.append(p)
        else:
            pending.append((p, reason))
    return done, pending


def complete_inbox_files(ctx: StepContext, source: str | None = None, pattern: str | None = None,
                         ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The complete files of the step's inbox (``source``/``pattern``: default the spec's) and the
    incomplete ones, each reported (KKB114W: left in the inbox)."""
    source = source or ctx.spec.inbox
    rule = completeness(source, ctx.config)
    files = inbox_files(source, pattern or ctx.spec.pattern, ctx.municipality, rule)
    done, pending = split_complete(files, rule)
    for p, reason in pending:
        if reason == "marker":
            ctx.message("KKB114W", variant="marker", file=p.name, marker=p.name + str(rule.marker_suffix))
        else:
            ctx.message("KKB114W", file=p.name, seconds=f"{rule.stable_seconds:g}")
    return done, pending


def end_if_only_incomplete(ctx: StepContext, pending: list[tuple[Path, str]], source: str | None = None,
                           pattern: str | None = None, *, stop: bool = True) -> None:
    """Nothing complete to take but files still arriving: KKB115W (RC 4) and, with ``stop``, the
    step ends there writing nothing (StepEnd)."""
    if pending:
        source = source or ctx.spec.inbox
        ctx.message("KKB115W", inbox=paths.relative(paths.inbox(source, ctx.municipality)),
                    pattern=pattern or ctx.spec.pattern, count=len(pending))
        if stop:
            raise StepEnd()


def archived_inputs(source: str, records: list[dict]) -> list[InputFile]:
    """The archive copies of the inputs listed in a committed generation's totals."""
    out = []
    for rec in records:
        p = paths.archive(source) / f"{rec['sha256']}_{rec['name']}"
        if not p.is_file():
            raise FileNotFoundError(f"保管ファイルがありません: {paths.relative(p)}")
        try:
            f = describe(p, "archive", name=rec["name"])
        except crypto.CryptoError as exc:
            raise StepError.of("KKB174S", path=paths.relative(p), error=exc) from exc
        if f.sha256 != rec["sha256"]:
            raise ValueError(f"保管ファイルの SHA-256 が記録と違います: {paths.relative(p)}")
        out.append(f)
    return out


def claims(source: str, sha256: str) -> list[dict]:
    """Who processed content ``sha256`` before (the archive sidecars)."""
    folder = paths.archive(source)
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob(f"{sha256}_*.json"))]


def archive(source: str, f: InputFile, *, job_id: str, generation: str, private: bool = False) -> Path:
    """Archive ``f`` encrypted (then remove it from the inbox; a given file stays) and record
    who processed it. Every archive folder is 0700 and every file 0600, whatever ``private``
    (kept for the callers: the file carries 個人番号) says."""
    folder = paths.ensure_private_dir(paths.archive(source))
    target = folder / f.archive_name
    if f.origin != "archive":
        if not target.exists():
            key = crypto.current_archive_key()
            with paths.atomic_path(target, mode=0o600) as tmp:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with open(f.path, "rb") as src, os.fdopen(fd, "wb") as dst:
                    got = crypto.encrypt_stream(src, dst, key)
                if got != f.sha256:
                    raise ValueError(f"入力ファイルが取込中に変わりました: {f.name}")
        if f.origin == "inbox":
            f.path.unlink(missing_ok=True)
            handoff.checksum_path(f.path).unlink(missing_ok=True)
            for marker in completeness(source).marker_paths(f.path):
                marker.unlink(missing_ok=True)
    sidecar = folder / f"{f.archive_name}.json"
    if not sidecar.exists():
        doc = {"job_id": job_id, "generation": generation, **f.to_dict()}
        paths.write_atomic(sidecar, (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8"),
                           mode=0o600)
    return target
