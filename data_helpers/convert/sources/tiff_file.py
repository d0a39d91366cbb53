"""Input kind: one TIFF file of many pages (``TiffStack``): a plain multi-page
TIFF, a BigTIFF, an ImageJ hyperstack or an OME-TIFF.

tifffile finds the image in the file (its first series) and names its axes:
``T``, ``C``, ``Z``, ``Y``, ``X``, or ``I``/``Q`` for the pages of a plain
multi-page file, which become ``z``. The source presents them in the order
``t, c, z, y, x`` whatever the file's order (``ZCYX`` in ImageJ hyperstacks),
and ``read`` maps a region back to the file's pages. Uncompressed data stored
in one run is read by rows (``rows.read_rows``); anything else through
tifffile's Zarr store, which reads and decodes only the strips or tiles a
window covers.
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import zarr
from zarr.core.buffer.cpu import NDBuffer

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources.rows import read_rows
from data_helpers.convert.sources.source import (
    Channel,
    ImageInfo,
    Region,
    Source,
    SourceKind,
    in_axes_order,
)
from data_helpers.ome import space_unit
from data_helpers.types import ByteOrder
from data_helpers.wording import count

#: Suffixes of one TIFF file (``.ome.tif`` and ``.ome.tiff`` end in them too).
TIFF_FILE_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
#: tifffile's axis codes -> the converter's; ``I`` and ``Q`` are the pages of
#: a plain multi-page file (tifffile knows no more of them): planes along z.
AXIS_NAMES = {"T": "t", "C": "c", "Z": "z", "Y": "y", "X": "x", "I": "z", "Q": "z"}
#: How many metres a space unit is (``ome.SPACE_UNITS`` names), to put the
#: voxel sizes of axes given in different units into one.
_PREFIX_EXPONENTS = {
    "yocto": -24,
    "zepto": -21,
    "atto": -18,
    "femto": -15,
    "pico": -12,
    "nano": -9,
    "micro": -6,
    "milli": -3,
    "centi": -2,
    "deci": -1,
    "": 0,
    "hecto": 2,
    "kilo": 3,
    "mega": 6,
    "giga": 9,
    "tera": 12,
    "peta": 15,
    "exa": 18,
    "zetta": 21,
    "yotta": 24,
}
_OTHER_UNITS_IN_METERS = {
    "angstrom": 1e-10,
    "inch": 0.0254,
    "foot": 0.3048,
    "yard": 0.9144,
    "mile": 1609.344,
    "parsec": 3.0856775814913673e16,
}


def accepts(path: Path) -> bool:
    """A path with a TIFF file's suffix that is not a folder (a missing file
    too: ``TiffStack.open`` then says so)."""
    return path.suffix.lower() in TIFF_FILE_SUFFIXES and not path.is_dir()


def convert_length(value: float, unit: str, to: str) -> float:
    """``value`` in ``unit`` as a length in ``to`` (both OME-Zarr unit names)."""
    if unit == to:
        return value
    if unit.endswith("meter") and to.endswith("meter"):  # exact powers of ten
        exponent = _PREFIX_EXPONENTS[unit[:-5]] - _PREFIX_EXPONENTS[to[:-5]]
        result = value * 10**exponent if exponent >= 0 else value / 10**-exponent
    else:
        result = value * _meters(unit) / _meters(to)
    return float(f"{result:.12g}")  # no 2000.0000000000002 from 2 mm in micrometer


def _meters(unit: str) -> float:
    if unit.endswith("meter"):
        return 10.0 ** _PREFIX_EXPONENTS[unit[:-5]]
    return _OTHER_UNITS_IN_METERS[unit]


def one_unit(
    sizes: dict[str, tuple[float, str]],
) -> tuple[tuple[float, float, float], str]:
    """Voxel size ``(z, y, x)`` and one unit, x's, from each axis's value and
    unit (OME-Zarr names)."""
    unit = sizes["x"][1]
    size = tuple(convert_length(*sizes[a], unit) for a in ("z", "y", "x"))
    return size, unit  # type: ignore[return-value]


def ome_color(value: str | None) -> str | None:
    """OME's colour, a signed 32-bit RGBA integer, as ``"RRGGBB"``."""
    if value is None:
        return None
    return f"{(int(value) & 0xFFFFFFFF) >> 8:06X}"


def ome_info(xml: str, channels: int) -> tuple[ImageInfo, tuple[str, ...]]:
    """Voxel size, unit and channels of the first image in OME-XML ``xml``,
    and notes on what it lacks. ``channels``: the length of the c axis (0:
    none)."""
    root = ElementTree.fromstring(xml)
    pixels = next((e for e in root.iter() if e.tag.endswith("}Pixels")), None)
    if pixels is None:
        return ImageInfo(), ("the OME-XML has no Pixels element",)
    notes: list[str] = []
    sizes: dict[str, tuple[float, str]] = {}
    for axis in ("Z", "Y", "X"):
        value = pixels.get(f"PhysicalSize{axis}")
        given = pixels.get(f"PhysicalSize{axis}Unit", "\u00b5m")
        if value is None:
            continue
        try:
            sizes[axis.lower()] = (float(value), space_unit(given))
        except ValueError:
            notes.append(f"PhysicalSize{axis}Unit {given!r} is not a length")
    voxel_size: tuple[float, float, float] | None = None
    unit: str | None = None
    if len(sizes) == 3:
        voxel_size, unit = one_unit(sizes)
    else:
        missing = [f"PhysicalSize{a.upper()}" for a in "zyx" if a not in sizes]
        notes.append(f"the OME-XML gives no {', '.join(missing)}: no voxel size")
    found = [e for e in pixels if e.tag.endswith("}Channel")]
    named: tuple[Channel, ...] = ()
    if channels and len(found) == channels:
        named = tuple(
            Channel(e.get("Name") or f"channel {i}", ome_color(e.get("Color")))
            for i, e in enumerate(found)
        )
    return ImageInfo(voxel_size, unit, named), tuple(notes)


def imagej_info(
    metadata: dict[str, Any], tags: tifffile.TiffTags
) -> tuple[ImageInfo, tuple[str, ...]]:
    """Voxel size and unit of an ImageJ hyperstack: x and y from its resolution
    tags (pixels per unit), z from its ``spacing`` (ImageJ's default 1)."""
    text = str(metadata.get("unit", "")).replace("\\u00B5", "\u00b5")
    if not text or "XResolution" not in tags or "YResolution" not in tags:
        return ImageInfo(), ()
    try:
        unit = space_unit(text)
    except ValueError:
        return ImageInfo(), (f"ImageJ's unit {text!r} is not a length: no voxel size",)
    x, y = (Fraction(*tags[name].value) for name in ("XResolution", "YResolution"))
    if x <= 0 or y <= 0:
        return ImageInfo(), ()
    z = float(metadata.get("spacing", 1.0))
    voxel_size = (z, float(f"{float(1 / y):.12g}"), float(f"{float(1 / x):.12g}"))
    return ImageInfo(voxel_size, unit), ()


@dataclass(frozen=True)
class TiffStack:
    """One TIFF file's first series as a ``Source`` (axes among t, c, z, y, x)."""

    path: Path
    axes: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    #: tifffile's axis codes of the series, in the file's order (``"ZCYX"``).
    series_axes: str
    size: int
    mtime_ns: int
    #: Byte offset of the series' voxels when stored uncompressed in one run
    #: in page order (read by rows); None when tifffile must decode.
    offset: int | None
    byteorder: ByteOrder
    image_info: ImageInfo = ImageInfo()
    remarks: tuple[str, ...] = ()

    @classmethod
    def open(cls, path: Path) -> TiffStack:
        """Inspect ``path``'s header and metadata (no voxels are read)."""
        if not path.is_file():
            raise ConversionError(
                f"The TIFF file {str(path)!r} does not exist: give a multi-page "
                "TIFF file or a folder of slices."
            )
        try:
            with tifffile.TiffFile(path) as tif:
                return cls._inspect(path, tif)
        except ConversionError:
            raise
        except Exception as error:  # tifffile raises many kinds of errors
            raise ConversionError(
                f"{str(path)!r} is not a readable TIFF file ({error}): give a "
                "multi-page TIFF file or a folder of slices."
            ) from None

    @classmethod
    def _inspect(cls, path: Path, tif: tifffile.TiffFile) -> TiffStack:
        series = tif.series[0]
        codes, shape = series.axes, tuple(int(n) for n in series.shape)
        check_series(path, tif, codes, shape)
        names = [AXIS_NAMES[code] for code in codes]
        axes, order = in_axes_order(names)
        final = series.keyframe.is_final and series.transform is None
        offset = series.dataoffset if final and len(series.levels) == 1 else None
        notes = [
            f"read {tif.filename}'s {describe(series.kind)} series of axes "
            f"{codes} as {', '.join(axes)}"
            + ("" if offset is not None else " (decoding its strips or tiles)")
        ]
        if len(tif.series) > 1:
            notes.append(f"left out its {count(len(tif.series) - 1, 'other series')}")
        if len(series.levels) > 1:
            notes.append(f"read level 0 of its {len(series.levels)} pyramid levels")
        info: ImageInfo = ImageInfo()
        said: tuple[str, ...] = ()
        channels = shape[codes.index("C")] if "C" in codes else 0
        if tif.is_ome and tif.ome_metadata:
            info, said = ome_info(tif.ome_metadata, channels)
        elif tif.is_imagej and tif.imagej_metadata:
            info, said = imagej_info(tif.imagej_metadata, series.keyframe.tags)
        stat = path.stat()
        return cls(
            path=path,
            axes=axes,
            shape=tuple(shape[d] for d in order),
            dtype=np.dtype(series.dtype),
            series_axes=codes,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            offset=None if offset is None else int(offset),
            byteorder="<" if tif.byteorder == "<" else ">",
            image_info=info,
            remarks=(*notes, *said),
        )

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def staged(self) -> bool:
        return False

    def notes(self) -> tuple[str, ...]:
        """Which series and axes it read, what it left out, what metadata lacks."""
        return self.remarks

    def info(self) -> ImageInfo:
        """OME-XML's or ImageJ's voxel size and channels; nothing for others."""
        return self.image_info

    def fingerprint(self) -> dict[str, Any]:
        return {"file": [self.path.name, self.size, self.mtime_ns]}

    def read(self, region: Region, out: np.ndarray) -> None:
        """Fill ``out`` page by page, each page's window of rows and columns:
        by rows when uncompressed in one run, else decoding only the strips
        or tiles the window covers (tifffile's Zarr store)."""
        rows, columns = region[-2:]
        pages = self._pages(region)
        if self.offset is not None:  # page after page, in the file's order
            plane = self.shape[-2] * self.shape[-1] * self.dtype.itemsize
            counts = self.page_counts()
            for index, at in pages:
                page = int(np.ravel_multi_index(index, counts)) if counts else 0
                offset = self.offset + page * plane
                read_rows(
                    out[at],
                    str(self.path),
                    offset,
                    self.byteorder,
                    rows.start,
                    columns.start,
                    self.shape[-1],
                )
            return
        with tifffile.TiffFile(self.path) as tif:
            store = tif.series[0].aszarr(level=0)
            try:
                array = zarr.open_array(store, mode="r")
                for index, at in pages:
                    array.get_basic_selection(
                        (*index, rows, columns), out=NDBuffer.from_numpy_array(out[at])
                    )
            finally:
                store.close()

    def page_counts(self) -> tuple[int, ...]:
        """The lengths of the series' axes before y, x, in the file's order."""
        codes = self.series_axes[:-2]
        return tuple(self.shape[self.axes.index(AXIS_NAMES[c])] for c in codes)

    def _pages(
        self, region: Region
    ) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Each page ``region`` covers, in the file's order: its index along
        the series' axes before y, x, and where its window goes in ``out``."""
        where = dict(zip(self.axes, region, strict=True))
        names = [AXIS_NAMES[code] for code in self.series_axes[:-2]]
        order = [names.index(a) for a in self.axes[:-2]]  # out's axes
        spans = (range(where[n].start, where[n].stop) for n in names)
        for index in itertools.product(*spans):
            yield index, tuple(index[k] - where[names[k]].start for k in order)

    def stage(self, plane: int, folder: Path) -> None:
        raise TypeError("A TIFF file is read by region: it needs no staging.")

    def staged_copy(self, folder: Path) -> Source:
        return self


def describe(kind: str) -> str:
    """tifffile's kind of series, in words."""
    return {
        "ome": "OME-TIFF",
        "imagej": "ImageJ",
        "shaped": "tifffile",
        "generic": "plain",
        "uniform": "plain",
    }.get(kind, kind)


def check_series(
    path: Path, tif: tifffile.TiffFile, codes: str, shape: tuple[int, ...]
) -> None:
    """Refuse a series the converter cannot read as t, c, z, y, x planes."""
    name = str(path)
    if tif.series[0].kind in ("generic", "uniform") and len(tif.series) > 1:
        first, other = tif.series[0].keyframe, tif.series[1].keyframe
        raise ConversionError(
            f"{name!r} holds pages of different shapes or dtypes (page "
            f"{other.index} is {other.shape} {other.dtype}, page 0 {first.shape} "
            f"{first.dtype}): save the stack as pages of one shape and dtype, or "
            "as a folder of slices."
        )
    if "S" in codes:
        raise ConversionError(
            f"{name!r} holds {shape[codes.index('S')]} samples per pixel (RGB, "
            f"axes {codes}): save each colour as its own channel of greyscale "
            "pages (or convert it to greyscale)."
        )
    unknown = [c for c in codes if c not in AXIS_NAMES]
    names = [AXIS_NAMES.get(c) for c in codes]
    if unknown or len(set(names)) < len(names):
        raise ConversionError(
            f"{name!r} has axes {codes} ({' x '.join(map(str, shape))}), which are "
            "not among T, C, Z, Y, X, one each: save it as a t, c, z, y, x "
            "hyperstack (such as an OME-TIFF)."
        )
    if len(shape) < 3 or "z" not in names:
        what = "one 2-D image" if len(shape) == 2 else f"axes {codes} without Z"
        if len(shape) == 2 and len(tif.series) > 1:
            raise ConversionError(
                f"{name!r} holds {len(tif.series)} pages that are each a 2-D image "
                f"of their own (shape {shape}), not one stack: write them as one "
                "3-D array (one tifffile.imwrite call) or as a folder of slices."
            )
        raise ConversionError(
            f"{name!r} is a file of {what} (shape {shape}): give the folder that "
            f"holds the slices, such as {str(path.parent)!r}, or a multi-page TIFF."
        )
    if codes[-2:] != "YX":
        raise ConversionError(
            f"{name!r} has axes {codes}, not ending in Y, X: save its pages as "
            "y, x planes."
        )
    if math.prod(shape) == 0:
        raise ConversionError(f"{name!r} holds no voxels (shape {shape}).")


KIND = SourceKind(
    name="tiff-file",
    description="one multi-page TIFF file (BigTIFF, OME-TIFF, ImageJ hyperstack)",
    accepts=accepts,
    open=lambda path, options: TiffStack.open(path),
)
