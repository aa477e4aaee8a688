"""The one generic intake step (取込): inbox file(s) → dataset generations + error list.

Used by every intake job id (FK020, FK010, FK030, SN010, SN110 ...); the JobSpec gives the
layout, the inbox folder, the file pattern, the dataset of each record type and, for files that
carry the 個人番号, what to do with it (``options["secrets"]``):

- ``register`` (FK020 資格): validate the check digit, write ``person_key`` (宛名番号 →
  HMAC-SHA256 of the 個人番号), cumulative over the generations;
- ``verify`` (FK010 住民税): validate, and reject a record whose 個人番号 differs from the one
  ``person_key`` holds for its 宛名番号.

Either way the 個人番号 column is dropped before anything is written; rejected records carry
the raw bytes with the number masked, and no message ever contains a number.

Per file: SHA-256, read with the codec (``FileRefused`` → RC 8, nothing written), check the
header's municipality code against the run, rejects → error list (RC 4), control totals per
record type (read = accepted + rejected) and money totals of the accepted records. After the
commit, the inputs are archived (see ``inputs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobs.common import datasets, errorlist, paths, plausibility
from jobs.common import fixedwidth as fw
from jobs.common.step import StepContext, StepError

from . import due, keys
from . import inputs as inputs_mod

PERSON_KEY = "person_key"
HMAC_COLUMN = "my_number_hmac"
SOURCE_COLUMNS = ("source_file", "source_sha256")
REASON_MY_NUMBER = "個人番号の検査数字が不正です / invalid 個人番号 check digit"
REASON_MISMATCH = "個人番号が資格情報の宛名番号と一致しません / 個人番号 differs from person_key"


def intake_step(ctx: StepContext) -> int | None:
    spec = ctx.spec
    layout = fw.load_layout(spec.layout)
    targets = dataset_map(spec, layout)
    inputs_mod.prepare(ctx)  # stale archive temporaries, the key out of var/ (inputs.py)
    files = select_files(ctx, targets)
    inputs_mod.verify_checksums(ctx, files)  # <name>.sha256 beside an input (inputs.py)
    check_duplicates(ctx, files)
    secrets = SecretHandler.for_run(ctx, layout)
    limits = plausibility.Limits.of(ctx.config, ctx.business_date, ctx.calendar)

    parts: dict[str, list[pl.DataFrame]] = {rt: [] for rt in targets}
    for f in ctx.progress(files, total=len(files), desc=f"{spec.job_id} 取込"):
        res = read_file(ctx, layout, f, keep_secrets=secrets is not None)
        check_municipality(ctx, layout, res, f)
        res = check_plausibility(ctx, layout, res, f, limits)
        for w in res.warnings:
            ctx.message("KKB111W", file=f.name, warning=w)
        frames = dict(res.frames)
        rejects = codec_rejects(layout, res, f)
        if secrets is not None:
            frames, extra = secrets.apply(layout, frames, f, res)
            rejects = pl.concat([rejects, extra], how="vertical")
        ctx.reject(rejects)
        count_file(ctx, layout, res, frames, rejects)
        if layout.lead_in is not None and res.lead_in is not None:
            frames["lead_in"] = pl.DataFrame([{"record_no": 0, **res.lead_in}])
        for rt in targets:
            parts[rt].append(with_source(frames[rt], f))

    write_outputs(ctx, layout, targets, parts, files)
    if secrets is not None:
        secrets.finish(ctx, files)
    if ctx.totals.rejected:
        ctx.message("KKB120W", rejected=ctx.totals.rejected)
    private = any(x.secret for rt in layout.record_types for x in rt.fields)
    ctx.on_commit(lambda: archive_inputs(ctx, files, private=private))
    return None


# --- record types and files -------------------------------------------------------------------


def dataset_map(spec, layout) -> dict[str, str]:
    """Record type → dataset, checked against the layout (every record type is written)."""
    names = (["lead_in"] if layout.lead_in is not None else []) + [rt.name for rt in layout.record_types]
    mapping = dict(spec.datasets)
    missing = [n for n in names if n not in mapping]
    extra = [n for n in mapping if n not in names]
    if missing or extra:
        raise ValueError(
            f"{spec.job_id}: registry datasets do not match layout {layout.id} "
            f"(missing record types {missing}, unknown {extra})"
        )
    return {n: mapping[n] for n in names}


def select_files(ctx: StepContext, targets: Mapping[str, str]) -> list[inputs_mod.InputFile]:
    spec = ctx.spec
    out = inputs_mod.given_files(ctx)
    if not out:
        complete, pending = inputs_mod.complete_inbox_files(ctx)  # an incomplete file stays (KKB114W)
        out = [inputs_mod.describe(p, "inbox") for p in complete]
        if not out:
            out = rerun_inputs(ctx, targets)
            if out:
                ctx.message("KKB102I", generation=ctx.generation)
        if not out:
            inputs_mod.end_if_only_incomplete(ctx, pending)  # still arriving: RC 4, nothing written
    if not out:
        # a file not due today is not an error (config intake_due; jobs/intake/due.py)
        due.no_input(ctx, targets.get("data") or next(iter(targets.values())))
        raise StepError.of("KKB103E", inbox=paths.relative(paths.inbox(spec.inbox, ctx.municipality)), pattern=spec.pattern)
    for f in out:  # the text names where the file came from: 受信箱 (inbox), 指定 (given) or 保管 (archive)
        ctx.message("KKB101I", variant=None if f.origin == "inbox" else f.origin, file=f.name, size=f.size,
                    sha256=f.sha256)
    return out


def rerun_inputs(ctx: StepContext, targets: Mapping[str, str]) -> list[inputs_mod.InputFile]:
    main = targets.get("data") or next(iter(targets.values()))
    if ctx.generation not in datasets.generations(main):
        return []
    recorded = datasets.read_totals(main, ctx.generation).get("inputs") or []
    try:
        return inputs_mod.archived_inputs(ctx.spec.inbox, recorded)
    except (FileNotFoundError, ValueError) as exc:
        raise StepError.of("KKB105S", error=exc) from exc


def check_duplicates(ctx: StepContext, files: list[inputs_mod.InputFile]) -> None:
    seen: dict[str, str] = {}
    for f in files:
        if f.sha256 in seen:
            raise StepError.of("KKB106E", first=seen[f.sha256], second=f.name)
        seen[f.sha256] = f.name
        if f.origin == "archive":
            continue
        others = [c for c in inputs_mod.claims(ctx.spec.inbox, f.sha256)
                  if (c.get("job_id"), c.get("generation")) != (ctx.job_id, ctx.generation)]
        if not others:
            continue
        first = others[0]
        if ctx.options.get("force"):
            ctx.message("KKB107W", file=f.name, claimed=first.get('name'), job_id=first.get('job_id'),
                        generation=first.get('generation'))
        else:
            raise StepError.of("KKB107E", file=f.name, claimed=first.get('name'), job_id=first.get('job_id'),
                               generation=first.get('generation'))


def read_file(ctx: StepContext, layout, f: inputs_mod.InputFile, *, keep_secrets: bool):
    try:
        return fw.read(layout, inputs_mod.content(f), source=f.name, keep_secrets=keep_secrets)
    except fw.FileRefused as exc:
        misrouted(ctx, layout, f, exc)
        raise StepError.of("KKB104E", error=exc) from exc


def misrouted(ctx: StepContext, layout, f: inputs_mod.InputFile, exc: fw.FileRefused) -> None:
    """A file of the step's inbox pattern that belongs to another step (config ``intake_routing``:
    ``<job id>: {<field>: {<value>: the step that takes it}}``, e.g. a Z21 捕捉 file of 通知内容 30 in
    FK030's ``Z21*.dta``) is refused with KKB562E naming that step, instead of a bare bad value."""
    routes = ctx.config.get(f"intake_routing.{ctx.job_id}", None) or {}
    by_value = routes.get(exc.field) if exc.field and exc.byte_offset is not None else None
    if not by_value:
        return
    width = next((rt.field(exc.field).length for rt in layout.record_types
                  if any(x.name == exc.field for x in rt.fields)), None)
    if width is None:
        return
    data = inputs_mod.content(f)
    blob = data.read_bytes() if isinstance(data, Path) else bytes(data)
    value = blob[exc.byte_offset: exc.byte_offset + width].decode("ascii", "replace")
    owner = by_value.get(value)
    if owner is not None:
        raise StepError.of("KKB562E", file=f.name, record=exc.record_no, label=exc.label, field=exc.field,
                           value=value, owner=owner, job_id=ctx.job_id) from exc


def check_municipality(ctx: StepContext, layout, res, f: inputs_mod.InputFile) -> None:
    """A header (or lead-in) ``municipality_code`` must be the run's (6- or 5-digit) code."""
    code6 = ctx.municipality
    code5 = str(ctx.config.get("municipality.code5"))
    checks = []
    for rt in layout.record_types:
        if rt.role == "H" and any(x.name == "municipality_code" for x in rt.fields):
            width = rt.field("municipality_code").length
            checks.append((rt.label, width, res.frames[rt.name]["municipality_code"].unique().to_list()))
    if layout.lead_in is not None and res.lead_in and "municipality_code" in res.lead_in:
        width = layout.lead_in.field("municipality_code").length
        checks.append((layout.lead_in.label, width, [res.lead_in["municipality_code"]]))
    for label, width, values in checks:
        expected = code6 if width == 6 else code5 if width == 5 else None
        wrong = [v for v in values if v is not None and expected is not None and v != expected]
        if wrong:
            raise StepError.of("KKB108E", file=f.name, label=label, codes=','.join(sorted(wrong)), expected=expected)


def check_plausibility(ctx: StepContext, layout, res, f: inputs_mod.InputFile, limits) -> fw.ReadResult:
    """The layout's ``check:`` rules (config ``plausibility``): implausible data records join the
    rejects; an implausible header, or a file whose every data record is, refuses the file."""
    try:
        out = plausibility.apply(layout, res, limits, f.path)
    except plausibility.Implausible as exc:
        raise StepError.of("KKB113E", error=exc) from exc
    if out.totals.get("implausible"):
        ctx.message("KKB112W", file=f.name, rejected=out.totals["implausible"])
    return out


# --- rejects and totals -----------------------------------------------------------------------


def record_type_title(layout, name: str | None) -> str:
    if name is None:
        return "不明"
    rt = layout.record_type(name)
    return f"{rt.code} {rt.label}" if rt.code else rt.label


def codec_rejects(layout, res, f: inputs_mod.InputFile) -> pl.DataFrame:
    rej = res.rejects
    titles = {rt.name: record_type_title(layout, rt.name) for rt in layout.record_types}
    frame = rej.with_columns(
        pl.col("record_type").alias("_rt"),
        pl.col("record_type").replace_strict(titles, default="不明", return_dtype=pl.String).alias("record_type"),
        pl.col("label").alias("field_label"),
    )
    return errorlist.normalize(frame.with_columns(pl.lit(f.name).alias("file_name"))).with_columns(
        frame["_rt"].alias("_record_type_name")
    )


def count_file(ctx: StepContext, layout, res, frames: Mapping[str, pl.DataFrame], rejects: pl.DataFrame) -> None:
    by_type = dict(res.totals.get("by_type", {}))
    rej_counts = dict(
        rejects.group_by("_record_type_name").len().iter_rows()
    ) if rejects.height else {}
    if layout.lead_in is not None and res.lead_in is not None:
        ctx.totals.count("lead_in", label=layout.lead_in.label, read=1, accepted=1)
    for rt in layout.record_types:
        ctx.totals.count(
            rt.name, label=rt.label, read=by_type.get(rt.name, 0),
            accepted=frames[rt.name].height, rejected=rej_counts.get(rt.name, 0),
        )
    if by_type.get("unknown") or rej_counts.get(None):
        ctx.totals.count("unknown", label="レコード区分不明", read=by_type.get("unknown", 0),
                         rejected=rej_counts.get(None, 0))


def with_source(frame: pl.DataFrame, f: inputs_mod.InputFile) -> pl.DataFrame:
    return frame.select(
        pl.lit(f.name, dtype=pl.String).alias("source_file"),
        pl.lit(f.sha256, dtype=pl.String).alias("source_sha256"),
        pl.all(),
    )


def write_outputs(ctx: StepContext, layout, targets: Mapping[str, str], parts, files) -> None:
    inputs_doc = [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in files]
    for rt_name, dataset in targets.items():
        frame = pl.concat(parts[rt_name], how="diagonal_relaxed")
        money = {}
        if rt_name != "lead_in":
            for fld in layout.record_type(rt_name).fields:
                if fld.money and fld.name in frame.columns:
                    amount = int(frame[fld.name].sum() or 0)
                    money[fld.name] = amount
                    ctx.totals.add_money(f"{rt_name}.{fld.name}", amount, label=fld.label)
        frame = datasets.sort_by_key(frame, ("source_file", "record_no"))  # the files' record order
        ctx.write_dataset(dataset, frame, totals={"layout": layout.id, "record_type": rt_name,
                                                  "inputs": inputs_doc, "money": money})


def archive_inputs(ctx: StepContext, files: list[inputs_mod.InputFile], *, private: bool = False) -> None:
    for f in files:
        target = inputs_mod.archive(ctx.spec.inbox, f, job_id=ctx.job_id, generation=ctx.generation,
                                    private=private)
        if f.origin != "archive":
            ctx.message("KKB190I", file=f.name, target=paths.relative(target))


# --- 個人番号 -----------------------------------------------------------------------------------


@dataclass
class SecretHandler:
    mode: str  # register | verify | drop
    person_field: str
    key: bytes | None
    key_id: str | None
    person_key: pl.DataFrame | None  # verify: the reference; register: collected rows
    collected: list[pl.DataFrame]
    base_generation: str | None = None
    matched: int = 0
    unknown: int = 0

    @classmethod
    def for_run(cls, ctx: StepContext, layout) -> SecretHandler | None:
        has_secret = any(f.secret for rt in layout.record_types for f in rt.fields)
        mode = ctx.spec.options.get("secrets")
        if not has_secret:
            if mode:
                raise ValueError(f"{ctx.job_id}: secrets={mode} but layout {layout.id} has no secret field")
            return None
        mode = mode or "drop"
        person_field = ctx.spec.options.get("person_field", "person_id")
        if mode == "drop":
            return cls(mode, person_field, None, None, None, [])
        try:
            key = keys.mynumber_key()
        except keys.SecretKeyError as exc:
            raise StepError.of("KKB130S", error=exc) from exc
        kid = keys.key_id(key)
        if mode == "register":
            base = datasets.latest(PERSON_KEY, municipality=ctx.municipality, before=ctx.generation)
            return cls(mode, person_field, key, kid, None, [], base_generation=base)
        if mode == "verify":
            gen = datasets.latest(PERSON_KEY, municipality=ctx.municipality, upto=ctx.generation)
            if gen is None:
                raise StepError.of("KKB131E")
            stored_kid = datasets.read_totals(PERSON_KEY, gen).get("key_id")
            if stored_kid != kid:
                raise StepError.of("KKB132S", generation=gen, stored_kid=stored_kid, kid=kid)
            ref = datasets.read(PERSON_KEY, gen).select(person_field, HMAC_COLUMN)
            ctx.message("KKB133I", generation=gen, persons=ref.height)
            return cls(mode, person_field, key, kid, ref, [], base_generation=gen)
        raise ValueError(f"{ctx.job_id}: unknown secrets mode {mode!r}")

    def apply(self, layout, frames: dict[str, pl.DataFrame], f: inputs_mod.InputFile, res: fw.ReadResult):
        """Validate, register or verify, drop the secret columns. Returns (frames, rejects)."""
        from jobs.common import mynumber

        out = dict(frames)
        rejects = [empty_rejects()]
        for rt in layout.record_types:
            secret = [x for x in rt.fields if x.secret]
            if not secret:
                continue
            df = out[rt.name]
            for fld in secret:
                col = df[fld.name]
                bad = col.is_not_null() & ~mynumber.valid_mask(col)
                rejects.append(self._rejects(layout, rt, fld, df.filter(bad)["record_no"], f, res, REASON_MY_NUMBER))
                df = df.filter(~bad)
            if self.mode in ("register", "verify"):
                fld = secret[0]
                df = df.with_columns(mynumber.hmac_digest(df[fld.name], self.key).alias(HMAC_COLUMN))
                if self.mode == "verify":
                    df, mism = self._verify(df)
                    rejects.append(self._rejects(layout, rt, fld, mism, f, res, REASON_MISMATCH))
                else:
                    self.collected.append(
                        df.filter(pl.col(HMAC_COLUMN).is_not_null()).select(self.person_field, HMAC_COLUMN)
                    )
                df = df.drop(HMAC_COLUMN)
            out[rt.name] = df.drop([x.name for x in secret])
        return out, pl.concat(rejects, how="vertical")

    def _verify(self, df: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
        ref = self.person_key.rename({HMAC_COLUMN: "_ref"})
        joined = df.join(ref, on=self.person_field, how="left", maintain_order="left")
        mismatch = pl.col(HMAC_COLUMN).is_not_null() & pl.col("_ref").is_not_null() & (pl.col(HMAC_COLUMN) != pl.col("_ref"))
        flags = joined.select(
            mismatch.alias("m"),
            (pl.col(HMAC_COLUMN).is_not_null() & pl.col("_ref").is_not_null()).alias("known"),
            (pl.col(HMAC_COLUMN).is_not_null() & pl.col("_ref").is_null()).alias("unknown"),
        )
        m = flags["m"]
        self.matched += int((flags["known"] & ~m).sum())
        self.unknown += int(flags["unknown"].sum())
        return df.filter(~m), df.filter(m)["record_no"]

    def _rejects(self, layout, rt, fld, record_nos: pl.Series, f, res: fw.ReadResult, reason: str) -> pl.DataFrame:
        if record_nos.len() == 0:
            return empty_rejects()
        offsets, raws = raw_records(layout, rt, f, record_nos.to_list(), res)
        frame = pl.DataFrame({
            "file_name": [f.name] * len(raws),
            "record_no": record_nos.cast(pl.Int64),
            "byte_offset": pl.Series(offsets, dtype=pl.Int64),
            "record_type": [record_type_title(layout, rt.name)] * len(raws),
            "field": [fld.name] * len(raws),
            "field_label": [fld.label] * len(raws),
            "reason": [reason] * len(raws),
            "raw": pl.Series(raws, dtype=pl.Binary),
        })
        return errorlist.normalize(frame).with_columns(pl.lit(rt.name, dtype=pl.String).alias("_record_type_name"))

    def finish(self, ctx: StepContext, files) -> None:
        if self.mode == "verify":
            ctx.message("KKB134I", matched=self.matched, unknown=self.unknown)
        if self.mode != "register":
            return
        new = (pl.concat(self.collected, how="vertical") if self.collected
               else pl.DataFrame(schema={self.person_field: pl.String, HMAC_COLUMN: pl.String}))
        new = new.unique(subset=[self.person_field], keep="last", maintain_order=True)
        if self.base_generation is not None:
            prev = datasets.read(PERSON_KEY, self.base_generation).select(self.person_field, HMAC_COLUMN)
            merged = pl.concat([prev.join(new, on=self.person_field, how="anti"), new], how="vertical")
        else:
            merged = new
        merged = merged.sort(self.person_field)
        ctx.write_dataset(PERSON_KEY, merged, totals={
            "key_id": self.key_id, "base_generation": self.base_generation,
            "inputs": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in files],
        })
        ctx.totals.written -= merged.height  # a key table, not intake records
        ctx.message("KKB135I", variant=None if self.base_generation else "first", new=new.height, total=merged.height,
                    base=self.base_generation)


def empty_rejects() -> pl.DataFrame:
    return errorlist.empty().with_columns(pl.lit(None, dtype=pl.String).alias("_record_type_name"))


def raw_records(layout, rt, f: inputs_mod.InputFile, record_nos: list[int], res: fw.ReadResult) -> tuple[list[int], list[bytes]]:
    """The bytes of records ``record_nos`` (1-based) of file ``f``, secret fields masked with '*'."""
    offsets, raws = [], []
    with open(f.path, "rb") as fh:
        for no in record_nos:
            off = res.byte_offset(int(no))
            fh.seek(off)
            offsets.append(off)
            raws.append(fw.mask_secrets(rt, fh.read(layout.record_length)))
    return offsets, raws
