"""What the converter reads: a ``Source``, whatever the input kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from data_helpers.ome import ALL_AXES, Channel

__all__ = [
    "AXES_ORDER",
    "Channel",
    "ImageInfo",
    "Region",
    "Source",
    "SourceKind",
    "SourceOptions",
    "default_axes",
    "in_axes_order",
]

Region = tuple[slice, ...]
#: The axes an input may have, in the order OME-Zarr writes them; ``z, y, x``
#: are always there, ``t`` and ``c`` when the input has them.
AXES_ORDER = ALL_AXES


def in_axes_order(stored: Sequence[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The axes named in ``stored`` (the stored dimensions' names), in the
    order ``AXES_ORDER``, and for each the stored dimension that holds it:
    ``("z", "c", "y", "x")`` gives ``("c", "z", "y", "x"), (1, 0, 2, 3)``."""
    axes = tuple(axis for axis in AXES_ORDER if axis in stored)
    return axes, tuple(list(stored).index(axis) for axis in axes)


def default_axes(ndim: int) -> tuple[str, ...]:
    """The axes of an array of ``ndim`` (3 to 5) unnamed dimensions:
    ``z, y, x``, ``c, z, y, x`` or ``t, c, z, y, x``."""
    return AXES_ORDER[-ndim:]


@dataclass(frozen=True)
class ImageInfo:
    """What an input says about itself beside its voxels (None, (): nothing).

    ``voxel_size`` is ``(z, y, x)`` in ``unit`` (an OME-Zarr unit name, such
    as ``"micrometer"``); ``channels`` one entry per index of the ``c`` axis.
    """

    voxel_size: tuple[float, float, float] | None = None
    unit: str | None = None
    channels: tuple[Channel, ...] = ()


@dataclass(frozen=True)
class SourceOptions:
    """What the reader told the converter about the input beside its path."""

    #: The array inside an HDF5 file (``--dataset``); None: its only one.
    dataset: str | None = None


class Source(Protocol):
    """An input image, read region by region: the one interface of input kinds.

    A source is picklable and small (its files are opened inside ``read``),
    so dask can send it to every task. One that cannot be read by region
    (``staged``: JPEG 2000 slices) is first staged plane by plane
    (``stage``) into a folder, and ``staged_copy`` then reads those planes.
    """

    @property
    def axes(self) -> tuple[str, ...]:
        """Axis names, in the order of ``shape``: ``("z", "y", "x")``, or with
        ``t`` and/or ``c`` before them (``AXES_ORDER``)."""
        ...

    @property
    def shape(self) -> tuple[int, ...]:
        """Voxels along each axis."""
        ...

    @property
    def dtype(self) -> np.dtype:
        """The voxels' data type."""
        ...

    @property
    def location(self) -> str:
        """Where it is, as the reader named it (for messages)."""
        ...

    @property
    def staged(self) -> bool:
        """Whether it must be staged (``stage``) before it can be read by region."""
        ...

    def notes(self) -> tuple[str, ...]:
        """What the reader should hear about how it was read (files skipped...)."""
        ...

    def info(self) -> ImageInfo:
        """Voxel size, unit and channels, as far as the input's metadata says."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """What a resume must find unchanged (file names, sizes, times), as JSON."""
        ...

    def read(self, region: Region, out: np.ndarray) -> None:
        """Fill ``out`` with the voxels of ``region``, holding little more than it."""
        ...

    def stage(self, plane: int, folder: Path) -> None:
        """Decode plane ``plane`` once into ``folder`` (sources that are ``staged``)."""
        ...

    def staged_copy(self, folder: Path) -> Source:
        """The source that reads the planes ``stage`` wrote into ``folder``."""
        ...


@dataclass(frozen=True)
class SourceKind:
    """One input kind: how to recognise it, and how to open it as a ``Source``."""

    name: str
    #: What it is, for help texts: "a folder of 2-D TIFF or JPEG 2000 slices".
    description: str
    accepts: Callable[[Path], bool]
    open: Callable[[Path, SourceOptions], Source]
    #: How it opens an ``http(s)://`` or ``s3://`` URL (None: it reads folders only).
    open_url: Callable[[str], Source] | None = None
    #: Whether it opens this URL (None: every URL, when it has ``open_url``).
    accepts_url: Callable[[str], bool] | None = None
    #: The ``SourceOptions`` fields it uses (another one given: an error).
    options: frozenset[str] = frozenset()
