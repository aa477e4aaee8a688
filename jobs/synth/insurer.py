"""A pension insurer (年金保険者, via the 経由機関) for the synthetic city: answers the city's requests.

    files = read_requests(outbox)                  # Z22 (01/31) and Z2A (41/61), checked; Refusal if malformed
    answer = simulate(files, as_of=d, seed=1)      # the Z23 (02/32) and Z24 (22) files due by ``as_of``
    write_answer(answer, inbox)                    # var/inbox/nenkin/Z23_02_20260910.dta (+ .sha256)

    kokuho synth-nenkin --date 2026-11-10 --seed 1 [--outbox var/outbox/nenkin] [--inbox var/inbox/nenkin]

Independence: the files are read and written with this module's own reading of
``shared/docs/FORMATS.md`` §2 (500-byte records after a 96-byte lead-in, H D* T groups, trailer
合計件数 and 合計金額 金額1–3), NOT with ``layouts/`` and the codec the city uses, so a mistake in
the city's layout does not cancel out in the tests.

Stateless: an answer is a function of (the request files, ``as_of``, seed, config). Every run
writes all the answers due by ``as_of`` again, byte-identical (same names, same bytes), so the
inbox of a later date is a superset of an earlier one's.

The insurer's model (the knobs are ``insurer:`` in config/synth.yaml):
- Z23: each 01/31 record is accepted (処理結果 ``accepted_code``) or refused with a 22-style code at
  ``refusal_rates``; the answer is dated ``request_result_day`` of the month after the request.
- Schedule of an accepted person: 01 → October (金額1), December and February (金額2); 31 → from the
  start month of its capture month (金額1), then 金額2 up to February; 継続 → the next year's
  provisional months at the February amount, replaced by a 61 (金額1) for the months after it.
- 41 stops the person from the next pension month (odd-month notices: one month later).
- Z24 for each pension month m, dated ``result_day`` of m+1: per scheduled person one record,
  各種区分 00 with 金額1 = the amount withheld, or a stop code (01 失権, 02 差止, 03 年金額不足, 05)
  with 金額1 = 0 and 金額2 = the amount not withheld, after which the person is not withheld again
  that year; a "late death" person is withheld ``late_death_months`` more times (those yen must be
  refunded) and then reported 01 with 各種年月日 = the date of death.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.common import paths

LEAD_IN = 96
RECORD = 500
SHIFT_IN = b"\x1b$B"                      # ESC $ B (JIS X 0208 in)
SHIFT_OUT = (b"\x1b(B", b"\x1b(J")        # ESC ( B / ESC ( J (back to one-byte)

# --- FORMATS.md §2.2, own reading: (1-based start, length) --------------------------------------
LEAD = {"municipality_code": (1, 5), "space1": (6, 1), "media_serial": (7, 3), "created_on": (10, 8),
        "reserve1": (18, 31), "record_count": (49, 6), "reserve2": (55, 42)}
COMMON = {"record_kind": (1, 1), "municipality_code": (2, 5), "payer_code": (7, 3), "notice_code": (10, 2),
          "media_code": (12, 1), "scheme_code": (13, 1), "created_on": (14, 8)}
DATA = {**COMMON, "basic_pension_number": (22, 10), "pension_code": (32, 4), "birth_date": (39, 8), "sex": (47, 1),
        "shift1": (73, 3), "shift2": (126, 3), "shift3": (216, 3), "shift4": (379, 3),
        "category": (382, 2), "result": (384, 2), "late_elderly_transfer": (386, 1), "event_date": (387, 8),
        "amount1": (395, 11), "amount2": (406, 11), "amount3": (417, 11), "mutual_aid_certificate": (486, 15)}
TRAILER = {**COMMON, "total_count": (22, 9), "total_amount1": (31, 11), "total_amount2": (42, 11),
           "total_amount3": (53, 11)}
LABELS = {
    "record_kind": "レコード区分", "municipality_code": "市町村コード", "payer_code": "特別徴収義務者コード",
    "notice_code": "通知内容コード", "media_code": "媒体コード", "scheme_code": "特別徴収制度コード",
    "created_on": "作成年月日", "basic_pension_number": "基礎年金番号", "pension_code": "年金コード",
    "birth_date": "生年月日", "sex": "性別", "shift1": "シフトコード1", "shift2": "シフトコード2",
    "shift3": "シフトコード3", "shift4": "シフトコード4", "category": "各種区分", "result": "処理結果",
    "event_date": "各種年月日", "amount1": "金額1", "amount2": "金額2", "amount3": "金額3",
    "total_count": "合計件数", "total_amount1": "合計金額 金額1", "total_amount2": "合計金額 金額2",
    "total_amount3": "合計金額 金額3", "record_count": "ファイル格納件数", "media_serial": "媒体通番",
    "length": "レコード長", "structure": "レコード構成", "checksum": "チェックサム", "file": "ファイル名",
}
# notice codes a city may send, by file kind (FORMATS.md §2.1, §2.3)
REQUEST_NOTICES = {"Z22": ("01", "31"), "Z2A": ("41", "61")}
ANSWER_NOTICE = {"01": "02", "31": "32", "41": "42", "61": "62"}   # 依頼 / 異動 → 処理結果
ANSWER_PREFIX = {"02": "Z23", "32": "Z23", "42": "Z2A", "62": "Z2A"}
TARGET_CATEGORIES = ("01", "02")   # 01/31 各種区分 of a person to withhold (03 = 特別徴収非対象者)
RESULT_NOTICE = "22"
CAPTURE_NOTICE = "30"                     # 特別徴収追加候補者情報 (捕捉), file Z21 (FORMATS.md §2.3)
CAPTURE_PREFIX = "Z21"


class Refusal(ValueError):
    """A malformed request file: which file, which record (0 = the lead-in or the file), which field."""

    def __init__(self, file: str, record: int, field: str, reason: str):
        self.file, self.record, self.field, self.reason = file, record, field, reason
        super().__init__(f"{file} レコード {record} 項目 {LABELS.get(field, field)}: {reason}")


def _get(raw: bytes, spec: tuple[int, int]) -> bytes:
    start, length = spec
    return raw[start - 1:start - 1 + length]


def _ascii(raw: bytes, spec, file: str, rec: int, name: str) -> str:
    try:
        return _get(raw, spec).decode("ascii")
    except UnicodeDecodeError:
        raise Refusal(file, rec, name, f"英数字でないバイトがあります ({_get(raw, spec).hex()})") from None


def _digits(raw: bytes, spec, file: str, rec: int, name: str, *, blank: bool = False) -> str | None:
    s = _ascii(raw, spec, file, rec, name)
    if blank and s.strip() == "":
        return None
    if not s.isdigit():
        raise Refusal(file, rec, name, f"数字ではありません ({s!r})")
    return s


def _date(raw: bytes, spec, file: str, rec: int, name: str, *, blank: bool = False) -> dt.date | None:
    s = _digits(raw, spec, file, rec, name, blank=blank)
    if s is None:
        return None
    try:
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        raise Refusal(file, rec, name, f"日付ではありません ({s})") from None


@dataclass(frozen=True)
class DataRecord:
    record_no: int                # position in the file, 1 = the first 500-byte record after the lead-in
    municipality_code: str
    payer_code: str
    notice_code: str
    scheme_code: str
    created_on: dt.date
    basic_pension_number: str
    pension_code: str
    birth_date: dt.date
    sex: str
    category: str | None
    result: str | None
    event_date: dt.date | None
    amount1: int | None
    amount2: int | None
    amount3: int | None
    person: bytes                 # bytes 22–381 (基礎年金番号 … シフトコード4), echoed in the answers
    tail: bytes                   # bytes 486–500 (共済年金証書記号番号)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.payer_code, self.basic_pension_number, self.pension_code)


@dataclass(frozen=True)
class RequestFile:
    name: str
    kind: str                     # Z22 / Z2A
    municipality_code: str
    created_on: dt.date
    records: int                  # 500-byte records (ファイル格納件数)
    data: tuple[DataRecord, ...]
    trailers: tuple[dict[str, Any], ...]


def file_kind(name: str) -> str | None:
    k = name[:3].upper()
    return k if k in REQUEST_NOTICES else None


def parse_request(path: Path | str, *, municipality: str | None = None, data: bytes | None = None) -> RequestFile:
    """Read and check one Z22 / Z2A file; Refusal on the first fault (file, record, field)."""
    path = Path(path)
    name = path.name
    kind = file_kind(name)
    if kind is None:
        raise Refusal(name, 0, "file", "ファイル名が Z22 (特別徴収依頼) / Z2A (各種異動) で始まりません")
    raw = path.read_bytes() if data is None else data
    if len(raw) < LEAD_IN or (len(raw) - LEAD_IN) % RECORD:
        raise Refusal(name, 0, "length", f"ファイル長 {len(raw)} バイトが 96 + 500×n ではありません"
                      f" (余り {(len(raw) - LEAD_IN) % RECORD if len(raw) >= LEAD_IN else len(raw)} バイト)")
    n = (len(raw) - LEAD_IN) // RECORD
    lead = raw[:LEAD_IN]
    muni = _digits(lead, LEAD["municipality_code"], name, 0, "municipality_code")
    if municipality and muni != municipality:
        raise Refusal(name, 0, "municipality_code", f"市町村コード {muni} が団体 {municipality} と違います")
    _digits(lead, LEAD["media_serial"], name, 0, "media_serial")
    created = _date(lead, LEAD["created_on"], name, 0, "created_on")
    count = int(_digits(lead, LEAD["record_count"], name, 0, "record_count"))
    if count != n:
        raise Refusal(name, 0, "record_count", f"ファイル格納件数 {count} ≠ レコード数 {n}")
    if n == 0:
        raise Refusal(name, 0, "structure", "レコードがありません")
    records: list[DataRecord] = []
    trailers: list[dict[str, Any]] = []
    group: dict[str, Any] | None = None
    allowed = REQUEST_NOTICES[kind]
    for i in range(n):
        rec = i + 1
        r = raw[LEAD_IN + i * RECORD:LEAD_IN + (i + 1) * RECORD]
        kind_code = _ascii(r, COMMON["record_kind"], name, rec, "record_kind")
        if kind_code not in "123" or len(kind_code) != 1:
            raise Refusal(name, rec, "record_kind", f"レコード区分 {kind_code!r} は 1/2/3 ではありません")
        head = {
            "municipality_code": _digits(r, COMMON["municipality_code"], name, rec, "municipality_code"),
            "payer_code": _digits(r, COMMON["payer_code"], name, rec, "payer_code"),
            "notice_code": _digits(r, COMMON["notice_code"], name, rec, "notice_code"),
            "scheme_code": _digits(r, COMMON["scheme_code"], name, rec, "scheme_code"),
        }
        _date(r, COMMON["created_on"], name, rec, "created_on")
        if head["municipality_code"] != muni:
            raise Refusal(name, rec, "municipality_code",
                          f"市町村コード {head['municipality_code']} が管理レコードの {muni} と違います")
        if kind_code == "1":
            if group is not None:
                raise Refusal(name, rec, "structure", "トレイラレコードの前に次のヘッダレコードがあります")
            if head["notice_code"] not in allowed:
                raise Refusal(name, rec, "notice_code",
                              f"通知内容コード {head['notice_code']} は {kind} では送れません (可: {'/'.join(allowed)})")
            group = {**head, "count": 0, "sums": [0, 0, 0]}
            continue
        if group is None:
            raise Refusal(name, rec, "structure", "ヘッダレコードがありません")
        for k in ("payer_code", "notice_code", "scheme_code"):
            if head[k] != group[k]:
                raise Refusal(name, rec, k, f"{LABELS[k]} {head[k]} がヘッダレコードの {group[k]} と違います")
        if kind_code == "2":
            d = _data_record(r, rec, name, head, group)
            group["count"] += 1
            for j, a in enumerate((d.amount1, d.amount2, d.amount3)):
                group["sums"][j] += a or 0
            records.append(d)
            continue
        total = int(_digits(r, TRAILER["total_count"], name, rec, "total_count"))
        if total != group["count"]:
            raise Refusal(name, rec, "total_count", f"合計件数 {total} ≠ データレコード {group['count']} 件")
        sums = []
        for j in range(3):
            fld = f"total_amount{j + 1}"
            v = int(_digits(r, TRAILER[fld], name, rec, fld))
            if v != group["sums"][j]:
                raise Refusal(name, rec, fld, f"{LABELS[fld]} {v:,} ≠ データレコードの合計 {group['sums'][j]:,}")
            sums.append(v)
        trailers.append({"payer_code": group["payer_code"], "notice_code": group["notice_code"],
                         "count": total, "amounts": tuple(sums)})
        group = None
    if group is not None:
        raise Refusal(name, n, "structure", "最後のグループにトレイラレコードがありません")
    return RequestFile(name, kind, muni, created, n, tuple(records), tuple(trailers))


def _data_record(r: bytes, rec: int, name: str, head: Mapping[str, str], group: Mapping[str, Any]) -> DataRecord:
    bpn = _digits(r, DATA["basic_pension_number"], name, rec, "basic_pension_number")
    pcode = _digits(r, DATA["pension_code"], name, rec, "pension_code")
    birth = _date(r, DATA["birth_date"], name, rec, "birth_date")
    sex = _ascii(r, DATA["sex"], name, rec, "sex")
    if sex not in ("1", "2"):
        raise Refusal(name, rec, "sex", f"性別 {sex!r} は 1/2 ではありません")
    for s, expected in (("shift1", (SHIFT_IN,)), ("shift2", SHIFT_OUT), ("shift3", (SHIFT_IN,)), ("shift4", SHIFT_OUT)):
        if _get(r, DATA[s]) not in expected:
            raise Refusal(name, rec, s, f"シフトコードではありません ({_get(r, DATA[s]).hex()})")
    cat = _digits(r, DATA["category"], name, rec, "category", blank=True)
    res = _digits(r, DATA["result"], name, rec, "result", blank=True)
    ev = _date(r, DATA["event_date"], name, rec, "event_date", blank=True)
    amounts = []
    for j in (1, 2, 3):
        v = _digits(r, DATA[f"amount{j}"], name, rec, f"amount{j}", blank=True)
        amounts.append(None if v is None else int(v))
    if head["notice_code"] in ("01", "31") and cat is None:
        raise Refusal(name, rec, "category", f"通知内容 {head['notice_code']} の各種区分がありません")
    if head["notice_code"] in ("01", "31") and cat in TARGET_CATEGORIES and not amounts[0]:
        raise Refusal(name, rec, "amount1", f"特別徴収対象者 (各種区分 {cat}) の金額1 がありません")
    return DataRecord(rec, head["municipality_code"], head["payer_code"], head["notice_code"], head["scheme_code"],
                      _date(r, COMMON["created_on"], name, rec, "created_on"), bpn, pcode, birth, sex, cat, res, ev,
                      amounts[0], amounts[1], amounts[2], _get(r, (22, 360)), _get(r, DATA["mutual_aid_certificate"]))


def request_files(folder: Path) -> list[Path]:
    """The Z22 / Z2A files of an outbox folder (not their .sha256), in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and file_kind(p.name) and not p.name.endswith(".sha256")
                  and not p.name.startswith("."))


def check_sidecar(path: Path) -> None:
    """A ``<name>.sha256`` beside the file (the city's hand-off) must match; absent is accepted."""
    side = path.with_name(path.name + ".sha256")
    if not side.exists():
        return
    words = side.read_text(encoding="ascii", errors="replace").split()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not words or words[0].lower() != digest:
        raise Refusal(path.name, 0, "checksum", f"{side.name} の SHA-256 が内容と一致しません")


def read_requests(folder: Path, *, municipality: str | None = None) -> tuple[list[RequestFile], list[Refusal]]:
    """Every request file of ``folder``: the well-formed ones and the refusals (one per bad file)."""
    ok, bad = [], []
    for p in request_files(folder):
        try:
            check_sidecar(p)
            ok.append(parse_request(p, municipality=municipality))
        except Refusal as e:
            bad.append(e)
    return ok, bad


# --- the insurer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsurerConfig:
    fiscal_year_start_month: int
    pension_months: tuple[int, ...]
    payment_day: int
    provisional_months: tuple[int, ...]
    request_months: dict[int, str]
    target_categories: tuple[str, ...]
    addition_start: dict[int, int]
    continue_provisional: bool
    final_months: tuple[int, ...]
    answer_months: dict[str, str]
    stop_odd_month_still_withheld: bool
    request_result_day: int
    result_day: int
    media_serial: str
    accepted_code: str
    refusal_rates: dict[str, float]
    result_rates: dict[str, float]
    late_death_rate: float
    late_death_months: int
    normal_code: str
    scheme_code: str
    capture: CaptureConfig = field(default_factory=lambda: CaptureConfig())   # 捕捉 files (none by default)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any], scheme_code: str = "1") -> InsurerConfig:
        c = cls(
            fiscal_year_start_month=int(m["fiscal_year_start_month"]),
            pension_months=tuple(sorted(int(x) for x in m["pension_months"])),
            payment_day=int(m["payment_day"]),
            provisional_months=tuple(int(x) for x in m["provisional_months"]),
            request_months={int(k): str(v) for k, v in m["request_months"].items()},
            target_categories=tuple(str(x) for x in m["target_categories"]),
            addition_start={int(k): int(v) for k, v in m["addition_start"].items()},
            continue_provisional=bool(m["continue_provisional"]),
            final_months=tuple(int(x) for x in m["final_months"]),
            answer_months={str(k): str(v) for k, v in m["answer_months"].items()},
            stop_odd_month_still_withheld=bool(m["stop_odd_month_still_withheld"]),
            request_result_day=int(m["request_result_day"]),
            result_day=int(m["result_day"]),
            media_serial=str(m["media_serial"]),
            accepted_code=str(m["accepted_code"]),
            refusal_rates={str(k): float(v) for k, v in m["refusal_rates"].items()},
            result_rates={str(k): float(v) for k, v in m["result_rates"].items()},
            late_death_rate=float(m["late_death_rate"]),
            late_death_months=int(m["late_death_months"]),
            normal_code=str(m["normal_code"]),
            scheme_code=str(scheme_code),
            capture=CaptureConfig.from_mapping(m.get("capture") or {}),
        )
        for name, rates in (("refusal_rates", c.refusal_rates), ("result_rates", c.result_rates)):
            if any(v < 0 for v in rates.values()) or sum(rates.values()) + (c.late_death_rate if name == "result_rates"
                                                                             else 0) > 1:
                raise ValueError(f"config/synth.yaml: insurer.{name} must be non-negative and sum to at most 1")
        if not 0 <= c.late_death_rate <= 1:
            raise ValueError("config/synth.yaml: insurer.late_death_rate must be between 0 and 1")
        return c

    def with_capture(self, candidates: int | None) -> InsurerConfig:
        import dataclasses
        if candidates is None:
            return self
        if candidates < 0:
            raise ValueError("insurer.capture.candidates must be 0 or more")
        return dataclasses.replace(self, capture=dataclasses.replace(self.capture, candidates=int(candidates)))

    def with_rates(self, *, refusal: Mapping[str, float] | None = None, result: Mapping[str, float] | None = None,
                   late_death: float | None = None) -> InsurerConfig:
        import dataclasses
        return dataclasses.replace(
            self, refusal_rates={**self.refusal_rates, **(refusal or {})},
            result_rates={**self.result_rates, **(result or {})},
            late_death_rate=self.late_death_rate if late_death is None else float(late_death))


@dataclass(frozen=True)
class CaptureConfig:
    """追加候補者 (捕捉, 通知内容 30) files: ``insurer.capture`` in config/synth.yaml."""
    candidates: int = 0                       # new candidates per capture file (0: no 捕捉 files)
    months: tuple[int, ...] = (8, 10, 12, 2)  # capture months of a 年度 (even months from August)
    day: int = 10                             # 作成年月日: this day of the capture month
    payer_code: str = "001"
    pension_code: str = "1150"
    moved_in_rate: float = 0.0                # share of 各種区分 02 住所変更者 (moved in); the rest 01 新規者 (turn 65)
    age_new: int = 65                         # a 新規者 turns this age in the two months before the capture month
    age_moved_in: tuple[int, int] = (66, 89)  # a 住所変更者's age, inclusive range
    payment: tuple[int, int] = (20000, 150000)   # 金額1: the pension of one payment (yen), inclusive range
    payment_unit: int = 100

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> CaptureConfig:
        d = cls()
        c = cls(
            candidates=int(m.get("candidates", d.candidates)),
            months=tuple(int(x) for x in m.get("months", d.months)),
            day=int(m.get("day", d.day)),
            payer_code=str(m.get("payer_code", d.payer_code)),
            pension_code=str(m.get("pension_code", d.pension_code)),
            moved_in_rate=float(m.get("moved_in_rate", d.moved_in_rate)),
            age_new=int(m.get("age_new", d.age_new)),
            age_moved_in=tuple(int(x) for x in m.get("age_moved_in", d.age_moved_in)),  # type: ignore[arg-type]
            payment=tuple(int(x) for x in m.get("payment", d.payment)),  # type: ignore[arg-type]
            payment_unit=int(m.get("payment_unit", d.payment_unit)),
        )
        if c.candidates < 0 or not 0 <= c.moved_in_rate <= 1 or c.payment_unit <= 0:
            raise ValueError("config/synth.yaml: insurer.capture: candidates ≥ 0, moved_in_rate in 0–1, payment_unit > 0")
        if any(mo % 2 or not 1 <= mo <= 12 for mo in c.months):
            raise ValueError(f"config/synth.yaml: insurer.capture.months must be even months: {c.months}")
        if not (0 < c.payment[0] <= c.payment[1]) or not (c.age_moved_in[0] <= c.age_moved_in[1]):
            raise ValueError("config/synth.yaml: insurer.capture.payment / age_moved_in: [low, high]")
        if len(c.payer_code) != 3 or not c.payer_code.isdigit() or len(c.pension_code) != 4:
            raise ValueError("config/synth.yaml: insurer.capture.payer_code (3 digits) / pension_code (4)")
        return c


def load_insurer_config(path: Path | None = None) -> InsurerConfig:
    from .config import load_config
    cfg = load_config(path)
    return InsurerConfig.from_mapping(cfg["insurer"], scheme_code=str(cfg["tokucho"]["scheme_code"]))


def _u(seed: int, *parts: Any) -> float:
    """A uniform draw in [0, 1) from (seed, parts): order-independent and stable across runs."""
    h = hashlib.sha256("|".join([str(seed), *map(str, parts)]).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0 ** 64


def _pick(u: float, rates: Mapping[str, float]) -> str | None:
    acc = 0.0
    for code in sorted(rates):
        acc += rates[code]
        if u < acc:
            return code
    return None


Month = tuple[int, int]   # (year, month)


def _add_months(m: Month, k: int) -> Month:
    y, mo = m
    t = y * 12 + mo - 1 + k
    return (t // 12, t % 12 + 1)


@dataclass
class _Person:
    key: tuple[str, str, str]
    request: DataRecord            # the (latest) accepted 01/31 record: echoed in the Z24
    schedule: dict[Month, int] = field(default_factory=dict)
    stop_from: Month | None = None


@dataclass(frozen=True)
class AnswerRecord:
    source: DataRecord
    category: str | None
    result: str | None
    event_date: dt.date | None
    amounts: tuple[int | None, int | None, int | None]


@dataclass(frozen=True)
class AnswerFile:
    name: str
    notice_code: str
    created_on: dt.date
    pension_month: Month | None         # Z24: the pension month answered
    records: tuple[AnswerRecord, ...]
    data: bytes

    def totals(self) -> dict[str, tuple[int, int]]:
        """(count, yen) per 各種区分 (Z24, 捕捉) or 処理結果 (Z23); yen = 金額1 withheld (Z24) / requested (Z23) /
        the pension of one payment (捕捉)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.records:
            code = (r.category if self.notice_code in (RESULT_NOTICE, CAPTURE_NOTICE) else r.result) or ""
            out[code][0] += 1
            out[code][1] += r.amounts[0] or 0
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}


@dataclass(frozen=True)
class Answer:
    files: tuple[AnswerFile, ...]
    withheld: dict[Month, tuple[int, int]]        # pension month → (persons, yen) withheld (00/10)
    refund_due: tuple[tuple[tuple[str, str, str], Month, int], ...]   # late death: (person key, month, yen)
    not_withheld: dict[str, tuple[int, int]]      # stop code → (persons, yen scheduled but not withheld)
    accepted: int
    refused: dict[str, int]
    captured: dict[dt.date, tuple[int, int]] = field(default_factory=dict)   # 捕捉 file date → (persons, Σ 金額1)

    def summary(self) -> dict[str, Any]:
        out = {
            "files": len(self.files),
            "accepted": self.accepted,
            "refused": dict(self.refused),
            "withheld_persons": sum(v[0] for v in self.withheld.values()),
            "withheld_yen": sum(v[1] for v in self.withheld.values()),
            "refund_due_yen": sum(r[2] for r in self.refund_due),
            "refund_due_records": len(self.refund_due),
            "not_withheld": {k: {"count": v[0], "yen": v[1]} for k, v in self.not_withheld.items()},
        }
        if self.captured:   # only when 捕捉 files were asked for: the existing summaries stay as they were
            out["captured"] = {"persons": sum(v[0] for v in self.captured.values()),
                               "yen": sum(v[1] for v in self.captured.values())}
        return out


def fiscal_year(d: dt.date | Month, start_month: int) -> int:
    y, m = (d.year, d.month) if isinstance(d, dt.date) else d
    return y if m >= start_month else y - 1


def _fy_month(fy: int, month: int, start_month: int) -> Month:
    return (fy if month >= start_month else fy + 1, month)


def _next_pension_month(m: Month, cfg: InsurerConfig, *, strictly_after: bool = True) -> Month:
    cur = _add_months(m, 1) if strictly_after else m
    for _ in range(13):
        if cur[1] in cfg.pension_months:
            return cur
        cur = _add_months(cur, 1)
    raise ValueError("insurer.pension_months is empty")


def _date_in(m: Month, day: int) -> dt.date:
    y, mo = m
    import calendar
    return dt.date(y, mo, min(day, calendar.monthrange(y, mo)[1]))


def _request_amounts(d: DataRecord, cfg: InsurerConfig) -> dict[Month, int]:
    start = cfg.fiscal_year_start_month
    fy = fiscal_year(d.created_on, start)
    a2 = d.amount2 if d.amount2 is not None else (d.amount1 or 0)
    amt = {"amount1": d.amount1 or 0, "amount2": a2, "amount3": d.amount3 if d.amount3 is not None else a2}
    last_month = max(cfg.pension_months, key=lambda mo: (mo < start, mo))     # February
    if d.notice_code == "01":
        return {_fy_month(fy, mo, start): amt[f] for mo, f in cfg.request_months.items() if amt[f] > 0}
    # 31 追加依頼: 金額1 each month from the start month (各種年月日, else from the capture month) to February
    if d.event_date is not None and d.event_date.month in cfg.pension_months:
        cur = (d.event_date.year, d.event_date.month)
    else:
        cm = (d.created_on.year, d.created_on.month)
        if cm[1] not in cfg.pension_months:
            cm = _add_months(cm, -1)
        sm = cfg.addition_start.get(cm[1])
        if sm is None:
            return {}
        cur = _next_pension_month(cm, cfg)
        while cur[1] != sm:
            cur = _next_pension_month(cur, cfg)
    out: dict[Month, int] = {}
    lastm = _fy_month(fiscal_year(cur, start), last_month, start)
    while cur <= lastm:
        if amt["amount1"] > 0:
            out[cur] = amt["amount1"]
        cur = _next_pension_month(cur, cfg)
    return out


def _answer_date(d: DataRecord, notice: str, cfg: InsurerConfig) -> dt.date:
    rule = cfg.answer_months.get(notice, "all")
    m = _add_months((d.created_on.year, d.created_on.month), 1)
    while (rule == "even" and m[1] % 2) or (rule == "odd" and not m[1] % 2):
        m = _add_months(m, 1)
    return _date_in(m, cfg.request_result_day)


def simulate(files: Sequence[RequestFile], *, as_of: dt.date, seed: int, cfg: InsurerConfig,
             municipality: str | None = None, capture_persons: Sequence[CityPerson] | None = None) -> Answer:
    """The insurer's answers due by ``as_of`` to ``files`` (any order), and the 捕捉 files
    (``cfg.capture.candidates`` new candidates each, for the 年度 of the requests; with
    ``capture_persons``, persons of the city not in its requests, each captured once)."""
    start = cfg.fiscal_year_start_month
    reqs = sorted(files, key=lambda f: (f.created_on, f.name))
    people: dict[tuple[str, str, str], _Person] = {}
    z23: dict[tuple[str, dt.date], list[AnswerRecord]] = defaultdict(list)
    accepted = 0
    refused: dict[str, int] = defaultdict(int)
    for f in reqs:
        for d in f.data:
            notice = ANSWER_NOTICE[d.notice_code]
            target = d.notice_code in ("01", "31") and d.category in cfg.target_categories
            code = (_pick(_u(seed, "request", d.key, d.notice_code, d.created_on.isoformat()), cfg.refusal_rates)
                    if target else None)
            z23[(notice, _answer_date(d, notice, cfg))].append(AnswerRecord(
                d, d.category, code or cfg.accepted_code, d.event_date, (d.amount1, d.amount2, d.amount3)))
            if d.notice_code in ("01", "31"):
                if not target:
                    continue
                if code:
                    refused[code] += 1
                    continue
                accepted += 1
                p = people.get(d.key)
                if p is None:
                    p = people[d.key] = _Person(d.key, d)
                p.request = d
                sched = _request_amounts(d, cfg)
                p.schedule.update(sched)
                p.stop_from = None if sched else p.stop_from
                if cfg.continue_provisional and sched:
                    last = max(sched)
                    nfy = fiscal_year(last, start) + 1
                    for mo in cfg.provisional_months:
                        p.schedule[_fy_month(nfy, mo, start)] = sched[last]
            elif d.notice_code == "41":
                p = people.get(d.key)
                if p is None:
                    continue
                cm = (d.created_on.year, d.created_on.month)
                nxt = _next_pension_month(cm, cfg)
                if cm[1] not in cfg.pension_months and cfg.stop_odd_month_still_withheld:
                    nxt = _next_pension_month(nxt, cfg)
                p.stop_from = nxt if p.stop_from is None else min(p.stop_from, nxt)
            elif d.notice_code == "61":
                p = people.get(d.key)
                if p is None:
                    continue
                cm = (d.created_on.year, d.created_on.month)
                if d.event_date is not None and d.event_date.month in cfg.provisional_months + cfg.final_months:
                    em = (d.event_date.year, d.event_date.month)
                    half = cfg.provisional_months if em[1] in cfg.provisional_months else cfg.final_months
                    fy = fiscal_year(em, start)
                    amounts = (d.amount1, d.amount2, d.amount3)
                    for i, mo in enumerate(half[:3]):
                        m = _fy_month(fy, mo, start)
                        if m >= em and amounts[i] is not None:
                            p.schedule[m] = amounts[i]
                else:
                    fy = fiscal_year(cm, start)
                    for mo in cfg.provisional_months:
                        m = _fy_month(fy, mo, start)
                        if m > cm:
                            p.schedule[m] = d.amount1 or 0
    # Z24: walk each person's months in order
    z24: dict[Month, list[AnswerRecord]] = defaultdict(list)
    withheld: dict[Month, list[int]] = defaultdict(lambda: [0, 0])
    refund_due: list[tuple[tuple[str, str, str], Month, int]] = []
    not_withheld: list[tuple[Month, str, int]] = []
    for key in sorted(people):
        p = people[key]
        stopped = False
        death: tuple[dt.date, int] | None = None     # (date of death, payments still withheld)
        for m in sorted(p.schedule):
            if stopped or (p.stop_from is not None and m >= p.stop_from):
                break
            amount = p.schedule[m]
            if amount <= 0:
                continue
            pay = _date_in(m, cfg.payment_day)
            if death is None:
                u = _u(seed, "result", key, m)
                code = _pick(u, cfg.result_rates)
                if code is None and u < sum(cfg.result_rates.values()) + cfg.late_death_rate:
                    prev = _add_months(m, -2)
                    death = (_date_in(prev, 1 + int(_u(seed, "death", key, m) * 27)), cfg.late_death_months)
            else:
                code = None
            if death is not None and death[1] <= 0:
                z24[m].append(AnswerRecord(p.request, "01", None, death[0], (0, amount, None)))
                not_withheld.append((m, "01", amount))
                stopped = True
                continue
            if code is not None:
                z24[m].append(AnswerRecord(p.request, code, None, pay, (0, amount, None)))
                not_withheld.append((m, code, amount))
                stopped = True
                continue
            z24[m].append(AnswerRecord(p.request, cfg.normal_code, None, pay, (amount, None, None)))
            withheld[m][0] += 1
            withheld[m][1] += amount
            if death is not None:
                refund_due.append((key, m, amount))
                death = (death[0], death[1] - 1)
    out: list[AnswerFile] = []
    for (notice, created), recs in sorted(z23.items(), key=lambda kv: (kv[0][1], ANSWER_PREFIX[kv[0][0]], kv[0][0])):
        if created <= as_of:
            out.append(_answer_file(f"{ANSWER_PREFIX[notice]}_{notice}_{created:%Y%m%d}.dta", notice, created, None,
                                    recs, cfg))
    for m, recs in sorted(z24.items()):
        created = _date_in(_add_months(m, 1), cfg.result_day)
        if created <= as_of:
            recs = sorted(recs, key=lambda r: r.source.key)
            out.append(_answer_file(f"Z24_{RESULT_NOTICE}_{created:%Y%m%d}.dta", RESULT_NOTICE, created, m, recs, cfg))
    captured: dict[dt.date, tuple[int, int]] = {}
    muni = municipality or (reqs[0].municipality_code if reqs else None)
    if cfg.capture.candidates > 0 and muni:
        fys = sorted({fiscal_year(f.created_on, start) for f in reqs} or {fiscal_year(as_of, start)})
        taken: set[str] = set()
        requested = _requested_people(reqs) if capture_persons is not None else set()
        for fy in fys:
            for mo in cfg.capture.months:
                created = _date_in(_fy_month(fy, mo, start), cfg.capture.day)
                if created > as_of:
                    continue
                picks = None if capture_persons is None else _city_pick(
                    capture_persons, created, muni=muni, seed=seed, cfg=cfg, taken=taken, requested=requested)
                recs = capture_records(muni, created, seed=seed, cfg=cfg, picks=picks)
                out.append(_answer_file(f"{CAPTURE_PREFIX}_{CAPTURE_NOTICE}_{created:%Y%m%d}.dta", CAPTURE_NOTICE,
                                        created, None, recs, cfg))
                captured[created] = (len(recs), sum(r.amounts[0] or 0 for r in recs))
    out.sort(key=lambda f: (f.created_on, f.name))
    done = {f.pension_month for f in out if f.pension_month}
    lost: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for m, code, yen in not_withheld:
        if m in done:
            lost[code][0] += 1
            lost[code][1] += yen
    return Answer(
        files=tuple(out),
        withheld={m: (v[0], v[1]) for m, v in sorted(withheld.items()) if m in done},
        refund_due=tuple(r for r in refund_due if r[1] in done),
        not_withheld={k: (v[0], v[1]) for k, v in sorted(lost.items())},
        accepted=accepted, refused=dict(sorted(refused.items())), captured=dict(sorted(captured.items())),
    )


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:           # 29 February
        return d.replace(year=d.year - years, day=28)


def _kanji_bytes(text: str, width: int) -> bytes:
    """JIS X 0208 bytes of ``text`` (no escapes), padded with 全角空白 (0x2121) to ``width`` bytes."""
    b = text.encode("iso2022_jp")
    b = b.removeprefix(SHIFT_IN)
    for out in SHIFT_OUT:
        b = b.removesuffix(out)
    return (b + b"\x21\x21" * width)[:width]


@dataclass(frozen=True)
class CityPerson:
    """A person of the synthetic city the insurer can capture (``--capture-city``): what a 捕捉 record
    carries (氏名, 生年月日, 性別, 住所). The 宛名番号 is the city's: never written to a pension file."""
    person_id: str
    birth_date: dt.date
    sex: str
    name_kana: str
    name_kanji: str
    postal_code: str
    address_kanji: str


#: 特別徴収 candidates are 65–74 (TAX_RULES.md §7: 75 goes to 後期高齢者医療)
CITY_AGE_HIGH = 74


def city_persons(frame: Any) -> list[CityPerson]:
    """The 世帯主 of a 資格 frame (layouts/nhi_qualification data columns) still insured: the persons
    a real 捕捉 may name (a householder who turned 65, or one FK120 left to 普通徴収 for want of a
    pension in the Z21 the insurer now pays one)."""
    import polars as pl

    f = frame.filter((pl.col("householder_flag").cast(pl.String) == "1") & pl.col("lost_date").is_null())
    out = []
    for r in f.sort("person_id").iter_rows(named=True):
        out.append(CityPerson(str(r["person_id"]), r["birth_date"], str(r["sex"]), (r["name_kana"] or "").strip(),
                              (r["name_kanji"] or "").strip(), str(r["postal_code"] or ""),
                              (r["address_kanji"] or "").strip()))
    return out


def load_city_persons(path: Path) -> list[CityPerson]:
    """``city_persons`` of the city's 資格 file (plain, or as the intake archived it, encrypted)."""
    from jobs.common import crypto
    from jobs.common import fixedwidth as fw

    path = Path(path)
    data = bytes(crypto.decrypt_bytes(path)) if crypto.is_encrypted(path) else path.read_bytes()
    return city_persons(fw.read(fw.load_layout("nhi_qualification"), data, source=path.name).frames["data"])


def _age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _requested_people(files: Sequence[RequestFile]) -> set[tuple[str, dt.date, str]]:
    """(カナ氏名, 生年月日, 性別) of every person of the city's requests (the Z21 対象者 answered)."""
    out = set()
    for f in files:
        for d in f.data:
            kana = d.person[48 - 22:73 - 22].decode("cp932", "replace").strip()
            out.add((kana, d.birth_date, d.sex))
    return out


def _city_pick(persons: Sequence[CityPerson], created: dt.date, *, muni: str, seed: int, cfg: InsurerConfig,
               taken: set[str], requested: set[tuple[str, dt.date, str]]) -> list[tuple[CityPerson, str, dt.date]]:
    """Up to ``cfg.capture.candidates`` persons of the city for the 捕捉 file of ``created``: 65–74 on that
    day, not in the city's requests, not captured before (``taken``), whose カナ氏名 fits the 25 bytes
    of the record; in the order of a seeded draw. (person, 各種区分 01 新規者, 各種年月日 = the 65th
    birthday when it is in the two months before, else the first day of the month before: the pension
    the insurer started paying)."""
    cap = cfg.capture
    pool = []
    for p in persons:
        age = _age_on(p.birth_date, created)
        if not cap.age_new <= age <= CITY_AGE_HIGH or p.person_id in taken:
            continue
        if (p.name_kana, p.birth_date, p.sex) in requested or len(p.name_kana.encode("cp932", "replace")) > 25:
            continue
        try:
            _kanji_bytes(p.name_kanji, 50)
        except UnicodeEncodeError:
            continue
        pool.append((_u(seed, "capture-city", muni, created.isoformat(), p.person_id), p))
    out = []
    for _, p in sorted(pool, key=lambda x: (x[0], x[1].person_id))[:cap.candidates]:
        birthday = p.birth_date.replace(year=p.birth_date.year + cap.age_new) if (p.birth_date.month, p.birth_date.day) \
            != (2, 29) else dt.date(p.birth_date.year + cap.age_new, 2, 28)
        start = created.replace(day=1) - dt.timedelta(days=1)
        event = birthday if dt.timedelta(0) < created - birthday <= dt.timedelta(days=61) else start.replace(day=1)
        out.append((p, "01", event))
        taken.add(p.person_id)
    return out


def capture_records(muni: str, created: dt.date, *, seed: int, cfg: InsurerConfig,
                    picks: Sequence[tuple[CityPerson, str, dt.date]] | None = None) -> list[AnswerRecord]:
    """The ``cfg.capture.candidates`` 追加候補者 of the 捕捉 file dated ``created``: 各種区分 01 新規者 (they
    turned ``age_new`` in the two months before) or 02 住所変更者 (moved in, 各種年月日 = the move), 金額1 =
    the pension of one payment. A function of (muni, created, seed, config): the same bytes on every run.
    ``picks`` (``--capture-city``): the city's own persons instead of fictional ones (氏名, 生年月日, 性別
    and 住所 from the city's 資格 file, so TK220 finds them)."""
    from . import pools
    cap = cfg.capture
    out: list[AnswerRecord] = []
    seen: set[str] = set()
    surnames = pools.SURNAMES
    given = {"1": [p for p in pools.MALE_NAMES if p[2] == 0], "2": [p for p in pools.FEMALE_NAMES if p[2] == 0]}
    towns = pools.TOWNS
    for i in range(cap.candidates if picks is None else len(picks)):
        def u(*k: Any, i: int = i) -> float:
            return _u(seed, "capture", muni, created.isoformat(), i, *k)
        real = picks[i] if picks is not None else None
        moved = real is None and u("kind") < cap.moved_in_rate
        category = "02" if moved else "01"
        sex = "1" if u("sex") < 0.5 else "2"
        if real is not None:
            sex, category, event, birth = real[0].sex, real[1], real[2], real[0].birth_date
        elif moved:
            age = cap.age_moved_in[0] + int(u("age") * (cap.age_moved_in[1] - cap.age_moved_in[0] + 1))
            birth = _years_before(created - dt.timedelta(days=1 + int(u("birth") * 365)), age)
            event = created - dt.timedelta(days=1 + int(u("event") * 60))
        else:
            event = created - dt.timedelta(days=1 + int(u("event") * 60))   # the 65th birthday [I]
            birth = _years_before(event, cap.age_new)
        bpn_n = int(u("bpn") * 10 ** 9)
        bpn = f"9{bpn_n:09d}"
        while bpn in seen:
            bpn_n = (bpn_n + 1) % 10 ** 9
            bpn = f"9{bpn_n:09d}"
        seen.add(bpn)
        sn = surnames[int(u("surname") * len(surnames))]
        gn = given[sex][int(u("given") * len(given[sex]))]
        town = towns[int(u("town") * len(towns))]
        chome = 1 + int(u("chome") * 5)
        lo, hi = cap.payment
        pay = max((lo + int(u("pay") * (hi - lo + 1))) // cap.payment_unit * cap.payment_unit, cap.payment_unit)
        person = bytearray(b" " * 360)     # bytes 22–381 of the data record (FORMATS.md §2.2)

        def put(pos: int, value: bytes, person: bytearray = person) -> None:
            person[pos - 22:pos - 22 + len(value)] = value
        put(22, bpn.encode())
        put(32, cap.pension_code.encode())
        put(39, birth.strftime("%Y%m%d").encode())
        put(47, sex.encode())
        put(48, pools.to_halfwidth(f"{sn[1]} {gn[1]}").encode("cp932")[:25].ljust(25))
        put(73, SHIFT_IN)
        put(76, _kanji_bytes(f"{sn[0]}　{gn[0]}", 50))
        put(126, SHIFT_OUT[0])
        put(129, f"{int(u('postal') * 10 ** 7):07d}".encode())
        put(136, pools.to_halfwidth(f"{town[1]} {chome}-{1 + i % 30}").encode("cp932")[:80].ljust(80))
        put(216, SHIFT_IN)
        put(219, _kanji_bytes(f"{town[0]}{'一二三四五'[chome - 1]}丁目", 160))
        put(379, SHIFT_OUT[0])
        if real is not None:   # the city's person: 氏名・住所 as the city has them (カナ住所 blank)
            p = real[0]
            put(48, p.name_kana.encode("cp932").ljust(25))
            put(76, _kanji_bytes(p.name_kanji, 50))
            put(129, (p.postal_code if len(p.postal_code) == 7 and p.postal_code.isdigit() else "0" * 7).encode())
            put(136, b" " * 80)
            try:
                put(219, _kanji_bytes(p.address_kanji, 160))
            except UnicodeEncodeError:
                put(219, _kanji_bytes("", 160))
        src = DataRecord(i + 1, muni, cap.payer_code, CAPTURE_NOTICE, cfg.scheme_code, created, bpn, cap.pension_code,
                         birth, sex, category, None, event, pay, None, None, bytes(person), b" " * 15)
        out.append(AnswerRecord(src, category, None, event, (pay, None, None)))
    return sorted(out, key=lambda r: r.source.key)


# --- writing (own writer, FORMATS.md §2.2) -------------------------------------------------------


def _num(v: int | None, width: int) -> bytes:
    if v is None:
        return b" " * width
    s = str(int(v)).rjust(width, "0").encode("ascii")
    if len(s) != width:
        raise ValueError(f"金額 {v} が {width} 桁を超えます")
    return s


def _put(buf: bytearray, spec: tuple[int, int], value: bytes) -> None:
    start, length = spec
    if len(value) != length:
        raise ValueError(f"field at {start} needs {length} bytes, got {len(value)}")
    buf[start - 1:start - 1 + length] = value


def _common(kind: str, muni: str, payer: str, notice: str, scheme: str, created: dt.date) -> bytearray:
    b = bytearray(b" " * RECORD)
    _put(b, COMMON["record_kind"], kind.encode())
    _put(b, COMMON["municipality_code"], muni.encode())
    _put(b, COMMON["payer_code"], payer.encode())
    _put(b, COMMON["notice_code"], notice.encode())
    _put(b, COMMON["scheme_code"], scheme.encode())
    _put(b, COMMON["created_on"], created.strftime("%Y%m%d").encode())
    return b


def _answer_file(name: str, notice: str, created: dt.date, month: Month | None, recs: Sequence[AnswerRecord],
                 cfg: InsurerConfig) -> AnswerFile:
    muni = recs[0].source.municipality_code
    groups: dict[str, list[AnswerRecord]] = defaultdict(list)
    for r in recs:
        groups[r.source.payer_code].append(r)
    body: list[bytes] = []
    ordered: list[AnswerRecord] = []
    for payer in sorted(groups):
        scheme = groups[payer][0].source.scheme_code
        body.append(bytes(_common("1", muni, payer, notice, scheme, created)))
        sums = [0, 0, 0]
        for r in groups[payer]:
            b = _common("2", muni, payer, notice, scheme, created)
            b[21:381] = r.source.person
            _put(b, DATA["category"], (r.category or "  ").encode())
            _put(b, DATA["result"], (r.result or "  ").encode())
            _put(b, DATA["event_date"], r.event_date.strftime("%Y%m%d").encode() if r.event_date else b" " * 8)
            for j, a in enumerate(r.amounts):
                _put(b, DATA[f"amount{j + 1}"], _num(a, 11))
                sums[j] += a or 0
            _put(b, DATA["mutual_aid_certificate"], r.source.tail)
            body.append(bytes(b))
            ordered.append(r)
        t = _common("3", muni, payer, notice, scheme, created)
        _put(t, TRAILER["total_count"], _num(len(groups[payer]), 9))
        for j in range(3):
            _put(t, TRAILER[f"total_amount{j + 1}"], _num(sums[j], 11))
        body.append(bytes(t))
    lead = bytearray(b" " * LEAD_IN)
    _put(lead, LEAD["municipality_code"], muni.encode())
    _put(lead, LEAD["media_serial"], cfg.media_serial.encode())
    _put(lead, LEAD["created_on"], created.strftime("%Y%m%d").encode())
    _put(lead, LEAD["record_count"], _num(len(body), 6))
    return AnswerFile(name, notice, created, month, tuple(ordered), bytes(lead) + b"".join(body))


def write_answer(answer: Answer, inbox: Path) -> list[Path]:
    """Write every answer file (atomically, then its ``.sha256``) into ``inbox``; same bytes on a re-run."""
    inbox = Path(inbox)
    paths.ensure_dir(inbox)
    out = []
    for f in answer.files:
        p = inbox / f.name
        paths.write_atomic(p, f.data)
        digest = hashlib.sha256(f.data).hexdigest()
        paths.write_atomic(p.with_name(p.name + ".sha256"), f"{digest}  {f.name}\n".encode("ascii"))
        out.append(p)
    return out


# --- CLI ---------------------------------------------------------------------------------------


def _date_arg(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"YYYY-MM-DD の日付ではありません: {s}") from None


def _rates_arg(s: str) -> dict[str, float]:
    out = {}
    for part in s.split(","):
        if not part.strip():
            continue
        try:
            k, v = part.split("=")
            out[k.strip()] = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"コード=割合 の並びではありません: {s}") from None
        if not 0 <= out[k.strip()] <= 1:
            raise argparse.ArgumentTypeError(f"0〜1 の数ではありません: {part}")
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kokuho synth-nenkin",
                                description="年金保険者シミュレータ: Z22/Z2A に Z23/Z24 を返す (合成団体)")
    p.add_argument("--date", type=_date_arg, required=True, help="この日までに届く回答ファイルを書く (YYYY-MM-DD)")
    p.add_argument("--seed", type=int, default=1, help="乱数シード (既定 1)")
    p.add_argument("--outbox", type=Path, default=None, help="市の送信フォルダ (既定: var/outbox/nenkin)")
    p.add_argument("--inbox", type=Path, default=None, help="回答の出力先 (既定: var/inbox/nenkin)")
    p.add_argument("--config", type=Path, default=None, help="設定ファイル (既定: config/synth.yaml)")
    p.add_argument("--municipality", default=None, help="市町村コード5桁 (既定: 設定の団体)")
    p.add_argument("--refusal-rates", type=_rates_arg, default=None, metavar="01=R,02=R,03=R",
                   help="Z23 の不能 (失権/差止/年金額不足) の割合")
    p.add_argument("--result-rates", type=_rates_arg, default=None, metavar="01=R,02=R,03=R,05=R",
                   help="Z24 の不能の割合 (人・月ごと)")
    p.add_argument("--late-death-rate", type=float, default=None, help="死亡の遅れ報告の割合 (人・月ごと)")
    p.add_argument("--capture", type=int, default=None, metavar="N",
                   help="捕捉 (追加候補者, 通知内容 30) ファイル1本あたりの新規候補者数 (既定: insurer.capture.candidates)")
    p.add_argument("--capture-city", type=Path, default=None, metavar="資格ファイル",
                   help="捕捉の候補者を市の資格ファイル (KOKUHO_SHIKAKU_*.dat、保管の暗号化ファイルも可) の世帯主 "
                        "(65〜74歳、依頼にない人) から選ぶ (既定: 架空の人)")
    p.add_argument("--json", action="store_true", help="合計を JSON でも出力する")
    return p


def main(argv: list[str]) -> int:
    from jobs.common import messages

    from .config import load_config

    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        scfg = load_config(args.config)
        cfg = InsurerConfig.from_mapping(scfg["insurer"], scheme_code=str(scfg["tokucho"]["scheme_code"]))
        cfg = cfg.with_rates(refusal=args.refusal_rates, result=args.result_rates, late_death=args.late_death_rate)
        cfg = cfg.with_capture(args.capture)
        cfg = InsurerConfig.from_mapping(_as_mapping(cfg), scheme_code=cfg.scheme_code)   # re-check the sums
    except (ValueError, KeyError, OSError) as e:
        print(f"synth-nenkin: 設定が不正です: {e}", file=sys.stderr)
        return 2
    outbox = args.outbox or paths.outbox("nenkin")
    inbox = args.inbox or paths.inbox("nenkin")
    muni = args.municipality or scfg.municipality_code[:5]
    persons = None
    if args.capture_city is not None:
        try:
            persons = load_city_persons(args.capture_city)
        except Exception as e:  # noqa: BLE001 - any unreadable file: the operator's message, exit 2
            print(messages.line("KKB563E", file=str(args.capture_city), reason=str(e)), file=sys.stderr)
            return 2
    files, refusals = read_requests(outbox, municipality=muni)
    for r in refusals:
        print(messages.line("KKB560E", file=r.file, record=r.record, field=LABELS.get(r.field, r.field),
                            reason=r.reason), file=sys.stderr)
    answer = simulate(files, as_of=args.date, seed=args.seed, cfg=cfg, municipality=muni, capture_persons=persons)
    try:
        write_answer(answer, inbox)
    except OSError as e:
        print(f"synth-nenkin: 書けませんでした: {e}", file=sys.stderr)
        return 8
    print(report(answer, files, inbox=inbox, as_of=args.date))
    if args.json:
        import json
        print(json.dumps(totals_json(answer), ensure_ascii=False, sort_keys=True))
    if refusals:
        print(messages.line("KKB561E", count=len(refusals)), file=sys.stderr)
        return 8
    return 0


def _as_mapping(c: InsurerConfig) -> dict[str, Any]:
    import dataclasses
    d = dataclasses.asdict(c)
    d.pop("scheme_code")
    return d


def totals_json(answer: Answer) -> dict[str, Any]:
    return {
        "summary": answer.summary(),
        "files": {f.name: {k: {"count": v[0], "yen": v[1]} for k, v in f.totals().items()} for f in answer.files},
        "withheld_by_month": {f"{m[0]:04d}-{m[1]:02d}": {"count": v[0], "yen": v[1]} for m, v in answer.withheld.items()},
    }


def report(answer: Answer, files: Iterable[RequestFile], *, inbox: Path, as_of: dt.date) -> str:
    lines = [f"年金保険者シミュレータ 基準日 {as_of}  依頼ファイル {len(list(files))}  回答 → {inbox}"]
    for f in answer.files:
        what = ("追加候補者 (捕捉)" if f.notice_code == CAPTURE_NOTICE else "依頼処理結果" if f.notice_code != RESULT_NOTICE
                else f"特別徴収結果 {f.pension_month[0]}-{f.pension_month[1]:02d}月分")
        parts = "  ".join(f"{k or '--'}: {c:,}件 {y:,}円" for k, (c, y) in f.totals().items())
        lines.append(f"  {f.name}  通知内容 {f.notice_code} {what}  {len(f.records):,}件  {parts}")
    s = answer.summary()
    lines.append(f"  受理 {s['accepted']:,}件  不能 {sum(s['refused'].values()):,}件 {s['refused']}")
    if answer.not_withheld:
        lines.append("  徴収不能 (金額2): " + "  ".join(f"{k}: {c:,}件 {y:,}円" for k, (c, y) in answer.not_withheld.items()))
    lines.append(f"  特別徴収額 合計 {s['withheld_persons']:,}件 {s['withheld_yen']:,}円"
                 f"  (うち死亡後の徴収・返納対象 {s['refund_due_records']:,}件 {s['refund_due_yen']:,}円)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
