"""Encryption at rest (the archive of inbound files) and to a counterparty (outbound hand-offs).

One streaming, authenticated file format for both, built on ``cryptography`` only (AES-256-GCM,
HKDF-SHA256, X25519). Memory stays bounded (one 1 MiB chunk) whatever the file size, and a
record can be read at any offset without decrypting the whole file.

Format ``KKBENC1`` (all integers big-endian)::

    header  magic  b"KKBENC\\x00\\x01"                       8 bytes
            kind   1 = archive key (keyring), 2 = X25519     1 byte
            chunk  plaintext bytes per chunk (1 MiB)        4 bytes
            idlen  length of the key id                     1 byte
            key id ASCII: the archive key's id (kind 1) or the recipient's public key id (kind 2)
            salt   32 bytes: random (kind 1) or the sender's ephemeral X25519 public key (kind 2)
    chunks  AES-256-GCM(file key, nonce = chunk number (11 bytes) || final flag (1 byte),
                        associated data = the whole header) — every chunk ``chunk`` bytes of
            plaintext except the final one (0..chunk bytes), each followed by its 16-byte tag.

    file key = HKDF-SHA256(ikm, salt = salt, info = b"kokuho-enc-v1" || kind || key id)
               ikm = the 32-byte archive key (kind 1) or the X25519 shared secret (kind 2).

The final flag in the nonce makes a truncated file fail (its last chunk was not sealed as
final); the header in the associated data makes a changed header fail; a wrong key fails on the
first chunk. Every failure raises ``DecryptError`` before any byte of a bad chunk is returned.

Archive keys (``kind 1``): the current key is ``$KOKUHO_ARCHIVE_KEY_FILE`` or
``<secrets_root>/archive.key`` (64 hex digits, 0600, folder 0700, created on first use);
older keys stay readable in ``<that folder>/archive-keys/<key id>.key``. ``rotate_archive_key``
moves the current key there and makes a new one: new files use the new key, old files name the
old key's id in their header and still decrypt.

Counterparty keys (``kind 2``): an X25519 public key, 64 hex digits (or a file holding them),
named in the hand-off profile (``config/common/handoff.yaml``); ``generate_x25519`` makes a pair.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jobs.common import paths

logger = logging.getLogger("kokuho.crypto")

MAGIC = b"KKBENC\x00\x01"
KIND_ARCHIVE = 1
KIND_X25519 = 2
CHUNK = 1 << 20
TAG = 16
SALT = 32
INFO = b"kokuho-enc-v1"
ARCHIVE_KEY_ENV = "KOKUHO_ARCHIVE_KEY_FILE"
ARCHIVE_KEY_NAME = "archive.key"
KEYRING_DIR = "archive-keys"


class CryptoError(OSError):
    """A key or an encrypted file that cannot be used (an OSError: the file cannot be read)."""


class DecryptError(CryptoError):
    """Not our format, no key for it, a wrong key, or a changed / truncated file."""


# --- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveKey:
    key_id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never the secret
        return f"ArchiveKey({self.key_id})"


def archive_key_id(secret: bytes) -> str:
    return hashlib.sha256(b"kokuho-archive-key-id\x00" + secret).hexdigest()[:16]


def public_key_id(public: bytes) -> str:
    return hashlib.sha256(b"kokuho-x25519-id\x00" + public).hexdigest()[:16]


def archive_key_file() -> Path:
    env = os.environ.get(ARCHIVE_KEY_ENV)
    return Path(env).expanduser().resolve() if env else paths.secrets_root() / ARCHIVE_KEY_NAME


def keyring_dir() -> Path:
    return archive_key_file().parent / KEYRING_DIR


def _read_key_file(path: Path) -> ArchiveKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        logger.warning("鍵ファイルが所有者以外から読めます (mode %o): %s", mode, path)
    text = path.read_text(encoding="ascii").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise CryptoError(f"保管鍵の形式が不正です (16進64桁が必要): {path}")
    return ArchiveKey(archive_key_id(secret), secret)


def write_key_file(path: Path, secret: bytes) -> Path:
    """Write a new key file (0600 in a 0700 folder); never overwrites one."""
    paths.ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    paths.fsync_dir(path.parent)
    return path


def current_archive_key(*, create: bool = True) -> ArchiveKey:
    """The key new archive files are encrypted with (created on first use when ``create``)."""
    path = archive_key_file()
    if not path.exists():
        if not create:
            raise CryptoError(f"保管鍵がありません: {path} (kokuho keys init で作成)")
        try:
            write_key_file(path, secrets.token_bytes(32))
            logger.warning("保管鍵を新規作成しました: %s (バックアップしてください)", path)
        except FileExistsError:
            pass  # another process made it first: use theirs
    return _read_key_file(path)


def archive_keyring() -> dict[str, ArchiveKey]:
    """Every archive key this operator can decrypt with: the current one and the retired ones."""
    ring: dict[str, ArchiveKey] = {}
    folder = keyring_dir()
    if folder.is_dir():
        for p in sorted(folder.glob("*.key")):
            k = _read_key_file(p)
            ring[k.key_id] = k
    if archive_key_file().exists():
        k = _read_key_file(archive_key_file())
        ring[k.key_id] = k
    return ring


def rotate_archive_key() -> tuple[str | None, str]:
    """Retire the current key into the keyring folder and make a new current key; return
    (old id, new id). Files already archived keep their key id and stay readable."""
    path = archive_key_file()
    old_id = None
    if path.exists():
        old = _read_key_file(path)
        old_id = old.key_id
        folder = paths.ensure_private_dir(keyring_dir())
        kept = folder / f"{old.key_id}.key"
        if not kept.exists():
            write_key_file(kept, old.secret)
        tmp = paths.temp_path(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        new = secrets.token_bytes(32)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(new.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        paths.commit_file(tmp, path)
        return old_id, archive_key_id(new)
    return None, current_archive_key(create=True).key_id


def generate_x25519() -> tuple[str, str]:
    """A new counterparty key pair as (private hex, public hex)."""
    priv = X25519PrivateKey.generate()
    raw_priv = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                  serialization.NoEncryption())
    raw_pub = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw_priv.hex(), raw_pub.hex()


def load_x25519_public(value: str) -> X25519PublicKey:
    """A public key from 64 hex digits, or from a file (path relative to the project root) holding them."""
    text = value.strip()
    if not (len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)):
        p = Path(text).expanduser()
        p = p if p.is_absolute() else paths.home() / p
        text = p.read_text(encoding="ascii").strip()
    return X25519PublicKey.from_public_bytes(bytes.fromhex(text))


def load_x25519_private(value: str | bytes) -> X25519PrivateKey:
    text = value.decode("ascii") if isinstance(value, bytes) else value
    return X25519PrivateKey.from_private_bytes(bytes.fromhex(text.strip()))


# --- the format ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    kind: int
    chunk: int
    key_id: str
    salt: bytes
    raw: bytes

    @classmethod
    def make(cls, kind: int, key_id: str, salt: bytes, chunk: int = CHUNK) -> Header:
        kid = key_id.encode("ascii")
        raw = MAGIC + struct.pack(">BIB", kind, chunk, len(kid)) + kid + salt
        return cls(kind, chunk, key_id, salt, raw)

    @classmethod
    def parse(cls, fh: BinaryIO) -> Header:
        head = fh.read(len(MAGIC) + 6)
        if len(head) < len(MAGIC) + 6 or head[:len(MAGIC)] != MAGIC:
            raise DecryptError("暗号化ファイルではありません / not a KKBENC1 file")
        kind, chunk, idlen = struct.unpack(">BIB", head[len(MAGIC):])
        rest = fh.read(idlen + SALT)
        if kind not in (KIND_ARCHIVE, KIND_X25519) or not 0 < chunk <= 1 << 26 or len(rest) != idlen + SALT:
            raise DecryptError("暗号化ファイルのヘッダが不正です / bad header")
        return cls(kind, chunk, rest[:idlen].decode("ascii", "replace"), rest[idlen:], head + rest)


def _file_key(ikm: bytes, header: Header) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt,
                info=INFO + bytes([header.kind]) + header.key_id.encode("ascii"))
    return AESGCM(hkdf.derive(ikm))


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def is_encrypted(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _chunks(src: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """(chunk, is_final) with one chunk of read-ahead (works on pipes too)."""
    cur = src.read(size)
    while True:
        nxt = src.read(size) if len(cur) == size else b""
        yield cur, not nxt
        if not nxt:
            return
        cur = nxt


def _encrypt(src: BinaryIO, dst: BinaryIO, header: Header, ikm: bytes) -> str:
    aead = _file_key(ikm, header)
    dst.write(header.raw)
    digest = hashlib.sha256()
    for i, (chunk, final) in enumerate(_chunks(src, header.chunk)):
        digest.update(chunk)
        dst.write(aead.encrypt(_nonce(i, final), chunk, header.raw))
    return digest.hexdigest()


def encrypt_stream(src: BinaryIO, dst: BinaryIO, key: ArchiveKey, *, chunk: int = CHUNK) -> str:
    """Encrypt ``src`` to ``dst`` with an archive key; return the plaintext's SHA-256."""
    return _encrypt(src, dst, Header.make(KIND_ARCHIVE, key.key_id, secrets.token_bytes(SALT), chunk), key.secret)


def encrypt_stream_to(src: BinaryIO, dst: BinaryIO, recipient: X25519PublicKey, *, chunk: int = CHUNK) -> str:
    """Encrypt ``src`` to ``dst`` for the holder of ``recipient``'s private key; return the
    plaintext's SHA-256."""
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    rpub = recipient.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    header = Header.make(KIND_X25519, public_key_id(rpub), eph_pub, chunk)
    return _encrypt(src, dst, header, eph.exchange(recipient))


KeySource = Mapping[str, ArchiveKey] | X25519PrivateKey | None


def _ikm(header: Header, keys: KeySource) -> bytes:
    if header.kind == KIND_ARCHIVE:
        ring = archive_keyring() if keys is None else keys
        if not isinstance(ring, Mapping) or header.key_id not in ring:
            raise DecryptError(f"鍵ID {header.key_id} の保管鍵がありません / no archive key with id {header.key_id}")
        return ring[header.key_id].secret
    if not isinstance(keys, X25519PrivateKey):
        raise DecryptError("相手先公開鍵あての暗号化ファイルです: 秘密鍵が必要です / needs the recipient's private key")
    pub = keys.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if public_key_id(pub) != header.key_id:
        raise DecryptError(f"別の公開鍵 ({header.key_id}) あての暗号化ファイルです / encrypted to another key")
    return keys.exchange(X25519PublicKey.from_public_bytes(header.salt))


def iter_decrypt(src: BinaryIO, keys: KeySource = None) -> Iterator[bytes]:
    """The plaintext of ``src`` chunk by chunk (``keys``: an archive keyring, default the
    operator's, or a recipient's X25519 private key). Raises ``DecryptError``."""
    header = Header.parse(src)
    aead = _file_key(_ikm(header, keys), header)
    for i, (chunk, final) in enumerate(_chunks(src, header.chunk + TAG)):
        try:
            yield aead.decrypt(_nonce(i, final), chunk, header.raw)
        except InvalidTag:
            raise DecryptError(f"復号できません (鍵違い・改ざん・欠落) / authentication failed at chunk {i}") from None


def decrypt_stream(src: BinaryIO, dst: BinaryIO, keys: KeySource = None) -> str:
    """Decrypt ``src`` into ``dst``; return the plaintext's SHA-256. ``dst`` may hold a part
    when it raises: write it to a temporary file that is removed on error."""
    digest = hashlib.sha256()
    for part in iter_decrypt(src, keys):
        digest.update(part)
        dst.write(part)
    return digest.hexdigest()


def decrypt_bytes(path: Path, keys: KeySource = None) -> bytearray:
    """The whole plaintext in memory (one buffer of the plaintext's size, filled chunk by chunk)."""
    with open(path, "rb") as fh:
        out = bytearray(RandomAccess(fh, keys).size)
        fh.seek(0)
        pos = 0
        for part in iter_decrypt(fh, keys):
            out[pos:pos + len(part)] = part
            pos += len(part)
    if pos != len(out):
        raise DecryptError("暗号化ファイルの長さが不正です / bad length")
    return out


class RandomAccess:
    """Plaintext bytes at any offset of an encrypted file (decrypting only the chunks needed)."""

    def __init__(self, fh: BinaryIO, keys: KeySource = None):
        self.fh = fh
        fh.seek(0)
        self.header = Header.parse(fh)
        self.aead = _file_key(_ikm(self.header, keys), self.header)
        self.start = len(self.header.raw)
        ct = os.fstat(fh.fileno()).st_size - self.start
        step = self.header.chunk + TAG
        self.count = max(1, -(-ct // step))
        last = ct - (self.count - 1) * step
        if ct < TAG or last < TAG:
            raise DecryptError("暗号化ファイルが途中で切れています / truncated")
        self.size = (self.count - 1) * self.header.chunk + last - TAG
        self._cache: tuple[int, bytes] | None = None

    def _chunk(self, i: int) -> bytes:
        if self._cache is not None and self._cache[0] == i:
            return self._cache[1]
        step = self.header.chunk + TAG
        self.fh.seek(self.start + i * step)
        data = self.fh.read(step)
        try:
            plain = self.aead.decrypt(_nonce(i, i == self.count - 1), data, self.header.raw)
        except InvalidTag:
            raise DecryptError(f"復号できません (鍵違い・改ざん・欠落) / authentication failed at chunk {i}") from None
        self._cache = (i, plain)
        return plain

    def read_at(self, offset: int, length: int) -> bytes:
        out = bytearray()
        end = min(offset + length, self.size)
        pos = offset
        while pos < end:
            i, within = divmod(pos, self.header.chunk)
            part = self._chunk(i)[within:within + (end - pos)]
            if not part:
                break
            out += part
            pos += len(part)
        return bytes(out)
