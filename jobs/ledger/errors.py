"""The ledger's error types."""

from __future__ import annotations

from typing import Any

from jobs.common.step import StepError


class LedgerError(RuntimeError):
    """The ledger cannot be used (URL, schema version, lock). The message is for operators."""


class LedgerStepError(LedgerError, StepError):
    """A ledger refusal that is also a ``StepError``: the catalogue's text for ``msg_id`` and the RC
    of its severity (8 for an E id), so the step ends with that message and its action (nothing
    committed), not as an abend; the ledger's callers see a ``LedgerError``."""

    def __init__(self, msg_id: str, **fields: Any):
        of = StepError.of(msg_id, **fields)
        RuntimeError.__init__(self, of.text)
        self.text, self.rc, self.msg_id = of.text, of.rc, of.msg_id


class ClosedMonthError(LedgerStepError):
    """A posting dated in a month closed by TN510 (KKB662E): a step that posts into a closed month
    ends RC 8."""

    def __init__(self, *, municipality: str, month: str, table: str, rows: int):
        super().__init__("KKB662E", municipality=municipality, month=month, table=table, rows=rows)


class InstallmentMissingError(LedgerStepError):
    """A change to 期別 that the ledger does not hold (KKB428E): the key-based update found fewer
    期別 than it was given (hard-deleted since the 消込 looked them up). The transaction rolls back,
    so no payment is posted without its 期別 change; the step ends RC 8."""

    def __init__(self, *, installments: int, levy_year: int, notice_number: str, installment_no: int):
        super().__init__("KKB428E", installments=installments, levy_year=levy_year, notice_number=notice_number,
                         installment_no=installment_no)
