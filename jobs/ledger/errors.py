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


class InstallmentMissingError(LedgerError, StepError):
    """A change to 期別 that the ledger does not hold (KKB428E): the key-based update found fewer
    期別 than it was given (hard-deleted since the 消込 looked them up). The transaction rolls back,
    so no payment is posted without its 期別 change; the step ends RC 8 (a StepError)."""

    def __init__(self, *, installments: int, levy_year: int, notice_number: str, installment_no: int):
        of = StepError.of("KKB428E", installments=installments, levy_year=levy_year, notice_number=notice_number,
                          installment_no=installment_no)
        RuntimeError.__init__(self, of.text)
        self.text, self.rc, self.msg_id = of.text, of.rc, of.msg_id
