"""The operator message catalogue (jobs/common/messages.yaml) against the code that emits the ids.

The source of jobs/, dags/ and reports/ is scanned: as text (every KKBnnnX anywhere, also in
f-strings, comments and docstrings) and as Python (the calls that render a message, with the
fields they pass), so a new id, a renamed field or a dead entry fails here.
"""

from __future__ import annotations

import ast
import datetime as dt
import logging
import re
import string
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.common import messages
from jobs.common.jobspec import JobSpec
from jobs.common.step import SEVERITY_RC, StepError, run_step

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("jobs", "dags", "reports")
CATALOGUE_FILE = ROOT / "jobs" / "common" / messages.CATALOGUE
ID = messages.ID_PATTERN


def _source_files() -> list[Path]:
    out = []
    for d in SOURCE_DIRS:
        out += [p for p in sorted((ROOT / d).rglob("*")) if p.is_file() and p.suffix in {".py", ".sql", ".j2", ".yaml"}
                and p != CATALOGUE_FILE and ".venv" not in p.parts and "__pycache__" not in p.parts]
    return out


def _python_files() -> list[Path]:
    return [p for p in _source_files() if p.suffix == ".py"]


def _ids_in_source() -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for path in _source_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in ID.finditer(line):
                where.setdefault(m.group(), []).append(f"{path.relative_to(ROOT)}:{n}")
    return where


# --- the calls that render a catalogued message ----------------------------------------------------

def _render_call(node: ast.Call) -> tuple[str, int] | None:
    """(kind, index of the variant argument) of a call that renders from the catalogue."""
    f = node.func
    if isinstance(f, ast.Attribute) and f.attr == "message":
        return "message", -1  # ctx.message(id, [text], *, variant=..., **fields)
    if isinstance(f, ast.Attribute) and f.attr == "of" and isinstance(f.value, ast.Name) and f.value.id == "StepError":
        return "error", 1
    if (isinstance(f, ast.Attribute) and f.attr in {"text", "line"} and isinstance(f.value, ast.Name)
            and f.value.id == "messages"):
        return "render", 1
    return None


def _constants(expr: ast.expr | None) -> set:
    """The constant values an argument can take: a constant, or an ``a if c else b`` of them;
    ``{...}`` (unknown) for anything else."""
    if expr is None:
        return {None}
    if isinstance(expr, ast.Constant):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _constants(expr.body) | _constants(expr.orelse)
    return {...}


def _calls() -> list[tuple[str, ast.Call, str]]:
    out = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _render_call(node) and node.args:
                ids = _constants(node.args[0])
                if any(isinstance(x, str) and ID.fullmatch(x) for x in ids):
                    out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node, _render_call(node)[0]))
    return out


CALLS = _calls()


def test_every_id_in_the_source_is_catalogued():
    missing = {i: w for i, w in _ids_in_source().items() if i not in messages.catalogue()}
    assert not missing, f"ids not in {messages.CATALOGUE}: {missing}"


def test_every_catalogued_id_is_used():
    used = _ids_in_source()
    dead = [i for i in messages.catalogue() if i not in used]
    assert not dead, f"catalogued but used nowhere in {SOURCE_DIRS}: {dead}"


def test_levels_match_the_id_and_ids_are_unique():
    text = CATALOGUE_FILE.read_text(encoding="utf-8")
    keys = re.findall(r"^(\S+):\s*$", text, flags=re.M)
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    assert keys == list(messages.catalogue())
    for msg_id, e in messages.catalogue().items():
        assert ID.fullmatch(msg_id), msg_id
        assert e.level == msg_id[-1] and e.level in SEVERITY_RC, msg_id
        assert e.text.strip(), msg_id
        assert e.action or e.level == "I", f"{msg_id}: W/E/S/U messages say what the operator does"
    with pytest.raises(ValueError, match="twice"):
        messages.load("KKB001I: {level: I, text: a}\nKKB001I: {level: I, text: b}\n")
    with pytest.raises(ValueError, match="level"):
        messages.load("KKB001I: {level: W, text: a}\n")


def test_every_template_renders_with_sample_fields():
    for msg_id, e in messages.catalogue().items():
        for variant in (None, *e.variants):
            fields = _samples(e)
            assert messages.text(msg_id, variant, **fields), (msg_id, variant)
        for name in e.optional:  # an optional part left out
            fields = _samples(e)
            fields[name] = None
            assert messages.text(msg_id, **fields), (msg_id, name)


def test_the_code_renders_messages_only_from_the_catalogue():
    """No call site passes a text of its own: ctx.message(id) with fields, StepError.of(id, ...),
    messages.line(id, ...); an id appears in the code only as a whole string (no f"KKB... {x}")."""
    assert len(CALLS) > 100
    literal = [where for where, node, kind in CALLS if kind == "message" and len(node.args) > 1]
    assert not literal, f"ctx.message with a text instead of catalogue fields: {literal}"
    unrendered = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if ID.search(node.value) and not ID.fullmatch(node.value):
                    unrendered.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:40]!r}")
            if (isinstance(node, ast.Call) and any(k.arg == "msg_id" for k in node.keywords)
                    and path.name != "step.py"):  # the runtime: StepError.of and the KKB900x default
                unrendered.append(f"{path.relative_to(ROOT)}:{node.lineno}: msg_id= (use StepError.of)")
    assert not unrendered, unrendered


def test_call_sites_pass_the_fields_of_their_templates():
    problems = []
    for where, node, kind in CALLS:
        if any(k.arg is None for k in node.keywords):
            problems.append(f"{where}: **fields (name them, so this test can check them)")
            continue
        passed = {k.arg for k in node.keywords} - {"variant"}
        vexpr = next((k.value for k in node.keywords if k.arg == "variant"), None)
        _kind, index = _render_call(node)
        if vexpr is None and index > 0 and len(node.args) > index:
            vexpr = node.args[index]
        for msg_id in (x for x in _constants(node.args[0]) if isinstance(x, str)):
            e = messages.catalogue().get(msg_id)
            if e is None:
                problems.append(f"{where}: {msg_id} not catalogued")
                continue
            variants = _constants(vexpr)
            if ... in variants:  # chosen at run time: any wording may be used
                variants = {None, *e.variants}
            for v in variants:
                if v is not None and v not in e.variants:
                    problems.append(f"{where}: {msg_id} has no variant {v!r}")
                    continue
                missing = e.fields(v) - passed
                if missing:
                    problems.append(f"{where}: {msg_id} ({v or 'text'}) needs {sorted(missing)}")
            unknown = passed - e.all_fields()
            if unknown:
                problems.append(f"{where}: {msg_id} has no field {sorted(unknown)}")
    assert not problems, "\n".join(problems)


def test_text_renders_and_reports_what_is_wrong():
    assert (messages.text("KKB430I", file="KOUFURI.dat", new=1234, change=5, stop=0)
            == "KOUFURI.dat: 新規 1,234件, 変更 5件, 停止 0件 を登録")
    assert messages.line("KKB081E") == "KKB081E 出力は確定していません (データセット・エラーリストとも書込みなし)"
    base = {"notices": 2, "withheld": 1, "printed": 3000, "annual": 5000}
    assert messages.text("KKB356I", **base).endswith("= 賦課 5,000円")
    assert messages.text("KKB356I", **base, unprinted=2000).endswith("= 賦課 5,000円 − 印刷不可 2,000円")
    assert messages.text("KKB413I", file="a.dat", sha256="0123456789abcdef" * 4) == \
        "a.dat はこの世代で登録済みです (SHA-256=0123456789abcdef…)"
    assert messages.text("KKB301E", "installments") == "期別 (installments) がありません。先に FK130 を実行してください"
    with pytest.raises(messages.MessageError, match="KKB999X"):
        messages.text("KKB999X")
    with pytest.raises(messages.MessageError, match="KKB430I: 項目 change, stop が指定されていません"):
        messages.text("KKB430I", file="f", new=1)
    with pytest.raises(messages.MessageError, match="文言の種類 'nope'"):
        messages.text("KKB301E", "nope")


def test_step_error_of_takes_text_and_rc_from_the_catalogue():
    e = StepError.of("KKB426S", "no_source", job_id="SN205")
    assert (e.msg_id, e.rc, e.text) == ("KKB426S", 12,
                                        "SN205: 取込ファイルの保管先 (options['source']) が定義されていません")
    assert StepError.of("KKB451E").rc == 8
    with pytest.raises(ValueError, match="E, S or U"):
        StepError.of("KKB452W", taxpayers=1)


def _spec(func) -> JobSpec:
    return JobSpec(job_id="ZZ020", name_ja="メッセージ試験", func=func, outputs=())


def test_messages_log_at_the_level_of_their_id(caplog):
    def step(ctx):
        ctx.message("KKB452W", taxpayers=3)
        raise StepError.of("KKB451E")

    with caplog.at_level(logging.DEBUG, logger="kokuho.step"):
        r = run_step(_spec(step), business_date="2026-06-15")
    assert r.rc == 8 and not r.committed
    levels = {rec.getMessage().split(" ", 1)[0]: rec.levelno for rec in caplog.records if rec.name == "kokuho.step"}
    assert levels["KKB001I"] == logging.INFO
    assert levels["KKB452W"] == logging.WARNING
    assert levels["KKB451E"] == logging.ERROR
    assert levels["KKB081E"] == logging.ERROR  # the end-of-step lines too
    assert levels["KKB009E"] == logging.ERROR
    assert levels["ICE054I"] == logging.INFO
    # the job log's text is the catalogue's, id first, as before
    assert "KKB452W 宛名のない納税者 3件 は通知書を作成しません (エラーリスト)" in r.log_lines
    assert "KKB451E 宛名 (nhi_qualification) がありません。先に FK020 国保資格取込 を実行してください" in r.log_lines
    assert r.log_lines[-1] == "KKB009E ZZ020 メッセージ試験 終了 RC=0008 (異常終了)"


def test_severe_and_abend_messages_log_critical(caplog):
    def step(ctx):
        raise RuntimeError("想定外")

    with caplog.at_level(logging.DEBUG, logger="kokuho.step"), pytest.raises(Exception, match="想定外"):
        run_step(_spec(step), business_date="2026-06-15")
    abend = [rec for rec in caplog.records if rec.getMessage().startswith("KKB999U ")]
    assert [rec.levelno for rec in abend] == [logging.CRITICAL]
    assert abend[0].getMessage() == "KKB999U 異常終了 RuntimeError: 想定外"


def test_message_takes_a_text_or_fields_not_both():
    def step(ctx):
        ctx.message("KKB460I", "過誤納はありません", file="x")

    with pytest.raises(Exception, match="not both"):
        run_step(_spec(step), business_date="2026-06-15")


def test_cli_lists_the_catalogue(capsys):
    assert main(["messages"]) == 0
    out = capsys.readouterr().out
    for msg_id in messages.catalogue():
        assert f"\n{msg_id}  " in f"\n{out}", msg_id
    assert main(["messages", "kkb430i"]) == 0
    one = capsys.readouterr().out.splitlines()
    assert one[0] == "KKB430I  I 情報 (RC 0)"
    assert one[1] == "  文言: {file}: 新規 {new:,}件, 変更 {change:,}件, 停止 {stop:,}件 を登録"
    assert main(["messages", "KKB301E"]) == 0
    out = capsys.readouterr().out
    assert "文言 (installments): 期別 (installments) がありません。" in out and "対処: " in out
    assert main(["messages", "KKB000X"]) == 8
    assert capsys.readouterr().err.startswith("KKB920E メッセージID 'KKB000X'")


# --- helpers ---------------------------------------------------------------------------------------

def _samples(e: messages.Entry) -> dict[str, object]:
    """A value for every field of the entry, of the kind its format spec wants."""
    specs: dict[str, str] = {}
    for t in (e.text, *e.variants.values(), *e.optional.values()):
        for _lit, name, spec, _conv in string.Formatter().parse(t):
            if name is not None and (spec or name not in specs):
                specs[name] = spec or ""
    out: dict[str, object] = {}
    for name, spec in specs.items():
        out[name] = (dt.date(2026, 6, 15) if "%" in spec else 1234 if ("," in spec or spec.endswith("d"))
                     else "x" * 20)
    return out
