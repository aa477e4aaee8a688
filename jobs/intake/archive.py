"""An input file as the intake archived it: ``var/archive/<inbox>/<sha256>_<name>``, read with the
layout of the intake step that took it in.

The intake datasets keep the records the codec accepted; the archive keeps everything else a
later step may need — the rejected records, the record stride (CRLF or not) behind the byte
offsets, the headers, and the raw bytes of any record (for an error list)::

    f = ArchivedFile.of(source, name=..., sha256=...)     # source: {"inbox", "layout", "job_id"}
    res = f.read()                                        # fw.ReadResult (frames, rejects, stride)
    raw = f.records([0, 120, 240])                        # the bytes at those offsets (None if gone)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jobs.common import fixedwidth as fw
from jobs.common import paths


@dataclass(frozen=True)
class ArchivedFile:
    inbox: str  # the intake step's inbox folder (var/inbox/<inbox>, archived to var/archive/<inbox>)
    layout_id: str  # the layout the intake step read it with (layouts/<layout_id>.yaml)
    name: str  # the file name as received
    sha256: str

    @classmethod
    def of(cls, source: Mapping[str, str], *, name: str, sha256: str) -> ArchivedFile:
        """From a posting step's ``options["source"]`` (``inbox``, ``layout``, ``job_id``)."""
        return cls(str(source["inbox"]), str(source["layout"]), name, sha256)

    @property
    def path(self) -> Path:
        return paths.archive(self.inbox) / f"{self.sha256}_{self.name}"

    @cached_property
    def layout(self) -> fw.Layout:
        return fw.load_layout(self.layout_id)

    def read(self) -> fw.ReadResult:
        """The whole file read with its layout (raises ``OSError`` / ``fw.FileRefused``)."""
        return fw.read(self.layout, self.path, source=self.name)

    def records(self, offsets: Sequence[int]) -> list[bytes | None]:
        """The record bytes at each byte offset (one record length each); all None when the
        archive copy is gone."""
        if not self.path.is_file():
            return [None] * len(offsets)
        length = self.layout.record_length
        out = []
        with open(self.path, "rb") as fh:
            for off in offsets:
                fh.seek(off)
                out.append(fh.read(length))
        return out
