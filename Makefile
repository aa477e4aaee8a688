# kokuho-batch: set-up, demo, tests. `make help` lists the targets.
#
# Everything runs from the checkout's virtual environment (.venv) and with AIRFLOW_HOME = the
# checkout, so the committed airflow.cfg is the configuration and all runtime files go to var/.
# Targets are idempotent: stamp files record what is done (.venv/.kokuho-installed,
# var/airflow/.migrated), so a second `make test` neither reinstalls nor migrates again.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# Every recipe's shell (and everything it starts: Airflow, its logs, the demo) runs with umask 077:
# bash reads $BASH_ENV first (umask.sh).
export BASH_ENV := $(CURDIR)/umask.sh
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints/py3.11.txt
PIP_VERSION := 26.3
INSTALLED := $(VENV)/.kokuho-installed
MIGRATED := var/airflow/.migrated
POOLS := var/airflow/.pools
USERS := var/airflow/.users
PASSWORDS := var/airflow/simple_auth_manager_passwords.json.generated

# Airflow: the checkout is AIRFLOW_HOME (airflow.cfg expands ${AIRFLOW_HOME} itself), and the
# venv's bin must be on PATH because `airflow standalone` starts its children as plain `airflow`.
export AIRFLOW_HOME := $(CURDIR)
export PATH := $(BIN):$(PATH)
# The job runtime's var/ (jobs.common.paths): the checkout's var/ unless the caller moved it.
export KOKUHO_VAR ?= $(CURDIR)/var
# The fs connection the file-arrival sensors watch (an env var, so nothing is stored in the DB).
export AIRFLOW_CONN_KOKUHO_INBOX ?= {"conn_type": "fs", "extra": {"path": "$(KOKUHO_VAR)/inbox"}}

# --- the distributed mode (`make up-celery`): CeleryExecutor, Redis broker, PostgreSQL metadata DB ---
# UP_MODE=celery (what `make up-celery` passes on) switches every Airflow command of this Makefile
# (db migrate, pools, up, celery-worker) to the settings below. Each is overridable, e.g.
# `make up-celery PORT=8180 CELERY_DB=kokuho_airflow2 CELERY_REDIS_DB=7`. The broker's Redis db number
# (/5) and the metadata database (kokuho_airflow, never `test`) are this mode's own. The ledger moves
# to PostgreSQL too (KOKUHO_LEDGER_URL, database kokuho_ledger): a worker on another host cannot
# open the DuckDB file of this one.
UP_MODE ?= local
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_USER ?= postgres
CELERY_DB ?= kokuho_airflow
CELERY_LEDGER_DB ?= kokuho_ledger
CELERY_REDIS_DB ?= 5
CELERY_BROKER ?= redis://127.0.0.1:6379/$(CELERY_REDIS_DB)
CELERY_QUEUE ?= kokuho
CELERY_CONCURRENCY ?= 2
CELERY_SQL_CONN := postgresql+psycopg2://$(PG_USER)@$(PG_HOST):$(PG_PORT)/$(CELERY_DB)
ifeq ($(UP_MODE),celery)
MIGRATED := var/airflow/.migrated-celery-$(CELERY_DB)
POOLS := var/airflow/.pools-celery-$(CELERY_DB)
export AIRFLOW__CORE__EXECUTOR := CeleryExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := $(CELERY_SQL_CONN)
export AIRFLOW__CELERY__BROKER_URL := $(CELERY_BROKER)
export AIRFLOW__CELERY__RESULT_BACKEND := db+postgresql://$(PG_USER)@$(PG_HOST):$(PG_PORT)/$(CELERY_DB)
export AIRFLOW__CELERY__WORKER_CONCURRENCY := $(CELERY_CONCURRENCY)
export AIRFLOW__OPERATORS__DEFAULT_QUEUE := $(CELERY_QUEUE)
# one DAG run per 団体コード at once: as many active runs of a job net as there are municipalities
export KOKUHO_MAX_ACTIVE_RUNS ?= $(words $(wildcard config/municipalities/*/municipality.yaml))
export KOKUHO_LEDGER_URL ?= postgresql+psycopg://$(PG_USER)@$(PG_HOST):$(PG_PORT)/$(CELERY_LEDGER_DB)
UP_WORKERS := airflow celery worker --queues $(CELERY_QUEUE) --concurrency $(CELERY_CONCURRENCY) &
else ifneq ($(UP_MODE),local)
$(error UP_MODE is local or celery, not $(UP_MODE))
else
UP_WORKERS :=
endif

# --- the demo: a synthetic city through the intake, the 当初賦課 and the 収納 job nets ------------------
DEMO_INSURED ?= 20000
DEMO_SEED ?= 20260601
DEMO_DATE ?= 2026-06-01
# The 当初賦課 business date: empty = the first KB300 run day after DEMO_DATE in the city's
# 業務日程 (`kokuho rundays KB300`, config/municipalities/<code>/fy<YYYY>/run_calendar.yaml).
DEMO_ASSESS_DATE ?=
# 収納: KB400 runs on the first business day at least DEMO_PAY_DAYS days after the first 納期限 (普通徴収),
# with the counter and CVS files `kokuho synth-payments` makes for that day; KB410 on that 納期限's
# request day; KB210 on the 納期限 itself (= the 振替日), with a result file per bank.
DEMO_PAY_DAYS ?= 7
DEMO_VAR := $(CURDIR)/var/demo
DEMO_CONF = {"business_date": "$(DEMO_DATE)"}
DEMO_ENV = KOKUHO_VAR=$(DEMO_VAR) AIRFLOW_CONN_KOKUHO_INBOX='{"conn_type": "fs", "extra": {"path": "$(DEMO_VAR)/inbox"}}'

# The demo's 収納 dates: "<first 普通徴収 納期限> <its 口座振替 request day> <KB400 business date>" from
# the 調定 file(s) and the city's calendar (argv: DEMO_PAY_DAYS, then the 調定 files).
define DEMO_DATES_PY
import sys, datetime as dt
from jobs.collection import direct_debit as dd
from jobs.common import config
from jobs.common.bizcal import BusinessCalendar
from jobs.synth import payments as sp
levy = sp.load_levy(sys.argv[2:])
due = levy.filter(levy["collection_method"] == "1")["due_date"].min()
cfg = config.load(None, due.year if due.month >= 4 else due.year - 1)
cal = BusinessCalendar.from_config(cfg)
pay = due + dt.timedelta(days=int(sys.argv[1]))
while not cal.is_business_day(pay):
    pay += dt.timedelta(days=1)
from jobs.arrears import dunning
from jobs.common import runcalendar
dun = max(dunning.dunning_day(due, dunning.DunningRules.from_config(cfg), cal), pay)
close = runcalendar.run_days("month_close", due + dt.timedelta(days=1), due + dt.timedelta(days=62))[0]
print(due, dd.request_day(cal, cfg, due), pay, dun, close)
endef
export DEMO_DATES_PY

define CREATE_DB_PY
import sys, psycopg
host, port, user, name = sys.argv[1:]
with psycopg.connect(host=host, port=int(port), user=user, dbname="postgres", autocommit=True) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"==> created PostgreSQL database {name} on {host}:{port}")
endef
export CREATE_DB_PY

# --- make up --------------------------------------------------------------------------------------
UP_PID := var/airflow/up.pid
UP_LOG := var/airflow/up.log

.PHONY: help install airflow-init demo demo-year test browser-deps test-fast bench bench-full up up-celery celery-worker down status listings lint constraints clean distclean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-14s %s\n", $$1, $$2}'

install: $(INSTALLED) ## create .venv and install the project with the frozen constraints

$(INSTALLED): pyproject.toml $(CONSTRAINTS) jobs/common/fixedwidth/_kbscan.c
	@test -x $(BIN)/python || { echo "==> creating .venv with $(PYTHON)"; \
	  command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }; \
	  $(PYTHON) -m venv $(VENV); }
	@echo "==> installing kokuho-batch[test] with $(CONSTRAINTS)"
	$(BIN)/python -m pip install -q --disable-pip-version-check 'pip==$(PIP_VERSION)'
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]' -c $(CONSTRAINTS)
	$(BIN)/python -m pip check
	@echo "==> building the fixed-width scan (jobs/common/fixedwidth/_kbscan.c, cc)"
	$(BIN)/python -m jobs.common.fixedwidth.native
	@touch $@

airflow-init: $(MIGRATED) $(POOLS) $(USERS) ## create/upgrade the Airflow metadata DB under var/airflow/, its pools and the UI users

$(MIGRATED): $(INSTALLED)
	@mkdir -p var/airflow
	@# The scheduler and the API server must share the JWT secret (airflow.cfg jwt_secret_cmd).
	@test -s var/airflow/jwt_secret || (umask 077 && $(BIN)/python -c \
	  'import secrets; print(secrets.token_urlsafe(32), end="")' > var/airflow/jwt_secret)
	@echo "==> airflow db migrate ($$(airflow config get-value database sql_alchemy_conn 2>/dev/null))"
	airflow db migrate > var/airflow/db-migrate.log 2>&1 || { cat var/airflow/db-migrate.log; exit 1; }
	@touch $@

# The pool of the steps that write the 収納台帳 (dags/_kokuho/defaults.py LEDGER_POOL): one slot, as
# the DuckDB ledger takes one writer at a time. The scheduler never starts a task of a missing pool.
$(POOLS): $(MIGRATED)
	@echo "==> airflow pools set kokuho_ledger 1"
	airflow pools set kokuho_ledger 1 "収納台帳 (DuckDB: 書き込みは1プロセスずつ)" > var/airflow/pools.log 2>&1 \
	  || { cat var/airflow/pools.log; exit 1; }
	@touch $@

# The UI users of config/common/users.yaml (jobs/airflow_auth.py): their passwords, generated (or
# KOKUHO_AIRFLOW_PASSWORD_<LOGIN>), into $(PASSWORDS), mode 0600; redone when users.yaml changes.
$(USERS): config/common/users.yaml $(INSTALLED)
	@mkdir -p var/airflow
	@echo "==> Airflow users from config/common/users.yaml (passwords: $(PASSWORDS), 0600)"
	python -m jobs.airflow_auth passwords $(PASSWORDS)
	@touch $@

demo: $(MIGRATED) $(POOLS) $(USERS) ## synthesize a city (DEMO_INSURED), run the intake, 当初賦課 and 収納 job nets through Airflow
	@echo "==> synthetic city: $(DEMO_INSURED) insured, seed $(DEMO_SEED), into var/demo/inbox (var/demo is wiped first)"
	rm -rf $(DEMO_VAR) && mkdir -p -m 700 $(DEMO_VAR)
	@echo "==> the keys (outside var/: KOKUHO_SECRETS_DIR or ~/.config/kokuho; kept when they exist)"
	kokuho keys init
	KOKUHO_VAR=$(DEMO_VAR) kokuho synth --insured $(DEMO_INSURED) --seed $(DEMO_SEED) --out $(DEMO_VAR)/inbox
	@echo "==> the kokuho_intake DAG through Airflow (log: var/airflow/demo-dags-test.log)"
	$(DEMO_ENV) airflow dags test kokuho_intake $(DEMO_DATE) -c '$(DEMO_CONF)' > var/airflow/demo-dags-test.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-dags-test.log; echo "airflow dags test failed: var/airflow/demo-dags-test.log" >&2; exit 1; }
	PYTHONPATH=dags python -m _kokuho.totals kokuho_intake --manifest $(DEMO_VAR)/inbox/synth_manifest.json
	@assess='$(DEMO_ASSESS_DATE)'; \
	if [ -z "$$assess" ]; then assess=$$(kokuho rundays KB300 --from $(DEMO_DATE) | awk 'NR == 1 {print $$1}'); fi; \
	if [ -z "$$assess" ]; then echo "no 当初賦課 run day after $(DEMO_DATE) (kokuho rundays KB300; set DEMO_ASSESS_DATE)" >&2; exit 1; fi; \
	echo "==> the kokuho_initial_assessment DAG through Airflow, 業務日 $$assess (log: var/airflow/demo-assessment.log)"; \
	$(DEMO_ENV) airflow dags test kokuho_initial_assessment $$assess -c "{\"business_date\": \"$$assess\"}" \
	  > var/airflow/demo-assessment.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-assessment.log; echo "airflow dags test failed: var/airflow/demo-assessment.log" >&2; exit 1; }
	PYTHONPATH=dags python -m _kokuho.totals kokuho_initial_assessment
	@echo "==> the notices (var/demo = the demo's var/):"
	@ls -l $(DEMO_VAR)/outbox/print
	@for d in $(DEMO_VAR)/reports/notices/*/; do \
	  echo "$$d: $$(ls "$$d" | grep -c '\.pdf$$') PDF files, $$(du -sh "$$d" | cut -f1), index $$(ls "$$d" | grep '_index\.csv$$')"; done
	@# 収納: the dates from the 調定 file and the city's calendar: first 納期限, its request day, the KB400 day
	@set -- $$(KOKUHO_VAR=$(DEMO_VAR) python -c "$$DEMO_DATES_PY" $(DEMO_PAY_DAYS) $(DEMO_VAR)/outbox/ledger/*.dat); \
	due=$$1; request=$$2; pay=$$3; dun=$$4; close=$$5; \
	echo "==> 収納: 第1期 納期限 $$due, 口座振替請求日 $$request, 収納消込の業務日 $$pay"; \
	echo "==> kokuho synth-payments: the counter and CVS files up to $$pay into var/demo/inbox/counter, cvs"; \
	KOKUHO_VAR=$(DEMO_VAR) kokuho synth-payments --levy $(DEMO_VAR)/outbox/ledger/*.dat --date $$pay \
	  --seed $(DEMO_SEED) --channels counter,cvs --out $(DEMO_VAR)/inbox; \
	echo "==> the kokuho_collection DAG (KB400) through Airflow, 業務日 $$pay (log: var/airflow/demo-collection.log)"; \
	$(DEMO_ENV) airflow dags test kokuho_collection $$pay -c "{\"business_date\": \"$$pay\"}" \
	  > var/airflow/demo-collection.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-collection.log; echo "airflow dags test failed: var/airflow/demo-collection.log" >&2; exit 1; }; \
	PYTHONPATH=dags python -m _kokuho.totals kokuho_collection; \
	echo; echo "==> 収納日計表 $$pay ($$(ls $(DEMO_VAR)/reports/collection/*/shuno_nikkei_*.csv)):"; \
	sed 's/^\xEF\xBB\xBF//; s/\r$$//' $(DEMO_VAR)/reports/collection/*/shuno_nikkei_$${pay//-/}.csv | column -t -s,; \
	echo "==> SN100 調定登録 of $$request (KB410-WAIT waits for that day's SN100; the demo's KB400 ran on $$pay)"; \
	KOKUHO_VAR=$(DEMO_VAR) kokuho run SN100 --date $$request > var/airflow/demo-sn100-request-day.log 2>&1 \
	  || { tail -n 40 var/airflow/demo-sn100-request-day.log; echo "kokuho run SN100 failed" >&2; exit 1; }; \
	echo "==> the kokuho_direct_debit DAG (KB410) through Airflow, 業務日 $$request (log: var/airflow/demo-direct-debit.log)"; \
	$(DEMO_ENV) airflow dags test kokuho_direct_debit $$request -c "{\"business_date\": \"$$request\"}" \
	  > var/airflow/demo-direct-debit.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-direct-debit.log; echo "airflow dags test failed: var/airflow/demo-direct-debit.log" >&2; exit 1; }; \
	PYTHONPATH=dags python -m _kokuho.totals kokuho_direct_debit; \
	echo "==> the banks' result files (kokuho synth-payments --channels debit) into var/demo/inbox/bank"; \
	KOKUHO_VAR=$(DEMO_VAR) kokuho synth-payments --levy $(DEMO_VAR)/outbox/ledger/*.dat --date $$due \
	  --seed $(DEMO_SEED) --channels debit --out $(DEMO_VAR)/inbox \
	  --debit-request $(DEMO_VAR)/outbox/bank/*/KOUFURI_*_$${due//-/}.dat; \
	echo "==> the kokuho_bank_result DAG (KB210) through Airflow, 業務日 $$due (log: var/airflow/demo-bank-result.log)"; \
	$(DEMO_ENV) airflow dags test kokuho_bank_result $$due -c "{\"business_date\": \"$$due\"}" \
	  > var/airflow/demo-bank-result.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-bank-result.log; echo "airflow dags test failed: var/airflow/demo-bank-result.log" >&2; exit 1; }; \
	PYTHONPATH=dags python -m _kokuho.totals kokuho_bank_result; \
	echo "==> 月次締め: the kokuho_month_close DAG (KB700) through Airflow, 業務日 $$close (log: var/airflow/demo-month-close.log)"; \
	$(DEMO_ENV) airflow dags test kokuho_month_close $$close -c "{\"business_date\": \"$$close\"}" \
	  > var/airflow/demo-month-close.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-month-close.log; echo "airflow dags test failed: var/airflow/demo-month-close.log" >&2; exit 1; }; \
	PYTHONPATH=dags python -m _kokuho.totals kokuho_month_close; \
	echo "==> money conservation (Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済, to the yen; RC 8 when it does not hold):"; \
	grep -o 'KKB661I.*' var/airflow/demo-month-close.log | sort -u; \
	echo "==> 決算帳票: $$(ls $(DEMO_VAR)/reports/closing/*/)"; \
	echo "==> SN400 収納日計 of $$dun (KB600-WAIT waits for that day's KB400; the demo's KB400 ran on $$pay)"; \
	KOKUHO_VAR=$(DEMO_VAR) kokuho run SN400 --date $$dun > var/airflow/demo-sn400-dunning-day.log 2>&1 \
	  || { tail -n 40 var/airflow/demo-sn400-dunning-day.log; echo "kokuho run SN400 failed" >&2; exit 1; }; \
	echo "==> 督促: the kokuho_dunning DAG (KB600) through Airflow, 業務日 $$dun (log: var/airflow/demo-dunning.log)"; \
	$(DEMO_ENV) airflow dags test kokuho_dunning $$dun -c "{\"business_date\": \"$$dun\"}" \
	  > var/airflow/demo-dunning.log 2>&1 \
	  || { tail -n 80 var/airflow/demo-dunning.log; echo "airflow dags test failed: var/airflow/demo-dunning.log" >&2; exit 1; }; \
	PYTHONPATH=dags python -m _kokuho.totals kokuho_dunning; \
	echo "==> 督促状: $$(ls $(DEMO_VAR)/outbox/print/ | grep dunning | grep -v sha256) and $$(ls $(DEMO_VAR)/reports/dunning/*/ | grep -c '\.pdf$$') PDF files"
	@echo "==> 収納 outputs (var/demo = the demo's var/):"
	@ls $(DEMO_VAR)/outbox/bank/*/ $(DEMO_VAR)/reports/collection/*/
	@ls -l $(DEMO_VAR)/ledger/
	@echo "==> trust: every hand-off has its .sha256, nothing under var/demo is readable by group or others"
	@for f in $$(find $(DEMO_VAR)/outbox -type f -name '*.sha256'); do (cd "$$(dirname "$$f")" && sha256sum --quiet -c "$$(basename "$$f")"); done
	@n=$$(find $(DEMO_VAR)/outbox -type f ! -name '*.sha256' ! -name '.*' | wc -l); m=$$(find $(DEMO_VAR)/outbox -type f -name '*.sha256' | wc -l); \
	  echo "$$n hand-off files, $$m checksums"; [ "$$n" = "$$m" ] || { echo "hand-off files without a .sha256" >&2; exit 1; }
	@loose=$$(find $(DEMO_VAR) -mindepth 1 -perm /077 | head -20); \
	  if [ -n "$$loose" ]; then echo "group/world-accessible under var/demo:" >&2; echo "$$loose" >&2; exit 1; fi; \
	  echo "var/demo: every file 0600 and folder 0700"
	@echo "==> who did what (kokuho audit --summary: the access log per 職員 and job, the ledger's rows per 操作者ID;"
	@echo "    it fails when a ledger row carries no 操作者ID or 処理事由)"
	@KOKUHO_VAR=$(DEMO_VAR) kokuho audit --summary

# --- make demo-year: a whole fiscal year through a REAL Airflow (jobs/demo_year) -------------------
# Its own Airflow (scheduler, dag-processor, triggerer, api-server on free ports, its own metadata DB)
# and var/ under DEMO_YEAR_OUT/run, removed at the end (kept with DEMO_YEAR_ARGS=--keep, and the logs
# under DEMO_YEAR_OUT/logs when the year fails); the report is DEMO_YEAR_OUT/year_report.md and .json.
# DEMO_YEAR_ARGS=--no-closing-period stops at March 31st; --until YYYY-MM-DD earlier; --time-budget SECONDS
# starts no new day after that long (the report covers the days walked); --plan prints the plan only.
DEMO_YEAR_INSURED ?= 2000
DEMO_YEAR_SEED ?= 20260601
DEMO_YEAR_OUT ?= $(CURDIR)/var/demo-year
DEMO_YEAR_ARGS ?=
# the fiscal year; empty: the latest one whose statutory figures (tax config, 延滞金 rates to its 出納閉鎖)
# config has (printed at the start)
DEMO_YEAR_FY ?=

demo-year: $(INSTALLED) ## a whole fiscal year (6月取込 → 3月, 出納閉鎖 5/31) of a synthetic city (DEMO_YEAR_INSURED) through a real Airflow, conservation to the yen
	python -m jobs.demo_year --insured $(DEMO_YEAR_INSURED) --seed $(DEMO_YEAR_SEED) --out $(DEMO_YEAR_OUT) $(if $(DEMO_YEAR_FY),--fiscal-year $(DEMO_YEAR_FY)) $(DEMO_YEAR_ARGS)

test: $(INSTALLED) browser-deps ## run every test (pytest); PYTEST_ARGS=... adds arguments
	python -m pytest $(PYTEST_ARGS)

# The browser check (tests/browser) drives Debian's Chromium (Playwright cannot download a browser
# here) and needs a CJK font. Installed from Debian's packages when missing and we may (root);
# otherwise the browser tests say why they skip (.ci/run installs them and fails if it cannot).
browser-deps: ## install Debian's chromium and fonts-noto-cjk for the browser check (when missing; root)
	@missing=(); command -v chromium >/dev/null 2>&1 || missing+=(chromium); \
	dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" || missing+=(fonts-noto-cjk); \
	if (( $${#missing[@]} )); then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> apt-get install $${missing[*]} (the browser check)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$${missing[@]}"; } >/dev/null 2>&1 \
	      || echo "could not install $${missing[*]}: the browser tests will be skipped" >&2; \
	  else echo "$${missing[*]} missing (not root): the browser tests will be skipped" >&2; fi; fi

test-fast: $(INSTALLED) ## the tests without the end-to-end Airflow runs and the browser check
	python -m pytest -m 'not e2e and not browser' $(PYTEST_ARGS)

# `make bench`: every bench/bench_*.py at the quick sizes below (< 15 min on 2 cores), then
# bench/summary.py writes var/bench/summary.md and the README section between the bench markers.
# `make bench-full`: the same at each script's own (full, issue-sized) defaults. A benchmark without a
# BENCH_QUICK_<name> entry runs at its defaults in both.
BENCH_QUICK_bench_zengin_intake ?= --sizes 1000000,10000000 --repeat 2 --pandas-records 200000
BENCH_QUICK_bench_assessment ?= --insured 1000000 --ref-sample 5000
BENCH_QUICK_bench_notices ?= --households 2000 --print-notices 200000,1000000 --repeat 1
BENCH_QUICK_bench_collection ?= --installments 1000000 --payments 500000 --ref-sample 5000 --ref-budget 20 --pg-installments 200000 --pg-payments 100000 --pg-ref-sample 2000
# `make bench-full` gives a benchmark its BENCH_FULL_<name> arguments (if any) over its defaults:
# 消込 on PostgreSQL at the issue's 5M payments against 10M 期別 (its default is smaller)
BENCH_FULL_bench_collection ?= --pg-installments 10000000 --pg-payments 5000000
# the year through the real scheduler: 300 insured to the fiscal year's first 口座振替 request day (6 job-net runs;
# the year's date: --until first-debit, make demo-year's fiscal year), and the 300,000-insured extrapolation: the
# "year_sample" rows. The measured 300,000-insured whole year ("year", about 26 min: see the README) is kept.
BENCH_QUICK_bench_year ?= --insured 300 --until first-debit
BENCH_SIZE ?= quick

bench: $(INSTALLED) ## run every benchmark in bench/ at quick sizes (< 15 min), write var/bench/summary.md + README section
	@shopt -s nullglob; files=(bench/bench_*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks in bench/"; exit 0; fi; \
	rm -f var/bench/*.jsonl; rc=0; start=$$(date +%s); \
	for f in "$${files[@]}"; do n=$$(basename "$$f" .py); \
	  args="$$(make -s --no-print-directory bench-$(BENCH_SIZE)-args-$$n)"; \
	  echo "==> $$f $$args"; t0=$$(date +%s); python "$$f" $$args || rc=1; \
	  echo "<== $$f: $$(( $$(date +%s) - t0 )) s"; done; \
	echo "all benchmarks: $$(( $$(date +%s) - start )) s"; \
	python bench/summary.py --readme README.md --keep-missing year || rc=1; exit $$rc

bench-full: $(INSTALLED) ## run every benchmark at its full (issue-sized) defaults; same summary and README section
	@$(MAKE) --no-print-directory bench BENCH_SIZE=full

bench-quick-args-%:
	@echo '$(BENCH_QUICK_$*)'

bench-full-args-%:
	@echo '$(BENCH_FULL_$*)'

# `make up PORT=…`: the API server (UI), the execution API the tasks report to, and the two log-server
# ports all move together, so a second Airflow (another checkout, the e2e suite) never talks to
# this one. With the default PORT the log servers keep Airflow's 8793/8794; otherwise PORT+1/PORT+2.
PORT ?= 8080
ifeq ($(PORT),8080)
UP_WORKER_LOG_PORT ?= 8793
UP_TRIGGER_LOG_PORT ?= 8794
else
UP_WORKER_LOG_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
UP_TRIGGER_LOG_PORT ?= $(shell echo $$(( $(PORT) + 2 )))
endif
UP_URL := http://127.0.0.1:$(PORT)
UP_ENV := AIRFLOW__API__PORT=$(PORT) AIRFLOW__API__BASE_URL=$(UP_URL) \
  AIRFLOW__CORE__EXECUTION_API_SERVER_URL=$(UP_URL)/execution/ \
  AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$(UP_WORKER_LOG_PORT) \
  AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=$(UP_TRIGGER_LOG_PORT)

up: $(MIGRATED) $(POOLS) $(USERS) ## Airflow UI + scheduler (background) on http://127.0.0.1:$(PORT); PORT=… moves every port
	@if [ -s $(UP_PID) ] && kill -0 "$$(cat $(UP_PID))" 2>/dev/null; then \
	  echo "already running (pid $$(cat $(UP_PID)), $$(cat $(UP_PID).url 2>/dev/null)); make down to stop"; exit 0; fi
	@for p in $(PORT) $(UP_WORKER_LOG_PORT) $(UP_TRIGGER_LOG_PORT); do \
	  if (exec 3<>/dev/tcp/127.0.0.1/$$p) 2>/dev/null; then \
	    echo "port $$p is already in use on 127.0.0.1: choose another, e.g. make up PORT=8180" >&2; exit 2; fi; done
	@# The four components `airflow standalone` would start, started here because standalone forces
	@# the plain SimpleAuthManager (airflow.cfg names jobs.airflow_auth.KokuhoAuthManager).
	@# setsid: their own process group, so `make down` stops them all.
	$(UP_ENV) setsid bash -c 'airflow scheduler & airflow dag-processor & airflow triggerer & airflow api-server & $(UP_WORKERS) wait' \
	  > $(UP_LOG) 2>&1 < /dev/null & echo $$! > $(UP_PID)
	@echo "$(UP_URL)" > $(UP_PID).url
	@for i in $$(seq 1 180); do \
	  if curl -fsS -o /dev/null $(UP_URL)/api/v2/monitor/health 2>/dev/null; then break; fi; \
	  if ! kill -0 "$$(cat $(UP_PID))" 2>/dev/null; then tail -n 40 $(UP_LOG); echo "airflow died" >&2; exit 1; fi; \
	  sleep 1; done
	@curl -fsS -o /dev/null $(UP_URL)/api/v2/monitor/health || { tail -n 40 $(UP_LOG); \
	  echo "Airflow did not answer on $(UP_URL) within 180 s: stopping it (log: $(UP_LOG))" >&2; make --no-print-directory down; exit 1; }
	@echo "Airflow UI: $(UP_URL)   (execution API $(UP_URL)/execution/, log servers $(UP_WORKER_LOG_PORT)/$(UP_TRIGGER_LOG_PORT))"
	@if [ "$(UP_MODE)" = celery ]; then \
	  echo "CeleryExecutor: broker $(CELERY_BROKER), queue $(CELERY_QUEUE), metadata DB $(CELERY_SQL_CONN),"; \
	  echo "  one celery worker here ($(CELERY_CONCURRENCY) processes); more hosts: make celery-worker (README)"; \
	  echo "  収納台帳: $$(python -c 'import sys; from jobs.ledger.db import redact; print(redact(sys.argv[1]))' "$$KOKUHO_LEDGER_URL")"; fi
	@echo "users and passwords (file $(PASSWORDS), 0600):"
	@python -m jobs.airflow_auth users
	@python -c 'import json,sys; [print(f"  {k}: {v}") for k, v in sorted(json.load(open(sys.argv[1])).items())]' $(PASSWORDS)
	@echo "log: $(UP_LOG)   stop: make down"

up-celery: ## the distributed mode: `make up` with the CeleryExecutor, Redis broker, PostgreSQL metadata DB and ledger, one worker
	@$(MAKE) --no-print-directory up UP_MODE=celery

celery-worker: ## one more Celery worker in the foreground (another host: README "Many cities and more than one machine")
	@$(MAKE) --no-print-directory celery-worker-run UP_MODE=celery

.PHONY: celery-worker-run celery-databases
celery-worker-run: $(INSTALLED)
	@test "$(UP_MODE)" = celery || { echo "use make celery-worker" >&2; exit 2; }
	AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$(UP_WORKER_LOG_PORT) airflow celery worker --queues $(CELERY_QUEUE) --concurrency $(CELERY_CONCURRENCY)

# The distributed mode's two PostgreSQL databases (the Airflow metadata DB and the 収納台帳), created
# when missing; trust or ~/.pgpass authentication as for psql.
celery-databases: $(INSTALLED)
	@for db in $(CELERY_DB) $(CELERY_LEDGER_DB); do python -c "$$CREATE_DB_PY" '$(PG_HOST)' '$(PG_PORT)' '$(PG_USER)' "$$db"; done

ifeq ($(UP_MODE),celery)
$(MIGRATED): | celery-databases
endif

down: ## stop `make up`
	@if [ -s $(UP_PID) ] && kill -0 "$$(cat $(UP_PID))" 2>/dev/null; then \
	  pgid=$$(ps -o pgid= -p "$$(cat $(UP_PID))" | tr -d ' '); \
	  kill -INT -- "-$$pgid" 2>/dev/null || true; \
	  for i in $$(seq 1 20); do pgrep -g "$$pgid" >/dev/null || break; sleep 1; done; \
	  pgrep -g "$$pgid" >/dev/null && kill -TERM -- "-$$pgid" 2>/dev/null || true; \
	  echo "stopped"; else echo "not running"; fi
	@rm -f $(UP_PID) $(UP_PID).url

status: ## is `make up` running?
	@if [ -s $(UP_PID) ] && kill -0 "$$(cat $(UP_PID))" 2>/dev/null; then echo "running (pid $$(cat $(UP_PID)))"; else echo "not running"; fi

listings: $(INSTALLED) ## write the operator field listing of every layout to layouts/listings/
	kokuho layout-listing --all

lint: $(INSTALLED) ## ruff (pyflakes, pycodestyle, isort, Airflow 3 AIR3 rules)
	ruff check .

constraints: ## re-resolve pyproject.toml in a scratch venv and rewrite constraints/py3.11.txt
	rm -rf var/constraints-venv
	$(PYTHON) -m venv var/constraints-venv
	var/constraints-venv/bin/python -m pip install -q 'pip==$(PIP_VERSION)'
	var/constraints-venv/bin/python -m pip install -q -e '.[test]'
	var/constraints-venv/bin/python -m pip check
	{ head -n 3 $(CONSTRAINTS); var/constraints-venv/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf var/constraints-venv
	@echo "rewrote $(CONSTRAINTS); review the diff, then make install"

clean: ## remove caches and stamps (keeps .venv and var/)
	rm -rf .pytest_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -f $(INSTALLED) $(MIGRATED) $(POOLS) $(USERS)

distclean: down clean ## remove .venv and var/ too (all local data!)
	rm -rf $(VENV) var
