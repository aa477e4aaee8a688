"""The step contract: a job step as on a mainframe (ジョブステップ).

A step is a function ``func(ctx: StepContext) -> int | None`` described by a ``JobSpec``
(``jobs.common.jobspec``; ``jobs.registry`` states them) with a job id and a Japanese name
(``FK010 住民税所得取込``), its inbox/layout and the datasets it writes. ``run_step`` runs it with
the run parameters (fiscal year, business date, municipality) and returns a ``StepResult``
(``jobs.runner.run_job`` does the same by job id):

- ``rc``: 0 normal, 4 warning (records went to the error list; the stream goes on),
  8 error, 12 severe, 16 terminal/abend. The RC is the highest severity of the step's messages
  (message ids end in I/W/E/S/U = 0/4/8/12/16, as IBM utilities do), at least 4 when any
  record was rejected, or what the step returned or raised (``StepError``).
- control totals: read, accepted, rejected, written; money totals by name; per record type.
- messages, the error list path, the output dataset generations, and the job log.

Outputs are staged while the step runs and committed only when RC < 8: at RC >= 8 no dataset
generation and no error list is renamed into place, and ``on_commit`` actions do not run.
Staged names carry the writer's host and pid (``jobs.common.staging``); when a step starts it
removes the staging files and folders a killed run left in its output places (KKB003I), so a
rerun after ``kill -9`` at any point writes what a clean run writes. ``staging.crash_point``
marks the points the kill tests (tests/crash) stop a step at: start, write (a dataset staged),
staged (all staged), commit (after each output put in place); inert unless ``KOKUHO_CRASH_AT``.

The runtime checks read == accepted + rejected (in total and per record type); a violation
ends the step with RC 16 and raises ``ControlTotalsError``. Any unexpected exception ends it
with RC 16 and re-raises as ``StepAbend`` (the job log is in ``exc.result``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
import traceback
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from . import bizcal, datasets, errorlist, handoff, messages, paths, staging
from . import config as config_mod
from .jobspec import JobSpec
from .staging import crash_point

T = TypeVar("T")
logger = logging.getLogger("kokuho.step")

SEVERITY_RC = {"I": 0, "W": 4, "E": 8, "S": 12, "U": 16}
# the logging level of a message by its severity (the job log's text is the same for all)
SEVERITY_LEVEL = {"I": logging.INFO, "W": logging.WARNING, "E": logging.ERROR,
                  "S": logging.CRITICAL, "U": logging.CRITICAL}
RC_WARNING = 4
RC_ERROR = 8
RC_SEVERE = 12
RC_ABEND = 16
PROGRAM = "KOKUHO"  # the job name in IEF142I lines


def rc_label(rc: int | None) -> str:
    """正常終了 (RC 0), 警告終了 (1–7: the stream goes on), 異常終了 (8–11), 重大エラー (12–15),
    強制終了 (16 and above); ``-`` when there is no RC (a step that returned nothing)."""
    if rc is None:
        return "-"
    if rc == 0:
        return "正常終了"
    if rc < RC_ERROR:
        return "警告終了"
    if rc < RC_SEVERE:
        return "異常終了"
    if rc < RC_ABEND:
        return "重大エラー"
    return "強制終了"


class StepError(Exception):
    """Raised by a step to end with RC >= 8 and an operator message (nothing is committed).

    Steps raise ``StepError.of("KKB451E", **fields)``: the text comes from the message
    catalogue (``jobs.common.messages``) and the RC from the id's severity. A bare
    ``StepError(text)`` is reported as KKB900E/S/U."""

    def __init__(self, text: str, *, rc: int = RC_ERROR, msg_id: str | None = None):
        if rc < RC_ERROR:
            raise ValueError("StepError is for RC 8 and above; use ctx.message for warnings")
        super().__init__(text)
        self.text = text
        self.rc = rc
        self.msg_id = msg_id or ("KKB900E" if rc < RC_SEVERE else "KKB900S" if rc < RC_ABEND else "KKB900U")

    @classmethod
    def of(cls, msg_id: str, variant: str | None = None, **fields: Any) -> StepError:
        """The error of catalogued message ``msg_id`` (an E, S or U id) with ``fields`` filled in."""
        if msg_id[-1:] not in SEVERITY_RC or SEVERITY_RC[msg_id[-1]] < RC_ERROR:
            raise ValueError(f"StepError needs an E, S or U message id: {msg_id!r}")
        return cls(messages.text(msg_id, variant, **fields), rc=SEVERITY_RC[msg_id[-1]], msg_id=msg_id)


class StepSkip(Exception):
    """Raised by a step whose work is not due today (e.g. an intake whose file only comes in May):
    the step ends at once with the message, commits nothing and is shown as skipped (Airflow: a
    skipped task with the text as its reason; ``kokuho run``: RC 0 and the text). Never for work
    that was due: a due file that is missing is a warning (RC 4) or an error, not a skip.
    ``StepSkip.of("KKB109I", **fields)``."""

    def __init__(self, text: str, *, msg_id: str):
        super().__init__(text)
        self.text = text
        self.msg_id = msg_id

    @classmethod
    def of(cls, msg_id: str, variant: str | None = None, **fields: Any) -> StepSkip:
        if msg_id[-1:] != "I":
            raise ValueError(f"StepSkip needs an I message id: {msg_id!r}")
        return cls(messages.text(msg_id, variant, **fields), msg_id=msg_id)


class StepEnd(Exception):
    """Raised by a step that must stop early with a warning already given (ctx.message of a W id):
    it ends with RC 4 and commits nothing."""


class StepAbend(Exception):
    """The step ended abnormally (RC 16). ``result`` carries the job log and totals."""

    def __init__(self, result: StepResult, text: str):
        super().__init__(text)
        self.result = result


class ControlTotalsError(StepAbend):
    """read != accepted + rejected: figures do not reconcile."""


@dataclass(frozen=True)
class Message:
    msg_id: str  # e.g. KKB101I; the last letter is the severity
    text: str

    @property
    def severity(self) -> str:
        return self.msg_id[-1]

    @property
    def rc(self) -> int:
        return SEVERITY_RC[self.severity]

    @property
    def line(self) -> str:
        return f"{self.msg_id} {self.text}"


@dataclass
class RecordTypeTotals:
    label: str = ""
    read: int = 0
    accepted: int = 0
    rejected: int = 0


@dataclass
class ControlTotals:
    """件数・金額. ``count`` feeds both the per-record-type and the overall figures."""

    read: int = 0
    accepted: int = 0
    rejected: int = 0
    written: int = 0
    money: dict[str, int] = field(default_factory=dict)
    money_labels: dict[str, str] = field(default_factory=dict)
    by_record_type: dict[str, RecordTypeTotals] = field(default_factory=dict)
    # other figures a step reports (PDF pages, files ...): not records, so not in read/written
    figures: dict[str, int] = field(default_factory=dict)
    figure_labels: dict[str, str] = field(default_factory=dict)

    def count(self, record_type: str, *, read: int = 0, accepted: int = 0, rejected: int = 0,
              label: str | None = None) -> None:
        rt = self.by_record_type.setdefault(record_type, RecordTypeTotals(label=label or ""))
        if label and not rt.label:
            rt.label = label
        rt.read += int(read)
        rt.accepted += int(accepted)
        rt.rejected += int(rejected)
        self.read += int(read)
        self.accepted += int(accepted)
        self.rejected += int(rejected)

    def add_money(self, name: str, amount: int, *, label: str | None = None) -> None:
        self.money[name] = self.money.get(name, 0) + int(amount)
        if label:
            self.money_labels.setdefault(name, label)

    def add_figure(self, name: str, value: int, *, label: str | None = None) -> None:
        self.figures[name] = self.figures.get(name, 0) + int(value)
        if label:
            self.figure_labels.setdefault(name, label)

    def imbalances(self) -> list[str]:
        """Where read != accepted + rejected (empty when the figures reconcile)."""
        out = []
        if self.read != self.accepted + self.rejected:
            out.append(f"合計: 読込 {self.read:,} ≠ 正常 {self.accepted:,} + エラー {self.rejected:,}")
        for name, t in self.by_record_type.items():
            if t.read != t.accepted + t.rejected:
                out.append(f"{name}: 読込 {t.read:,} ≠ 正常 {t.accepted:,} + エラー {t.rejected:,}")
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "written": self.written,
            "money": dict(self.money),
            "by_record_type": {
                k: {"label": v.label, "read": v.read, "accepted": v.accepted, "rejected": v.rejected}
                for k, v in self.by_record_type.items()
            },
        }
        if self.figures:
            out["figures"] = dict(self.figures)
        # the operators' names of the money and figure keys (統制合計表 prints these, not the keys)
        labels = {k: v for k, v in {**self.money_labels, **self.figure_labels}.items()
                  if k in self.money or k in self.figures}
        if labels:
            out["labels"] = labels
        return out


@dataclass(frozen=True)
class OutputGeneration:
    dataset: str
    generation: str
    rows: int
    path: Path | None  # None when not committed


@dataclass
class StepResult:
    job_id: str
    name_ja: str
    rc: int
    fy: int
    business_date: dt.date
    municipality: str
    generation: str
    totals: ControlTotals
    messages: list[Message]
    error_list: Path | None
    error_rows: int
    outputs: list[OutputGeneration]
    committed: bool
    log_lines: list[str]
    files: list[Path] = field(default_factory=list)  # output files delivered (committed only)
    skipped: str | None = None  # StepSkip: why the step had nothing due (then rc 0, nothing written)

    @property
    def status(self) -> str:
        if self.skipped is not None and self.rc == 0:
            return "skipped"
        return "success" if self.rc == 0 else "warning" if self.rc < RC_ERROR else "failed"

    @property
    def log_text(self) -> str:
        return "\n".join(self.log_lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (the Airflow task's return value / XCom)."""
        return {
            "job_id": self.job_id,
            "name": self.name_ja,
            "rc": self.rc,
            "status": self.status,
            "fy": self.fy,
            "business_date": self.business_date.isoformat(),
            "municipality": self.municipality,
            "generation": self.generation,
            **self.totals.to_dict(),
            "error_list": str(self.error_list) if self.error_list else None,
            "error_rows": self.error_rows,
            "outputs": [
                {"dataset": o.dataset, "generation": o.generation, "rows": o.rows} for o in self.outputs
            ],
            "committed": self.committed,
            "files": [str(f) for f in self.files],
            "messages": [m.line for m in self.messages],
            **({"skipped": self.skipped} if self.skipped is not None else {}),
        }


class StepContext:
    """What a step sees: parameters, config, calendar, and the ways to report and write."""

    def __init__(self, spec: JobSpec, *, fy: int, business_date: dt.date, municipality: str,
                 options: Mapping[str, Any] | None = None, echo: Callable[[str], None] | None = None):
        self.spec = spec
        self.job_id = spec.job_id
        self.name_ja = spec.name_ja
        self.fy = int(fy)
        self.business_date = business_date
        self.municipality = municipality
        self.options: dict[str, Any] = dict(options or {})
        self.generation = datasets.generation_name(municipality, self.fy, business_date)
        self.totals = ControlTotals()
        self.messages: list[Message] = []
        self._echo = echo
        self._staged: list[datasets.StagedGeneration] = []
        self._rejects: list[pl.DataFrame] | None = None
        self._staged_errors: errorlist.StagedErrorList | None = None
        self._on_commit: list[Callable[[], None]] = []
        self._staged_files: list[tuple[Path, Path]] = []
        self._staged_dirs: list[tuple[Path, Path, Callable[[str], bool] | None]] = []
        self._files: list[Path] = []
        self._config: config_mod.Config | None = None
        self._calendar: bizcal.BusinessCalendar | None = None

    # --- parameters ------------------------------------------------------------------------

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            self._config = config_mod.load(self.municipality, self.fy)
        return self._config

    @property
    def calendar(self) -> bizcal.BusinessCalendar:
        if self._calendar is None:
            self._calendar = bizcal.BusinessCalendar.from_config(self.config)
        return self._calendar

    # --- messages --------------------------------------------------------------------------

    def message(self, msg_id: str, text: str | None = None, /, *, variant: str | None = None,
                **fields: Any) -> Message:
        """Add a job-log message. The id's last letter (I/W/E/S/U) sets its severity/RC and the
        level it is logged at. The text is the catalogued one with ``fields`` filled in
        (``ctx.message("KKB430I", file=..., new=..., change=..., stop=...)``, see
        ``jobs.common.messages``), or ``text`` as given."""
        if not msg_id or msg_id[-1] not in SEVERITY_RC:
            raise ValueError(f"message id must end in one of {sorted(SEVERITY_RC)}: {msg_id!r}")
        if text is None:
            text = messages.text(msg_id, variant, **fields)
        elif fields or variant is not None:
            raise TypeError(f"{msg_id}: give either the text or the catalogue fields, not both")
        msg = Message(msg_id, text)
        self.messages.append(msg)
        self._emit(msg.line, SEVERITY_LEVEL[msg.severity])
        return msg

    def fail(self, text: str, *, rc: int = RC_ERROR, msg_id: str | None = None):
        raise StepError(text, rc=rc, msg_id=msg_id)

    def _emit(self, line: str, level: int = logging.INFO) -> None:
        logger.log(level, line)
        if self._echo is not None:
            try:
                self._echo(line)
            except OSError:  # a closed pipe must not break the step; the log is in the result
                self._echo = None

    # --- outputs ---------------------------------------------------------------------------

    def write_dataset(self, dataset: str, frame: pl.DataFrame, *, totals: Mapping[str, Any] | None = None) -> None:
        """Stage ``frame`` as this run's generation of ``dataset`` (committed at the end)."""
        declared = self.spec.outputs
        if declared and dataset not in declared:
            raise ValueError(f"{self.job_id} does not declare output dataset {dataset!r} (declared: {declared})")
        if any(s.dataset == dataset for s in self._staged):
            raise ValueError(f"{self.job_id} writes dataset {dataset!r} twice")
        doc = {"job_id": self.job_id, "fy": self.fy, "business_date": self.business_date.isoformat(),
               "municipality": self.municipality, **(totals or {})}
        self._staged.append(datasets.stage(dataset, self.generation, frame, totals=doc))
        self.totals.written += frame.height
        crash_point("write")

    def reject(self, frame: pl.DataFrame, **constants: Any) -> None:
        """Add rejected records to the error list (columns of ``errorlist.SCHEMA``).

        Calling it (even with an empty frame) gives the step an error list: on commit the
        list replaces this generation's previous one, header only when nothing was rejected.
        """
        if self._rejects is None:
            self._rejects = []
        self._rejects.append(errorlist.normalize(frame, **constants))

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` after the outputs are committed (e.g. archive the input)."""
        self._on_commit.append(action)

    def stage_file(self, final: Path) -> Path:
        """A hidden staging name beside ``final`` for a file the step delivers (a return file,
        print data): write it there; the commit renames it to ``final`` (and lists it as an
        output), a failed run removes it. Leftovers of an earlier run that died are removed now."""
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        for old in final.parent.glob(f".{final.name}.staged-*"):
            if staging.is_dead(old.name):
                old.unlink(missing_ok=True)
        staged = staging.hold(final.with_name(f".{final.name}.staged-{staging.tag()}"))
        self._staged_files.append((staged, final))
        self.output_file(final)
        return staged

    def stage_dir(self, final: Path, *, keep: Callable[[str], bool] | None = None) -> Path:
        """A hidden staging folder beside ``final`` for a folder the step delivers whole (a
        generation's PDFs): write into it; the commit puts it at ``final`` with one rename
        (``staging.swap_dir``), after linking in the files of the folder it replaces whose name
        ``keep`` keeps (another step's files there); a failed run removes it."""
        final = Path(final)
        paths.ensure_dir(final.parent)
        folder = staging.hold(final.with_name(f".{final.name}.staged-{staging.tag()}"))
        folder.mkdir()
        self._staged_dirs.append((folder, final, keep))
        self.output_file(final)
        return folder

    def output_file(self, path: Path) -> None:
        """Name a file the step delivers (print data, a PDF ...): listed in the job log and the
        XCom (``files``) once committed. The step makes it appear itself (``on_commit``)."""
        self._files.append(Path(path))

    def progress(self, items: Iterable[T], *, total: int | None = None, desc: str | None = None) -> Iterator[T]:
        """A tqdm progress bar on stderr when it is a terminal; plain iteration otherwise."""
        from tqdm import tqdm

        return iter(tqdm(items, total=total, desc=desc or self.job_id, disable=not _isatty(sys.stderr),
                         file=sys.stderr, leave=False))

    # --- leftovers and commit --------------------------------------------------------------

    def _sweep_leftovers(self) -> None:
        """Remove what killed runs left behind in this step's output places (staging files and
        folders whose writer on this host is gone; never a live writer's): the temp folders of
        its datasets (``datasets.recover``), its error-list folder, the outbox and the reports."""
        removed: list[str] = []
        for dataset in self.spec.outputs:
            removed += [x.split(" ", 1)[1] for x in datasets.recover(dataset) if x.startswith("削除 .tmp")]
        for folder in (paths.errors(self.job_id), paths.var_root() / "outbox", paths.reports_root()):
            removed += [paths.relative(p) for p in staging.sweep(folder)]
        if removed:
            self.message("KKB003I", count=len(removed), names=", ".join(removed[:5]) + (" …" if len(removed) > 5 else ""))

    # --- commit ----------------------------------------------------------------------------

    def _stage_errors(self) -> None:
        if self._rejects is not None:
            frame = pl.concat(self._rejects, how="vertical") if self._rejects else errorlist.empty()
            self._staged_errors = errorlist.stage(self.job_id, self.generation, frame)

    def _commit(self) -> list[OutputGeneration]:
        outs = []
        for s in self._staged:
            outs.append(OutputGeneration(s.dataset, s.generation, s.rows, s.commit()))
            crash_point("commit")
        if self._staged_errors is not None:
            self._staged_errors.commit()
            crash_point("commit")
        for staged, final in self._staged_files:
            # a file under var/outbox/ gets its <name>.sha256 (and is encrypted per profile): handoff.py
            handoff.commit(staged, final, self.config)
            staging.release(staged)
            crash_point("commit")
        for folder, final, keep in self._staged_dirs:
            if keep is not None and final.is_dir():
                for f in sorted(final.iterdir()):
                    if keep(f.name) and f.is_file() and not f.name.startswith(".") and not (folder / f.name).exists():
                        try:
                            os.link(f, folder / f.name)
                        except OSError:  # a file system without hard links
                            shutil.copy2(f, folder / f.name)
            staging.swap_dir(folder, final)
            staging.release(folder)
            crash_point("commit")
        for action in self._on_commit:
            action()
            crash_point("commit")
        return outs

    def _discard(self) -> list[OutputGeneration]:
        for staged, _final in self._staged_files:
            staged.unlink(missing_ok=True)
            staging.release(staged)
        for folder, _final, _keep in self._staged_dirs:
            shutil.rmtree(folder, ignore_errors=True)
            staging.release(folder)
        for s in self._staged:
            s.discard()
        if self._staged_errors is not None:
            self._staged_errors.discard()
        return [OutputGeneration(s.dataset, s.generation, s.rows, None) for s in self._staged]


# --- running -----------------------------------------------------------------------------------


def run_step(spec: JobSpec, *, fy: int | None = None, business_date: dt.date | str,
             municipality: str | None = None, echo: Callable[[str], None] | None = None,
             **options: Any) -> StepResult:
    """Run the step function of ``spec`` under the step contract (see the module docstring)."""
    paths.private_umask()  # every file the step writes is 0600, every folder 0700 (paths.private_umask)
    paths.tighten_runtime_dirs()  # and var/'s folders an older version left open become 0700
    bdate = _as_date(business_date)
    code = str(municipality or config_mod.default_municipality())
    cfg = config_mod.load(code, fy)
    year = int(fy) if fy is not None else bizcal.BusinessCalendar.from_config(cfg).fiscal_year(bdate)
    ctx = StepContext(spec, fy=year, business_date=bdate, municipality=code, options=options, echo=echo)
    name = cfg.get("municipality.name", "")
    ctx.message("KKB001I", job_id=spec.job_id, name=spec.name_ja)
    ctx.message("KKB002I", fy=year, date=bdate.isoformat(), municipality=code, municipality_name=name,
                generation=ctx.generation)

    forced_rc = 0
    skipped: str | None = None
    abend: BaseException | None = None
    abend_cls: type[StepAbend] = StepAbend
    try:
        ctx._sweep_leftovers()
        crash_point("start")
        returned = spec.resolve()(ctx)
        forced_rc = int(returned or 0)
        problems = ctx.totals.imbalances()
        if problems:
            ctx.message("KKB990U", problems="; ".join(problems))
            abend, abend_cls = AssertionError("; ".join(problems)), ControlTotalsError
    except StepSkip as exc:
        ctx.message(exc.msg_id, exc.text)
        skipped = exc.text
    except StepEnd:
        forced_rc = RC_WARNING
        skipped = ""  # not a skip: only "commit nothing"
    except StepError as exc:
        ctx.message(exc.msg_id, exc.text)
        forced_rc = exc.rc
    except (config_mod.ConfigError, datasets.DatasetNotFound, bizcal.CalendarError) as exc:
        ctx.message("KKB910S", error=exc)
    except Exception as exc:  # an abend: log it, commit nothing, re-raise below
        abend = exc
        ctx.message("KKB999U", error_type=type(exc).__name__, error=exc)
        logger.error("%s", "".join(traceback.format_exception(exc)))

    rc = _final_rc(ctx, forced_rc)
    outputs: list[OutputGeneration]
    committed = False
    if skipped is not None and rc < RC_ERROR:
        outputs = ctx._discard()  # StepSkip / StepEnd: the step stopped before its work
    elif rc < RC_ERROR:
        try:
            ctx._stage_errors()
            crash_point("staged")
            outputs = ctx._commit()
            committed = True
        except Exception as exc:
            abend = exc
            ctx.message("KKB998U", error_type=type(exc).__name__, error=exc)
            rc = RC_ABEND
            outputs = ctx._discard()
    else:
        outputs = ctx._discard()

    result = _result(ctx, rc, outputs, committed)
    result.skipped = skipped if (skipped and rc == 0) else None
    for line in result.log_lines[len(ctx.messages):]:
        ctx._emit(line, _line_level(line, rc))
    if abend is not None:
        raise abend_cls(result, f"{spec.job_id} RC={rc:04d}: {abend}") from abend
    return result


def _final_rc(ctx: StepContext, forced_rc: int) -> int:
    rc = max([forced_rc] + [m.rc for m in ctx.messages])
    if ctx.totals.rejected and rc < RC_WARNING:
        rc = RC_WARNING
    return rc


def _result(ctx: StepContext, rc: int, outputs: list[OutputGeneration], committed: bool) -> StepResult:
    err_path = ctx._staged_errors.final_path if (ctx._staged_errors and committed) else None
    err_rows = ctx._staged_errors.rows if ctx._staged_errors else 0
    result = StepResult(
        job_id=ctx.job_id, name_ja=ctx.name_ja, rc=rc, fy=ctx.fy, business_date=ctx.business_date,
        municipality=ctx.municipality, generation=ctx.generation, totals=ctx.totals,
        messages=list(ctx.messages), error_list=err_path, error_rows=err_rows, outputs=outputs,
        committed=committed, log_lines=[], files=list(ctx._files) if committed else [],
    )
    result.log_lines = [m.line for m in ctx.messages] + summary_lines(result)
    return result


def summary_lines(r: StepResult) -> list[str]:
    """The end-of-step figures, mainframe style (ICE054I counts, IEF142I completion code)."""
    t = r.totals
    titles = {name: f"{name} {rt.label}".strip() for name, rt in t.by_record_type.items()}
    first = max([_width(x) + 2 for x in titles.values()] + [_WIDTHS[0]])
    lines = [messages.line("KKB050I")]
    lines.append(messages.line("KKB051I", columns=_cols(list(_HEADINGS), first)))
    for name, rt in t.by_record_type.items():
        lines.append(messages.line("KKB052I", columns=_cols([titles[name], f"{rt.read:,}", f"{rt.accepted:,}",
                                                             f"{rt.rejected:,}"], first)))
    lines.append(messages.line("KKB053I", columns=_cols([_TOTAL, f"{t.read:,}", f"{t.accepted:,}",
                                                         f"{t.rejected:,}"], first)))
    lines.append(f"ICE054I 0 RECORDS - IN: {t.read}, OUT: {t.written}")
    for name, amount in t.money.items():
        label = t.money_labels.get(name, "")
        lines.append(messages.line("KKB060I", None if label else "unlabelled", label=label, name=name, amount=amount))
    for name, value in t.figures.items():
        label = t.figure_labels.get(name, "")
        lines.append(messages.line("KKB061I", None if label else "unlabelled", label=label, name=name, value=value))
    for o in r.outputs:
        lines.append(messages.line("KKB070I", None if o.path is not None else "discarded", dataset=o.dataset,
                                   generation=o.generation, rows=o.rows))
    for f in r.files:
        lines.append(messages.line("KKB071I", path=paths.relative(f)))
    if r.error_list is not None:
        lines.append(messages.line("KKB080W" if r.error_rows else "KKB080I", path=paths.relative(r.error_list),
                                   rows=r.error_rows))
    if r.rc >= RC_ERROR:
        lines.append(messages.line("KKB081E"))
    lines.append(f"IEF142I {PROGRAM} {r.job_id} - STEP WAS EXECUTED - COND CODE {r.rc:04d}")
    lines.append(messages.line("KKB009I" if r.rc == 0 else "KKB009W" if r.rc < RC_ERROR else "KKB009E",
                               job_id=r.job_id, name=r.name_ja, rc=r.rc, label=rc_label(r.rc)))
    return lines


def _line_level(line: str, rc: int) -> int:
    """The logging level of a job-log line: its message id's severity; the IEF142I completion
    code line the step's RC; other lines (ICE054I) INFO."""
    if line.startswith("IEF142I"):
        return _rc_level(rc)
    head = line.split(" ", 1)[0]
    if messages.ID_PATTERN.fullmatch(head):
        return SEVERITY_LEVEL[head[-1]]
    return logging.INFO


def _rc_level(rc: int) -> int:
    return (logging.INFO if rc == 0 else logging.WARNING if rc < RC_ERROR else logging.ERROR
            if rc < RC_SEVERE else logging.CRITICAL)


# --- helpers -----------------------------------------------------------------------------------

_WIDTHS = (28, 12, 12, 12)
_HEADINGS = ("レコード種別", "読込件数", "正常件数", "エラー件数")  # the KKB051I columns
_TOTAL = "合計"  # the KKB053I row


def _cols(values: list[str], first_width: int = _WIDTHS[0]) -> str:
    first = _pad(values[0], first_width)
    rest = "".join(_pad(v, w, right=True) for v, w in zip(values[1:], _WIDTHS[1:], strict=True))
    return (first + rest).rstrip()


def _width(text: str) -> int:
    """Display columns (full-width characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * max(width - _width(text), 1 if right else 0)
    return fill + text if right else text + fill


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
