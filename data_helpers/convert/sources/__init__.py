"""The converter's inputs: each input kind is one module behind ``Source``.

- ``source``: the ``Source`` interface and ``SourceKind``;
- ``slices``: a folder of 2-D TIFF or JPEG 2000 slices (``SliceFolder``);
- ``tiff_file``: one multi-page TIFF file, BigTIFF, ImageJ hyperstack or
  OME-TIFF (``TiffStack``);
- ``jpeg2k``: JPEG 2000 headers and the one decode of each slice;
- ``hdf5``: one array of an HDF5 file (``Hdf5Dataset``, ``--dataset``);
- ``staged``: planes staged as raw voxels (``RawPlanes``), read by region;
- ``ome_zarr``: an existing OME-Zarr image, its levels and label images
  (``OmeZarrImage``), which the converter migrates (``convert.migrate``);
- ``zarr_array``: a plain Zarr array of 3 to 5 dimensions (``ZarrArray``);
  ``zarr_nodes``: whether a Zarr location holds an array;
- ``channels``: several inputs as the channels of one (``stack_channels``).

``open_source`` picks the kind from ``KINDS``, the registry: a new input
kind is one module and one entry there. ``open_sources`` opens several
inputs as the channels of one image.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources import (
    hdf5,
    ome_zarr,
    slices,
    tiff_file,
    zarr_array,
)
from data_helpers.convert.sources.channels import ChannelStack, stack_channels
from data_helpers.convert.sources.source import (
    AXES_ORDER,
    Channel,
    ImageInfo,
    Region,
    Source,
    SourceKind,
    SourceOptions,
)
from data_helpers.convert.sources.staged import RawPlanes
from data_helpers.remote import is_remote

#: The input kinds, in the order they are tried: the most general last.
KINDS: tuple[SourceKind, ...] = (
    ome_zarr.KIND,
    zarr_array.KIND,
    hdf5.KIND,
    tiff_file.KIND,
    slices.KIND,
)

__all__ = [
    "AXES_ORDER",
    "KINDS",
    "Channel",
    "ChannelStack",
    "ImageInfo",
    "RawPlanes",
    "Region",
    "Source",
    "SourceKind",
    "SourceOptions",
    "open_source",
    "open_sources",
    "stack_channels",
]


def open_source(
    path: str | os.PathLike[str], options: SourceOptions | None = None
) -> Source:
    """The input at ``path`` as a ``Source``, of the first kind that accepts it.

    A folder is made absolute first (the source's ``location`` and the
    paths it reads are then the same from any working directory); a URL goes
    to the first kind that opens it. ``options`` (``--dataset``)
    must be ones the kind uses. Raises ConversionError, naming what is wrong,
    when no kind can read it.
    """
    options = options or SourceOptions()
    if is_remote(path):
        url = str(path)
        for kind in KINDS:
            if kind.open_url is not None and (
                kind.accepts_url is None or kind.accepts_url(url)
            ):
                return kind.open_url(url)
        raise ConversionError(f"{url} is a URL: give a folder.")
    path = Path(os.path.abspath(path))
    kind = next((k for k in KINDS if k.accepts(path)), KINDS[-1])
    _check_options(kind, options, path)
    return kind.open(path, options)  # the last kind's error says what it needs


def _check_options(kind: SourceKind, options: SourceOptions, path: Path) -> None:
    """Refuse an option the input's kind does not use, such as ``--dataset``
    for a folder of slices."""
    for name, value in vars(options).items():
        if value is not None and name not in kind.options:
            flag = "--" + name.replace("_", "-")
            raise ConversionError(
                f"{flag} is for other inputs than {kind.description} "
                f"({str(path)!r}): leave {flag} out."
            )


def open_sources(
    paths: Sequence[str | os.PathLike[str]], options: SourceOptions | None = None
) -> Source:
    """The input at ``paths[0]`` (``open_source``), or, given several, each
    opened as one channel of one image (``stack_channels``), named by its folder.
    """
    if not paths:
        raise ConversionError("no input given: give a folder, file or URL.")
    if len(paths) == 1:
        return open_source(paths[0], options)
    return stack_channels([open_source(path, options) for path in paths])
