"""Input kind: a plain Zarr array of 3 to 5 dimensions (``ZarrArray``).

Not an OME-Zarr image (``ome_zarr``, migrated): one array, format 2 or 3,
such as a level of an image (``IMAGE.ome.zarr/0``) or an array another tool
wrote. Its axes are its ``dimension_names`` (format 3; ``_ARRAY_DIMENSIONS``
in format 2's attributes, xarray's convention) when they name ``t``, ``c``,
``z``, ``y``, ``x``, else they follow from its number of dimensions
(``source.default_axes``). They are presented in the order ``AXES_ORDER`` whatever
the order they are stored in. It is read by region as one level of an image
is (``OmeZarrLevel``). A folder, an ``http(s)://`` or an ``s3://`` URL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources.ome_zarr import OmeZarrLevel
from data_helpers.convert.sources.source import (
    AXES_ORDER,
    ImageInfo,
    Region,
    Source,
    SourceKind,
    default_axes,
    in_axes_order,
)
from data_helpers.convert.sources.zarr_nodes import is_array, open_array
from data_helpers.ome import SPATIAL_AXES
from data_helpers.remote import RemoteError


@dataclass(frozen=True)
class ZarrArray:
    """A Zarr array as a ``Source``; small and picklable (opened inside ``read``)."""

    #: The array as stored: its shape and axes in the order of its dimensions.
    stored: OmeZarrLevel
    #: The stored chunk shape (the inner chunks of a sharded array).
    chunks: tuple[int, ...]
    #: SHA-256 of the array's metadata (codecs, fill value, attributes...).
    metadata_sha256: str
    #: How the axes were found, when the reader should hear it.
    note: str | None = None

    @classmethod
    def open(cls, location: str | Path) -> ZarrArray:
        """Read the metadata of the array at ``location``; refuse what cannot
        be converted (ConversionError, one line)."""
        location = str(location)
        try:
            array = open_array(location)
        except RemoteError as error:
            raise ConversionError(str(error)) from None
        except (ValueError, OSError):
            raise ConversionError(
                f"{location!r} is not a Zarr array: give a folder (or URL) holding "
                "an array's zarr.json or .zarray."
            ) from None
        if not 3 <= array.ndim <= 5:
            raise ConversionError(
                f"{location!r} is a {array.ndim}-D Zarr array (shape {array.shape}): "
                "give a 3-D (z, y, x), 4-D (c, z, y, x) or 5-D (t, c, z, y, x) array."
            )
        dtype = np.dtype(array.dtype)
        if dtype.kind not in "iuf":
            raise ConversionError(
                f"{location!r} is a Zarr array of {dtype}, not of numbers: give an "
                "array of integers or floating-point numbers."
            )
        axes, note = stored_axes(array, location)
        metadata = json.dumps(array.metadata.to_dict(), sort_keys=True, default=str)
        stored = OmeZarrLevel(
            location, "", array.metadata.zarr_format, array.shape, dtype, axes
        )
        sha256 = hashlib.sha256(metadata.encode()).hexdigest()
        return cls(stored, tuple(array.chunks), sha256, note)

    @property
    def axes(self) -> tuple[str, ...]:
        return in_axes_order(self.stored.axes)[0]

    @property
    def order(self) -> tuple[int, ...]:
        """For each of ``axes``, the dimension of the array that holds it."""
        return in_axes_order(self.stored.axes)[1]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.stored.shape[d] for d in self.order)

    @property
    def dtype(self) -> np.dtype:
        return self.stored.dtype

    @property
    def location(self) -> str:
        return self.stored.location

    @property
    def staged(self) -> bool:
        return False

    def notes(self) -> tuple[str, ...]:
        return () if self.note is None else (self.note,)

    def info(self) -> ImageInfo:
        """A plain array says nothing of voxel size, unit or channels."""
        return ImageInfo()

    def fingerprint(self) -> dict[str, Any]:
        return {
            "zarr_array": {
                "shape": list(self.stored.shape),
                "dtype": self.dtype.name,
                "chunks": list(self.chunks),
                "metadata_sha256": self.metadata_sha256,
            }
        }

    def read(self, region: Region, out: np.ndarray) -> None:
        """Fill ``out`` (axes ``axes``) with ``region``, read into a view of
        ``out`` in the array's order of dimensions: no copy."""
        dims = np.argsort(self.order)  # for each dimension, its axis in ``axes``
        stored_region = tuple(region[axis] for axis in dims)
        self.stored.read(stored_region, out.transpose(dims))

    def stage(self, plane: int, folder: Path) -> None:
        raise NotImplementedError("A Zarr array is read by region.")

    def staged_copy(self, folder: Path) -> Source:
        raise NotImplementedError("A Zarr array is read by region.")


def dimension_names(array: zarr.Array) -> tuple[str, ...] | None:
    """The names of the array's dimensions, if it names all of them."""
    metadata = array.metadata
    names: Any = (
        metadata.dimension_names
        if metadata.zarr_format == 3
        else array.attrs.get("_ARRAY_DIMENSIONS")
    )
    if not isinstance(names, list | tuple) or len(names) != array.ndim:
        return None
    if not all(isinstance(name, str) for name in names):
        return None
    return tuple(names)


def stored_axes(array: zarr.Array, location: str) -> tuple[tuple[str, ...], str | None]:
    """The axis of each dimension of ``array``, and a note when they were not
    named but follow from the number of dimensions."""
    names = dimension_names(array)
    lowered = tuple(name.lower() for name in names) if names else ()
    distinct = len(set(lowered)) == len(lowered)
    if lowered and distinct and set(lowered) <= set(AXES_ORDER):
        missing = [axis for axis in SPATIAL_AXES if axis not in lowered]
        if missing:
            raise ConversionError(
                f"{location!r} has dimensions {', '.join(lowered)}, without "
                f"{', '.join(missing)}: give an array with z, y and x dimensions."
            )
        return lowered, None
    axes = default_axes(array.ndim)
    if names:
        why = f"its dimension names {', '.join(names)} are not t, c, z, y, x"
    elif array.ndim > 3:
        why = "it does not name its dimensions"
    else:
        return axes, None
    return axes, f"read its {array.ndim} dimensions as {', '.join(axes)}: {why}"


KIND = SourceKind(
    name="zarr-array",
    description="a Zarr array (format 2 or 3) of 3 to 5 dimensions",
    accepts=is_array,
    open=lambda path, options: ZarrArray.open(path),
    open_url=ZarrArray.open,
    accepts_url=is_array,
)
