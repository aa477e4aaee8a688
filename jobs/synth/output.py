"""Writing the synthetic city: the inbound interface files through the codec's FileWriter, and
the manifest (the oracle the intake tests compare their control totals against).

Files, under ``out`` (default ``var/inbox``):

    shikaku/KOKUHO_SHIKAKU_<base date>.dat    nhi_qualification      (国保資格)
    juminzei/JUMINZEI_TOSHO_<FY>.dat          resident_tax_income    (住民税 当初)
    nenkin/Z2100001.dta                       tokucho_z21            (特別徴収対象者情報, 通知内容 00)
    koufuri/KOUFURI_IRAI_<base date>.dat      direct_debit_mandate   (口座振替依頼書)
    kaigo/KAIGO_DAICHO_<base date>.dat        ltc_ledger             (介護保険 被保険者台帳, 第1号被保険者)
    synth_manifest.json

The Z21 file has one group (header, data, trailer) per 特別徴収義務者; the data of each payer is
spooled per chunk to Arrow IPC files next to the output and written group by group at the end,
so memory stays bounded by one chunk.

All files are first written into a staging folder under ``out`` and moved into place only when
every file (and the manifest) is complete: a failed run leaves no partial set of files behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common import paths

from .config import SynthConfig

MANIFEST_NAME = "synth_manifest.json"


@dataclass
class FileSpec:
    key: str            # short name in the manifest (shikaku, juminzei, nenkin, koufuri)
    layout_id: str
    relpath: str


def file_specs(cfg: SynthConfig, as_of: dt.date) -> list[FileSpec]:
    ymd = as_of.strftime("%Y%m%d")
    return [
        FileSpec("shikaku", "nhi_qualification", f"shikaku/KOKUHO_SHIKAKU_{ymd}.dat"),
        FileSpec("juminzei", "resident_tax_income", f"juminzei/JUMINZEI_TOSHO_{cfg.fiscal_year}.dat"),
        FileSpec("nenkin", "tokucho_z21", "nenkin/Z2100001.dta"),
        FileSpec("koufuri", "direct_debit_mandate", f"koufuri/KOUFURI_IRAI_{ymd}.dat"),
        FileSpec("kaigo", "ltc_ledger", f"kaigo/KAIGO_DAICHO_{ymd}.dat"),
    ]


@dataclass
class Tally:
    """What was written to one file, computed from the frames (independently of the codec)."""

    layout: fw.Layout
    groups: int = 0
    data: int = 0
    money: dict[str, int] = field(default_factory=dict)
    trailers: list[dict[str, int]] = field(default_factory=list)
    _group: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        d = self.layout.data_type
        self.money = {f"{d.name}.{f.name}": 0 for f in d.fields if f.money}

    def begin(self):
        self._group = {}
        t = self.layout.by_role("T")
        for b in t.bindings if t is not None else ():
            self._group[b.field] = int(b.constant) if b.kind == "constant" else 0

    def add(self, df: pl.DataFrame):
        self.data += df.height
        for key in self.money:
            self.money[key] += int(df[key.split(".", 1)[1]].sum() or 0)
        t = self.layout.by_role("T")
        for b in t.bindings if t is not None else ():
            if b.kind not in ("count", "sum"):
                continue
            m = pl.lit(True)
            for col, vals in (b.where or {}).items():
                m = m & pl.col(col).is_in(list(vals)).fill_null(False)
            for col, vals in (b.where_not or {}).items():
                m = m & ~pl.col(col).is_in(list(vals)).fill_null(False)
            sub = df.filter(m)
            self._group[b.field] += sub.height if b.kind == "count" else int(sub[b.of].sum() or 0)

    def end(self):
        self.groups += 1
        self.trailers.append(dict(self._group))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class CityWriter:
    """Streams chunks into the four files; ``close()`` finishes them and returns the manifest part."""

    def __init__(self, cfg: SynthConfig, out: Path, as_of: dt.date):
        self.cfg = cfg
        self.out = Path(out)
        self.as_of = as_of
        self.specs = {s.key: s for s in file_specs(cfg, as_of)}
        self.layouts = {k: fw.load_layout(s.layout_id) for k, s in self.specs.items()}
        self.tallies = {k: Tally(lay) for k, lay in self.layouts.items()}
        self.writers: dict[str, fw.FileWriter] = {}
        self.stage = self.out / f".synth_staging_{os.getpid()}"
        self.spool = self.stage / "spool"
        self.spooled: dict[str, list[Path]] = {}
        self.chunks = 0

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> "CityWriter":
        muni = self.cfg.municipality_code
        fy = self.cfg.fiscal_year
        header = {
            "shikaku": {"municipality_code": muni, "creation_date": self.as_of, "fiscal_year": str(fy), "base_date": self.as_of},
            "juminzei": {"municipality_code": muni, "creation_date": self.cfg.date_in_year("juminzei_creation_month_day"),
                         "fiscal_year": str(fy), "change_kind": "1"},
            "koufuri": {"municipality_code": muni, "creation_date": self.as_of},
            "kaigo": {"municipality_code": muni, "creation_date": self.as_of, "base_date": self.as_of},
        }
        for key, h in header.items():
            w = fw.FileWriter(self.layouts[key], self.stage / self.specs[key].relpath)
            w.__enter__()
            self.writers[key] = w
            w.begin_group(h)
            self.tallies[key].begin()
        self.spool.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                for w in self.writers.values():
                    w.__exit__(exc_type, exc, tb)
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)

    # -- chunks -----------------------------------------------------------------------------
    def write_chunk(self, chunk) -> None:
        for key, df in (("shikaku", chunk.qualification), ("juminzei", chunk.income), ("koufuri", chunk.mandate),
                        ("kaigo", chunk.ltc)):
            self.writers[key].write(df)
            self.tallies[key].add(df)
        z = self.z21_frame(chunk.pension)
        for (payer,), part in z.partition_by("payer_code", as_dict=True, maintain_order=True).items():
            p = self.spool / f"z21_{payer}_{self.chunks:05d}.arrow"
            part.write_ipc(p)
            self.spooled.setdefault(str(payer), []).append(p)
        self.chunks += 1

    def z21_frame(self, pension: pl.DataFrame) -> pl.DataFrame:
        tk = self.cfg["tokucho"]
        n = pension.height
        created = self.cfg.date_in_year("nenkin_creation_month_day")
        return pl.DataFrame({
            "municipality_code": pl.Series([self.cfg.municipality_code[:5]] * n, dtype=pl.String),
            "payer_code": pension["payer_code"],
            "scheme_code": pl.Series([str(tk["scheme_code"])] * n, dtype=pl.String),
            "created_on": pl.Series([created] * n, dtype=pl.Date),
            "basic_pension_number": pension["basic_pension_number"],
            "pension_code": pension["pension_code"],
            "birth_date": pension["birth_date"],
            "sex": pension["sex"],
            "name_kana": pension["name_kana"],
            "name_kanji": pension["name_kanji"],
            "postal_code": pension["postal_code"],
            "address_kana": pension["address_kana"],
            "address_kanji": pension["address_kanji"],
            "category": pension["kind_code"],
            "amount1": pension["pension_amount"] // int(tk["amount1_divisor"]),
            "amount2": pl.Series([None] * n, dtype=pl.Int64),
            "amount3": pl.Series([None] * n, dtype=pl.Int64),
        })

    # -- finish -----------------------------------------------------------------------------
    def close(self) -> dict:
        for key, w in self.writers.items():
            w.end_group()
            self.tallies[key].end()
            w.close()
        self._write_z21()
        files = {}
        for key, spec in self.specs.items():
            path = self.stage / spec.relpath
            t = self.tallies[key]
            lay = self.layouts[key]
            records = {"data": t.data}
            if lay.by_role("H") is not None:
                records[lay.by_role("H").name] = t.groups
            if lay.by_role("T") is not None:
                records[lay.by_role("T").name] = t.groups
            files[key] = {
                "path": spec.relpath,
                "layout": spec.layout_id,
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
                "records": records,
                "groups": t.groups,
                "money": t.money,
                "trailers": t.trailers,
            }
        return files

    def publish(self, manifest: dict) -> Path:
        """Move the finished files and the manifest from the staging folder into ``out``."""
        for spec in self.specs.values():
            dest = self.out / spec.relpath
            dest.parent.mkdir(parents=True, exist_ok=True)
            paths.commit_file(self.stage / spec.relpath, dest)
        return write_manifest(self.out, manifest)

    def _write_z21(self) -> None:
        key = "nenkin"
        lay = self.layouts[key]
        tk = self.cfg["tokucho"]
        created = self.cfg.date_in_year("nenkin_creation_month_day")
        lead_in = {"municipality_code": self.cfg.municipality_code[:5], "media_serial": str(tk["media_serial"]),
                   "created_on": created}
        tally = self.tallies[key]
        if not self.spooled:  # no candidate at all: one empty group (the structure needs a group)
            self.spooled[next(iter(tk["payers"]))] = []
        with fw.FileWriter(lay, self.stage / self.specs[key].relpath, lead_in=lead_in) as w:
            for payer in sorted(self.spooled):
                w.begin_group({"municipality_code": self.cfg.municipality_code[:5], "payer_code": payer,
                               "scheme_code": str(tk["scheme_code"]), "created_on": created})
                tally.begin()
                for p in self.spooled[payer]:
                    df = pl.read_ipc(p)
                    w.write(df)
                    tally.add(df)
                    p.unlink()
                w.end_group()
                tally.end()


def write_manifest(out: Path, manifest: dict) -> Path:
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"
    return paths.write_atomic(Path(out) / MANIFEST_NAME, text.encode("utf-8"))
