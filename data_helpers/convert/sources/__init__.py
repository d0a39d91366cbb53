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
KINDS: tuple[SourceKind, ...] = (ome_zarr.KIND, slices.KIND)

__all__ = [
    "AXES_ORDER",
    "KINDS",
    "Channel",
    "ImageInfo",
    "RawPlanes",
    "Region",
    "Source",
    "SourceKind",
    "SourceOptions",
    "open_source",
]


def open_source(
    path: str | os.PathLike[str], options: SourceOptions | None = None
) -> Source:
    """The input at ``path`` as a ``Source``, of the first kind that accepts it.

    A folder is made absolute first (the source's ``location`` and the
    paths it reads are then the same from any working directory); a URL goes
    to the first kind that opens URLs. ``options`` (``--dataset``)
    must be ones the kind uses. Raises ConversionError, naming what is wrong,
    when no kind can read it.
    """
    options = options or SourceOptions()
    if is_remote(path):
        url = str(path)
        for kind in KINDS:
            if kind.open_url is not None:
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
