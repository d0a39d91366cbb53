"""Type names the helpers share, so that a value's meaning shows in signatures."""

from __future__ import annotations

from typing import Literal

#: A Zarr format version: 2 (with OME-Zarr 0.4) or 3 (with OME-Zarr 0.5 and 0.6).
ZarrFormat = Literal[2, 3]
#: Byte order of a TIFF file's pixels: little- or big-endian.
ByteOrder = Literal["<", ">"]
