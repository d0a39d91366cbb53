"""Synthetic test volumes of any size: CT-like TIFF slices, one multi-page TIFF
(plain or OME-TIFF), seeded HDF5 volumes.

Real scans arrive from the scanner as a folder of 2-D slice files, one per
plane. To practise on data of any size without downloading terabytes, these
helpers make such a stack from the heart sample: each slice is the sample
(z, y, x) interpolated to the requested shape, scaled to 16-bit grey levels
and given Gaussian noise. Every slice is made on its own from a seed and its
index, so a stack of any size is reproducible and never held in memory whole.

``write_hdf5_volume`` writes seeded random voxels (``seeded_volume``) into an
HDF5 file laid out as nabu, ESRF's tomography reconstruction, writes its
volumes: for the converter's HDF5 input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

#: Grey level of the sample's 0 and the gain per sample grey level, and the
#: noise (standard deviation, in grey levels) added to every voxel.
OFFSET, GAIN, NOISE = 1000.0, 160.0, 400.0


@lru_cache(maxsize=1)
def _heart_zyx() -> np.ndarray:
    from data_helpers.sample_data import load_heart_data

    # The sample is stored (x, y, z); slices are planes of constant z.
    return np.ascontiguousarray(load_heart_data().transpose(2, 1, 0), np.float32)


def _check_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    if len(shape) != 3 or any(int(n) < 1 for n in shape):
        raise ValueError(
            f"shape must be three positive lengths (z, y, x), not {tuple(shape)}."
        )
    return tuple(int(n) for n in shape)  # type: ignore[return-value]


def ct_like_slice(
    z: int, shape: Sequence[int], *, seed: int = 0, dtype: str = "uint16"
) -> np.ndarray:
    """Slice ``z`` (a ``(y, x)`` image) of a synthetic CT-like volume of ``shape``.

    The same ``z``, ``shape`` and ``seed`` always give the same slice.
    """
    n_z, n_y, n_x = _check_shape(shape)
    if not 0 <= z < n_z:
        raise IndexError(f"z={z} is outside a volume with {n_z} slices.")
    heart = _heart_zyx()
    # Position of this slice's centre in the sample, linearly interpolated.
    position = min(max((z + 0.5) * heart.shape[0] / n_z - 0.5, 0.0), heart.shape[0] - 1)
    below = int(position)
    above = min(below + 1, heart.shape[0] - 1)
    weight = position - below
    plane = (1 - weight) * heart[below] + weight * heart[above]
    zoom = (n_y / plane.shape[0], n_x / plane.shape[1])
    from scipy import ndimage  # here: importing scipy takes a while

    image = ndimage.zoom(plane, zoom, order=1, grid_mode=True, mode="nearest")
    rng = np.random.default_rng([seed, z])
    image = OFFSET + GAIN * image + rng.normal(0.0, NOISE, image.shape)
    info = np.iinfo(dtype)
    return np.clip(np.rint(image), info.min, info.max).astype(dtype)


def ct_like_volume(
    shape: Sequence[int], *, seed: int = 0, dtype: str = "uint16"
) -> np.ndarray:
    """A whole synthetic CT-like ``(z, y, x)`` volume in memory (for small shapes)."""
    n_z = _check_shape(shape)[0]
    return np.stack(
        [ct_like_slice(z, shape, seed=seed, dtype=dtype) for z in range(n_z)]
    )


def write_tiff_stack(
    folder: str | os.PathLike[str],
    shape: Sequence[int],
    *,
    seed: int = 0,
    dtype: str = "uint16",
    rows_per_strip: int = 16,
    name: str = "slice_{z:05d}.tif",
) -> list[Path]:
    """Write a synthetic ``(z, y, x)`` volume as one TIFF file per z-slice.

    Files are named ``name.format(z=z)`` inside ``folder`` (created if needed)
    and stored uncompressed in strips of ``rows_per_strip`` rows, as scanners
    commonly write them, so a reader can load part of a slice. Returns the
    paths in z order. Existing files of the same names are overwritten.
    """

    def write(path: Path, image: np.ndarray) -> None:
        tifffile.imwrite(
            path, image, rowsperstrip=rows_per_strip, photometric="minisblack"
        )

    return _write_stack(folder, shape, seed, dtype, name, write)


def write_jp2_stack(
    folder: str | os.PathLike[str],
    shape: Sequence[int],
    *,
    seed: int = 0,
    dtype: str = "uint16",
    name: str = "slice_{z:05d}.jp2",
) -> list[Path]:
    """Write the volume of ``write_tiff_stack`` as one JPEG 2000 file per z-slice.

    Lossless (reversible 5/3 wavelet, through imagecodecs and OpenJPEG), so
    the slices decode to exactly those of ``write_tiff_stack`` with the same
    ``shape``, ``seed`` and ``dtype``. Returns the paths in z order.
    """
    import imagecodecs

    def write(path: Path, image: np.ndarray) -> None:
        path.write_bytes(imagecodecs.jpeg2k_encode(image, level=0, codecformat="jp2"))

    return _write_stack(folder, shape, seed, dtype, name, write)


def _write_stack(
    folder: str | os.PathLike[str],
    shape: Sequence[int],
    seed: int,
    dtype: str,
    name: str,
    write: Callable[[Path, np.ndarray], None],
) -> list[Path]:
    """Write each z-slice of the synthetic volume with ``write``; paths in z order."""
    n_z = _check_shape(shape)[0]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for z in range(n_z):
        path = folder / name.format(z=z)
        write(path, ct_like_slice(z, shape, seed=seed, dtype=dtype))
        paths.append(path)
    return paths


#: Where nabu (ESRF's tomography reconstruction) writes its volume in its
#: HDF5 output: entry ``entry0000`` (NXentry), process ``reconstruction``
#: (NXprocess), its ``results`` (NXdata) and their signal ``data``.
NABU_DATASET = "entry0000/reconstruction/results/data"


def seeded_plane(
    index: Sequence[int], shape: Sequence[int], *, seed: int = 0, dtype: str = "float32"
) -> np.ndarray:
    """Plane ``index`` (the indices before ``y, x``) of a seeded random volume.

    Floats are standard normal; integers span the dtype's whole range. The
    same ``index``, ``shape`` and ``seed`` always give the same plane.
    """
    rng = np.random.default_rng([seed, *(int(i) for i in index)])
    plane_shape = tuple(int(n) for n in shape[-2:])
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return rng.standard_normal(plane_shape, dtype=np.float64).astype(kind)
    info = np.iinfo(kind)
    return rng.integers(info.min, info.max, plane_shape, endpoint=True, dtype=kind)


def seeded_volume(
    shape: Sequence[int], *, seed: int = 0, dtype: str = "float32"
) -> np.ndarray:
    """The whole volume of ``seeded_plane`` in memory (for small shapes)."""
    planes = [
        seeded_plane(index, shape, seed=seed, dtype=dtype)
        for index in np.ndindex(*shape[:-2])
    ]
    return np.stack(planes).reshape(tuple(shape))


def write_hdf5_volume(
    path: str | os.PathLike[str],
    shape: Sequence[int],
    *,
    seed: int = 0,
    dtype: str = "float32",
    dataset: str = NABU_DATASET,
    chunks: Sequence[int] | bool | None = None,
    compression: Any = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Write the volume of ``seeded_volume`` into an HDF5 file, as nabu does.

    With the default ``dataset``, the groups are laid out as nabu's
    ``NXProcessWriter`` writes its reconstruction (``entry0000`` an NXentry
    whose ``default`` is the results, ``reconstruction`` an NXprocess with
    ``program`` "nabu", ``results`` an NXdata whose ``signal`` is ``data``,
    an ``interpretation`` "image" volume). ``chunks`` and ``compression``
    (None, ``"gzip"`` or an hdf5plugin filter such as ``hdf5plugin.Blosc()``)
    go to h5py's ``create_dataset``; ``labels`` names the dimensions
    (``dset.dims[i].label``). Written a slab of planes at a time.
    """
    import h5py
    import hdf5plugin  # noqa: F401  (registers the Blosc, LZ4, Zstd filters)

    path = Path(path)
    shape = tuple(int(n) for n in shape)
    parts = dataset.strip("/").split("/")
    with h5py.File(path, "w") as file:
        if len(parts) == 4:  # ENTRY/PROCESS/results/NAME, as nabu writes
            entry = file.require_group(parts[0])
            entry.attrs["NX_class"] = "NXentry"
            process = entry.require_group(parts[1])
            process.attrs["NX_class"] = "NXprocess"
            process.attrs["default"] = parts[2]
            process["program"] = "nabu"
            process["sequence_index"] = np.int32(0)
            results = process.require_group(parts[2])
            results.attrs["NX_class"] = "NXdata"
            results.attrs["signal"] = parts[3]
            entry.attrs["default"] = results.name
        dset = file.create_dataset(
            "/".join(parts), shape, dtype, chunks=chunks, compression=compression
        )
        if len(parts) == 4:
            dset.attrs["interpretation"] = "image"
        for dim, label in zip(dset.dims, labels or (), strict=False):
            dim.label = label
        depth = dset.chunks[-3] if dset.chunks else 1
        for index in np.ndindex(*shape[:-3]):
            for z in range(0, shape[-3], depth):
                planes = range(z, min(z + depth, shape[-3]))
                dset[(*index, slice(z, planes.stop))] = np.stack(
                    [
                        seeded_plane((*index, p), shape, seed=seed, dtype=dtype)
                        for p in planes
                    ]
                )
    return path


def _hyperstack_planes(
    shape: Sequence[int], seed: int, dtype: str
) -> Iterator[np.ndarray]:
    """The ``(y, x)`` planes of ``ct_like_hyperstack(shape)``, in C order."""
    *outer, n_z, n_y, n_x = (int(n) for n in shape)
    volume = _check_shape((n_z, n_y, n_x))
    for k, _ in enumerate(np.ndindex(*outer)):
        for z in range(n_z):
            yield ct_like_slice(z, volume, seed=seed + k, dtype=dtype)


def ct_like_hyperstack(
    shape: Sequence[int], *, seed: int = 0, dtype: str = "uint16"
) -> np.ndarray:
    """A ``(z, y, x)``, ``(c, z, y, x)`` or ``(t, c, z, y, x)`` volume in memory:
    the CT-like volume of seed ``seed + k`` for the ``k``-th time point and
    channel (in C order), so channels differ. For small shapes."""
    planes = list(_hyperstack_planes(shape, seed, dtype))
    return np.stack(planes).reshape(tuple(int(n) for n in shape))


def _tiles(planes: Iterator[np.ndarray], tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """Each plane's tiles, row by row, the last ones padded with zeros (what
    tifffile takes from an iterator when writing tiles)."""
    for plane in planes:
        for y in range(0, plane.shape[0], tile[0]):
            for x in range(0, plane.shape[1], tile[1]):
                part = np.zeros(tile, plane.dtype)
                piece = plane[y : y + tile[0], x : x + tile[1]]
                part[: piece.shape[0], : piece.shape[1]] = piece
                yield part


def write_multipage_tiff(
    path: str | os.PathLike[str],
    shape: Sequence[int],
    *,
    seed: int = 0,
    dtype: str = "uint16",
    compression: str | None = None,
    tile: tuple[int, int] | None = None,
    bigtiff: bool = False,
    rows_per_strip: int = 16,
) -> Path:
    """Write the synthetic ``(z, y, x)`` volume as one plain multi-page TIFF.

    One page per z-slice, as a scanner writes such a file: no description of
    the stack's shape (tifffile reads its pages as axis ``I``). Stored in
    strips of ``rows_per_strip`` rows, or in tiles of ``tile`` (rows,
    columns; multiples of 16), compressed with ``compression`` (such as
    ``"zlib"``), as a BigTIFF if ``bigtiff``. Slice by slice: the volume is
    never in memory whole. Returns the path.
    """
    shape = _check_shape(shape)
    planes = _hyperstack_planes(shape, seed, dtype)
    data = planes if tile is None else _tiles(planes, tile)
    tifffile.imwrite(
        path,
        data,
        shape=shape,
        dtype=dtype,
        photometric="minisblack",
        metadata=None,
        compression=compression,
        tile=tile,
        rowsperstrip=None if tile else rows_per_strip,
        bigtiff=bigtiff,
    )
    return Path(path)


def write_ome_tiff(
    path: str | os.PathLike[str],
    shape: Sequence[int],
    *,
    seed: int = 0,
    dtype: str = "uint16",
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
    unit: str = "\u00b5m",
    channel_names: Sequence[str] | None = None,
    channel_colors: Sequence[int] | None = None,
    compression: str | None = None,
    tile: tuple[int, int] | None = None,
) -> Path:
    """Write ``ct_like_hyperstack(shape)`` (``(c, z, y, x)`` or ``(t, c, z, y,
    x)``) as an OME-TIFF, plane by plane.

    Its OME-XML gives ``voxel_size`` ``(z, y, x)`` in ``unit`` (OME's unit
    symbols: ``"\u00b5m"``, ``"nm"``...) and each channel's name and colour
    (OME's signed 32-bit RGBA integers, such as ``-16776961`` for red).
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (4, 5):
        raise ValueError(f"shape must be (c, z, y, x) or (t, c, z, y, x), not {shape}.")
    channel: dict[str, list] = {}
    if channel_names is not None:
        channel["Name"] = list(channel_names)
    if channel_colors is not None:
        channel["Color"] = list(channel_colors)
    size_z, size_y, size_x = (float(v) for v in voxel_size)
    metadata = {
        "axes": "TCZYX"[-len(shape) :],
        "PhysicalSizeZ": size_z,
        "PhysicalSizeZUnit": unit,
        "PhysicalSizeY": size_y,
        "PhysicalSizeYUnit": unit,
        "PhysicalSizeX": size_x,
        "PhysicalSizeXUnit": unit,
        **({"Channel": channel} if channel else {}),
    }
    planes = _hyperstack_planes(shape, seed, dtype)
    tifffile.imwrite(
        path,
        planes if tile is None else _tiles(planes, tile),
        shape=shape,
        dtype=dtype,
        photometric="minisblack",
        ome=True,
        metadata=metadata,
        compression=compression,
        tile=tile,
    )
    return Path(path)
