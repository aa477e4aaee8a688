"""The key of the 個人番号 HMAC (pseudonymous join key between 資格 and 住民税 files).

``$KOKUHO_MYNUMBER_KEY`` (64 hex digits, or any text of 16+ bytes) or ``var/secrets/mynumber.key``
(created on first use: 32 random bytes as hex, mode 0600, folder 0700). The key itself is never
logged; ``key_id`` (a one-way fingerprint) is stored with person_key so a changed key is detected
instead of rejecting every record as a mismatch.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets

from jobs.common import paths

ENV = "KOKUHO_MYNUMBER_KEY"
FILE_NAME = "mynumber.key"
MIN_BYTES = 16


class SecretKeyError(RuntimeError):
    pass


def mynumber_key() -> bytes:
    env = os.environ.get(ENV)
    if env:
        return _decode(env.strip(), ENV)
    path = paths.secrets_root() / FILE_NAME
    if not path.exists():
        paths.ensure_dir(path.parent, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    return _decode(path.read_text(encoding="ascii").strip(), paths.relative(path))


def key_id(key: bytes) -> str:
    """A fingerprint that identifies the key without revealing it."""
    return hashlib.sha256(b"kokuho-mynumber-key-id\x00" + key).hexdigest()[:16]


def _decode(text: str, where: str) -> bytes:
    key = bytes.fromhex(text) if re.fullmatch(r"[0-9a-fA-F]{32,}", text) and len(text) % 2 == 0 else text.encode()
    if len(key) < MIN_BYTES:
        raise SecretKeyError(f"個人番号HMAC鍵が短すぎます ({where}): {MIN_BYTES}バイト以上が必要です")
    return key
