"""The ledger's error types."""

from __future__ import annotations

from jobs.common.step import StepError


class LedgerError(RuntimeError):
    """The ledger cannot be used (URL, schema version, lock). The message is for operators."""


class ClosedMonthError(LedgerError, StepError):
    """A posting dated in a month closed by TN510 (KKB662E). It is a LedgerError for the ledger's
    callers and a StepError for the step runtime, so a step that posts into a closed month ends
    RC 8 with the catalogued message and its action (nothing committed), not as an abend."""

    def __init__(self, *, municipality: str, month: str, table: str, rows: int):
        of = StepError.of("KKB662E", municipality=municipality, month=month, table=table, rows=rows)  # the catalogue's text and the RC of its severity (8)
        RuntimeError.__init__(self, of.text)
        self.text, self.rc, self.msg_id = of.text, of.rc, of.msg_id
