"""Layouts: declarative record descriptions (a copybook as data), loaded from layouts/*.yaml.

The loader checks that every byte of every record type is covered by exactly one field, that
types and lengths are consistent, and that bindings name real fields. See layouts/README.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .charsets import SAFE_LOADER, Charset, load_charsets

LAYOUT_DIR = Path(__file__).resolve().parents[3] / "layouts"
ERAS_FILE = Path(__file__).resolve().parents[3] / "config" / "common" / "eras.yaml"

FIELD_TYPES = {"text", "digits", "numeric", "zoned", "packed", "date", "filler", "shift"}
DATE_FORMATS = {"yyyymmdd": 8, "yymmdd": 6, "mmdd": 4, "wareki": 7}
ENCODINGS = {"cp932", "ebcdic_kana"}
ROLES = {"H", "D", "T", "E"}
MAX_INT_DIGITS = 18  # int64 holds 18 decimal digits safely


class LayoutError(ValueError):
    """A layout file is inconsistent (a developer error, found at load time)."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    start: int  # 1-based
    length: int
    type: str
    blank: bool = False
    values: tuple[str, ...] | None = None
    money: bool = False
    secret: bool = False
    charset: str | None = None
    normalize: str | None = None
    pad: str = " "
    format: str | None = None
    century_pivot: int = 50
    value_hex: str | None = None
    positive: str = "overpunch"  # zoned: how the writer signs positive values (overpunch | digit)
    unsigned: bool = False  # packed: writer sign nibble F instead of C
    check: str | None = None  # plausibility rule (config plausibility.rules.<check>; jobs/common/plausibility.py)

    @property
    def offset(self) -> int:
        return self.start - 1

    @property
    def end(self) -> int:  # 1-based inclusive
        return self.start + self.length - 1

    @property
    def is_column(self) -> bool:
        return self.type not in ("filler", "shift")

    @property
    def digits(self) -> int:
        if self.type == "packed":
            return 2 * self.length - 1
        return self.length


@dataclass(frozen=True)
class Binding:
    field: str
    kind: str  # count | sum | constant | records
    of: str | None = None  # record type counted, or data field summed
    where: dict[str, tuple[str, ...]] | None = None
    where_not: dict[str, tuple[str, ...]] | None = None
    constant: int | None = None


@dataclass(frozen=True)
class RecordType:
    name: str
    role: str
    code: str | None
    label: str
    fields: tuple[Field, ...]
    bindings: tuple[Binding, ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"record type {self.name} has no field {name!r}")

    @property
    def columns(self) -> list[Field]:
        return [f for f in self.fields if f.is_column]


@dataclass(frozen=True)
class Structure:
    has_header: bool
    has_trailer: bool
    has_end: bool
    multi_group: bool


@dataclass(frozen=True)
class Layout:
    id: str
    title: str
    encoding: str
    record_length: int
    line_end: str
    write_line_end: str
    structure: Structure
    structure_text: str
    on_bad_record: str
    charset: str
    discriminator: tuple[int, int] | None  # (offset, length)
    record_types: tuple[RecordType, ...]
    lead_in: RecordType | None
    charsets: dict[str, Charset] = field(repr=False, default_factory=dict)
    eras: tuple[tuple[str, str, dt.date], ...] = field(repr=False, default=())
    source: str = ""
    plans: dict = field(repr=False, default_factory=dict, compare=False)  # compiled-scan plans, per record type

    def record_type(self, name: str) -> RecordType:
        for rt in self.record_types:
            if rt.name == name:
                return rt
        if self.lead_in is not None and name == "lead_in":
            return self.lead_in
        raise KeyError(f"layout {self.id} has no record type {name!r}")

    def by_role(self, role: str) -> RecordType | None:
        for rt in self.record_types:
            if rt.role == role:
                return rt
        return None

    @property
    def data_type(self) -> RecordType:
        rt = self.by_role("D")
        if rt is None:
            raise LayoutError(f"layout {self.id} has no data record type")
        return rt

    def charset_of(self, f: Field) -> Charset:
        return self.charsets[f.charset or self.charset]


def _parse_structure(text: str) -> Structure:
    t = re.sub(r"\s+", "", text)
    forms = {
        "HD*TE": Structure(True, True, True, False),
        "(HD*T)+E": Structure(True, True, True, True),
        "HD*T": Structure(True, True, False, False),
        "(HD*T)+": Structure(True, True, False, True),
        "D*": Structure(False, False, False, False),
        "D*E": Structure(False, False, True, False),
    }
    if t not in forms:
        raise LayoutError(f"structure {text!r} not supported; use one of {sorted(forms)}")
    return forms[t]


def _load_eras(path: Path = ERAS_FILE) -> tuple[tuple[str, str, dt.date], ...]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    eras = []
    for e in doc["eras"]:
        start = e["start"]
        if isinstance(start, str):
            start = dt.date.fromisoformat(start)
        eras.append((str(e["code"]), e["name"], start))
    return tuple(sorted(eras, key=lambda x: x[2]))


def _field(layout_id: str, rt_name: str, d: dict) -> Field:
    where = f"layout {layout_id}, record {rt_name}, field {d.get('name')!r}"
    try:
        f = Field(
            name=d["name"],
            label=d["label"],
            start=int(d["start"]),
            length=int(d["length"]),
            type=d["type"],
            blank=bool(d.get("blank", False)),
            values=tuple(str(v) for v in d["values"]) if "values" in d else None,
            money=bool(d.get("money", False)),
            secret=bool(d.get("secret", False)),
            charset=d.get("charset"),
            normalize=d.get("normalize"),
            pad=d.get("pad", " "),
            format=d.get("format"),
            century_pivot=int(d.get("century_pivot", 50)),
            value_hex=d.get("value_hex"),
            positive=d.get("positive", "overpunch"),
            unsigned=bool(d.get("unsigned", False)),
            check=d.get("check"),
        )
    except KeyError as e:
        raise LayoutError(f"{where}: missing key {e}") from None
    if f.type not in FIELD_TYPES:
        raise LayoutError(f"{where}: unknown type {f.type!r}")
    if f.start < 1 or f.length < 1:
        raise LayoutError(f"{where}: start and length must be positive")
    if f.type in ("numeric", "zoned", "packed") and f.digits > MAX_INT_DIGITS:
        raise LayoutError(f"{where}: {f.digits} digits exceed {MAX_INT_DIGITS}")
    if f.type == "date":
        if f.format not in DATE_FORMATS:
            raise LayoutError(f"{where}: date format must be one of {sorted(DATE_FORMATS)}")
        if DATE_FORMATS[f.format] != f.length:
            raise LayoutError(f"{where}: format {f.format} needs length {DATE_FORMATS[f.format]}")
    if f.type == "shift":
        if not f.value_hex or len(bytes.fromhex(f.value_hex)) != f.length:
            raise LayoutError(f"{where}: shift needs value_hex of {f.length} bytes")
    if f.values is not None and f.type in ("text", "digits"):
        for v in f.values:
            if f.type == "digits" and (len(v) != f.length or not v.isdigit()):
                raise LayoutError(f"{where}: allowed value {v!r} is not {f.length} digits")
    if f.secret and f.type != "digits":
        raise LayoutError(f"{where}: secret fields must be digits")
    return f


def _binding(layout_id: str, rt_name: str, d: dict) -> Binding:
    def sets(x):
        return {k: tuple(str(v) for v in vs) for k, vs in x.items()} if x else None

    if "count" in d:
        return Binding(d["field"], "count", d["count"], sets(d.get("where")), sets(d.get("where_not")))
    if "sum" in d:
        return Binding(d["field"], "sum", d["sum"], sets(d.get("where")), sets(d.get("where_not")))
    if "constant" in d:
        return Binding(d["field"], "constant", constant=int(d["constant"]))
    if "records" in d:  # lead-in: number of records in the file
        return Binding(d["field"], "records", d["records"])
    raise LayoutError(f"layout {layout_id}, record {rt_name}: binding {d} needs count, sum, constant or records")


def _record_type(layout_id: str, name: str, d: dict, length: int, is_lead_in: bool = False) -> RecordType:
    fields = tuple(sorted((_field(layout_id, name, f) for f in d["fields"]), key=lambda f: f.start))
    pos = 1
    seen = set()
    for f in fields:
        if f.start != pos:
            kind = "gap" if f.start > pos else "overlap"
            raise LayoutError(f"layout {layout_id}, record {name}: {kind} at byte {min(pos, f.start)} (field {f.name})")
        if f.is_column and f.name in seen:
            raise LayoutError(f"layout {layout_id}, record {name}: duplicate field name {f.name}")
        seen.add(f.name)
        pos = f.start + f.length
    if pos - 1 != length:
        raise LayoutError(f"layout {layout_id}, record {name}: fields cover {pos - 1} bytes, record is {length}")
    role = "L" if is_lead_in else d.get("role")
    if not is_lead_in and role not in ROLES:
        raise LayoutError(f"layout {layout_id}, record {name}: role must be one of {sorted(ROLES)}")
    bindings = tuple(_binding(layout_id, name, b) for b in d.get("bindings", []))
    names = {f.name for f in fields}
    for b in bindings:
        if b.field not in names:
            raise LayoutError(f"layout {layout_id}, record {name}: binding names unknown field {b.field}")
    return RecordType(name=name, role=role, code=None if d.get("code") is None else str(d["code"]),
                      label=d.get("label", name), fields=fields, bindings=bindings)


def parse_layout(doc: dict, *, charsets: dict[str, Charset] | None = None) -> Layout:
    lid = doc["id"]
    reclen = int(doc["record_length"])
    enc = doc.get("encoding", "cp932")
    if enc not in ENCODINGS:
        raise LayoutError(f"layout {lid}: encoding {enc!r} not supported ({sorted(ENCODINGS)})")
    line_end = doc.get("line_end", "none")
    if line_end not in ("none", "crlf", "either"):
        raise LayoutError(f"layout {lid}: line_end must be none, crlf or either")
    write_line_end = doc.get("write_line_end", "crlf" if line_end != "none" else "none")
    rts = tuple(_record_type(lid, n, d, reclen) for n, d in doc["record_types"].items())
    structure = _parse_structure(doc.get("structure", "D*"))
    lead_in = None
    if doc.get("lead_in"):
        li = doc["lead_in"]
        lead_in = _record_type(lid, "lead_in", li, int(li["length"]), is_lead_in=True)
    disc = doc.get("discriminator")
    discriminator = (int(disc["start"]) - 1, int(disc["length"])) if disc else None
    if len(rts) > 1 and discriminator is None:
        raise LayoutError(f"layout {lid}: several record types need a discriminator")
    if discriminator is not None:
        codes = [rt.code for rt in rts]
        if any(c is None or len(c) != discriminator[1] for c in codes) or len(set(codes)) != len(codes):
            raise LayoutError(f"layout {lid}: record type codes must be distinct and {discriminator[1]} bytes")
    for role, needed in (("H", structure.has_header), ("T", structure.has_trailer), ("E", structure.has_end)):
        present = any(rt.role == role for rt in rts)
        if present != needed:
            raise LayoutError(f"layout {lid}: structure {doc.get('structure')} and record roles disagree on {role}")
    if sum(rt.role == "D" for rt in rts) != 1:
        raise LayoutError(f"layout {lid}: exactly one data (D) record type is required")
    data_names = {f.name for f in next(rt for rt in rts if rt.role == "D").fields}
    for rt in rts:
        for b in rt.bindings:
            if b.kind == "sum" and b.of not in data_names:
                raise LayoutError(f"layout {lid}: binding sums unknown data field {b.of}")
            for cond in (b.where or {}, b.where_not or {}):
                for k in cond:
                    if k not in data_names:
                        raise LayoutError(f"layout {lid}: binding condition on unknown data field {k}")
    charsets = charsets if charsets is not None else load_charsets()
    default_cs = doc.get("charset", "halfwidth")
    for rt in rts + ((lead_in,) if lead_in else ()):
        for f in rt.fields:
            if f.type == "text" and (f.charset or default_cs) not in charsets:
                raise LayoutError(f"layout {lid}: field {f.name} uses unknown charset {f.charset or default_cs}")
    return Layout(
        id=lid, title=doc.get("title", lid), encoding=enc, record_length=reclen, line_end=line_end,
        write_line_end=write_line_end, structure=structure, structure_text=doc.get("structure", "D*"),
        on_bad_record=doc.get("on_bad_record", "reject"), charset=default_cs, discriminator=discriminator,
        record_types=rts, lead_in=lead_in, charsets=charsets, eras=_load_eras(), source=doc.get("source", ""),
    )


def _load_doc(path: Path, depth: int = 0) -> dict:
    """Read a layout document, resolving `extends:` (a base layout id) and `overrides:` (field
    attribute changes: {record, field, <key>: <value>})."""
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    base_id = doc.pop("extends", None)
    if base_id is None:
        return doc
    if depth > 4:
        raise LayoutError(f"layout {path.stem}: extends chain too deep")
    base = _load_doc(LAYOUT_DIR / f"{base_id}.yaml", depth + 1)
    overrides = doc.pop("overrides", [])
    merged = {**base, **doc}
    merged["record_types"] = {k: {**v, "fields": [dict(f) for f in v["fields"]]} for k, v in base["record_types"].items()}
    for ov in overrides:
        ov = dict(ov)
        rec, name = ov.pop("record"), ov.pop("field")
        fields = merged["record_types"][rec]["fields"] if rec != "lead_in" else merged["lead_in"]["fields"]
        target = [f for f in fields if f["name"] == name]
        if not target:
            raise LayoutError(f"layout {path.stem}: override names unknown field {rec}.{name}")
        target[0].update(ov)
    return merged


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> Layout:
    doc = _load_doc(Path(path))
    lay = parse_layout(doc)
    if Path(path).stem != lay.id:
        raise LayoutError(f"layout file {path} declares id {lay.id!r}; the id must equal the file name")
    return lay


def load_layout(name_or_path: str | Path) -> Layout:
    """Load a layout by id (layouts/<id>.yaml) or by path."""
    p = Path(name_or_path)
    if not p.suffix:
        p = LAYOUT_DIR / f"{name_or_path}.yaml"
    if not p.exists():
        raise LayoutError(f"layout not found: {p}")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)


def all_layouts() -> list[Layout]:
    return [load_layout(p) for p in sorted(LAYOUT_DIR.glob("*.yaml")) if p.name != "charsets.yaml"]


def layout_ids() -> list[str]:
    return [p.stem for p in sorted(LAYOUT_DIR.glob("*.yaml")) if p.name != "charsets.yaml"]
