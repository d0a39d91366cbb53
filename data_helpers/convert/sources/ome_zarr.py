"""Input kind: an existing OME-Zarr image (``OmeZarrImage``), to migrate.

The image's metadata is read once, read-only (the source is never written):
its levels (each an ``OmeZarrLevel``, a ``Source`` of its own that opens its
array inside ``read``), its axes, and its label images (``labels/NAME`` with
``image-label`` metadata), each an ``OmeZarrImage`` too: OME-Zarr 0.4, 0.5
or 0.6 (axes from 0.6's coordinate system, ``ome.multiscale_axes``). As a
``Source``, the image is its level 0. It can be a folder, an ``http(s)://`` URL or an
``s3://`` URL (``data_helpers.remote.open_store``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.core.buffer.cpu import NDBuffer

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources.source import ImageInfo, Region, Source, SourceKind
from data_helpers.convert.sources.zarr_nodes import is_array
from data_helpers.ome import (
    OME_ZARR_VERSIONS,
    multiscale_axes,
    ome_attributes,
    written_version,
)
from data_helpers.remote import RemoteError, is_remote, open_store
from data_helpers.types import ZarrFormat

#: OME-Zarr versions an image can be read in.
READ_VERSIONS = OME_ZARR_VERSIONS
#: What marks a folder as a Zarr group (format 3, format 2).
GROUP_FILES = ("zarr.json", ".zattrs", ".zgroup")


def child(location: str, name: str) -> str:
    """``location/name``, for a folder or a URL."""
    if is_remote(location):
        return f"{location.rstrip('/')}/{name}"
    return str(Path(location) / name)


@dataclass(frozen=True)
class OmeZarrLevel:
    """One level (array ``path`` of the image at ``location``), read by region.

    Small and picklable: the array is opened, read-only, inside ``read``.
    """

    location: str
    path: str
    zarr_format: ZarrFormat
    shape: tuple[int, ...]
    dtype: np.dtype
    axes: tuple[str, ...]

    @property
    def staged(self) -> bool:
        return False

    def open(self) -> zarr.Array:
        """The level's array, read-only."""
        store = open_store(self.location, "r")
        return zarr.open_array(
            store, path=self.path, mode="r", zarr_format=self.zarr_format
        )

    def notes(self) -> tuple[str, ...]:
        return ()

    def info(self) -> ImageInfo:
        """A level alone says nothing of its voxel size: its image does."""
        return ImageInfo()

    def fingerprint(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype.name}

    def read(self, region: Region, out: np.ndarray) -> None:
        """Fill ``out`` with ``region``: zarr decodes the chunks it overlaps."""
        self.open().get_basic_selection(region, out=NDBuffer.from_numpy_array(out))

    def stage(self, plane: int, folder: Path) -> None:
        raise NotImplementedError("An OME-Zarr level is read by region.")

    def staged_copy(self, folder: Path) -> Source:
        raise NotImplementedError("An OME-Zarr level is read by region.")


@dataclass(frozen=True)
class OmeZarrImage:
    """An OME-Zarr image: its group's attributes, levels and label images.

    ``name`` is a label image's name (``labels/NAME``), None for the image.
    """

    location: str
    zarr_format: ZarrFormat
    version: str
    attributes: dict[str, Any]
    levels: tuple[OmeZarrLevel, ...]
    labels: tuple[OmeZarrImage, ...] = ()
    name: str | None = None

    @classmethod
    def open(cls, location: str | Path, name: str | None = None) -> OmeZarrImage:
        """Read the image at ``location`` (and its label images), read-only.

        Raises ConversionError, saying what is missing, for anything else.
        """
        location = str(location)
        group = _open_group(location)
        attributes: dict[str, Any] = group.attrs.asdict()
        ome = ome_attributes(attributes)
        multiscales = ome.get("multiscales")
        if not isinstance(multiscales, list) or not multiscales:
            raise ConversionError(
                f"{location!r} is not an OME-Zarr image (no multiscales metadata): "
                "give an image folder (its zarr.json or .zattrs lists the levels), "
                f"the Zarr array inside it, e.g. {first_array(group, location)!r}, "
                "or a folder of slices."
            )
        if len(multiscales) > 1:
            raise ConversionError(
                f"{location!r} holds {len(multiscales)} multiscale images in one "
                "group: migrate images with one."
            )
        version = str(written_version(attributes))
        if version not in READ_VERSIONS:
            raise ConversionError(
                f"{location!r} is OME-Zarr {version}: images of OME-Zarr "
                f"{', '.join(READ_VERSIONS)} can be migrated."
            )
        metadata = multiscales[0]
        axes = tuple(str(axis.get("name")) for axis in multiscale_axes(metadata))
        if not axes:
            raise ConversionError(
                f"{location!r} names no axes (0.6: no coordinate system its first "
                "level maps into): give a complete OME-Zarr image."
            )
        levels = tuple(
            _level(group, location, str(dataset["path"]), axes)
            for dataset in metadata["datasets"]
        )
        labels = () if name else _label_images(group, location)
        return cls(
            location,
            group.metadata.zarr_format,
            version,
            attributes,
            levels,
            labels,
            name,
        )

    @property
    def multiscale(self) -> dict[str, Any]:
        """The image's (one) ``multiscales`` entry."""
        return dict(ome_attributes(self.attributes)["multiscales"][0])

    @property
    def axes(self) -> tuple[str, ...]:
        return self.levels[0].axes

    @property
    def shape(self) -> tuple[int, ...]:
        return self.levels[0].shape

    @property
    def dtype(self) -> np.dtype:
        return self.levels[0].dtype

    @property
    def staged(self) -> bool:
        return False

    def images(self) -> tuple[OmeZarrImage, ...]:
        """The image, then its label images."""
        return (self, *self.labels)

    def notes(self) -> tuple[str, ...]:
        return ()

    def info(self) -> ImageInfo:
        """A migration keeps the image's own metadata: nothing to take from it."""
        return ImageInfo()

    def fingerprint(self) -> dict[str, Any]:
        """Each level's shape and dtype (label images' too), and a hash of
        the metadata: what a resumed migration must find unchanged."""
        metadata = [image.attributes for image in self.images()]
        text = json.dumps(metadata, sort_keys=True).encode()
        return {
            "ome_zarr": {
                "levels": [level.fingerprint() for level in self.levels],
                "labels": {
                    str(label.name): [level.fingerprint() for level in label.levels]
                    for label in self.labels
                },
                "metadata_sha256": hashlib.sha256(text).hexdigest(),
            }
        }

    def read(self, region: Region, out: np.ndarray) -> None:
        """Level 0's voxels of ``region``."""
        self.levels[0].read(region, out)

    def stage(self, plane: int, folder: Path) -> None:
        raise NotImplementedError("An OME-Zarr image is read by region.")

    def staged_copy(self, folder: Path) -> Source:
        raise NotImplementedError("An OME-Zarr image is read by region.")


def _open_group(location: str) -> zarr.Group:
    """The Zarr group at ``location``, read-only, without consolidated metadata
    (which may be older than the group)."""
    try:
        store = open_store(location, "r")
        return zarr.open_group(store, mode="r", use_consolidated=False)
    except RemoteError as error:
        raise ConversionError(str(error)) from None
    except (zarr.errors.BaseZarrError, FileNotFoundError, KeyError):
        raise ConversionError(
            f"{location!r} is not a Zarr group: give an OME-Zarr image folder "
            "(or URL), or a folder of slices."
        ) from None


def first_array(group: zarr.Group, location: str) -> str:
    """Where the first array of ``group`` is (``location/0`` if it cannot be
    listed, as over HTTP)."""
    try:
        names = sorted(group.array_keys())
    except (NotImplementedError, ValueError, OSError):
        names = []
    return child(location, names[0] if names else "0")


def _level(
    group: zarr.Group, location: str, path: str, axes: tuple[str, ...]
) -> OmeZarrLevel:
    array = group.get(path)
    if not isinstance(array, zarr.Array) or array.ndim != len(axes):
        raise ConversionError(
            f"{location!r} lists a level {path!r} it does not hold (or not with one "
            f"dimension per axis {axes}): give a complete OME-Zarr image."
        )
    return OmeZarrLevel(
        location, path, group.metadata.zarr_format, array.shape, array.dtype, axes
    )


def _label_images(group: zarr.Group, location: str) -> tuple[OmeZarrImage, ...]:
    """The label images the image's ``labels`` group lists, each checked."""
    labels = group.get("labels")
    if not isinstance(labels, zarr.Group):
        return ()
    names = ome_attributes(labels.attrs.asdict()).get("labels", [])
    images = []
    for name in names:
        image = OmeZarrImage.open(child(location, f"labels/{name}"), name=str(name))
        if "image-label" not in ome_attributes(image.attributes):
            raise ConversionError(
                f"{location!r} lists label image {name!r}, which has no image-label "
                "metadata: give an image whose label images are complete."
            )
        images.append(image)
    return tuple(images)


def accepts(path: Path) -> bool:
    """A folder holding Zarr group metadata (not an array's: ``zarr_array``)."""
    return any((path / name).is_file() for name in GROUP_FILES) and not is_array(path)


KIND = SourceKind(
    name="ome-zarr",
    description="an OME-Zarr image (0.4, 0.5 or 0.6), to migrate",
    accepts=accepts,
    open=lambda path, options: OmeZarrImage.open(path),
    open_url=lambda url: OmeZarrImage.open(url),
    accepts_url=lambda url: not is_array(url),
)
