"""jobs.common.crypto: the KKBENC1 format (archive keys and X25519 recipients), the keyring and
its rotation, and jobs.common.handoff: .sha256 beside outbound files, encryption per profile."""

from __future__ import annotations

import hashlib
import io
import os
import stat

import pytest

from jobs.common import crypto, handoff, paths


@pytest.fixture(autouse=True)
def _own_keys(kokuho_var, monkeypatch):
    monkeypatch.delenv(crypto.ARCHIVE_KEY_ENV, raising=False)
    return kokuho_var


def _enc(data: bytes, key=None, chunk: int = 64) -> bytes:
    out = io.BytesIO()
    digest = crypto.encrypt_stream(io.BytesIO(data), out, key or crypto.current_archive_key(), chunk=chunk)
    assert digest == hashlib.sha256(data).hexdigest()
    return out.getvalue()


def _dec(blob: bytes, keys=None) -> bytes:
    return b"".join(crypto.iter_decrypt(io.BytesIO(blob), keys))


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 1000])
def test_round_trip_and_random_access(size, tmp_path):
    data = os.urandom(size)
    blob = _enc(data)
    assert blob.startswith(crypto.MAGIC) and _dec(blob) == data
    f = tmp_path / "x.enc"
    f.write_bytes(blob)
    with open(f, "rb") as fh:
        ra = crypto.RandomAccess(fh)
        assert ra.size == size
        for off in (0, 1, 60, 63, 64, 100, size - 1, size):
            if 0 <= off <= size:
                assert ra.read_at(off, 10) == data[off:off + 10]


def test_a_large_file_streams_in_bounded_chunks():
    data = os.urandom(3 * crypto.CHUNK + 5)
    blob = _enc(data, chunk=crypto.CHUNK)
    parts = list(crypto.iter_decrypt(io.BytesIO(blob)))
    assert [len(p) for p in parts] == [crypto.CHUNK] * 3 + [5] and b"".join(parts) == data


def test_key_file_is_private_and_outside_var(kokuho_var):
    k = crypto.current_archive_key()
    f = crypto.archive_key_file()
    assert f == paths.secrets_root() / "archive.key" and kokuho_var.resolve() not in f.parents
    assert stat.S_IMODE(f.stat().st_mode) == 0o600 and stat.S_IMODE(f.parent.stat().st_mode) == 0o700
    assert crypto.current_archive_key() == k and len(k.secret) == 32 and k.secret.hex() not in repr(k)


def test_key_file_from_the_environment(tmp_path, monkeypatch):
    key = os.urandom(32)
    f = tmp_path / "elsewhere" / "a.key"
    f.parent.mkdir()
    f.write_text(key.hex() + "\n")
    os.chmod(f, 0o600)
    monkeypatch.setenv(crypto.ARCHIVE_KEY_ENV, str(f))
    assert crypto.current_archive_key(create=False).secret == key
    assert _dec(_enc(b"abc")) == b"abc"


def test_wrong_key_is_refused():
    blob = _enc(b"x" * 200)
    other = crypto.ArchiveKey(crypto.archive_key_id(os.urandom(32)), os.urandom(32))
    with pytest.raises(crypto.DecryptError, match="鍵ID"):
        _dec(blob, {other.key_id: other})
    kid = crypto.current_archive_key().key_id
    with pytest.raises(crypto.DecryptError, match="authentication failed"):  # right id, wrong bytes
        _dec(blob, {kid: crypto.ArchiveKey(kid, os.urandom(32))})


@pytest.mark.parametrize("where", ["header", "first_chunk", "last_chunk", "tag"])
def test_a_changed_byte_is_refused(where):
    blob = bytearray(_enc(b"0123456789" * 20))
    head = len(crypto.Header.parse(io.BytesIO(bytes(blob))).raw)
    pos = {"header": head - 1, "first_chunk": head + 3, "last_chunk": len(blob) - 20, "tag": len(blob) - 1}[where]
    blob[pos] ^= 0x01
    with pytest.raises(crypto.DecryptError):
        _dec(bytes(blob))


def test_truncated_or_extended_files_are_refused():
    blob = _enc(b"a" * 256)  # 4 full chunks of 64, the 4th sealed as the final one
    step = 64 + crypto.TAG
    for cut in (blob[:-crypto.TAG], blob[:-step], blob[:len(blob) - 2 * step - crypto.TAG], blob + b"\0" * 80):
        with pytest.raises(crypto.DecryptError):
            _dec(cut)
    with pytest.raises(crypto.DecryptError, match="not a KKBENC1"):
        _dec(b"plain text")


def test_rotation_keeps_old_files_readable(kokuho_var):
    old_key = crypto.current_archive_key()
    old_blob = _enc(b"old")
    old_id, new_id = crypto.rotate_archive_key()
    assert old_id == old_key.key_id and new_id != old_id
    assert crypto.current_archive_key().key_id == new_id
    kept = crypto.keyring_dir() / f"{old_id}.key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    new_blob = _enc(b"new")
    assert crypto.Header.parse(io.BytesIO(new_blob)).key_id == new_id
    assert crypto.Header.parse(io.BytesIO(old_blob)).key_id == old_id
    assert _dec(old_blob) == b"old" and _dec(new_blob) == b"new"
    assert set(crypto.archive_keyring()) == {old_id, new_id}
    kept.unlink()  # a retired key thrown away: its files are lost, with a clear error
    with pytest.raises(crypto.DecryptError, match=old_id):
        _dec(old_blob)


def test_x25519_round_trip_to_a_counterparty():
    priv, pub = crypto.generate_x25519()
    data = os.urandom(300)
    out = io.BytesIO()
    crypto.encrypt_stream_to(io.BytesIO(data), out, crypto.load_x25519_public(pub), chunk=64)
    blob = out.getvalue()
    assert _dec(blob, crypto.load_x25519_private(priv)) == data
    other, _ = crypto.generate_x25519()
    with pytest.raises(crypto.DecryptError, match="別の公開鍵"):
        _dec(blob, crypto.load_x25519_private(other))
    with pytest.raises(crypto.DecryptError):
        _dec(blob)  # the archive keyring cannot open it


# --- hand-offs -----------------------------------------------------------------------------------


class _Cfg(dict):
    def get(self, key, default=None):
        return super().get(key, default)


def test_outbound_file_gets_a_sha256(kokuho_var):
    final = paths.outbox("bank") / "0001" / "KOUFURI_0001.dat"
    staged = paths.stage_bytes(final, b"request\r\n")
    assert handoff.commit(staged, final, _Cfg()) == [final, handoff.checksum_path(final)]
    assert final.read_bytes() == b"request\r\n"
    assert handoff.checksum_path(final).read_text() == f"{hashlib.sha256(b'request' + bytes([13, 10])).hexdigest()}  KOUFURI_0001.dat\n"
    assert handoff.verify(final)[0] == "ok"
    # elsewhere (reports): no checksum
    pdf = paths.reports_root() / "x.pdf"
    handoff.commit(paths.stage_bytes(pdf, b"%PDF"), pdf, _Cfg())
    assert pdf.is_file() and not handoff.checksum_path(pdf).exists()


def test_outbound_file_encrypted_to_the_counterparty(kokuho_var, tmp_path):
    priv, pub = crypto.generate_x25519()
    pubfile = tmp_path / "print_vendor.pub"
    pubfile.write_text(pub + "\n")
    cfg = _Cfg({"handoff.outbox.print": {"encrypt_to": str(pubfile)}})
    final = paths.outbox("print") / "tax_notice.dat"
    handoff.commit(paths.stage_bytes(final, b"print data"), final, cfg)
    blob = final.read_bytes()
    assert crypto.is_encrypted(final) and b"print data" not in blob
    assert handoff.verify(final)[0] == "ok"  # the checksum is of the bytes that travel
    assert crypto.decrypt_bytes(final, crypto.load_x25519_private(priv)) == b"print data"
    assert not [p for p in final.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("text, expected", [
    ("a" * 64 + "  f.dat\n", "a" * 64),
    ("A" * 64 + " *f.dat\r\n", "a" * 64),
    ("b" * 64 + "  other.dat\n" + "c" * 64 + "  f.dat\n", "c" * 64),
    ("b" * 64 + "  other.dat\n", "b" * 64),  # the only line: its name may differ (renamed on receipt)
    ("nonsense\n", None),
    ("", None),
])
def test_parse_checksum(text, expected):
    assert handoff.parse_checksum(text, "f.dat") == expected
