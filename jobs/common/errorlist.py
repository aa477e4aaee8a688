"""Error lists (エラーリスト): one CSV per job and generation, for operators.

    var/errors/<job_id>/<generation>.csv

UTF-8 with BOM and CRLF (opens in Excel), Japanese column names::

    ファイル名, レコード番号, バイト位置, レコード種別, 項目, 項目名, 理由, 生データ(16進)

Inside the code an error list is a Polars frame with the English columns of ``SCHEMA``; ``raw``
holds the record bytes as the codec returned them (secret fields already masked). Written
atomically (``paths.stage_bytes`` + ``paths.commit_file``) and, like datasets, only when the step commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from . import paths

SCHEMA: dict[str, pl.DataType] = {
    "file_name": pl.String(),
    "record_no": pl.Int64(),
    "byte_offset": pl.Int64(),
    "record_type": pl.String(),
    "field": pl.String(),
    "field_label": pl.String(),
    "reason": pl.String(),
    "raw": pl.Binary(),
}
LABELS: dict[str, str] = {
    "file_name": "ファイル名",
    "record_no": "レコード番号",
    "byte_offset": "バイト位置",
    "record_type": "レコード種別",
    "field": "項目",
    "field_label": "項目名",
    "reason": "理由",
    "raw": "生データ(16進)",
}
BOM = "\ufeff"


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def normalize(frame: pl.DataFrame, **constants: object) -> pl.DataFrame:
    """Coerce ``frame`` to ``SCHEMA``: missing columns become null (or ``constants[name]``)."""
    cols = []
    for name, dtype in SCHEMA.items():
        if name in constants and name not in frame.columns:
            cols.append(pl.lit(constants[name]).cast(dtype).alias(name))
        elif name in frame.columns:
            cols.append(pl.col(name).cast(dtype).alias(name))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(cols)


def add_labels(frame: pl.DataFrame, labels: Mapping[tuple[str, str], str]) -> pl.DataFrame:
    """Fill ``field_label`` from {(record_type, field): 日本語ラベル} where it is null."""
    if not labels:
        return frame
    table = pl.DataFrame(
        {
            "record_type": [k[0] for k in labels],
            "field": [k[1] for k in labels],
            "_label": list(labels.values()),
        },
        schema={"record_type": pl.String, "field": pl.String, "_label": pl.String},
    )
    return (
        frame.join(table, on=["record_type", "field"], how="left", maintain_order="left", nulls_equal=False)
        .with_columns(pl.coalesce("field_label", "_label").alias("field_label"))
        .drop("_label")
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """The operator CSV: BOM, Japanese header, raw as hex, CRLF."""
    out = normalize(frame).with_columns(pl.col("raw").bin.encode("hex")).rename(LABELS)
    text = out.write_csv(line_terminator="\r\n", null_value="")
    return (BOM + text).encode("utf-8")


def path(job_id: str, generation: str) -> Path:
    return paths.errors(job_id) / f"{generation}.csv"


@dataclass
class StagedErrorList:
    job_id: str
    generation: str
    tmp_path: Path
    rows: int
    state: str = "staged"

    @property
    def final_path(self) -> Path:
        return path(self.job_id, self.generation)

    def commit(self) -> Path:
        if self.state != "staged":
            raise RuntimeError(f"error list {self.job_id}/{self.generation} is {self.state}")
        paths.commit_file(self.tmp_path, self.final_path)
        self.state = "committed"
        return self.final_path

    def discard(self) -> None:
        if self.state == "staged":
            self.tmp_path.unlink(missing_ok=True)
            self.state = "discarded"


def stage(job_id: str, generation: str, frame: pl.DataFrame) -> StagedErrorList:
    tmp = paths.stage_bytes(path(job_id, generation), to_csv_bytes(frame))
    return StagedErrorList(job_id, generation, tmp, frame.height)


def write(job_id: str, generation: str, frame: pl.DataFrame) -> Path:
    return stage(job_id, generation, frame).commit()


def generations(job_id: str) -> list[str]:
    folder = paths.errors(job_id)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.csv") if not p.name.startswith("."))


def latest(job_id: str, *, municipality: str | None = None) -> Path | None:
    gens = generations(job_id)
    if municipality is not None:
        gens = [g for g in gens if g.startswith(f"m{municipality}_")]
    return path(job_id, gens[-1]) if gens else None


def read(csv_path: Path) -> pl.DataFrame:
    """Read an error list back (Japanese columns, all as text)."""
    data = Path(csv_path).read_bytes()
    if data.startswith(BOM.encode("utf-8")):
        data = data[len(BOM.encode("utf-8")):]
    return pl.read_csv(data, infer_schema=False)
