"""Character sets and the Zengin character folding, as data from layouts/charsets.yaml."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

# libyaml when PyYAML has it: the same safe constructor with a C parser (a tenth of the time per layout)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CHARSET_FILE = Path(__file__).resolve().parents[3] / "layouts" / "charsets.yaml"


@dataclass(frozen=True)
class Charset:
    name: str
    kind: str  # sbcs | cp932 | jis0208
    title: str
    chars: frozenset[str] = field(default_factory=frozenset)
    byte_ok: np.ndarray | None = field(default=None, compare=False, repr=False)  # sbcs: allowed cp932 bytes
    pad: str = " "

    def allows(self, ch: str) -> bool:
        if self.kind == "sbcs":
            return ch in self.chars
        return True


def _sbcs(name: str, d: dict) -> Charset:
    chars: set[str] = set(d.get("chars", ""))
    for lo, hi in d.get("ranges", []):
        chars.update(chr(c) for c in range(lo, hi + 1))
    ok = np.zeros(256, dtype=bool)
    for ch in chars:
        b = ch.encode("cp932")
        if len(b) != 1:
            raise ValueError(f"charset {name}: {ch!r} is not a single-byte character")
        ok[b[0]] = True
    return Charset(name, "sbcs", d.get("title", name), frozenset(chars), ok, d.get("pad", " "))


@functools.lru_cache(maxsize=1)
def load_charsets(path: Path = CHARSET_FILE) -> dict[str, Charset]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    out = {}
    for name, d in doc.items():
        if d["kind"] == "sbcs":
            out[name] = _sbcs(name, d)
        else:
            out[name] = Charset(name, d["kind"], d.get("title", name), pad=d.get("pad", " "))
    return out


# --- Zengin folding: full-width to half-width kana, small to large, lower to upper ---------------

_SMALL_TO_LARGE = str.maketrans("ｧｨｩｪｫｯｬｭｮ", "ｱｲｳｴｵﾂﾔﾕﾖ")


@functools.lru_cache(maxsize=1)
def _halfwidth_kana() -> dict[int, str]:
    """Full-width katakana and hiragana -> half-width katakana: the inverse of NFKC over the
    half-width katakana block, voiced forms included (ガ -> ｶﾞ); 全角空白 -> space."""
    table: dict[int, str] = {}
    for c in range(0xFF61, 0xFFA0):
        h = chr(c)
        full = unicodedata.normalize("NFKC", h)
        if len(full) == 1 and full != h:
            table.setdefault(ord(full), h)
        for mark in ("ﾞ", "ﾟ"):
            comp = unicodedata.normalize("NFKC", h + mark)
            if len(comp) == 1:
                table.setdefault(ord(comp), h + mark)
    for cp in range(0x3041, 0x3097):  # hiragana folds like its katakana twin
        kata = chr(cp + 0x60)
        if ord(kata) in table:
            table.setdefault(cp, table[ord(kata)])
    table[0x3000] = " "
    return table


def to_halfwidth_kana(s: str) -> str:
    """Kana to JIS X 0201 half-width katakana (長音 ー becomes ｰ); other characters unchanged."""
    return s.translate(_halfwidth_kana())


@functools.lru_cache(maxsize=1)
def _fullwidth_to_zengin() -> dict[int, str]:
    table = dict(_halfwidth_kana())
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII
        table[cp] = chr(cp - 0xFEE0)
    # 長音 is not a 全銀 character; banks take a hyphen in its place [INFER: jinjer FAQ, FORMATS.md §1.6]
    for ch in ("ー", "ｰ", "‐"):
        table[ord(ch)] = "-"
    table[ord("・")] = "."
    table[ord("･")] = "."
    return table


def normalize_zengin(s: str) -> str:
    """Fold a name to the 全銀 repertoire: half-width katakana, small kana to large, A–Z."""
    return s.translate(_fullwidth_to_zengin()).translate(_SMALL_TO_LARGE).upper()
