"""The 収納 ledger (SQLAlchemy 2): DuckDB file by default, PostgreSQL in production.

    models.py      the tables (別添2 収納 items), kept in step with sql/ledger/migrations/
    migrations.py  the numbered migrations sql/ledger/migrations/NNN_<name>.sql (schema_migrations)
    db.py          Ledger (open, migrate) and Tx (one transaction: named statements, stage, insert)
    sql.py         the statement loader: sql/<area>/<name>.sql, Jinja2 per dialect
    bulk.py        Polars frames in and out (Arrow on DuckDB, COPY on PostgreSQL)
    session.py     open_ledger(ctx) / run_of(ctx) of a job step
    audit.py       Run, the audit columns of the rows a step writes
    errors.py      LedgerError, ClosedMonthError (月次締め済みの月への計上: KKB662E, a StepError too),
                   InstallmentMissingError (台帳にない期別への変更: KKB428E, a StepError too)

It imports nothing of the job areas (collection, assessment, intake, registry): only jobs.common.
"""

from .audit import Operator, Run, audit_columns, current_operator, now_stamp, operator_scope
from .db import Ledger, Tx, ledger_present, ledger_url
from .errors import ClosedMonthError, InstallmentMissingError, LedgerError
from .session import open_ledger, run_of
from .sql import statement

__all__ = ["ClosedMonthError", "InstallmentMissingError", "Ledger", "LedgerError", "Operator", "Run", "current_operator", "operator_scope", "Tx", "audit_columns", "ledger_present", "ledger_url", "now_stamp", "open_ledger",
           "run_of", "statement"]
