"""The ledger's error types."""

from __future__ import annotations

from jobs.common import messages
from jobs.common.step import RC_ERROR, StepError


class LedgerError(RuntimeError):
    """The ledger cannot be used (URL, schema version, lock). The message is for operators."""


class ClosedMonthError(LedgerError, StepError):
    """A posting dated in a month closed by TN510 (KKB662E). It is a LedgerError for the ledger's
    callers and a StepError for the step runtime, so a step that posts into a closed month ends
    RC 8 with the catalogued message and its action (nothing committed), not as an abend."""

    def __init__(self, **fields: object):
        StepError.__init__(self, messages.text("KKB662E", **fields), rc=RC_ERROR, msg_id="KKB662E")
