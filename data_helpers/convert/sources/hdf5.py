"""Input kind: one array (dataset) of an HDF5 file (``Hdf5Dataset``).

Such as the volume ESRF's nabu reconstructs, ``/entry0000/reconstruction/
results/data`` in a NeXus (NXtomo-like) file. ``hdf5plugin`` registers the
Blosc, LZ4, Zstd and bitshuffle filters, so compressed datasets decode.

The dataset is read by hyperslab: ``read`` opens the file, with a small
chunk cache (``CHUNK_CACHE_BYTES``), and HDF5 reads only what the region
needs; a chunk that overlaps the region is decoded whole, once per read.
Its axes are ``z, y, x`` (3-D), ``c, z, y, x`` (4-D) or ``t, c, z, y, x``
(5-D), or those its dimension labels (``dset.dims[i].label``) name, in the
order t, c, z, y, x whatever the order of the dataset's dimensions.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers Blosc, LZ4, Zstd, bitshuffle filters)
import numpy as np

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources.source import (
    AXES_ORDER,
    ImageInfo,
    Region,
    Source,
    SourceKind,
    SourceOptions,
    default_axes,
    in_axes_order,
)
from data_helpers.ome import space_unit

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5")
#: The first 8 bytes of an HDF5 file (when it has no user block).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: HDF5's chunk cache for each open file: small, since each read decodes a
#: chunk it overlaps once anyway (HDF5's own default, 1 MiB).
CHUNK_CACHE_BYTES = 1 << 20
#: A chunk larger than this is named in the notes: each read holds one.
LARGE_CHUNK_BYTES = 64 << 20
#: How many members of a group an error message names.
SHOWN = 8


def accepts(path: Path) -> bool:
    """An HDF5 file: by its suffix, or by the signature it starts with."""
    if path.suffix.lower() in HDF5_SUFFIXES:
        return True
    if not path.is_file():
        return False
    with open(path, "rb") as file:
        return file.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE


def open_file(path: str | os.PathLike[str]) -> h5py.File:
    """The file, read-only, with a small chunk cache (``CHUNK_CACHE_BYTES``)."""
    return h5py.File(path, "r", rdcc_nbytes=CHUNK_CACHE_BYTES)


def one_line(error: BaseException) -> str:
    """h5py's message of ``error`` on one line."""
    return " ".join(str(error).split())


def describe(dset: h5py.Dataset) -> str:
    """``3-D float32 (64, 128, 128)``: what a dataset is, for messages."""
    return f"{dset.ndim}-D {dset.dtype} {tuple(dset.shape)}"


def arrays(file: h5py.File) -> list[h5py.Dataset]:
    """Every dataset in ``file`` (links not followed), in HDF5's order."""
    found: list[h5py.Dataset] = []
    file.visititems(lambda _, obj: found.append(obj) if is_dataset(obj) else None)
    return found


def is_dataset(obj: object) -> bool:
    return isinstance(obj, h5py.Dataset)


def members(group: h5py.Group) -> str:
    """The first members of ``group``, each with what it is."""
    names = []
    for name in list(group)[:SHOWN]:
        link = group.get(name)  # None: a dangling link
        what = describe(link) if is_dataset(link) else "group"
        names.append(f"{name} ({what})" if link is not None else name)
    more = ", ..." if len(group) > SHOWN else ""
    return ", ".join(names) + more if names else "nothing"


def find_dataset(file: h5py.File, path: Path, dataset: str | None) -> h5py.Dataset:
    """The dataset ``dataset`` names, or the file's one of 3 or more dimensions."""
    if dataset is None:
        found = [d for d in arrays(file) if d.ndim >= 3]
        if len(found) == 1:
            return found[0]
        if not found:
            others = ", ".join(f"{d.name} ({describe(d)})" for d in arrays(file))
            raise ConversionError(
                f"{str(path)!r} holds no array of 3 or more dimensions (it holds "
                f"{others or 'no array'}): give an HDF5 file with a 3-D volume."
            )
        listed = ", ".join(f"{d.name} ({describe(d)})" for d in found)
        raise ConversionError(
            f"{str(path)!r} holds {len(found)} arrays of 3 or more dimensions: "
            f"{listed}; pick one with --dataset."
        )
    name = "/" + dataset.strip("/")
    obj = file.get(name)
    if obj is None:
        parent = name.rsplit("/", 1)[0] or "/"
        while not isinstance(file.get(parent), h5py.Group):  # the nearest group
            parent = parent.rsplit("/", 1)[0] or "/"
        raise ConversionError(
            f"--dataset {name} does not exist in {str(path)!r}; {parent} holds: "
            f"{members(file[parent])}: give the path of one of its arrays."
        )
    if not is_dataset(obj):
        raise ConversionError(
            f"--dataset {name} is a group of {str(path)!r}, not an array; it holds: "
            f"{members(obj)}: give the path of the array, such as {name}/NAME."
        )
    return obj


def check_dataset(dset: h5py.Dataset, path: Path) -> None:
    """Refuse an array of fewer than 3 or more than 5 dimensions, of a
    non-numeric dtype, or compressed with a filter HDF5 cannot decode here."""
    where = f"{dset.name} in {str(path)!r}"
    if not 3 <= dset.ndim <= 5:
        raise ConversionError(
            f"{where} is {describe(dset)}: the converter reads arrays of 3 to 5 "
            "dimensions (z, y, x; c, z, y, x; t, c, z, y, x); give another "
            "one with --dataset."
        )
    if dset.dtype.kind not in "iuf":
        raise ConversionError(
            f"{where} holds {dset.dtype} values, not numbers: give an array of "
            "integers or floats with --dataset."
        )
    plist = dset.id.get_create_plist()
    for index in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(index)
        if not h5py.h5z.filter_avail(code):
            raise ConversionError(
                f"{where} is compressed with HDF5 filter {code} "
                f"({name.decode(errors='replace')!r}), which cannot be decoded "
                "here: install the HDF5 plugin of that filter (hdf5plugin has "
                "the common ones) or convert the file with h5repack."
            )


def labelled_axes(dset: h5py.Dataset) -> tuple[str, ...] | None:
    """The axes the dataset's dimension labels name (t, c, z, y, x, any
    case), or None unless every dimension has one and z, y, x are there."""
    labels = tuple(dim.label.strip().lower() for dim in dset.dims)
    if (
        len(set(labels)) == len(labels)
        and set(labels) <= set(AXES_ORDER)
        and {"z", "y", "x"} <= set(labels)
    ):
        return labels
    return None


def numbers(value: Any) -> tuple[float, ...] | None:
    """An attribute as a tuple of positive finite numbers, or None."""
    try:
        values = tuple(float(v) for v in np.atleast_1d(np.asarray(value)).ravel())
    except (TypeError, ValueError):
        return None
    if values and all(math.isfinite(v) and v > 0 for v in values):
        return values
    return None


def text(value: Any) -> str:
    """A string attribute, whether h5py gives bytes or str."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(np.asarray(value).ravel()[0]) if np.ndim(value) else str(value)


def voxel_size(
    dset: h5py.Dataset, order: tuple[int, ...], axes: tuple[str, ...]
) -> ImageInfo:
    """The voxel size the dataset, or the nearest of its parent groups, says.

    ``element_size_um`` (micrometer) or ``voxel_size`` with ``unit``: three
    numbers z, y, x, or one per dimension of the dataset (the z, y, x ones
    are taken); anything else is not recognised (``ImageInfo()``).
    """
    obj: h5py.Dataset | h5py.Group = dset
    while True:
        attrs = obj.attrs
        size, unit = None, None
        if "element_size_um" in attrs:
            size, unit = numbers(attrs["element_size_um"]), "micrometer"
        elif "voxel_size" in attrs and "unit" in attrs:
            size = numbers(attrs["voxel_size"])
            unit = known_unit(text(attrs["unit"]))
        if size is not None and unit is not None:
            if len(size) == dset.ndim:  # in the dataset's order
                by_axis = {axes[i]: size[order[i]] for i in range(len(axes))}
                size = (by_axis["z"], by_axis["y"], by_axis["x"])
            if len(size) == 3:
                return ImageInfo(voxel_size=(size[0], size[1], size[2]), unit=unit)
        if obj.name == "/":
            return ImageInfo()
        obj = obj.parent


def known_unit(written: str) -> str | None:
    """The OME-Zarr name of a unit attribute (``ome.space_unit``), or None if
    it names no space unit."""
    try:
        return space_unit(written)
    except ValueError:
        return None


@dataclass(frozen=True)
class Hdf5Dataset:
    """One dataset of an HDF5 file as a ``Source``; small and picklable (the
    file is opened inside ``read``)."""

    path: Path
    dataset: str
    #: Along ``axes`` (t, c, z, y, x order), which may not be the dataset's.
    shape: tuple[int, ...]
    dtype: np.dtype
    axes: tuple[str, ...]
    #: For each of ``axes``, the dimension of the dataset it is.
    order: tuple[int, ...]
    size: int
    mtime_ns: int
    image_info: ImageInfo = ImageInfo()
    said: tuple[str, ...] = ()

    @classmethod
    def open(cls, path: Path, options: SourceOptions) -> Hdf5Dataset:
        """Find and check the dataset (``find_dataset``, ``check_dataset``)."""
        if not path.is_file():
            raise ConversionError(
                f"The HDF5 file {str(path)!r} does not exist: give the path of an "
                "HDF5 file (.h5, .hdf5, .nxs) or a folder of slices."
            )
        try:
            file = open_file(path)
        except OSError as error:
            raise ConversionError(
                f"{str(path)!r} is not a readable HDF5 file ({one_line(error)}): "
                "give an HDF5 file, or a folder of slices."
            ) from None
        with file:
            dset = find_dataset(file, path, options.dataset)
            check_dataset(dset, path)
            labelled = labelled_axes(dset)
            said = [] if options.dataset else [f"read dataset {dset.name}"]
            if labelled is None:
                axes = default_axes(dset.ndim)
                order = tuple(range(dset.ndim))
                labels = [dim.label for dim in dset.dims]
                if any(labels):
                    said.append(
                        f"its dimension labels {labels} are not t, c, z, y, x: "
                        f"read as {', '.join(axes)}"
                    )
            else:
                axes, order = in_axes_order(labelled)
            if dset.chunks is not None:
                chunk = math.prod(dset.chunks) * dset.dtype.itemsize
                if chunk > LARGE_CHUNK_BYTES:
                    said.append(
                        f"its HDF5 chunks {dset.chunks} are {chunk / 2**20:,.0f} MiB "
                        "each: every read decodes each chunk it overlaps whole, "
                        "so each task holds one such chunk more"
                    )
            stat = path.stat()
            return cls(
                path=path,
                dataset=dset.name,
                shape=tuple(dset.shape[d] for d in order),
                dtype=np.dtype(dset.dtype),
                axes=axes,
                order=order,
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                image_info=voxel_size(dset, order, axes),
                said=tuple(said),
            )

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def staged(self) -> bool:
        return False

    def notes(self) -> tuple[str, ...]:
        """Which dataset was picked, labels not understood, huge chunks."""
        return self.said

    def info(self) -> ImageInfo:
        """``element_size_um``, or ``voxel_size`` and ``unit``, if there."""
        return self.image_info

    def fingerprint(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "dataset": self.dataset,
            "shape": list(self.shape),
            "dtype": self.dtype.name,
        }

    def read(self, region: Region, out: np.ndarray) -> None:
        """Fill ``out`` with ``region`` by one hyperslab read.

        With dimensions in another order than ``axes`` (or an ``out`` that
        is not C-contiguous), the region is read into a new array first:
        that holds a second ``out``.
        """
        if out.size == 0:
            return
        selection: list[slice] = [slice(None)] * len(self.order)
        for axis, dimension in enumerate(self.order):
            selection[dimension] = region[axis]
        try:
            with open_file(self.path) as file:
                dset = file[self.dataset]
                if self.order != tuple(range(len(self.order))):
                    out[...] = dset[tuple(selection)].transpose(self.order)
                elif out.flags.c_contiguous:  # straight into out
                    dset.read_direct(out, source_sel=tuple(selection))
                else:
                    out[...] = dset[tuple(selection)]
        except OSError as error:
            raise ConversionError(
                f"cannot read {self.dataset} of {self.location!r} ({one_line(error)}): "
                "check the file is whole and its compression filter is installed "
                "(hdf5plugin)."
            ) from None

    def stage(self, plane: int, folder: Path) -> None:
        raise NotImplementedError("an HDF5 dataset is read by region: never staged")

    def staged_copy(self, folder: Path) -> Source:
        raise NotImplementedError("an HDF5 dataset is read by region: never staged")


KIND = SourceKind(
    name="hdf5",
    description="an HDF5 file (.h5, .hdf5, .nxs)",
    accepts=accepts,
    open=Hdf5Dataset.open,
    options=frozenset({"dataset"}),
)
