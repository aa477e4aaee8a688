"""The one fixed-width codec: layouts as data (layouts/*.yaml), a vectorized reader and writer.

    from jobs.common import fixedwidth as fw
    layout = fw.load_layout("zengin_91_result")
    res = fw.read(layout, path)              # frames per record type, rejects, totals
    data = fw.write(layout, res.frames, line_end=res.line_end)
"""

from .fields import FAULTS, EncodeError
from .layout import Field, Layout, LayoutError, RecordType, all_layouts, layout_ids, load_layout, parse_layout
from .listing import dump, listing
from .reader import FileRefused, ReadResult, mask_secrets, read
from .writer import FileWriter, encode_records, one_row, write

__all__ = [
    "FAULTS", "EncodeError", "Field", "FileRefused", "FileWriter", "Layout", "LayoutError", "ReadResult",
    "RecordType", "all_layouts", "dump", "encode_records", "layout_ids", "listing", "load_layout", "mask_secrets", "one_row", "parse_layout", "read", "write",
]
