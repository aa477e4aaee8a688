"""The trigger of the job nets' file waits (``dags/_kokuho/steps.py`` InboxFileSensor): Airflow's
FileTrigger that ends by itself at the wait's deadline.

With the plain FileTrigger a wait that saw no file lasted until the scheduler's trigger timeout, which
cancels the trigger and writes ``Trigger cancelled due to timeout`` at ERROR level into the task log —
on every ordinary day a soft wait (KB400's counter/CVS files, KB410's 口座振替依頼書, KB100's 介護保険台帳)
has no file, so a green day showed red lines. This trigger fires an event at the deadline instead
(``False``: no file), and the sensor says what happened in the operator's words at the level of its
message (KKB186W, a warning, when the wait is soft; KKB187E when the file was required).

It never fires sooner than ``min_seconds`` (20) after it starts: an event that resumes the task before
the scheduler has recorded the end of the process that deferred it makes Airflow 3.3.2 fail the task
("finished with state success, but the task instance's state attribute is queued"), which a wait of a
few seconds met on a loaded machine. A production wait lasts hours; a file found in its first 20
seconds is taken 20 seconds after the wait began.

It lives in plugins/ because the triggerer imports a trigger by its module path and has the plugins
folder on its sys.path (as every Airflow component); the DAG files import it as ``kokuho_file_trigger``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.standard.triggers.file import FileTrigger
from airflow.triggers.base import TriggerEvent

#: the least time between the trigger's start and its event (see the module docstring)
MIN_SECONDS = 20.0


class InboxFileTrigger(FileTrigger):
    """FileTrigger with a ``deadline`` (seconds since the epoch): fires ``True`` when a file is there,
    ``False`` at the deadline; neither sooner than ``min_seconds`` after it started."""

    def __init__(self, filepath: str, recursive: bool = False, poke_interval: float = 5.0,
                 deadline: float = 0.0, min_seconds: float = MIN_SECONDS, **kwargs: Any):
        super().__init__(filepath=filepath, recursive=recursive, poke_interval=poke_interval, **kwargs)
        self.deadline = float(deadline)
        self.min_seconds = float(min_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("kokuho_file_trigger.InboxFileTrigger",
                {"filepath": self.filepath, "recursive": self.recursive, "poke_interval": self.poke_interval,
                 "deadline": self.deadline, "min_seconds": self.min_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        not_before = time.time() + self.min_seconds
        found = False
        left = self.deadline - time.time()
        if left > 0:
            try:
                async with asyncio.timeout(left):
                    async for event in FileTrigger.run(self):
                        found = bool(event.payload)
                        break
            except TimeoutError:
                found = False
        await asyncio.sleep(max(0.0, not_before - time.time()))
        yield TriggerEvent(found)
