"""JPEG 2000 slices: the header check, and the one decode of each slice."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import imagecodecs
import numpy as np

from data_helpers.convert.errors import ConversionError

#: Suffixes of JPEG 2000 files (JP2 boxes, or a bare codestream) that
#: imagecodecs reads through OpenJPEG.
JPEG2K_SUFFIXES = (".jp2", ".jpx", ".j2k", ".j2c")
CODESTREAM_START = b"\xff\x4f\xff\x51"  # SOC, then the image and tile size marker
EOC = b"\xff\xd9"  # end of codestream


def codestream_span(data: bytes, size: int) -> tuple[int, int]:
    """Start and end of the codestream in a file starting with ``data``.

    A JP2/JPX file is a list of boxes (length, type), the codestream in
    the ``jp2c`` box; a ``.j2k`` file is the codestream alone.
    """
    if data.startswith(CODESTREAM_START):
        return 0, size
    position = 0
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if length == 1:  # the length follows as 8 bytes
            (length,) = struct.unpack(">Q", data[position + 8 : position + 16])
            header = 16
        elif length == 0:  # the last box: to the end of the file
            length = size - position
        if kind == b"jp2c":
            return position + header, position + length
        if length < header:
            break
        position += length
    raise ValueError("no JPEG 2000 codestream found")


def inspect_jpeg2k(path: Path) -> tuple[tuple[int, int], np.dtype]:
    """Shape and dtype of one JPEG 2000 slice, from its header (no decoding).

    Raises ValueError when the file is not JPEG 2000, has more than one
    component, or is cut short (its codestream does not end with EOC).
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        data = file.read(1 << 20)
        start, end = codestream_span(data, size)
        if end > size:
            raise ValueError(f"cut short: {size} bytes of {end}")
        file.seek(start)
        header = file.read(43)
        file.seek(end - 2)
        if (
            len(header) < 43
            or not header.startswith(CODESTREAM_START)
            or file.read(2) != EOC
        ):
            raise ValueError("the codestream is incomplete")
    x, y, x0, y0 = struct.unpack(">4I", header[8:24])
    (components,) = struct.unpack(">H", header[40:42])
    if components != 1:
        raise ValueError(f"{components} components, not one (greyscale)")
    depth = header[42]  # the first component's bit depth - 1, and sign bit
    bits, signed = (depth & 0x7F) + 1, bool(depth & 0x80)
    itemsize = 1 if bits <= 8 else 2 if bits <= 16 else 4
    return (y - y0, x - x0), np.dtype(f"{'i' if signed else 'u'}{itemsize}")


def decode_jpeg2k(path: str) -> np.ndarray:
    """Decode a whole JPEG 2000 slice (imagecodecs, OpenJPEG)."""
    return imagecodecs.jpeg2k_decode(Path(path).read_bytes())


def decode_to_scratch(
    path: str, scratch: str, shape: tuple[int, ...], dtype: np.dtype
) -> None:
    """Decode slice ``path`` once into ``scratch``: raw voxels, rows in order.

    Written to ``scratch.partial`` then renamed, so a kill never leaves a
    complete-looking scratch slice. Raises ConversionError if the slice does
    not decode to ``shape`` and ``dtype``.
    """
    try:
        image = decode_jpeg2k(path)
    except Exception as error:  # imagecodecs raises Jpeg2kError and others
        raise ConversionError(
            f"{path!r} is not a readable JPEG 2000 file ({error}): remove it from "
            "the folder or replace it with the right slice."
        ) from None
    if image.shape != shape or image.dtype != dtype:
        raise ConversionError(
            f"{path!r} decodes to {image.shape} {image.dtype}, but its header says "
            f"{shape} {dtype}: replace it with the right slice."
        )
    partial = f"{scratch}.partial"
    np.ascontiguousarray(image, image.dtype.newbyteorder("=")).tofile(partial)
    os.replace(partial, scratch)
