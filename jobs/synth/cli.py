"""``kokuho synth``: write a synthetic municipality's inbound files.

    kokuho synth --insured 100000 --seed 42 [--out var/inbox] [--as-of 2026-06-01]
                 [--broken-my-numbers 0.01] [--config config/synth.yaml]

Prints what it wrote (file, records, bytes) and the city's figures; never a 個人番号.
Exit code 0 on success, 2 on bad arguments, 8 when generation fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from jobs.common import paths


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"YYYY-MM-DD の日付ではありません: {s}") from None


def _fraction(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"0〜1 の数ではありません: {s}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"0〜1 の数ではありません: {s}")
    return v


def _positive(s: str) -> int:
    try:
        v = int(s.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"正の整数ではありません: {s}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"正の整数ではありません: {s}")
    return v


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kokuho synth", description="合成団体 (synthetic municipality) の受信ファイルを生成する")
    p.add_argument("--insured", type=_positive, required=True, help="被保険者数 N (資格取得のある被保険者レコード数)")
    p.add_argument("--seed", type=int, required=True, help="乱数シード (同じシード・同じ設定なら同じバイト列)")
    p.add_argument("--out", type=Path, default=None, help="出力先 (既定: var/inbox)")
    p.add_argument("--as-of", type=_date, default=None, help="資格の基準日・作成日 (既定: 設定の年度の 6/1)")
    p.add_argument("--fiscal-year", type=_positive, default=None,
                   help="対象年度 (既定: config/synth.yaml fiscal_year); 所得年はその前年")
    p.add_argument("--broken-my-numbers", type=_fraction, default=None, metavar="RATE",
                   help="検査用数字を誤らせた個人番号の割合 (異常系テスト用; 既定 0)")
    p.add_argument("--config", type=Path, default=None, help="設定ファイル (既定: config/synth.yaml)")
    p.add_argument("--quiet", action="store_true", help="進捗を表示しない")
    return p


def main(argv: list[str]) -> int:
    from .city import generate_city
    from .config import load_config

    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or bad arguments (2)
        return int(e.code or 0)
    out = args.out or (paths.var_root() / "inbox")
    try:
        cfg = load_config(args.config, overrides={"fiscal_year": args.fiscal_year} if args.fiscal_year else None)
        progress = None
        if not args.quiet:
            def progress(done, total):
                print(f"  生成中 {done:,}/{total:,} 被保険者", file=sys.stderr, flush=True)
        m = generate_city(out, args.insured, args.seed, cfg=cfg, as_of=args.as_of,
                          broken_my_number_rate=args.broken_my_numbers, progress=progress)
    except (ValueError, OSError) as e:
        print(f"synth: 生成できませんでした: {e}", file=sys.stderr)
        return 8
    print(f"合成団体 {m['municipality_code']} 年度 {m['fiscal_year']} 基準日 {m['base_date']} seed {m['seed']}"
          f" ({m['_elapsed_seconds']} 秒) → {out}")
    for key, f in m["files"].items():
        recs = ", ".join(f"{k} {v:,}" for k, v in f["records"].items())
        print(f"  {f['path']:<40} {f['layout']:<22} {recs}  {f['bytes']:,} bytes")
    c = m["city"]
    print(f"  世帯 {c['households']:,}  被保険者 {c['insured']:,}  擬制世帯主 {c['nominal_householders']:,}"
          f"  特定同一 {c['specified_same_household']:,}  65–74歳 {m['shares']['insured_65_74']:.1%}"
          f"  口座振替 {m['shares']['households_with_active_mandate']:.1%}  未申告 {c['undeclared_persons']:,}"
          f"  限度超過相当 {c['households_over_cap_base']:,}  特徴候補世帯 {c['tokucho_candidate_households']:,}")
    print(f"  manifest: {Path(out) / 'synth_manifest.json'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
