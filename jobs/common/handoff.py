"""Hand-offs: the files exchanged with counterparties, checksummed (and, per profile, encrypted).

Outbound: every file a step delivers under ``var/outbox/<dest>/`` (bank request files, refund
transfer files, print data, 調定 files, any return file) is committed by ``commit`` with a
``<name>.sha256`` beside it, in ``sha256sum`` format (``<hex>  <name>\\n``) so the receiver
checks it with ``sha256sum -c``. The file is renamed into place first and its .sha256 last: a
receiver that waits for the .sha256 never sees a part. When the destination's profile
(``config/common/handoff.yaml``: ``handoff.outbox.<dest>.encrypt_to``) names the counterparty's
X25519 public key, the file is encrypted to it (``jobs.common.crypto``, format KKBENC1 kind 2)
before it is committed, and the .sha256 is of the bytes that travel.

Inbound: ``verify`` checks a ``<name>.sha256`` beside an inbox file (``jobs.intake.inputs``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.common import crypto, paths

SUFFIX = ".sha256"
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def checksum_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def checksum_text(hexdigest: str, name: str) -> str:
    return f"{hexdigest}  {name}\n"


def parse_checksum(text: str, name: str) -> str | None:
    """The hex digest a ``sha256sum`` file gives for ``name`` (or its only line); None when
    the file has no usable line."""
    lines = [ln.strip("\r") for ln in text.splitlines() if ln.strip()]
    found = []
    for ln in lines:
        m = _LINE.match(ln)
        if not m:
            return None
        found.append((m.group(1).lower(), m.group(2).strip()))
    named = [h for h, n in found if Path(n).name == name]
    if named:
        return named[0]
    return found[0][0] if len(found) == 1 else None


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def outbox_dest(path: Path) -> str | None:
    """``<dest>`` of a path under ``var/outbox/<dest>/``, else None."""
    try:
        rel = Path(path).resolve().relative_to((paths.var_root() / "outbox").resolve())
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def profile(cfg: Any, dest: str) -> Mapping[str, Any]:
    got = cfg.get(f"handoff.outbox.{dest}", None) if cfg is not None else None
    return got if isinstance(got, Mapping) else {}


def commit(staged: Path, final: Path, cfg: Any = None) -> list[Path]:
    """Commit a staged file (``paths.commit_file``); under var/outbox/ also encrypt it when the
    profile says so and write its ``.sha256``. Returns the paths put in place."""
    staged, final = Path(staged), Path(final)
    dest = outbox_dest(final)
    if dest is None:
        return [paths.commit_file(staged, final)]
    recipient = profile(cfg, dest).get("encrypt_to")
    if recipient:
        sealed = paths.temp_path(final)
        try:
            with open(staged, "rb") as src, open(sealed, "wb") as dst:
                crypto.encrypt_stream_to(src, dst, crypto.load_x25519_public(str(recipient)))
                dst.flush()
                os.fsync(dst.fileno())
        except BaseException:
            sealed.unlink(missing_ok=True)
            raise
        staged.unlink(missing_ok=True)
        staged = sealed
    digest = sha256_file(staged)
    side = paths.stage_bytes(checksum_path(final), checksum_text(digest, final.name).encode("ascii"))
    checksum_path(final).unlink(missing_ok=True)  # a .sha256 present always matches its file
    try:
        paths.commit_file(staged, final)
    except BaseException:
        side.unlink(missing_ok=True)
        raise
    paths.commit_file(side, checksum_path(final))
    return [final, checksum_path(final)]


def verify(path: Path) -> tuple[str, str | None, str]:
    """Check ``<path>.sha256``: ("missing", None, actual) / ("malformed", None, actual) /
    ("ok" | "mismatch", expected, actual). ``actual`` is the file's SHA-256."""
    path = Path(path)
    actual = sha256_file(path)
    side = checksum_path(path)
    if not side.is_file():
        return "missing", None, actual
    try:
        expected = parse_checksum(side.read_text(encoding="ascii"), path.name)
    except UnicodeDecodeError:
        expected = None
    if expected is None:
        return "malformed", None, actual
    return ("ok" if expected == actual else "mismatch"), expected, actual
