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
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from jobs.common import crypto, handoff, paths, staging
from jobs.common.step import StepContext, StepError

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", handoff.SUFFIX)


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


def inbox_files(source: str, pattern: str, municipality: str | None = None) -> list[Path]:
    """The files of ``pattern`` in ``source``'s inbox of ``municipality`` (``paths.inbox_subpath``:
    ``var/inbox/<団体コード>/<source>/`` when one var/ serves several municipalities)."""
    folder = paths.inbox(source, municipality)
    if not folder.is_dir():
        return []
    pat = pattern.lower()
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".")
        and not p.name.lower().endswith(IGNORED_SUFFIXES)
        and fnmatch.fnmatchcase(p.name.lower(), pat)
    )


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
    sidecar = folder / f"{f.archive_name}.json"
    if not sidecar.exists():
        doc = {"job_id": job_id, "generation": generation, **f.to_dict()}
        paths.write_atomic(sidecar, (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8"),
                           mode=0o600)
    return target
