"""Input files of an intake run: pick-up, SHA-256, duplicate check, archive.

Which files a run reads, in this order:
1. ``files=[...]`` given to the run (``kokuho run ... --file PATH``): exactly those;
2. the files in ``var/inbox/<source>/`` matching the job's pattern (sorted by name; hidden
   files and ``*.tmp``/``*.part`` are ignored: a sender still writing uses those names);
3. nothing in the inbox and the run's generation already committed: the archived inputs of
   that generation (a rerun re-reads exactly what the first run read).

After the step commits, each input is archived as ``var/archive/<source>/<sha256>_<name>`` with
a sidecar ``.json`` naming the job and generation that first processed it; inbox files are
moved there (so tomorrow's run does not read them again), ``--file`` inputs are copied. A file
whose content was already processed by another run is refused (RC 8) unless ``force=True``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from jobs.common import paths

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".filepart")


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
    return InputFile(p, name or p.name, sha256_of(p), p.stat().st_size, origin)


def inbox_files(source: str, pattern: str) -> list[Path]:
    folder = paths.inbox(source)
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
        f = describe(p, "archive", name=rec["name"])
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
    """Archive ``f`` (move from the inbox, copy otherwise) and record who processed it.

    ``private``: the file carries 個人番号 — folder 0700, file 0600 (owner only).
    """
    folder = paths.ensure_dir(paths.archive(source), mode=0o700 if private else 0o777)
    target = folder / f.archive_name
    if f.origin != "archive":
        if not target.exists():
            with paths.atomic_path(target, mode=0o600 if private else None) as tmp:
                shutil.copyfile(f.path, tmp)
        if f.origin == "inbox":
            f.path.unlink(missing_ok=True)
    sidecar = folder / f"{f.archive_name}.json"
    if not sidecar.exists():
        doc = {"job_id": job_id, "generation": generation, **f.to_dict()}
        paths.write_atomic(sidecar, (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8"))
    return target
