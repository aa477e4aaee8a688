"""Issue 13 (trust) at the intake: the archive copy is encrypted while it is copied from the
inbox and read back transparently (rerun, ``ArchivedFile``, ``kokuho archive cat``); stale
archive temporaries are removed; inbound ``.sha256`` files are verified; the 個人番号 key moves
out of var/."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from intake_builders import build, drop
from test_intake_mynumber import N1, N2, income_file, qual_row, qualification_file

from jobs.cli import main as kokuho
from jobs.common import config, crypto, datasets, handoff, paths
from jobs.common import fixedwidth as fw
from jobs.intake import keys
from jobs.intake.archive import ArchivedFile
from jobs.runner import run_job

BANK = fw.load_layout("zengin_91_result")
DATE = dt.date(2026, 6, 29)
GEN = "m111007_fy2026_d20260629"


def bank_file(n: int = 3) -> bytes:
    return build(BANK, [dict(amount=1000 * i, result_code="0", account_number=f"{i:07d}", customer_number=f"{i:020d}")
                        for i in range(1, n + 1)])


def run(**options):
    return run_job("SN110", business_date=DATE, **options)


def ids(r) -> list[str]:
    return [m.msg_id for m in r.messages]


def _archived(source: str):
    (p,) = [p for p in paths.archive(source).iterdir() if not p.name.endswith(".json")]
    return p


# --- the encrypted archive -----------------------------------------------------------------------


def test_archive_copy_is_encrypted_private_and_reads_back(kokuho_var):
    data = bank_file()
    drop("bank", "KFR.txt", data)
    r = run()
    assert r.rc == 0, r.log_text
    p = _archived("bank")
    assert crypto.is_encrypted(p) and data[:40] not in p.read_bytes()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600 and stat.S_IMODE(p.parent.stat().st_mode) == 0o700
    side = json.loads(p.with_name(p.name + ".json").read_text(encoding="utf-8"))
    assert side["sha256"] == p.name.split("_", 1)[0]  # the plaintext's SHA-256
    af = ArchivedFile("bank", "zengin_91_result", "KFR.txt", side["sha256"])
    assert af.content() == data and af.read().frames["data"].height == 3
    stride = af.read().stride
    assert af.records([0, stride, 2 * stride]) == [data[o:o + BANK.record_length] for o in (0, stride, 2 * stride)]
    # a rerun with an empty inbox re-reads the encrypted archive copy
    r2 = run()
    assert r2.rc == 0 and "KKB102I" in ids(r2), r2.log_text
    assert datasets.read("zengin_91_result", GEN)["amount"].to_list() == [1000, 2000, 3000]


def test_a_tampered_archive_copy_fails_the_rerun_clearly(kokuho_var):
    drop("bank", "KFR.txt", bank_file())
    assert run().rc == 0
    p = _archived("bank")
    blob = bytearray(p.read_bytes())
    blob[-5] ^= 1
    p.write_bytes(bytes(blob))
    r = run()
    assert r.rc == 12 and "KKB174S" in ids(r), r.log_text


def test_stale_archive_temporaries_are_removed_at_the_start(kokuho_var):
    folder = paths.ensure_dir(paths.archive("bank"))
    stale = folder / ".abc_KFR.txt.tmp-999-deadbeef"
    stale.write_bytes(b"part of a file")
    drop("bank", "KFR.txt", bank_file())
    r = run()
    assert r.rc == 0 and not stale.exists()
    assert "KKB172I 保管の一時ファイルを削除 1件" in r.log_text


def test_archive_cat_decrypts_for_an_operator(kokuho_var, capfdbinary):
    data = bank_file()
    drop("bank", "KFR.txt", data)
    assert run().rc == 0
    p = _archived("bank")
    sha = p.name.split("_", 1)[0]
    capfdbinary.readouterr()
    assert kokuho(["archive", "cat", sha[:12]]) == 0
    out, err = capfdbinary.readouterr()
    assert out == data
    assert "KKB-AUDIT" in err.decode() and "var/archive/bank/" in err.decode() and "利用者=" in err.decode()
    from jobs.common import access_log

    reads = [e for e in access_log.lines() if e["act"] == "read" and e["step"] == "kokuho archive cat"]
    assert len(reads) == 1 and reads[0]["file"].startswith("var/archive/bank/") and reads[0]["op"]
    assert kokuho(["archive", "cat", str(p), "--inbox", "bank"]) == 0
    assert capfdbinary.readouterr().out == data
    assert kokuho(["archive", "cat", "0123456789abcdef"]) == 8
    assert "ありません" in capfdbinary.readouterr().err.decode()
    assert kokuho(["archive", "ls"]) == 0
    assert sha in capfdbinary.readouterr().out.decode()


def test_archive_cat_refuses_without_the_key(kokuho_var, capfdbinary, monkeypatch, tmp_path):
    drop("bank", "KFR.txt", bank_file())
    assert run().rc == 0
    monkeypatch.setenv("KOKUHO_SECRETS_DIR", str(tmp_path / "someone_else"))
    capfdbinary.readouterr()
    assert kokuho(["archive", "cat", str(_archived("bank"))]) == 8
    out, err = capfdbinary.readouterr()
    assert out == b"" and "保管鍵がありません" in err.decode()


def test_keys_rotation_through_the_command(kokuho_var, capfdbinary):
    drop("bank", "KFR.txt", bank_file())
    assert run().rc == 0
    old = _archived("bank")
    assert kokuho(["keys", "rotate"]) == 0
    drop("bank", "KFR2.txt", bank_file(4))
    assert run_job("SN110", business_date=DATE + dt.timedelta(days=1)).rc == 0
    new = next(p for p in paths.archive("bank").iterdir() if p.name.endswith("_KFR2.txt"))
    with open(old, "rb") as a, open(new, "rb") as b:
        assert crypto.Header.parse(a).key_id != crypto.Header.parse(b).key_id
    capfdbinary.readouterr()
    assert kokuho(["archive", "cat", str(old)]) == 0 and capfdbinary.readouterr().out == bank_file()
    assert kokuho(["keys", "list"]) == 0
    assert "保管鍵 (旧)" in capfdbinary.readouterr().out.decode()


# --- inbound checksums ---------------------------------------------------------------------------


def _checksum(path, digest=None):
    side = handoff.checksum_path(path)
    side.write_text(handoff.checksum_text(digest or handoff.sha256_file(path), path.name))
    return side


def test_inbound_checksum_good(kokuho_var):
    src = drop("bank", "KFR.txt", bank_file())
    side = _checksum(src)
    r = run()
    assert r.rc == 0 and "KKB170I" in ids(r), r.log_text
    assert not src.exists() and not side.exists()  # both left the inbox
    assert r.totals.read == 6  # the .sha256 itself is not an input


def test_a_checksum_arriving_after_its_file_was_taken_in_is_cleared(kokuho_var):
    src = drop("bank", "KFR.txt", bank_file())
    digest = handoff.sha256_file(src)
    assert run().rc == 0 and not src.exists()
    late = handoff.checksum_path(src)
    late.write_text(handoff.checksum_text(digest, src.name))
    stranger = handoff.checksum_path(src.with_name("OTHER.txt"))
    stranger.write_text(handoff.checksum_text("e" * 64, "OTHER.txt"))
    drop("bank", "KFR2.txt", bank_file(2))
    r = run_job("SN110", business_date=DATE + dt.timedelta(days=1))
    assert r.rc == 0 and "KKB175I" in ids(r), r.log_text
    assert not late.exists() and stranger.exists()  # only one whose content the archive holds


def test_inbound_checksum_mismatch_refuses_the_file(kokuho_var):
    src = drop("bank", "KFR.txt", bank_file())
    side = _checksum(src, "0" * 64)
    r = run()
    assert r.rc == 8 and "KKB171E" in ids(r), r.log_text
    assert "チェックサム不一致 KFR.txt" in r.log_text
    assert src.is_file() and side.is_file()  # kept in the inbox
    assert not paths.archive("bank").exists() or not any(paths.archive("bank").iterdir())
    assert GEN not in datasets.generations("zengin_91_result")


def test_inbound_checksum_malformed_refuses_the_file(kokuho_var):
    src = drop("bank", "KFR.txt", bank_file())
    handoff.checksum_path(src).write_text("not a checksum\n")
    r = run()
    assert r.rc == 8 and "形式が不正" in r.log_text and src.is_file()


def test_inbound_checksum_missing_is_allowed_unless_required(kokuho_var, monkeypatch):
    src = drop("bank", "KFR.txt", bank_file())
    real_get = config.Config.get

    def get(self, key, *default):
        if key == "handoff.inbox.bank.require_checksum":
            return True
        return real_get(self, key, *default)

    monkeypatch.setattr(config.Config, "get", get)
    r = run()
    assert r.rc == 8 and "チェックサムファイルがありません: KFR.txt" in r.log_text and src.is_file()
    monkeypatch.setattr(config.Config, "get", real_get)
    assert run().rc == 0 and not src.exists()


def test_a_given_file_is_checked_too(kokuho_var, tmp_path):
    f = tmp_path / "given.txt"
    f.write_bytes(bank_file())
    _checksum(f, "f" * 64)
    r = run(files=[str(f)])
    assert r.rc == 8 and "KKB171E" in ids(r)


# --- the 個人番号 key moves out of var/ ------------------------------------------------------------


def test_legacy_key_is_moved_out_of_var(kokuho_var, monkeypatch):
    monkeypatch.delenv("KOKUHO_MYNUMBER_KEY", raising=False)
    legacy = paths.legacy_secrets_root() / "mynumber.key"
    legacy.parent.mkdir(mode=0o700)
    legacy.write_text("ab" * 32 + "\n")
    drop("shikaku", "SHIKAKU.dat", qualification_file([qual_row("0000000001", N1), qual_row("0000000002", N2)]))
    r = run_job("FK020", business_date="2026-06-15")
    assert r.rc == 0, r.log_text
    assert "KKB173I 個人番号HMAC鍵を var/ の外へ移しました: var/secrets/mynumber.key" in r.log_text
    new = paths.secrets_root() / "mynumber.key"
    assert not legacy.exists() and not legacy.parent.exists()
    assert new.read_text().strip() == "ab" * 32 and stat.S_IMODE(new.stat().st_mode) == 0o600
    assert keys.mynumber_key() == bytes.fromhex("ab" * 32)
    # FK010 joins on the same key: no mismatch
    drop("juminzei", "SHOTOKU.dat", income_file([("0000000001", N1, 100)]))
    r10 = run_job("FK010", business_date="2026-06-15")
    assert r10.rc == 0, r10.log_text


def test_both_keys_present_keeps_the_new_one(kokuho_var, monkeypatch):
    monkeypatch.delenv("KOKUHO_MYNUMBER_KEY", raising=False)
    legacy = paths.legacy_secrets_root() / "mynumber.key"
    legacy.parent.mkdir(mode=0o700)
    legacy.write_text("ab" * 32 + "\n")
    new = paths.secrets_root() / "mynumber.key"
    paths.ensure_private_dir(new.parent)
    new.write_text("cd" * 32 + "\n")
    assert keys.migrate_legacy_key() is False
    assert keys.mynumber_key() == bytes.fromhex("cd" * 32) and legacy.exists()


@pytest.mark.parametrize("argv", [["keys", "init"]])
def test_keys_init_makes_private_keys(kokuho_var, monkeypatch, argv, capsys):
    monkeypatch.delenv("KOKUHO_MYNUMBER_KEY", raising=False)
    assert kokuho(argv) == 0
    out = capsys.readouterr().out
    assert "保管鍵" in out and "個人番号HMAC鍵" in out
    for name in ("archive.key", "mynumber.key"):
        f = paths.secrets_root() / name
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert f.read_text().strip() not in out  # the keys are never printed
    assert stat.S_IMODE(paths.secrets_root().stat().st_mode) == 0o700
