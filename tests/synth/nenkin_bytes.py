"""Hand-built 特別徴収 files (FORMATS.md §2.2), byte by byte, for the insurer simulator's tests.

Deliberately a third reading of FORMATS.md §2.2 (neither the project's layouts/ nor
jobs.synth.insurer): positions are written out here as the table gives them (1-based).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


def _kanji(text: str, width: int) -> bytes:
    b = text.encode("iso2022_jp")[3:-3] if text else b""
    return (b + b"\x21\x21" * width)[:width]


def _kana(text: str, width: int) -> bytes:
    return text.encode("cp932").ljust(width, b" ")[:width]


@dataclass
class Person:
    bpn: str = "1234567890"              # 基礎年金番号 (10)
    pension_code: str = "0110"
    birth: str = "19560412"
    sex: str = "1"
    kana: str = "ﾔﾏﾀﾞ ﾀﾛｳ"
    kanji: str = "山田太郎"
    category: str = "01"
    amounts: tuple = (12300, 11000, None)
    event_date: str = ""


@dataclass
class Group:
    payer: str = "001"
    notice: str = "01"
    people: list = field(default_factory=list)


def header(muni: str, payer: str, notice: str, created: str, scheme: str = "1") -> bytearray:
    r = bytearray(b" " * 500)
    r[0:1] = b"1"
    r[1:6] = muni.encode()
    r[6:9] = payer.encode()
    r[9:11] = notice.encode()
    r[12:13] = scheme.encode()
    r[13:21] = created.encode()
    return r


def data(muni: str, payer: str, notice: str, created: str, p: Person, scheme: str = "1") -> bytearray:
    r = header(muni, payer, notice, created, scheme)
    r[0:1] = b"2"
    r[21:31] = p.bpn.encode()                        # 22–31 基礎年金番号
    r[31:35] = p.pension_code.encode()               # 32–35 年金コード
    r[38:46] = p.birth.encode()                      # 39–46 生年月日
    r[46:47] = p.sex.encode()                        # 47 性別
    r[47:72] = _kana(p.kana, 25)                     # 48–72 カナ氏名
    r[72:75] = b"\x1b$B"                             # 73–75 シフトコード1
    r[75:125] = _kanji(p.kanji, 50)                  # 76–125 漢字氏名
    r[125:128] = b"\x1b(B"                           # 126–128 シフトコード2
    r[128:135] = b"3390001"                          # 129–135 郵便番号
    r[135:215] = _kana("ｶｸｳｼ 1-1", 80)               # 136–215 カナ住所
    r[215:218] = b"\x1b$B"                           # 216–218
    r[218:378] = _kanji("架空市一丁目", 160)           # 219–378 漢字住所
    r[378:381] = b"\x1b(B"                           # 379–381
    r[381:383] = p.category.encode()                 # 382–383 各種区分
    r[383:385] = b"00"                               # 384–385 処理結果
    r[386:394] = (p.event_date or " " * 8).encode()  # 387–394 各種年月日
    for j, a in enumerate(p.amounts):                # 395–405, 406–416, 417–427 金額1–3
        r[394 + 11 * j:405 + 11 * j] = b" " * 11 if a is None else str(a).rjust(11, "0").encode()
    return r


def trailer(muni: str, payer: str, notice: str, created: str, people: list, scheme: str = "1") -> bytearray:
    r = header(muni, payer, notice, created, scheme)
    r[0:1] = b"3"
    r[21:30] = str(len(people)).rjust(9, "0").encode()                   # 22–30 合計件数
    for j in range(3):                                                    # 31–41, 42–52, 53–63
        s = sum(p.amounts[j] or 0 for p in people)
        r[30 + 11 * j:41 + 11 * j] = str(s).rjust(11, "0").encode()
    return r


def build(groups: list[Group], *, muni: str = "11100", created: str = "20260720", lead_count: int | None = None,
          scheme: str = "1") -> tuple[bytes, list[bytearray]]:
    """(whole file, the 500-byte records as bytearrays to tamper with)."""
    recs: list[bytearray] = []
    for g in groups:
        recs.append(header(muni, g.payer, g.notice, created, scheme))
        recs += [data(muni, g.payer, g.notice, created, p, scheme) for p in g.people]
        recs.append(trailer(muni, g.payer, g.notice, created, g.people, scheme))
    return assemble(recs, muni=muni, created=created, lead_count=lead_count), recs


def assemble(recs: list[bytearray], *, muni: str = "11100", created: str = "20260720",
             lead_count: int | None = None) -> bytes:
    lead = bytearray(b" " * 96)
    lead[0:5] = muni.encode()
    lead[6:9] = b"001"
    lead[9:17] = created.encode()
    lead[48:54] = str(len(recs) if lead_count is None else lead_count).rjust(6, "0").encode()
    return bytes(lead) + b"".join(bytes(r) for r in recs)


def people(n: int, *, start: int = 1, amounts=(12300, 11000, None), category: str = "01") -> list[Person]:
    return [Person(bpn=str(1000000000 + start + i), amounts=tuple(a if a is None else a + 100 * i for a in amounts),
                   category=category) for i in range(n)]


def write(folder: Path, name: str, data: bytes, *, sidecar: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(data)
    if sidecar:
        (folder / f"{name}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}\n", encoding="ascii")
    return p
