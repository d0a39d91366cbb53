"""Download and open the book's sample data (a human heart scan).

The files are fetched with `pooch <https://www.fatiando.org/pooch>`_ and checked
against the SHA-256 hashes in ``registry.txt``. Two environment variables
change where they come from and where they go:

``DATA_HELPERS_CACHE``
    Folder for the downloaded files (default: the operating system's cache
    folder, e.g. ``~/.cache/data_helpers`` on Linux).
``DATA_HELPERS_URL``
    Base URL that holds ``hoa_heart.zarr/`` (a mirror, or a local server).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pooch
import requests
import zarr

CACHE_ENV = "DATA_HELPERS_CACHE"
URL_ENV = "DATA_HELPERS_URL"
DEFAULT_URL = (
    "https://raw.githubusercontent.com/HEFTIEProject/heftie-textbook/"
    "cd29a9a11cf01d18987a1512e6458bfa86768b11/book/data/"
)
HEART_FOLDER = "hoa_heart.zarr"

#: Voxel size of the full-resolution scan of the heart (HiP-CT of donor
#: LADAF-2020-27 at beamline BM18: 7641 x 7641 x 8839 voxels of 19.89 um; Human
#: Organ Atlas metadata, repository HumanOrganAtlas/metadata-schemas, file
#: metadata/LADAF-2020-27_heart_complete-organ_19.89um_bm18.json).
SCAN_VOXEL_SIZE_UM = 19.89
#: The sample is level 6 of the Human Organ Atlas's own pyramid of that scan:
#: each of its voxels spans 2**6 = 64 scan voxels along every axis (so
#: ceil(7641 / 64) = 120 and ceil(8839 / 64) = 139 voxels), and it is
#: 64 * 19.89 = 1272.96 um wide. This, not 19.89 um, is the voxel size of the
#: sample to write into metadata.
HEART_VOXEL_SIZE_UM = 64 * SCAN_VOXEL_SIZE_UM


class SampleDataError(RuntimeError):
    """The sample data could not be downloaded or did not pass its checks."""


def cache_dir() -> Path:
    """Return the folder the sample data are cached in."""
    return Path(os.environ.get(CACHE_ENV) or pooch.os_cache("data_helpers"))


def base_url() -> str:
    """Return the base URL the sample data are downloaded from."""
    url = os.environ.get(URL_ENV) or DEFAULT_URL
    return url if url.endswith("/") else url + "/"


def _registry() -> dict[str, str]:
    text = resources.files("data_helpers").joinpath("registry.txt").read_text()
    return dict(line.split() for line in text.splitlines() if line.strip())


def fetch_heart_data() -> Path:
    """Download the heart sample (if not cached yet) and return its folder.

    Cached files are checked against their hashes on every call; a file that
    was truncated or corrupted since it was downloaded is downloaded again.
    """
    fetcher = pooch.create(path=cache_dir(), base_url=base_url(), registry=_registry())
    # pooch creates a file's sub-folder with check-then-create, which fails with
    # FileExistsError when several processes download at once: create it first.
    try:
        (fetcher.abspath / HEART_FOLDER).mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # an unwritable cache folder is reported by pooch below
    for name in fetcher.registry:
        url = fetcher.get_url(name)
        try:
            fetcher.fetch(name, progressbar=True)
        except requests.exceptions.RequestException as error:
            raise SampleDataError(
                f"Could not download {url} into the cache folder {fetcher.abspath} "
                f"({type(error).__name__}: {error}). Check your network connection, "
                f"or point {URL_ENV} at a mirror or local copy of the data, or "
                f"{CACHE_ENV} at a folder that already holds {HEART_FOLDER}/."
            ) from error
        except ValueError as error:
            if "hash" not in str(error).lower():
                raise
            raise SampleDataError(
                f"The file {name!r} downloaded from {url} does not match its "
                f"SHA-256 hash, so it was not used. The server at {base_url()} "
                f"serves a changed or damaged copy: fix the mirror or unset {URL_ENV}."
            ) from error
    return fetcher.abspath / HEART_FOLDER


@overload
def load_heart_data(array_type: Literal["numpy"] = ...) -> np.ndarray: ...
@overload
def load_heart_data(array_type: Literal["zarr"]) -> zarr.Array: ...
def load_heart_data(array_type: str = "numpy") -> np.ndarray | zarr.Array:
    """Load the heart sample: a ``uint8`` image of shape (120, 120, 139).

    Its axes are (x, y, z), z last; each voxel is ``HEART_VOXEL_SIZE_UM`` wide.

    ``array_type="numpy"`` returns the whole image in memory; ``"zarr"`` returns
    the cached zarr array opened read-only, so it cannot be changed by mistake.
    Credit: Human Organ Atlas (https://human-organ-atlas.esrf.fr).
    """
    if array_type not in ("numpy", "zarr"):
        raise ValueError(
            f"Unknown array_type {array_type!r}: use 'numpy' for an in-memory "
            "NumPy array or 'zarr' for the read-only zarr array on disk."
        )
    store = zarr.storage.LocalStore(fetch_heart_data(), read_only=True)
    array = zarr.open_array(store=store, mode="r", zarr_format=2)
    if array_type == "zarr":
        return array
    return np.asarray(array[:])
