"""Input kind: a folder of 2-D TIFF or JPEG 2000 slices, one per z (``SliceFolder``)."""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources import jpeg2k
from data_helpers.convert.sources.jpeg2k import JPEG2K_SUFFIXES, inspect_jpeg2k
from data_helpers.convert.sources.rows import read_rows
from data_helpers.convert.sources.source import (
    ImageInfo,
    Region,
    Source,
    SourceKind,
)
from data_helpers.convert.sources.staged import RawPlanes
from data_helpers.types import ByteOrder
from data_helpers.wording import count

TIFF_SUFFIXES = (".tif", ".tiff")
SLICE_SUFFIXES = TIFF_SUFFIXES + JPEG2K_SUFFIXES


@dataclass(frozen=True)
class Slice:
    """One slice file, with what it takes to read rows of it quickly."""

    path: str
    size: int
    mtime_ns: int
    #: Byte offset of the pixels when stored uncompressed in one contiguous
    #: run (rows can then be read directly); None when tifffile must decode.
    offset: int | None
    byteorder: ByteOrder
    #: A JPEG 2000 file: it cannot be read by rows, only decoded whole.
    jpeg2k: bool = False


def natural_key(name: str) -> list[int | str]:
    """Sort key putting ``slice_2`` before ``slice_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def hidden(path: Path) -> bool:
    """A hidden file: a dot file, such as macOS's ``._slice_0.tif`` (AppleDouble)."""
    return path.name.startswith(".")


def slice_files(folder: Path) -> list[Path]:
    """The files in ``folder`` with a slice's suffix, hidden ones too, unsorted."""
    if folder.is_file():
        raise ConversionError(
            f"The slices folder {str(folder)!r} is a file: give the folder that "
            f"holds the slices, such as {str(folder.parent)!r}."
        )
    if not folder.is_dir():
        raise ConversionError(
            f"The slices folder {str(folder)!r} does not exist: give the folder "
            "that holds the *.tif slices."
        )
    return [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in SLICE_SUFFIXES and p.is_file()
    ]


def hidden_slices(folder: str | os.PathLike[str]) -> list[str]:
    """Names of the hidden files with a slice's suffix that ``find_slices`` skips."""
    found = slice_files(Path(folder))
    return sorted((p.name for p in found if hidden(p)), key=natural_key)


def find_slices(folder: str | os.PathLike[str]) -> list[Path]:
    """The slice files in ``folder`` (all TIFF or all JPEG 2000), in natural order.

    Hidden files (``hidden``) are skipped: a copy from a Mac brings a
    ``._slice_0.tif`` of metadata beside each ``slice_0.tif``.
    """
    folder = Path(folder)
    paths = [p for p in slice_files(folder) if not hidden(p)]
    if not paths:
        raise ConversionError(
            f"The slices folder {str(folder)!r} holds no *.tif, *.tiff or *.jp2 "
            "files: give the folder that holds the slices."
        )
    kinds = {p.suffix.lower() in JPEG2K_SUFFIXES for p in paths}
    if len(kinds) > 1:
        raise ConversionError(
            f"The slices folder {str(folder)!r} holds both TIFF and JPEG 2000 "
            "files: keep the slices of one stack, in one format, in the folder."
        )
    return sorted(paths, key=lambda p: natural_key(p.name))


def header_end(tif: tifffile.TiffFile) -> int:
    """Where the bytes that describe ``tif``'s one page end (IFD, tag values)."""
    page = tif.pages.first
    ifd = page.offset + tif.tiff.tagnosize + len(page.tags) * tif.tiff.tagsize
    values = (tag.valueoffset + tag.valuebytecount for tag in page.tags)
    return max(ifd + tif.tiff.offsetsize, *values)


def inspect_slice(path: Path) -> tuple[tuple[int, int], np.dtype, Slice, bytes | None]:
    """Shape, dtype and read layout of one slice file (reads its header only).

    The last value: the file's bytes before its pixels, if they describe it
    whole (an uncompressed TIFF whose tags all come before its pixels), else
    None; another file that starts with the same bytes and has the same size
    is a slice of the same layout (``same_layout``).
    """
    stat = path.stat()
    if path.suffix.lower() in JPEG2K_SUFFIXES:
        try:
            size, kind = inspect_jpeg2k(path)
        except (OSError, ValueError, struct.error) as error:
            raise ConversionError(
                f"{str(path)!r} is not a readable JPEG 2000 file ({error}): remove "
                "it from the folder or replace it with the right slice."
            ) from None
        info = Slice(str(path), stat.st_size, stat.st_mtime_ns, None, "<", True)
        return size, kind, info, None
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            shape, dtype = tuple(page.shape), np.dtype(page.dtype)
            contiguous = page.is_contiguous and page.compression == 1
            offset = int(page.dataoffsets[0]) if contiguous else None
            byteorder: ByteOrder = "<" if tif.byteorder == "<" else ">"
            pages = len(tif.pages)
            header = None
            if offset is not None and header_end(tif) <= offset:
                tif.filehandle.seek(0)
                header = tif.filehandle.read(offset)
    except Exception as error:  # tifffile raises many kinds of errors
        raise ConversionError(
            f"{str(path)!r} is not a readable TIFF file ({error}): remove it from "
            "the folder or replace it with the right slice."
        ) from None
    if len(shape) != 2 or pages != 1:
        raise ConversionError(
            f"{str(path)!r} is not a single 2-D greyscale image (shape {shape}, "
            f"{count(pages, 'page')}): every file must hold one slice."
        )
    info = Slice(str(path), stat.st_size, stat.st_mtime_ns, offset, byteorder)
    return (shape[0], shape[1]), dtype, info, header


def same_layout(path: Path, first: Slice, header: bytes) -> Slice | None:
    """``path`` as a slice laid out as ``first``, if it has ``first``'s size
    and starts with ``header`` (its bytes before the pixels), else None.

    Equal bytes say the same: 0.01 ms a file instead of 0.5 ms with tifffile.
    """
    stat = path.stat()
    if stat.st_size != first.size:
        return None
    with open(path, "rb") as file:
        if file.read(len(header)) != header:
            return None
    return Slice(
        str(path), stat.st_size, stat.st_mtime_ns, first.offset, first.byteorder
    )


def inspect_slices(
    folder: str | os.PathLike[str],
) -> tuple[tuple[int, int, int], np.dtype, list[Slice]]:
    """Check every slice in ``folder``; return the (z, y, x) shape and dtype.

    A slice of the first one's size and header bytes is not parsed again.
    """
    paths = find_slices(folder)
    shape, dtype, first, header = inspect_slice(paths[0])
    slices = [first]
    for path in paths[1:]:
        same = same_layout(path, first, header) if header is not None else None
        if same is not None:
            slices.append(same)
            continue
        other_shape, other_dtype, info, _ = inspect_slice(path)
        if (other_shape, other_dtype) != (shape, dtype):
            raise ConversionError(
                f"{str(path)!r} is {other_shape} {other_dtype}, but the first slice "
                f"{paths[0].name!r} is {shape} {dtype}: every slice must have the "
                "same shape and dtype."
            )
        slices.append(info)
    return (len(slices), *shape), dtype, slices


def read_window(
    window: np.ndarray, source: Slice, y0: int, x0: int, width: int
) -> None:
    """Fill ``window`` (rows x columns) from rows ``y0:`` and columns ``x0:``.

    ``width`` is the slice's. Rows are read a few at a time, never more
    voxels at once than ``window`` holds (plus one row), so memory does not
    grow with the width of the slice.
    """
    rows, columns = window.shape
    if source.jpeg2k:  # decodes the whole slice: the converter decodes once instead
        image = jpeg2k.decode_jpeg2k(source.path)
        window[:] = image[y0 : y0 + rows, x0 : x0 + columns]
    elif source.offset is not None:  # uncompressed: read just these rows
        read_rows(window, source.path, source.offset, source.byteorder, y0, x0, width)
    else:  # compressed or tiled: tifffile decodes only the strips/tiles needed
        selection = (slice(y0, y0 + rows), slice(x0, x0 + columns))
        window[:] = tifffile.imread(source.path, selection=selection)


@dataclass(frozen=True)
class SliceFolder:
    """A folder of 2-D slices as a ``(z, y, x)`` ``Source``: one slice a plane."""

    folder: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    slices: tuple[Slice, ...]
    axes: tuple[str, ...] = ("z", "y", "x")
    #: Hidden files it skipped (``hidden_slices``), for the summary to name.
    skipped: tuple[str, ...] = ()

    @classmethod
    def open(cls, folder: Path) -> SliceFolder:
        """Check every slice in ``folder`` (``inspect_slices``)."""
        shape, dtype, slices = inspect_slices(folder)
        skipped = tuple(hidden_slices(folder))
        return cls(Path(folder), shape, dtype, tuple(slices), skipped=skipped)

    @property
    def location(self) -> str:
        return str(self.folder)

    @property
    def staged(self) -> bool:
        """JPEG 2000 slices cannot be read by rows: each is decoded once first."""
        return self.slices[0].jpeg2k

    def notes(self) -> tuple[str, ...]:
        """A note naming the hidden files it skipped, if any."""
        if not self.skipped:
            return ()
        shown = ", ".join(self.skipped[:3]) + (", ..." if len(self.skipped) > 3 else "")
        return (f"skipped {count(len(self.skipped), 'hidden file')} ({shown})",)

    def info(self) -> ImageInfo:
        """Slices say nothing of voxel size or channels."""
        return ImageInfo()

    def fingerprint(self) -> dict[str, Any]:
        return {
            "slices": [[Path(s.path).name, s.size, s.mtime_ns] for s in self.slices]
        }

    def read(self, region: Region, out: np.ndarray) -> None:
        planes, rows, columns = region
        for z in range(planes.start, planes.stop):
            window = out[z - planes.start]
            read_window(
                window, self.slices[z], rows.start, columns.start, self.shape[2]
            )

    def stage(self, plane: int, folder: Path) -> None:
        """Decode JPEG 2000 slice ``plane`` once into ``folder/{plane}.raw``."""
        scratch = RawPlanes(folder, self.shape, self.dtype).path(plane)
        jpeg2k.decode_to_scratch(
            self.slices[plane].path, str(scratch), self.shape[1:], self.dtype
        )

    def staged_copy(self, folder: Path) -> Source:
        folder.mkdir(parents=True, exist_ok=True)
        return RawPlanes(folder, self.shape, self.dtype)


KIND = SourceKind(
    name="slices",
    description="a folder of 2-D TIFF or JPEG 2000 slices, one per z",
    accepts=Path.is_dir,
    open=lambda path, options: SliceFolder.open(path),
)
