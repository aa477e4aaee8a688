"""The key of the 個人番号 HMAC (pseudonymous join key between 資格 and 住民税 files).

``$KOKUHO_MYNUMBER_KEY`` (64 hex digits, or any text of 16+ bytes) or ``<secrets_root>/mynumber.key``
— the user's config folder OUTSIDE var/ (``$KOKUHO_SECRETS_DIR``, default ``~/.config/kokuho``),
created on first use: 32 random bytes as hex, mode 0600, folder 0700.

Migration: the key used to be ``var/secrets/mynumber.key``. If that file exists and the new one
does not, it is moved to the new place (and the log says so); the old folder is removed when
empty. The key itself is never logged; ``key_id`` (a one-way fingerprint) is stored with person_key so a changed key is detected
instead of rejecting every record as a mismatch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil

from jobs.common import paths

ENV = "KOKUHO_MYNUMBER_KEY"
FILE_NAME = "mynumber.key"
MIN_BYTES = 16

logger = logging.getLogger("kokuho.keys")


class SecretKeyError(RuntimeError):
    pass


def mynumber_key() -> bytes:
    env = os.environ.get(ENV)
    if env:
        return _decode(env.strip(), ENV)
    path = paths.secrets_root() / FILE_NAME
    migrate_legacy_key()
    if not path.exists():
        paths.ensure_private_dir(path.parent)
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


def migrate_legacy_key() -> bool:
    """Move ``var/secrets/mynumber.key`` to ``<secrets_root>/mynumber.key`` when only the old one
    exists; True when it moved."""
    old = paths.legacy_secrets_root() / FILE_NAME
    new = paths.secrets_root() / FILE_NAME
    if not old.is_file() or new.exists():
        if old.is_file():
            logger.warning("旧い個人番号HMAC鍵が残っています (%s): %s を使用します。確認のうえ削除してください",
                           paths.relative(old), new)
        return False
    paths.ensure_private_dir(new.parent)
    tmp = paths.temp_path(new)
    try:
        shutil.copyfile(old, tmp)
        os.chmod(tmp, 0o600)
        paths.fsync_file(tmp)
        os.link(tmp, new)  # fails if another process migrated first; never overwrites
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    paths.fsync_dir(new.parent)
    old.unlink()
    try:
        old.parent.rmdir()
    except OSError:
        pass
    logger.warning("個人番号HMAC鍵を var/ の外へ移しました: %s → %s", paths.relative(old), new)
    return True


def key_id(key: bytes) -> str:
    """A fingerprint that identifies the key without revealing it."""
    return hashlib.sha256(b"kokuho-mynumber-key-id\x00" + key).hexdigest()[:16]


def _decode(text: str, where: str) -> bytes:
    key = bytes.fromhex(text) if re.fullmatch(r"[0-9a-fA-F]{32,}", text) and len(text) % 2 == 0 else text.encode()
    if len(key) < MIN_BYTES:
        raise SecretKeyError(f"個人番号HMAC鍵が短すぎます ({where}): {MIN_BYTES}バイト以上が必要です")
    return key
