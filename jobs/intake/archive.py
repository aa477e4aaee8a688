"""An input file as the intake archived it: ``var/archive/<inbox>/<sha256>_<name>``, read with the
layout of the intake step that took it in.

The intake datasets keep the records the codec accepted; the archive keeps everything else a
later step may need — the rejected records, the record stride (CRLF or not) behind the byte
offsets, the headers, and the raw bytes of any record (for an error list)::

    f = ArchivedFile.of(source, name=..., sha256=...)     # source: {"inbox", "layout", "job_id"}
    res = f.read()                                        # fw.ReadResult (frames, rejects, stride)
    raw = f.records([0, 120, 240])                        # the bytes at those offsets (None if gone)

The archive copy is encrypted (``jobs.common.crypto``); both calls decrypt it transparently with
the operator's archive keyring (``read`` in memory, ``records`` only the chunks it needs) and
raise ``crypto.DecryptError`` when no key fits or the copy was changed. A plain copy archived
before encryption is read as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jobs.common import crypto, paths
from jobs.common import fixedwidth as fw


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
        """The whole file read with its layout (raises ``OSError`` / ``fw.FileRefused`` /
        ``crypto.DecryptError``)."""
        return fw.read(self.layout, self.content(), source=self.name)

    def content(self) -> bytes | bytearray:
        """The file's plaintext bytes (decrypted in memory)."""
        if crypto.is_encrypted(self.path):
            return crypto.decrypt_bytes(self.path)
        return self.path.read_bytes()

    def records(self, offsets: Sequence[int]) -> list[bytes | None]:
        """The record bytes at each byte offset (one record length each); all None when the
        archive copy is gone."""
        if not self.path.is_file():
            return [None] * len(offsets)
        length = self.layout.record_length
        out = []
        with open(self.path, "rb") as fh:
            if crypto.is_encrypted(self.path):
                ra = crypto.RandomAccess(fh)
                return [ra.read_at(off, length) for off in offsets]
            for off in offsets:
                fh.seek(off)
                out.append(fh.read(length))
        return out
