"""The converter's inputs: each input kind is one module behind ``Source``.

- ``source``: the ``Source`` interface and ``SourceKind``;
- ``slices``: a folder of 2-D TIFF or JPEG 2000 slices (``SliceFolder``);
- ``jpeg2k``: JPEG 2000 headers and the one decode of each slice;
- ``staged``: planes staged as raw voxels (``RawPlanes``), read by region.

``open_source`` picks the kind from ``KINDS``, the registry: a new input
kind is one module and one entry there.
"""

from __future__ import annotations

import os
from pathlib import Path

from data_helpers.convert.sources import slices
from data_helpers.convert.sources.source import Region, Source, SourceKind
from data_helpers.convert.sources.staged import RawPlanes

#: The input kinds, in the order they are tried.
KINDS: tuple[SourceKind, ...] = (slices.KIND,)

__all__ = ["KINDS", "RawPlanes", "Region", "Source", "SourceKind", "open_source"]


def open_source(path: str | os.PathLike[str]) -> Source:
    """The input at ``path`` as a ``Source``, of the first kind that accepts it.

    Raises ConversionError, naming what is wrong, when no kind can read it.
    """
    path = Path(path)
    for kind in KINDS:
        if kind.accepts(path):
            return kind.open(path)
    return KINDS[0].open(path)  # its own error says what it needs
