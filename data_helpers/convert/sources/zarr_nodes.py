"""What a Zarr location (a folder or a URL) holds: an array, read-only.

Shared by the input kinds that read Zarr (``ome_zarr``: groups, ``zarr_array``:
arrays), so that each tells an array from a group the same way.
"""

from __future__ import annotations

import os

import zarr

from data_helpers.remote import open_store


def open_array(location: str | os.PathLike[str]) -> zarr.Array:
    """The Zarr array (format 2 or 3) at ``location``, read-only.

    Raises ``ValueError`` (zarr's errors, ``RemoteError``) or ``OSError``
    when there is none.
    """
    return zarr.open_array(open_store(location, "r"), mode="r")


def is_array(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` holds a Zarr array: ``zarr.json`` with
    ``node_type`` array, or ``.zarray``."""
    try:
        open_array(location)
    except (ValueError, OSError):
        return False
    return True
