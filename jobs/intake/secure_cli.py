"""``kokuho archive`` and ``kokuho keys``: the encrypted archive and the keys, for an operator.

    kokuho archive cat <file|sha256> [--inbox SRC]   decrypt an archived input to stdout
    kokuho archive ls [--inbox SRC]                  the archived inputs (name, SHA-256, key id)
    kokuho keys init       create the archive key and the 個人番号 HMAC key if missing (0600, folder 0700)
    kokuho keys rotate     retire the archive key into archive-keys/ and make a new one
    kokuho keys list       where the keys are and their ids (never the keys)
    kokuho keys pair --private-out FILE   a counterparty X25519 key pair (the public key on stdout)

``archive cat`` writes one line to stderr naming who read what (and records it in the audit
log, ``jobs.common.access_log``); the plaintext goes only to stdout, never to a file.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from jobs.common import crypto, paths

from . import keys

logger = logging.getLogger("kokuho.archive")


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if not getattr(args, "func", None):
        _parser().print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (crypto.CryptoError, keys.SecretKeyError, FileNotFoundError, LookupError) as exc:
        print(f"kokuho {args.command}: {exc}", file=sys.stderr)
        return 8


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kokuho", description="保管ファイルと鍵")
    sub = p.add_subparsers(dest="command", metavar="<command>")
    a = sub.add_parser("archive", help="保管ファイル (var/archive, 暗号化済み)")
    asub = a.add_subparsers(dest="action", metavar="<action>")
    cat = asub.add_parser("cat", help="保管ファイルを復号して標準出力へ (誰が何を読んだかを標準エラーに記録)")
    cat.add_argument("target", help="保管ファイルのパス、または SHA-256 (先頭8桁以上)")
    cat.add_argument("--inbox", default=None, help="受信箱名 (shikaku, juminzei, bank ...) で絞る")
    cat.set_defaults(func=cmd_cat)
    ls = asub.add_parser("ls", help="保管ファイルの一覧 (名前・SHA-256・鍵ID)")
    ls.add_argument("--inbox", default=None)
    ls.set_defaults(func=cmd_ls)

    k = sub.add_parser("keys", help="鍵 (保管鍵・個人番号HMAC鍵・相手先鍵ペア)")
    ksub = k.add_subparsers(dest="action", metavar="<action>")
    ksub.add_parser("init", help="保管鍵と個人番号HMAC鍵を作成する (既にあれば何もしない)").set_defaults(func=cmd_init)
    ksub.add_parser("rotate", help="保管鍵を更新する (旧鍵は archive-keys/ に残り、旧ファイルも読める)").set_defaults(
        func=cmd_rotate)
    ksub.add_parser("list", help="鍵の場所と鍵ID (鍵そのものは表示しない)").set_defaults(func=cmd_list)
    pair = ksub.add_parser("pair", help="相手先の X25519 鍵ペアを作る (公開鍵を標準出力へ)")
    pair.add_argument("--private-out", required=True, type=Path, help="秘密鍵の書き出し先 (0600, 既存は上書きしない)")
    pair.set_defaults(func=cmd_pair)
    return p


# --- archive -------------------------------------------------------------------------------------


def find_archived(target: str, inbox: str | None = None) -> Path:
    """An archive file from its path, or from (a prefix of at least 8 digits of) its SHA-256."""
    p = Path(target).expanduser()
    if p.is_file():
        return p.resolve()
    if not re.fullmatch(r"[0-9a-fA-F]{8,64}", target):
        raise FileNotFoundError(f"保管ファイルがありません: {target}")
    root = paths.var_root() / "archive"
    folders = [paths.archive(inbox)] if inbox else (sorted(d for d in root.iterdir() if d.is_dir())
                                                     if root.is_dir() else [])
    hits = [f for d in folders if d.is_dir() for f in sorted(d.glob(f"{target.lower()}*_*"))
            if f.is_file() and not f.name.endswith(".json") and not f.name.startswith(".")]
    if not hits:
        raise FileNotFoundError(f"SHA-256 {target} の保管ファイルがありません ({paths.relative(root)})")
    if len(hits) > 1:
        raise LookupError(f"SHA-256 {target} に該当する保管ファイルが複数あります: "
                          + ", ".join(paths.relative(h) for h in hits))
    return hits[0]


def operator() -> str:
    user = getpass.getuser()
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (sudo {user})" if sudo and sudo != user else user


def audit_record(action: str, command: str, *, user: str, path: str | None = None, **extra: str) -> None:
    """One line in the access log (``jobs.common.access_log``): who read or changed what through
    this command. If it cannot be written, the action is refused (the caller has not acted yet)."""
    from jobs.common import access_log

    try:
        access_log.record(operator=user, reason="cli", action=action, step=f"kokuho {command}", file=path,
                          extra=extra or None)
    except Exception as exc:  # noqa: BLE001 - the read is refused if auditing fails
        raise crypto.CryptoError(f"監査ログに記録できません: {exc}") from exc


def cmd_cat(args: argparse.Namespace) -> int:
    path = find_archived(args.target, args.inbox)
    who = operator()
    where = paths.relative(path)
    audit_record("read", "archive cat", user=who, path=where)
    print(f"KKB-AUDIT 保管ファイル復号表示: 利用者={who} ファイル={where} pid={os.getpid()}", file=sys.stderr)
    out = sys.stdout.buffer
    with open(path, "rb") as fh:
        if fh.read(len(crypto.MAGIC)) != crypto.MAGIC:  # archived before encryption: plain
            fh.seek(0)
            while chunk := fh.read(1 << 20):
                out.write(chunk)
        else:
            fh.seek(0)
            for part in crypto.iter_decrypt(fh):
                out.write(part)
    out.flush()
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    root = paths.var_root() / "archive"
    folders = [paths.archive(args.inbox)] if args.inbox else (sorted(d for d in root.iterdir() if d.is_dir())
                                                              if root.is_dir() else [])
    for d in folders:
        for f in sorted(d.glob("*.json")):
            doc = json.loads(f.read_text(encoding="utf-8"))
            data = f.with_suffix("")
            kid = "-"
            if data.is_file():
                with open(data, "rb") as fh:
                    try:
                        kid = crypto.Header.parse(fh).key_id
                    except crypto.DecryptError:
                        kid = "平文"
            print(f"{d.name}\t{doc.get('name')}\t{doc.get('sha256')}\t鍵ID={kid}\t{doc.get('job_id')} {doc.get('generation')}")
    return 0


# --- keys ----------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    existed = crypto.archive_key_file().exists()
    k = crypto.current_archive_key(create=True)
    print(f"保管鍵: {crypto.archive_key_file()} 鍵ID={k.key_id}{' (既存)' if existed else ' (作成)'}")
    if os.environ.get(keys.ENV):
        print(f"個人番号HMAC鍵: 環境変数 {keys.ENV} 鍵ID={keys.key_id(keys.mynumber_key())}")
    else:
        if keys.migrate_legacy_key():
            print(f"個人番号HMAC鍵を var/ の外へ移しました: → {paths.secrets_root() / keys.FILE_NAME}")
        existed = (paths.secrets_root() / keys.FILE_NAME).exists()
        kid = keys.key_id(keys.mynumber_key())
        print(f"個人番号HMAC鍵: {paths.secrets_root() / keys.FILE_NAME} 鍵ID={kid}{' (既存)' if existed else ' (作成)'}")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    old, new = crypto.rotate_archive_key()
    audit_record("write", "keys rotate", user=operator(), old=str(old), new=new)
    print(f"保管鍵を更新しました: 旧鍵ID={old or '-'} → 新鍵ID={new} (旧鍵は {crypto.keyring_dir()} に保管)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    f = crypto.archive_key_file()
    cur = crypto.current_archive_key(create=False).key_id if f.exists() else None
    print(f"保管鍵 (現行): {f} 鍵ID={cur or '(なし: kokuho keys init)'}")
    for kid in sorted(crypto.archive_keyring()):
        if kid != cur:
            print(f"保管鍵 (旧): {crypto.keyring_dir() / (kid + '.key')} 鍵ID={kid}")
    if os.environ.get(keys.ENV):
        print(f"個人番号HMAC鍵: 環境変数 {keys.ENV}")
    else:
        mk = paths.secrets_root() / keys.FILE_NAME
        print(f"個人番号HMAC鍵: {mk}{'' if mk.exists() else ' (なし)'}")
    return 0


def cmd_pair(args: argparse.Namespace) -> int:
    priv, pub = crypto.generate_x25519()
    out = args.private_out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(priv + "\n")
    print(pub)
    return 0
