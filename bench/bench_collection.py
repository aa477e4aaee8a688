"""Benchmark: 消込 (reconcile.post_payments) of 5M payments against 10M installment levies,
posted to the DuckDB ledger; PostgreSQL at a smaller scale. Goal (issue): ≤ 60 s on 2 cores.

    python bench/bench_collection.py [--installments 10000000] [--payments 5000000]
        [--ref-sample 50000] [--pg/--no-pg] [--pg-url URL] [--pg-installments 1000000]
        [--pg-payments 500000] [--setup-chunk 1000000] [--quick]

The ledger is opened with the city's config (``collection.ledger.duckdb`` / ``.postgresql``);
``KOKUHO_BENCH_DUCKDB='{"memory_limit": "2GB"}'`` overrides the DuckDB settings for a run, and
``KOKUHO_BENCH_SLICE='{"min_records": 0}'`` ``collection.reconcile.slice_commit`` (0: one transaction). Each
child reports its peak RSS per phase (payment generation, each kind of ledger operation, the
Polars work between them, the commit) and its CPU seconds.

Each part runs in a fresh child process (its own peak RSS), against a fresh DuckDB file in a
temp folder:

1. setup: 2.5M households × 4 期別 of 当初 調定 (deterministic seed, components that add up)
   registered with ``levy.register`` in parts of ``--setup-chunk`` 期別 (1M; one transaction
   each, as that many levy files would be) — timed, reported, not the goal; its peak RSS counts.
2. reference (baseline, same run): a per-row Python 消込 — a dict of every installment loaded
   from the ledger, a Python loop that classifies each payment, SQLAlchemy ``executemany``
   INSERT (消込データ, 納付履歴) and UPDATE (期別) per row — on the first ``--ref-sample``
   payments of the file, in a transaction that is rolled back; extrapolated linearly to all
   payments (the dict load counted once). Its statuses are compared with the engine's.
3. post: the normalized payment frame (``reconcile.PAYMENT_SCHEMA``: counter / CVS mix, mostly
   exact payments, some partial, some over, ~0.5% unknown 通知書番号, ~0.1% duplicate records)
   → ``reconcile.post_payments`` + ``reconcile.register_file`` in one transaction (what the
   SN205 step does per file), with the time spent per ledger operation (stage / frame / insert /
   update) and the commit. Checks: counts by status, Σ posted = the increase of Σ 期別 累計収納額
   to the yen, one 納付履歴 row per posted record. Then the same rows again: ``posted_file``
   knows the SHA-256 (the step skips the file) and a repeated ``post_payments`` fails on the
   消込データ primary key and rolls back, leaving the ledger unchanged.
4. PostgreSQL: the same three parts at ``--pg-installments`` / ``--pg-payments`` in a schema of
   its own (created and dropped here; the URL gets ``options=-csearch_path=…``); skipped with a
   message when the server cannot be reached. After the setup and after the reference, a
   ``VACUUM (ANALYZE)`` of the tables they wrote (``sql/bench/vacuum_analyze.sql``; timed and
   reported apart): what the autovacuum does after such writes where it runs. This machine's server
   runs without it (``autovacuum = off``), so the timed 消込 found the reference's rolled-back row
   versions in the 期別 pages, the room its UPDATE uses for in-place (HOT) updates.

The statements are the jobs' own files (sql/, ``Tx.run`` / ``Tx.query``); those of the checks and
of the per-row reference are sql/bench/*.sql (tests/ledger checks them like the jobs').

Prints a markdown table and writes var/bench/collection.json. Timings only: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jobs.common import matching_keys as mk  # noqa: E402  (the 通知書番号 the jobs use)

MUNICIPALITY = "111007"
LEVY_YEAR = 2026
PER_HOUSEHOLD = 4  # 期別 1..4
DUE_DATES = [dt.date(2026, 7, 31), dt.date(2026, 8, 31), dt.date(2026, 9, 30), dt.date(2026, 11, 2)]
SEED = 20260801
UNKNOWN_RATE, DUP_RATE = 0.005, 0.001
EXACT, PARTIAL = 0.95, 0.03  # the rest (2%) pays more than the 期別 amount
COUNTER_SHARE = 0.6  # the rest: CVS 確報
BUSINESS_DATE = dt.date(2026, 8, 3)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return round(r.ru_utime + r.ru_stime, 1)


def bench_config():
    """The city's config as a step reads it (``collection.ledger.duckdb``: memory_limit, threads,
    …), with ``KOKUHO_BENCH_DUCKDB`` (JSON, e.g. '{"memory_limit": "2GB"}') merged over it."""
    from jobs.common import config

    cfg = config.load(MUNICIPALITY)
    extra = os.environ.get("KOKUHO_BENCH_DUCKDB")
    sliced = os.environ.get("KOKUHO_BENCH_SLICE")
    if not extra and not sliced:
        return cfg
    over = {"ledger": {"duckdb": json.loads(extra)}} if extra else {}
    if sliced:
        over["reconcile"] = {"slice_commit": json.loads(sliced)}
    return config.Config(data=config.deep_merge(cfg.data, {"collection": over}),
                         municipality=cfg.municipality, sources=cfg.sources)


class _ServerCpu:
    """CPU seconds (user + system) of the PostgreSQL server process ``pid`` since this object was
    made, read from /proc (None when the server is not on this machine, or on DuckDB: pid None)."""

    def __init__(self, pid):
        self.path = Path(f"/proc/{pid}/stat") if pid else None
        self.start = self._read()

    def _read(self):
        try:
            fields = self.path.read_text().rsplit(")", 1)[1].split()
        except (AttributeError, OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def seconds(self):
        now = self._read()
        return None if now is None or self.start is None else now - self.start


def _cur_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PhaseRss:
    """Peak RSS per phase of a child: a thread samples /proc/self/statm every 10 ms and keeps the
    largest value under the current label (``phase``); ``peaks`` maps label → MB."""

    def __init__(self, label: str = "start"):
        import threading

        self.label, self.peaks = label, {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.01):
            self.sample()

    def sample(self) -> None:
        rss = _cur_rss_mb()
        if rss > self.peaks.get(self.label, 0.0):
            self.peaks[self.label] = rss

    def phase(self, label: str) -> None:
        self.sample()
        self.label = label
        self.sample()

    def stop(self) -> dict:
        self._stop.set()
        self._t.join()
        self.sample()
        return {k: round(v) for k, v in self.peaks.items()}


def _log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _sha(tag: str) -> str:
    return hashlib.sha256(f"bench-collection:{tag}:{SEED}".encode()).hexdigest()


# --- synthetic data -----------------------------------------------------------------------------

def levy_amounts(n_inst: int):
    """Per installment (household-major, 4 per household): levy amount and the components."""
    import numpy as np

    h = n_inst // PER_HOUSEHOLD
    rng = np.random.default_rng(SEED)
    annual = rng.integers(100, 8_000, h).astype(np.int64) * 100  # 10,000 .. 800,000 yen
    care = rng.random(h) < 0.35  # 介護分 (40–64)
    each = (annual // PER_HOUSEHOLD) // 100 * 100
    amt = np.repeat(each, PER_HOUSEHOLD).reshape(h, PER_HOUSEHOLD)
    amt[:, 0] += annual - each * PER_HOUSEHOLD  # 端数 to the first 期
    amt = amt.reshape(-1)
    care_i = np.repeat(care, PER_HOUSEHOLD)
    sup = amt * 20 // 100
    car = np.where(care_i, amt * 12 // 100, 0)
    chi = amt * 3 // 100
    med = amt - sup - car - chi
    return amt, med, sup, car, chi


def levy_frame(n_inst: int, lo: int = 0, hi: int | None = None):
    """The 当初 調定 rows in the shape of ``levy.levy_rows`` output: installments ``lo`` .. ``hi``
    (whole households) of the ``n_inst`` the bench registers."""
    import numpy as np
    import polars as pl

    hi = n_inst if hi is None else hi
    amt, med, sup, car, chi = (a[lo:hi] for a in levy_amounts(n_inst))
    n = len(amt)
    hh = np.repeat(np.arange(lo // PER_HOUSEHOLD + 1, hi // PER_HOUSEHOLD + 1, dtype=np.int64), PER_HOUSEHOLD)
    ino = np.tile(np.arange(1, PER_HOUSEHOLD + 1, dtype=np.int32), n // PER_HOUSEHOLD)
    hid = pl.Series(hh).cast(pl.String).str.zfill(10)
    due = pl.col("ino").replace_strict({i + 1: d for i, d in enumerate(DUE_DATES)}, return_dtype=pl.Date)
    zero = pl.lit(0, dtype=pl.Int64)
    return pl.DataFrame({"hid": hid, "ino": ino, "amt": amt, "med": med, "sup": sup, "car": car,
                         "chi": chi}).select(
        pl.lit(_sha("levy")).alias("source_sha256"), pl.int_range(lo + 1, hi + 1, dtype=pl.Int64).alias("record_no"),
        pl.lit(MUNICIPALITY).alias("municipality_code"), pl.lit(LEVY_YEAR, dtype=pl.Int32).alias("levy_year"),
        pl.lit(LEVY_YEAR, dtype=pl.Int32).alias("target_year"), mk.ordinary_notice_number(pl.col("hid")).alias("notice_number"),
        pl.col("ino").alias("installment_no"), pl.lit("1").alias("collection_method"),
        pl.lit("1").alias("levy_kind"), pl.lit(0, dtype=pl.Int32).alias("correction_seq"),
        pl.lit(dt.date(2026, 7, 1)).alias("levy_date"), due.alias("due_date"),
        ("2" + pl.col("hid").str.slice(1)).alias("person_id"), pl.col("hid").alias("household_id"),
        pl.col("amt").alias("levy_amount"), pl.col("amt").alias("change_amount"),
        pl.col("med").alias("medical_general"), zero.alias("medical_retired"), pl.col("car").alias("care_general"),
        zero.alias("care_retired"), pl.col("sup").alias("support_general"), zero.alias("support_retired"),
        pl.col("chi").alias("child_general"), pl.lit(None, dtype=pl.String).alias("payer_code"),
        pl.lit(None, dtype=pl.String).alias("correction_reason"))


def payment_frame(n_inst: int, n_pay: int):
    """One payment file of ``n_pay`` normalized records, and the expected outcome."""
    import numpy as np
    import polars as pl

    from jobs.collection import reconcile

    amt_all = levy_amounts(n_inst)[0]
    rng = np.random.default_rng(SEED + 1)
    n_dup = int(round(n_pay * DUP_RATE))
    n_unknown = int(round(n_pay * UNKNOWN_RATE))
    n_known = n_pay - n_dup - n_unknown
    if n_known > len(amt_all):
        raise SystemExit(f"more payments ({n_known:,}) than installments ({len(amt_all):,})")
    idx = rng.choice(len(amt_all), n_known, replace=False)
    hh = np.concatenate([idx // PER_HOUSEHOLD + 1, 9_000_000_000 + np.arange(n_unknown)])
    ino = np.concatenate([idx % PER_HOUSEHOLD + 1, rng.integers(1, PER_HOUSEHOLD + 1, n_unknown)]).astype(np.int32)
    levy = amt_all[idx]
    u = rng.random(n_known)
    partial = (levy * rng.uniform(0.3, 0.9, n_known)).astype(np.int64) // 100 * 100
    over = levy + rng.integers(1, 50, n_known) * 100
    amount = np.concatenate([np.where(u < EXACT, levy, np.where(u < EXACT + PARTIAL, partial, over)),
                             rng.integers(50, 2000, n_unknown) * 100]).astype(np.int64)
    n_base = n_known + n_unknown
    counter = rng.random(n_base) < COUNTER_SHARE
    paid = np.datetime64("2026-07-01") + rng.integers(0, 31, n_base)
    seq = np.arange(n_base)
    base = pl.DataFrame({
        "_seq": seq, "_known": seq < n_known, "_counter": counter, "hid": pl.Series(hh).cast(pl.String).str.zfill(10),
        "installment_no": ino, "amount": amount, "paid_date": paid.astype("datetime64[D]"),
        "_bank": rng.integers(1, 200, n_base), "_branch": rng.integers(1, 999, n_base),
        "_agent": rng.choice(np.array(["0010", "0020", "0030", "0050", "0820"]), n_base),
        "_store": rng.integers(0, 9_999_999, n_base), "_time": rng.integers(0, 1440, n_base)})
    # the duplicates: the same records again (the same dedup key), anywhere in the file
    dup = base.gather(rng.choice(n_base, n_dup, replace=False))
    rows = pl.concat([base, dup]).with_columns(pl.Series("_order", rng.permutation(n_pay))).sort("_order")
    del base, dup
    rows = rows.with_columns(pl.int_range(1, n_pay + 1, dtype=pl.Int64).alias("_rec"))
    sha = _sha(f"pay{n_inst}-{n_pay}")
    ch = pl.when(pl.col("_counter"))
    inst2 = pl.col("installment_no").cast(pl.String).str.zfill(2)
    amt_s = pl.col("amount").cast(pl.String)
    barcode = pl.concat_str([pl.lit("91912345"), pl.lit("0026"), pl.col("hid"), inst2, pl.lit("1261102"),
                             pl.lit("0"), amt_s.str.zfill(6), pl.lit("00000")])
    store = pl.col("_store").cast(pl.String).str.zfill(7)
    paid_s = pl.col("paid_date").cast(pl.String)
    hhmm = ((pl.col("_time") // 60) * 100 + pl.col("_time") % 60).cast(pl.String).str.zfill(4)
    bank = pl.col("_bank").cast(pl.String).str.zfill(4)
    branch = pl.col("_branch").cast(pl.String).str.zfill(3)
    columns = [
        ch.then(pl.lit("counter")).otherwise(pl.lit("cvs")).alias("channel"),
        pl.lit(f"bench_payments_{n_pay}.dat").alias("source_file"), pl.lit(sha).alias("source_sha256"),
        pl.col("_rec").alias("record_no"), (pl.col("_rec") * 122).alias("byte_offset"),
        pl.lit(None, dtype=pl.Binary).alias("raw"), pl.lit("confirmed").alias("kind"),
        pl.lit(LEVY_YEAR, dtype=pl.Int32).alias("levy_year"), mk.ordinary_notice_number(pl.col("hid")).alias("notice_number"),
        "installment_no", "amount", "paid_date",
        (pl.col("paid_date") + pl.when(pl.col("_counter")).then(pl.duration(days=2)).otherwise(pl.duration(days=5)))
        .alias("received_date"),
        ch.then(pl.lit("01")).otherwise(pl.lit("02")).alias("payment_kind"),
        ch.then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("_agent")).alias("agent_code"),
        ch.then(pl.lit(None, dtype=pl.String)).otherwise(store).alias("store_code"),
        ch.then(bank).alias("bank_code"), ch.then(branch).alias("branch_code"),
        ch.then(pl.lit(None, dtype=pl.String)).otherwise(barcode).alias("barcode"),
        # the adapters' keys (channels.counter / channels.cvs, channels.SLIP_KEYS): the slip's
        # identity, never its amount
        ch.then(pl.concat_str([pl.lit("counter"), bank, branch, pl.lit(str(LEVY_YEAR)),
                               mk.ordinary_notice_number(pl.col("hid")), pl.col("installment_no").cast(pl.String),
                               paid_s, pl.col("_seq").cast(pl.String).str.zfill(9)], separator=":"))
        .otherwise(pl.concat_str([pl.lit("cvs"), pl.col("_agent"), barcode.str.slice(0, 37), store, paid_s, hhmm],
                                 separator=":")).alias("dedup_key"),
        pl.lit(None, dtype=pl.String).alias("result_code"), pl.lit(None, dtype=pl.String).alias("parse_error"),
        pl.lit(None, dtype=pl.String).alias("error_field"),
    ]
    # the file's frame built a million records at a time: the string columns' intermediates
    # (barcode, keys) of one part, not of the whole file, are in memory
    frame = pl.concat([reconcile.normalize(rows.slice(i, 1_000_000).select(columns))
                       for i in range(0, n_pay, 1_000_000)], rechunk=False)
    expected = {"posted": n_known, "unmatched": n_unknown, "duplicate": n_dup,
                "posted_amount": int(amount[:n_known].sum())}
    return frame, expected


# --- timing of the ledger operations ------------------------------------------------------------

def timed_tx_class():
    from jobs.ledger import Tx

    class TimedTx(Tx):
        """A Tx that adds up the wall time of each ledger operation, by label, and (with ``rss``,
        a ``PhaseRss``) keeps the peak RSS of each kind of operation; between operations the
        label is ``rest`` (Polars in the job)."""

        def __init__(self, conn, dialect, times, rss=None, server=None, server_times=None):
            super().__init__(conn, dialect)
            self.times = times
            self.rss = rss
            # PostgreSQL: the server process's CPU seconds per operation (``_ServerCpu``)
            self.server, self.server_times, self._s0 = server, server_times, None

        def _begin(self, kind):
            if self.rss is not None:
                self.rss.phase(kind)
            if self.server is not None:
                self._s0 = self.server.seconds()
            return time.perf_counter()

        def _add(self, label, t0):
            self.times[label] += time.perf_counter() - t0
            if self.server is not None and self._s0 is not None and self.server_times is not None:
                now = self.server.seconds()
                if now is not None:
                    self.server_times[label] += now - self._s0
            if self.rss is not None:
                self.rss.phase(self.rest)

        rest = "rest"

        def stage(self, name, frame, order=None):
            t = self._begin(f"stage {name}")
            try:
                return super().stage(name, frame, **({"order": order} if order else {}))
            finally:
                self._add(f"stage {name} ({frame.height:,} rows)", t)

        def insert(self, table, frame):
            t = self._begin(f"insert {table}")
            try:
                return super().insert(table, frame)
            finally:
                self._add(f"insert {table} ({frame.height:,} rows)", t)

        def query(self, name, params=None, **variables):
            t = self._begin(f"query {name}")
            out = None
            try:
                out = super().query(name, params, **variables)
                return out
            finally:
                n = f" → {out.height:,} rows" if out is not None else ""
                self._add(f"query {name}{n}", t)

        def run(self, name, params=None, **variables):
            t = self._begin(f"run {name}")
            try:
                return super().run(name, params, **variables)
            finally:
                self._add(f"run {name}", t)

        @contextmanager
        def bulk_load(self, table, rows):
            # PostgreSQL: the drop of the secondary indexes before, their builds after the load
            cm = super().bulk_load(table, rows)
            t = self._begin(f"bulk_load {table}")
            did = cm.__enter__()
            self._add(f"bulk_load {table}: before the load{' (indexes dropped)' if did else ''}", t)
            try:
                yield did
            except BaseException:
                if not cm.__exit__(*sys.exc_info()):
                    raise
                return
            t = self._begin(f"bulk_load {table}")
            cm.__exit__(None, None, None)
            self._add(f"bulk_load {table}: after the load{' (indexes built)' if did else ''}", t)

        def value(self, name, params=None, **variables):
            t = self._begin(f"value {name}")
            try:
                return super().value(name, params, **variables)
            finally:
                self._add(f"value {name}", t)

    return TimedTx


# --- the child processes ------------------------------------------------------------------------

def _run(job: str):
    from jobs.ledger import Run

    return Run(MUNICIPALITY, BUSINESS_DATE, job, f"bench-{job}")


def child_setup(url: str, n_inst: int, chunk: int) -> dict:
    """The 当初 調定 of ``n_inst`` 期別, registered in parts of ``chunk`` 期別 (whole households),
    each part one ``levy.register`` and one transaction, as ``n_inst / chunk`` levy files would be:
    the generated rows of one part, not of all, are in memory."""
    import polars as pl

    from jobs.collection import levy
    from jobs.ledger import Ledger

    rss = PhaseRss("open")
    ledger = Ledger.open(url, cfg=bench_config())
    TimedTx = timed_tx_class()
    times = defaultdict(float)
    chunk = max(PER_HOUSEHOLD, chunk // PER_HOUSEHOLD * PER_HOUSEHOLD)
    figs: dict = defaultdict(int)
    gen_s = total = 0.0
    expect = parts = 0
    for lo in range(0, n_inst, chunk):
        hi = min(n_inst, lo + chunk)
        rss.phase("generate")
        t = time.perf_counter()
        rows = levy_frame(n_inst, lo, hi)
        gen_s += time.perf_counter() - t
        expect += int(rows["levy_amount"].sum())
        t = time.perf_counter()
        rss.phase("rest")
        with ledger.transaction() as tx0:
            tx = TimedTx(tx0.conn, tx0.dialect, times, rss)
            for k, v in levy.register(tx, rows, _run("BSN100")).items():
                figs[k] += v
            tc = time.perf_counter()
            rss.phase("commit")
        done = time.perf_counter()
        times["commit"] += done - tc
        total += done - t
        parts += 1
        del rows
        _log(f"setup: {hi:,} of {n_inst:,} 期別 registered ({total:.1f} s, RSS {_cur_rss_mb():,.0f} MB)")
    rss.phase("check")
    got = ledger.query("bench/installment_totals")
    n, s, c = (int(x) for x in got.row(0))
    ledger.dispose()
    return {"installments": n_inst, "households": n_inst // PER_HOUSEHOLD, "generate_s": gen_s, "parts": parts,
            "register_s": total, "times": dict(times), "figures": dict(figs), "peak_rss_mb": _rss_mb(),
            "phase_rss_mb": rss.stop(), "cpu_s": _cpu_s(),
            "ok": n == n_inst and s == expect and c == expect, "levy_total": s,
            "polars_threads": pl.thread_pool_size()}


def child_reference(url: str, n_inst: int, n_pay: int, sample: int, budget: float, out: str) -> dict:
    """The per-row reference, rolled back: a dict, a loop, executemany per row."""
    import polars as pl
    import sqlalchemy as sa

    from jobs.collection import reconcile
    from jobs.ledger import Ledger

    pay, _ = payment_frame(n_inst, n_pay)
    rows = pay.head(sample).to_dicts()
    del pay
    ledger = Ledger.open(url, cfg=bench_config(), migrate=False)
    run = _run("BREF")
    statuses = []
    with ledger.engine.connect() as conn:
        trans = conn.begin()
        before = conn.execute(sa.text(ledger.statement("bench/paid_total"))).scalar()
        t0 = time.perf_counter()
        inst = {(r[0], r[1], r[2]): (r[3], r[4])
                for r in conn.execute(sa.text(ledger.statement("bench/reference_installments")))}
        seen = {(r[0], r[1]) for r in conn.execute(sa.text(ledger.statement("bench/reference_seen")))}
        load_s = time.perf_counter() - t0
        _log(f"reference: {len(inst):,} installments in a dict in {load_s:.1f} s")
        recon_sql = sa.text(ledger.statement("bench/reference_reconciliation_insert"))
        pay_sql = sa.text(ledger.statement("bench/reference_payment_insert"))
        upd_sql = sa.text(ledger.statement("bench/reference_installment_add"))
        od, ot = dt.date.today(), time.strftime("%H%M%S")
        in_file: set = set()
        done = 0
        posted_sum = 0
        t1 = time.perf_counter()
        batch = 1000
        for start in range(0, len(rows), batch):
            recs, pays = [], []
            for r in rows[start:start + batch]:
                key = (r["dedup_key"], r["kind"])
                found = inst.get((r["levy_year"], r["notice_number"], r["installment_no"]))
                if r["parse_error"] is not None:
                    st, why = "error", r["parse_error"]
                elif r["kind"] not in reconcile.KINDS:
                    st, why = "error", "データ種別が不明です"
                elif key in in_file:
                    st, why = "duplicate", "同一ファイル内に同じ納付のレコードがあります"
                elif key in seen:
                    st, why = "duplicate", "取込済みの納付と重複しています"
                elif r["notice_number"] is None:
                    st, why = "error", "通知書番号・期別を読み取れません"
                elif found is None and r["kind"] != "cancel":
                    st, why = "unmatched", "調定が登録されていません"
                elif r["kind"] == "confirmed":
                    st, why = "posted", ("速報なし確報" if r["channel"] in ("cvs", "credit", "app") else None)
                else:
                    st, why = {"provisional": "provisional", "debit_failed": "debit_failed"}.get(r["kind"], "error"), None
                in_file.add(key)
                statuses.append((r["record_no"], st))
                p = {"sha": r["source_sha256"], "no": r["record_no"], "m": MUNICIPALITY, "b": reconcile.BUSINESS_CODE,
                     "cm": found[1] if found else None, "ly": r["levy_year"], "nn": r["notice_number"],
                     "ino": r["installment_no"], "la": found[0] if found else None, "amt": r["amount"],
                     "pd": r["paid_date"], "rd": r["received_date"], "pk": r["payment_kind"], "ch": r["channel"],
                     "kind": r["kind"], "bank": r["bank_code"], "branch": r["branch_code"], "store": r["store_code"],
                     "agent": r["agent_code"], "barcode": r["barcode"], "rc": r["result_code"], "dk": r["dedup_key"],
                     "st": st, "reason": why, "file": r["source_file"], "off": r["byte_offset"], "bd": BUSINESS_DATE,
                     "job": run.job_id, "gen": run.generation, "od": od, "ot": ot}
                recs.append(p)
                if st == "posted":
                    pays.append(p)
                    posted_sum += r["amount"]
            conn.execute(recon_sql, recs)
            if pays:
                conn.execute(pay_sql, pays)
                conn.execute(upd_sql, pays)
            done = start + len(recs)
            if time.perf_counter() - t1 > budget:
                break
        loop_s = time.perf_counter() - t1
        after = conn.execute(sa.text(ledger.statement("bench/paid_total"))).scalar()
        trans.rollback()
    pl.DataFrame(statuses, schema={"record_no": pl.Int64, "status": pl.String}, orient="row").write_parquet(out)
    ledger.dispose()
    per = loop_s / done
    return {"sample": done, "requested": sample, "load_s": load_s, "loop_s": loop_s, "per_payment_ms": 1000 * per,
            "extrapolated_s": load_s + per * n_pay, "payments": n_pay, "sum_ok": after - before == posted_sum,
            "peak_rss_mb": _rss_mb()}


def child_post(url: str, n_inst: int, n_pay: int, ref_statuses: str | None) -> dict:
    import polars as pl
    import sqlalchemy as sa

    from jobs.collection import reconcile
    from jobs.ledger import Ledger

    rss = PhaseRss("generate")
    t = time.perf_counter()
    pay, expected = payment_frame(n_inst, n_pay)
    gen_s = time.perf_counter() - t
    rss_before = _cur_rss_mb()
    _log(f"payments {pay.height:,} generated in {gen_s:.1f} s (RSS {rss_before:,.0f} MB); posting …")
    rss.phase("open")
    ledger = Ledger.open(url, cfg=bench_config(), migrate=False)
    run = _run("BSN205")
    sha, name = pay["source_sha256"][0], pay["source_file"][0]

    def ledger_state():
        return ledger.query("bench/ledger_state").row(0, named=True)

    before = ledger_state()
    TimedTx = timed_tx_class()
    times = defaultdict(float)
    from jobs.common import access_log

    if os.environ.get("KOKUHO_BENCH_NO_ACCESS_LOG"):  # the baseline without the access log
        access_log.note_frame = lambda table, frame: None
    slicing = reconcile.Slicing.of(bench_config(), ledger.dialect)  # (the config is read before the clock starts)
    t0 = time.perf_counter()
    # as in a step (jobs.runner.run_job): the access log collects whose rows are written, one line at the end
    rss.phase("rest")
    # as the step posts a file (steps.post_channel): reconcile.post_file — one transaction, or on
    # DuckDB a file of collection.reconcile.slice_commit.min_records or more a slice per transaction
    server_times = defaultdict(float)
    state = {"server": None, "tc": None, "commits": 0}

    def wrap(tx0):
        if state["server"] is None:
            state["server"] = _ServerCpu(tx0.value("bench/backend_pid"))
        return TimedTx(tx0.conn, tx0.dialect, times, rss, state["server"], server_times)

    def before_commit(tx, res=None):  # the end of a transaction's work: its commit follows
        state["tc"] = time.perf_counter()
        rss.phase("commit")

    def committed(last_record):
        times["commit"] += time.perf_counter() - state["tc"]
        state["commits"] += 1
        _log(f"slice committed: records up to {last_record:,} (RSS {_cur_rss_mb():,.0f} MB)")
        rss.phase("rest")

    def register(tx):
        reconcile.register_file(tx, sha256=sha, file_name=name, channel="counter", records=pay.height,
                                amount=int(pay["amount"].sum() or 0), run=run)
        before_commit(tx)

    reconcile.after_slice_commit = committed
    try:
        with access_log.collect() as touched:
            res = reconcile.post_file(ledger, pay, run, slicing=slicing, register=register, each=before_commit,
                                      tx_class=wrap)
            t_end = time.perf_counter()
            if state["commits"] == 0:  # one transaction
                times["commit"] += t_end - state["tc"]
                state["commits"] = 1
            rss.phase("checkpoint")
            with ledger.engine.connect() as conn:  # what the WAL still holds (none at the default threshold)
                conn.exec_driver_sql(ledger.statement("bench/checkpoint"))
            times["checkpoint"] = time.perf_counter() - t_end
            t_end = time.perf_counter()
    finally:
        reconcile.after_slice_commit = None
    server = state["server"]
    server_cpu = None if server is None or server.seconds() is None else round(server.seconds(), 1)
    t_post = t_end - times["commit"] - times["checkpoint"]
    rss.phase("access_log_flush")
    access_log.flush(touched, step="BSN205 (bench)")
    times["access_log_flush"] = time.perf_counter() - t_end
    rss.phase("checks")
    t_end = time.perf_counter()
    wall = t_end - t0
    post_s = t_post - t0
    peak = _rss_mb()
    after = ledger_state()
    _log(f"posted in {wall:.1f} s; checking, then the same rows again …")
    counts = dict(res.counts)
    checks = {
        "counts_as_expected": all(counts.get(k, 0) == expected[k] for k in ("posted", "unmatched", "duplicate"))
        and sum(counts.values()) == n_pay,
        "posted_amount_as_expected": res.amounts.get("posted", 0) == expected["posted_amount"],
        "paid_increase_equals_posted": int(after["paid"]) - int(before["paid"]) == res.amounts.get("posted", 0),
        "payment_rows_equal_posted": int(after["pays"]) - int(before["pays"]) == counts.get("posted", 0)
        and int(after["pay_sum"]) - int(before["pay_sum"]) == res.amounts.get("posted", 0),
        "reconciliation_rows_equal_records": int(after["recon"]) - int(before["recon"]) == n_pay,
    }
    # the same file again: the step sees the SHA-256 in posted_file; post_payments alone fails on
    # the 消込データ primary key and rolls back
    with ledger.transaction() as tx:
        known = reconcile.posted_file(tx, sha)
    checks["posted_file_knows_sha"] = known is not None and int(known["records"]) == n_pay
    again = pay.head(min(n_pay, 10_000))
    t = time.perf_counter()
    err = None
    try:
        with ledger.transaction() as tx:
            reconcile.post_payments(tx, again, run)
            reconcile.register_file(tx, sha256=sha, file_name=name, channel="counter", records=again.height,
                                    amount=int(again["amount"].sum()), run=run)
    except (sa.exc.IntegrityError, sa.exc.DBAPIError, Exception) as exc:  # noqa: BLE001
        err = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    again_s = time.perf_counter() - t
    checks["second_post_refused"] = err is not None
    checks["ledger_unchanged_after_refusal"] = ledger_state() == after
    mism = None
    if ref_statuses and Path(ref_statuses).exists():
        ref = pl.read_parquet(ref_statuses)
        got = res.rows.select("record_no", "status").join(ref, on="record_no", suffix="_ref")
        mism = int((got["status"] != got["status_ref"]).sum()) + (ref.height - got.height)
        checks["reference_statuses_equal"] = mism == 0
    ledger.dispose()
    db = sum(v for k, v in times.items() if k not in ("commit", "checkpoint") and "posted_file" not in k)
    return {"payments": n_pay, "installments": n_inst, "generate_s": gen_s, "wall_s": wall, "post_s": post_s,
            "commits": state["commits"], "slice_records": slicing.records if state["commits"] > 1 else None,
            "payments_per_s": n_pay / wall, "times": dict(times), "polars_s": post_s - db,
            "counts": counts, "amounts": res.amounts, "expected": expected, "checks": checks,
            "second_post_error": err, "second_post_s": again_s, "second_post_rows": again.height,
            "peak_rss_mb": peak, "rss_before_post_mb": rss_before, "reference_mismatches": mism,
            "phase_rss_mb": rss.stop(), "cpu_s": _cpu_s(), "server_cpu_s": server_cpu,
            "server_cpu_by_op": {k: round(v, 1) for k, v in server_times.items()},
            "posted_sum": res.amounts.get("posted", 0), "paid_increase": int(after["paid"]) - int(before["paid"])}


# --- the parent ---------------------------------------------------------------------------------

def _child(*args: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_suite(label: str, url: str, n_inst: int, n_pay: int, sample: int, budget: float, tmp: Path,
              setup_chunk: int) -> dict:
    print(f"[{label}] setup: {n_inst:,} installments …", file=sys.stderr, flush=True)
    setup = _child("setup", url, str(n_inst), str(setup_chunk))
    vacuum = {"after_setup_s": vacuum_analyze(url)}
    ref = None
    statuses = tmp / f"ref_{label}.parquet"
    if sample > 0:
        print(f"[{label}] reference: per-row on {sample:,} payments (rolled back) …", file=sys.stderr, flush=True)
        ref = _child("reference", url, str(n_inst), str(n_pay), str(sample), str(budget), str(statuses))
        vacuum["after_reference_s"] = vacuum_analyze(url)
    print(f"[{label}] post: {n_pay:,} payments …", file=sys.stderr, flush=True)
    post = _child("post", url, str(n_inst), str(n_pay), str(statuses) if ref else "")
    if ref is not None:  # the reference checks itself too: Σ 累計収納額 grew by what it posted, to the yen
        post["checks"]["reference_sum"] = bool(ref["sum_ok"])
    return {"label": label, "setup": setup, "reference": ref, "post": post, "vacuum": vacuum}


def vacuum_analyze(url: str) -> float | None:
    """PostgreSQL: ``sql/bench/vacuum_analyze.sql`` outside a transaction, between the parts (what
    the autovacuum does where it runs); returns its seconds (None on DuckDB)."""
    import sqlalchemy as sa

    from jobs.ledger.sql import statement

    if sa.engine.make_url(url).get_backend_name() != "postgresql":
        return None
    eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    t = time.perf_counter()
    try:
        with eng.connect() as conn:
            conn.exec_driver_sql(statement("bench/vacuum_analyze", dialect="postgresql"))
    finally:
        eng.dispose()
    s = time.perf_counter() - t
    print(f"  VACUUM (ANALYZE) {s:.1f} s", file=sys.stderr, flush=True)
    return round(s, 1)


def pg_schema(url: str, create: bool, schema: str) -> str | None:
    import sqlalchemy as sa

    try:
        eng = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with eng.begin() as conn:
            conn.execute(sa.text(f"{'CREATE SCHEMA' if create else 'DROP SCHEMA IF EXISTS'} {schema}"
                                 f"{'' if create else ' CASCADE'}"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - reported as the reason for skipping
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def _fmt_breakdown(times: dict, server: dict | None = None) -> list[str]:
    """Rows of the time per operation (``server``: PostgreSQL's CPU seconds per operation, a column more)."""
    if server:
        return [f"| {k} | {v:.2f} s | {server[k]:.1f} s |" if k in server else f"| {k} | {v:.2f} s | |"
                for k, v in sorted(times.items(), key=lambda kv: -kv[1])]
    return [f"| {k} | {v:.2f} s |" for k, v in sorted(times.items(), key=lambda kv: -kv[1])]


def report(results: list[dict], info: dict, pg_note: str | None) -> str:
    out = ["## 消込 benchmark — reconcile.post_payments into the ledger", "",
           f"Machine: {platform.machine()}, {info['cpus']} cores, Python {info['python']}, Polars {info['polars']} "
           f"({info['threads']} threads), DuckDB {info['duckdb']}" + (f", {info['pg']}" if info.get("pg") else ""), "",
           "| ledger | step | wall time | rate | peak RSS | note |", "|---|---|---:|---:|---:|---|"]
    for r in results:
        s, p, ref, lab = r["setup"], r["post"], r["reference"], r["label"]
        out.append(f"| {lab} | setup: levy.register {s['installments']:,} 期別 ({s['households']:,} households) | "
                   f"{s['register_s']:.1f} s | {s['installments'] / s['register_s']:,.0f} 期別/s | "
                   f"{s['peak_rss_mb']:,.0f} MB | not the goal; sums {'ok' if s['ok'] else 'WRONG'} |")
        goal = " goal ≤ 60 s for 5M" if lab == "DuckDB" else ""
        ext = "" if p["payments"] == 5_000_000 else f"; ≈ {5_000_000 / p['payments_per_s']:.0f} s for 5M (linear)"
        how = ("one transaction" if p.get("commits", 1) <= 1
               else f"{p['commits']} transactions of {p['slice_records']:,} (post_file)")
        out.append(f"| {lab} | **消込: post_payments + register_file, {p['payments']:,} payments, {how} "
                   f"(commits included)** | **{p['wall_s']:.1f} s** | **{p['payments_per_s']:,.0f} /s** | "
                   f"**{p['peak_rss_mb']:,.0f} MB** |{goal}{ext} |")
        if ref:
            x = ref["extrapolated_s"] / p["wall_s"] * p["payments"] / ref["payments"]
            out.append(f"| {lab} | reference: per-row Python + executemany, {ref['sample']:,} payments (sample) | "
                       f"{ref['loop_s']:.1f} s (+ dict load {ref['load_s']:.1f} s) | "
                       f"{1000 / ref['per_payment_ms']:,.0f} /s | {ref['peak_rss_mb']:,.0f} MB | "
                       f"{ref['per_payment_ms']:.3f} ms per payment |")
            out.append(f"| {lab} | reference: all {ref['payments']:,} payments (**extrapolated**) | "
                       f"{ref['extrapolated_s']:,.0f} s | | | post_payments is **{x:,.0f}×** faster |")
        for when, secs in (r.get("vacuum") or {}).items():
            if secs is not None:
                out.append(f"| {lab} | VACUUM (ANALYZE) {when.removesuffix('_s').replace('_', ' ')} "
                           f"(sql/bench/vacuum_analyze.sql; not timed as the 消込) | {secs:.1f} s | | | |")
        out.append(f"| {lab} | the same rows again (refused: PK of 消込データ, rolled back) | "
                   f"{p['second_post_s']:.2f} s | | | {p['second_post_rows']:,} rows; {p['second_post_error'] or 'NOT refused'} |")
    if pg_note:
        out.append(f"| PostgreSQL | skipped | | | | {pg_note} |")
    for r in results:
        p = r["post"]
        c = p["counts"]
        out += ["", f"### {r['label']}: outcome and checks ({p['payments']:,} payments, {p['installments']:,} 期別)", "",
                "status counts: " + ", ".join(f"{k} {v:,} ({p['amounts'].get(k, 0):,} 円)" for k, v in sorted(c.items())),
                f"Σ posted {p['posted_sum']:,} 円 = increase of Σ installment.paid_amount {p['paid_increase']:,} 円: "
                f"{'yes' if p['posted_sum'] == p['paid_increase'] else 'NO'}", "",
                "checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in p["checks"].items()), "",
                f"### {r['label']}: where the 消込 time goes (wall {p['wall_s']:.1f} s; payment generation "
                f"{p['generate_s']:.1f} s not included)", "",
                *(["| part | time | server CPU |", "|---|---:|---:|"] if p.get("server_cpu_by_op")
                  else ["| part | time |", "|---|---:|"]),
                *_fmt_breakdown(p["times"], p.get("server_cpu_by_op")),
                f"| Polars in post_payments (the rest: normalize, sort, marks, joins, frames) | {p['polars_s']:.2f} s |",
                "", f"### {r['label']}: peak RSS per phase (MB; payment generation, each kind of ledger "
                f"operation, rest = Polars in the job; CPU {p.get('cpu_s', 0):.0f} s"
                + (f", PostgreSQL server process CPU {p['server_cpu_s']:.0f} s" if p.get("server_cpu_s") else "")
                + f", setup CPU {r['setup'].get('cpu_s', 0):.0f} s)", "",
                "post: " + ", ".join(f"{k} {v:,}" for k, v in sorted(p.get("phase_rss_mb", {}).items(),
                                                                       key=lambda kv: -kv[1])),
                "", "setup: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["setup"].get("phase_rss_mb", {}).items(),
                                                                        key=lambda kv: -kv[1])),
                "", f"### {r['label']}: setup breakdown (levy.register, {r['setup']['register_s']:.1f} s)", "",
                "| part | time |", "|---|---:|", *_fmt_breakdown(r["setup"]["times"])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from jobs.common.paths import private_umask

    private_umask()  # var/bench (synthetic persons, results) is for the owner only, as all of var/
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--installments", type=int, default=10_000_000)
    p.add_argument("--payments", type=int, default=5_000_000)
    p.add_argument("--ref-sample", type=int, default=50_000, help="payments the per-row reference posts")
    p.add_argument("--ref-budget", type=float, default=120.0,
                   help="stop the reference loop after this many seconds (extrapolated from what it did)")
    p.add_argument("--pg", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--pg-installments", type=int, default=1_000_000)
    p.add_argument("--pg-payments", type=int, default=500_000)
    p.add_argument("--pg-ref-sample", type=int, default=20_000)
    p.add_argument("--setup-chunk", type=int, default=1_000_000,
                   help="the setup registers the 期別 in parts of this many (one transaction each)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.child:
        kind, url, *rest = a.child
        if kind == "setup":
            # the part size is optional (bench/bench_closing.py builds its ledger with the default)
            out = child_setup(url, int(rest[0]), int(rest[1]) if len(rest) > 1 else 1_000_000)
        elif kind == "reference":
            out = child_reference(url, int(rest[0]), int(rest[1]), int(rest[2]), float(rest[3]), rest[4])
        else:
            out = child_post(url, int(rest[0]), int(rest[1]), rest[2] or None)
        print(json.dumps(out, default=str))
        return 0

    if a.quick:
        a.installments, a.payments, a.ref_sample = 40_000, 20_000, 2_000
        a.pg_installments, a.pg_payments, a.pg_ref_sample = 40_000, 20_000, 2_000
    import duckdb
    import polars as pl

    info = {"python": platform.python_version(), "cpus": os.cpu_count(), "polars": pl.__version__,
            "threads": pl.thread_pool_size(), "duckdb": duckdb.__version__}
    results = []
    pg_note = None
    with tempfile.TemporaryDirectory(prefix="bench-collection-") as tmp:
        tmp = Path(tmp)
        url = f"duckdb:///{tmp / 'ledger.duckdb'}"
        results.append(run_suite("DuckDB", url, a.installments, a.payments, a.ref_sample, a.ref_budget, tmp,
                                 a.setup_chunk))
        results[-1]["ledger_file_mb"] = (tmp / "ledger.duckdb").stat().st_size / 2**20
        if a.pg:
            schema = f"bench_collection_{os.getpid()}_{int(time.time())}"
            err = pg_schema(a.pg_url, True, schema)
            if err:
                pg_note = f"PostgreSQL not reachable at {a.pg_url}: {err}"
                print(pg_note, file=sys.stderr)
            else:
                try:
                    import sqlalchemy as sa

                    eng = sa.create_engine(a.pg_url)
                    with eng.connect() as conn:
                        info["pg"] = "PostgreSQL " + conn.execute(sa.text("SHOW server_version")).scalar()
                    eng.dispose()
                    sep = "&" if "?" in a.pg_url else "?"
                    pg_url = f"{a.pg_url}{sep}options=-csearch_path%3D{schema}"
                    results.append(run_suite("PostgreSQL", pg_url, a.pg_installments, a.pg_payments,
                                             a.pg_ref_sample, a.ref_budget, tmp, a.setup_chunk))
                finally:
                    pg_schema(a.pg_url, False, schema)
    text = report(results, info, pg_note)
    print(text)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "collection.json").write_text(json.dumps({"info": info, "results": results, "pg_note": pg_note},
                                                    indent=2, default=str), encoding="utf-8")
    ok = all(all(r["post"]["checks"].values()) and r["setup"]["ok"] for r in results)
    from bench import _report  # the machine-readable result bench/summary.py reads

    res = []
    for r in results:
        p, ref, lab = r["post"], r["reference"], r["label"]
        goal = ("≤ 60 s, ≤ 4 GB at 5M" if lab == "DuckDB" else "≤ 180 s at 5M")
        met = None
        if p["payments"] >= 5_000_000:
            met = (p["wall_s"] <= 60 and max(p["peak_rss_mb"], r["setup"]["peak_rss_mb"]) <= 4096
                   if lab == "DuckDB" else p["wall_s"] <= 180)
        res.append(_report.result(
            f"{lab}, {p['payments']:,} payments / {p['installments']:,} 期別", "消込 (reconcile.post_file, commits included)",
            round(p["wall_s"], 1), "s", peer="per-row Python reference (extrapolated)" if ref else None,
            peer_value=round(ref["extrapolated_s"], 1) if ref else None,
            ratio=round(ref["extrapolated_s"] / p["wall_s"] * p["payments"] / ref["payments"]) if ref else None,
            ratio_means="× faster" if ref else None, peak_rss_mb=round(max(p["peak_rss_mb"], r["setup"]["peak_rss_mb"])),
            goal=goal, met=met,
            note=("checks ok" if all(p["checks"].values()) and r["setup"]["ok"] else "CHECKS FAILED")
            + f"; setup peak RSS {r['setup']['peak_rss_mb']:,.0f} MB; CPU {p.get('cpu_s', 0):.0f} s"
            + (f" + server {p['server_cpu_s']:.0f} s" if p.get("server_cpu_s") else "")))
    if pg_note:
        res.append(_report.result("PostgreSQL", "skipped", None, "", note=pg_note))
    _report.emit("collection", res, argv=argv)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
