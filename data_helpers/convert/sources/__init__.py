"""The converter's inputs: each input kind is one module behind ``Source``.

- ``source``: the ``Source`` interface and ``SourceKind``;
- ``slices``: a folder of 2-D TIFF or JPEG 2000 slices (``SliceFolder``);
- ``jpeg2k``: JPEG 2000 headers and the one decode of each slice;
- ``staged``: planes staged as raw voxels (``RawPlanes``), read by region;
- ``ome_zarr``: an existing OME-Zarr image, its levels and label images
  (``OmeZarrImage``), which the converter migrates (``convert.migrate``).

``open_source`` picks the kind from ``KINDS``, the registry: a new input
kind is one module and one entry there.
"""

from __future__ import annotations

import os
from pathlib import Path

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources import ome_zarr, slices
from data_helpers.convert.sources.source import Region, Source, SourceKind
from data_helpers.convert.sources.staged import RawPlanes
from data_helpers.remote import is_remote

#: The input kinds, in the order they are tried: the most general last.
KINDS: tuple[SourceKind, ...] = (ome_zarr.KIND, slices.KIND)

__all__ = ["KINDS", "RawPlanes", "Region", "Source", "SourceKind", "open_source"]


def open_source(path: str | os.PathLike[str]) -> Source:
    """The input at ``path`` as a ``Source``, of the first kind that accepts it.

    A URL goes to the first kind that opens URLs. Raises ConversionError,
    naming what is wrong, when no kind can read it.
    """
    if is_remote(path):
        url = str(path)
        for kind in KINDS:
            if kind.open_url is not None:
                return kind.open_url(url)
        raise ConversionError(f"{url} is a URL: give a folder.")
    path = Path(path)
    for kind in KINDS:
        if kind.accepts(path):
            return kind.open(path)
    return KINDS[-1].open(path)  # its own error says what it needs
