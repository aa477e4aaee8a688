"""Intake steps (取込): counterparty files from var/inbox/<source>/ into dataset generations.

One generic step (``intake_step``) serves every intake job id; ``jobs.registry`` gives each its
layout, inbox folder, file pattern and datasets.
"""

from .generic import intake_step

__all__ = ["intake_step"]
