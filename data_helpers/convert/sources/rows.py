"""Reading rows of raw voxels from a file: uncompressed TIFF slices, staged planes."""

from __future__ import annotations

import numpy as np

from data_helpers.convert.errors import ConversionError
from data_helpers.types import ByteOrder


def read_rows(
    window: np.ndarray,
    path: str,
    offset: int,
    byteorder: ByteOrder,
    y0: int,
    x0: int,
    width: int,
) -> None:
    """Fill ``window`` from raw rows of ``width`` voxels at byte ``offset`` of ``path``.

    Rows ``y0:`` and columns ``x0:``; a few rows at a time, never more voxels
    at once than ``window`` holds (plus one row).
    """
    rows, columns = window.shape
    dtype = window.dtype.newbyteorder(byteorder)
    batch = max(1, rows * columns // width)
    buffer = np.empty((batch, width), dtype)
    with open(path, "rb") as file:
        file.seek(offset + y0 * width * dtype.itemsize)
        for r in range(0, rows, batch):
            n = min(batch, rows - r)
            if file.readinto(buffer[:n]) != buffer[:n].nbytes:
                raise ConversionError(
                    f"{path!r} is shorter than its header says: replace it with "
                    "the right slice."
                )
            window[r : r + n] = buffer[:n, x0 : x0 + columns]
