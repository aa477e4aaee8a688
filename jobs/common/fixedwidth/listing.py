"""Readable field listing of a layout (Cobrix-style), for operators and golden tests."""

from __future__ import annotations

import unicodedata

from .layout import Layout, RecordType


def _w(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, n: int) -> str:
    return s + " " * max(0, n - _w(s))


def _attrs(f) -> str:
    a = []
    if f.type == "date":
        a.append(f.format)
    if f.type == "text" and f.charset:
        a.append(f"charset={f.charset}")
    if f.normalize:
        a.append(f"normalize={f.normalize}")
    if f.blank:
        a.append("blank")
    if f.values is not None:
        a.append("values=" + "|".join(f.values))
    if f.money:
        a.append("money")
    if f.secret:
        a.append("SECRET(個人番号)")
    if f.value_hex:
        a.append(f"hex={f.value_hex}")
    return " ".join(a)


def _record(rt: RecordType, title: str) -> list[str]:
    lines = [f"{title}"]
    lines.append(f"  {'#':>3} {_pad('項目名', 28)} {_pad('name', 26)} {'START':>5} {'END':>5} {'LEN':>4}  {_pad('TYPE', 8)} ATTRIBUTES")
    for i, f in enumerate(rt.fields, 1):
        lines.append(f"  {i:>3} {_pad(f.label, 28)} {_pad(f.name, 26)} {f.start:>5} {f.end:>5} {f.length:>4}  {_pad(f.type, 8)} {_attrs(f)}".rstrip())
    for b in rt.bindings:
        if b.kind == "constant":
            lines.append(f"      check: {b.field} = {b.constant}")
        elif b.kind == "records":
            lines.append(f"      check: {b.field} = number of records in the file")
        else:
            cond = ""
            if b.where:
                cond += " where " + ", ".join(f"{k} in {list(v)}" for k, v in b.where.items())
            if b.where_not:
                cond += " where " + ", ".join(f"{k} not in {list(v)}" for k, v in b.where_not.items())
            what = "count of data records" if b.kind == "count" else f"sum of data.{b.of}"
            lines.append(f"      check: {b.field} = {what}{cond} (per group)")
    return lines


def listing(layout: Layout) -> str:
    out = [
        f"LAYOUT {layout.id}  {layout.title}",
        f"  source: {layout.source}",
        f"  encoding {layout.encoding}; record length {layout.record_length}; line end {layout.line_end}"
        f" (writes {layout.write_line_end}); structure {layout.structure_text}; bad record: {layout.on_bad_record};"
        f" default charset {layout.charset}",
    ]
    if layout.discriminator:
        off, ln = layout.discriminator
        out.append(f"  record type code at byte {off + 1} length {ln}")
    out.append("")
    if layout.lead_in is not None:
        out += _record(layout.lead_in, f"LEAD-IN ({layout.lead_in.fields[-1].end} bytes before the first record)")
        out.append("")
    for rt in layout.record_types:
        code = f" code {rt.code!r}" if rt.code is not None else ""
        out += _record(rt, f"RECORD {rt.name} ({rt.label}) role {rt.role}{code}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def dump(result) -> str:
    """A read file as JSON lines, one per record in file order (rejects included), for golden
    tests and for operators checking a file by eye."""
    import datetime as dt
    import json

    rows = []
    if result.lead_in is not None:
        rows.append((0, {"record_no": 0, "type": "lead_in", **result.lead_in}))
    for name, df in result.frames.items():
        for r in df.to_dicts():
            rows.append((r["record_no"], {"record_no": r.pop("record_no"), "type": name, **r}))
    for r in result.rejects.drop("raw").to_dicts():
        rows.append((r["record_no"], {"record_no": r.pop("record_no"), "type": "REJECTED", **r}))

    def enc(v):
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return v

    rows.sort(key=lambda x: x[0])
    return "".join(json.dumps({k: enc(v) for k, v in r.items()}, ensure_ascii=False) + "\n" for _, r in rows)
