"""The benchmark's inputs: one synthetic volume per size, in each input kind.

Every kind holds the same voxels (``data_helpers.synthetic``'s CT-like
volume, seed 0), written one slice at a time, so an input of any size is
never held in memory whole:

- ``tiff``: a folder of single-page TIFF slices, uncompressed, in strips of
  16 rows (``write_tiff_stack``);
- ``jp2``: a folder of lossless JPEG 2000 slices (``write_jp2_stack``);
- ``multipage-tiff``: one BigTIFF file with a page per slice, uncompressed,
  in strips of 16 rows, axes ``ZYX`` in its shaped description (tifffile);
- ``hdf5``: one HDF5 file with one contiguous uint16 dataset at
  ``HDF5_DATASET``, where a tomography reconstruction (nabu) puts its volume
  (h5py); the file's only array, so the converter needs no ``--dataset``.

Inputs are written once into ``OUT`` and reused by later runs; a file input
is written under a temporary name and renamed when whole. Before writing,
``check_disk`` refuses (one line) when the input and an output of the same
size would not fit on the disk.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from report import OUT  # benchmarks/report.py

from data_helpers.synthetic import NABU_DATASET

#: The inputs' shapes (z, y, x), uint16. The rehearsal sizes (``REHEARSAL``)
#: are only written by ``--rehearsal`` or when asked for by ``--size``.
SIZES = {
    "64MiB": (128, 512, 512),
    "256MiB": (128, 1024, 1024),
    "512MiB": (256, 1024, 1024),
    "2GiB": (1024, 1024, 1024),
    "8GiB": (1024, 2048, 2048),
    "8GiB-wide": (256, 4096, 4096),
    "10GiB": (1280, 2048, 2048),
    "12GiB": (1536, 2048, 2048),
    "16GiB": (2048, 2048, 2048),
    "32GiB": (2048, 2048, 4096),
}
#: The rehearsal's sizes, largest first: ``--rehearsal`` takes the first that fits.
REHEARSAL = ("32GiB", "16GiB", "12GiB", "10GiB")
SLICE_KINDS = {"tiff": "*.tif", "jp2": "*.jp2"}
FILE_KINDS = {"multipage-tiff": ".tif", "hdf5": ".h5"}
HDF5_DATASET = NABU_DATASET  # where nabu puts its reconstructed volume
#: Room left free on the disk beside an input and one output.
DISK_MARGIN = 2 * 2**30


def input_bytes(size: str) -> int:
    """The bytes of the uint16 volume of ``size``."""
    return math.prod(SIZES[size]) * 2


def input_path(size: str, kind: str) -> Path:
    """Where the input of ``size`` in ``kind`` is (or will be) written."""
    if kind == "tiff":
        return OUT / f"input-{size}"
    if kind in SLICE_KINDS:
        return OUT / f"input-{size}-{kind}"
    return OUT / f"input-{size}-{kind}{FILE_KINDS[kind]}"


def is_written(size: str, kind: str) -> bool:
    """Whether the input of ``size`` in ``kind`` is already whole on disk."""
    path = input_path(size, kind)
    if kind in SLICE_KINDS:
        return len(list(path.glob(SLICE_KINDS[kind]))) == SIZES[size][0]
    return path.is_file()


def disk_needed(size: str, kind: str) -> int:
    """Bytes of disk a run on this input needs beyond what is there now: the
    input unless written, one output (at most the input's size: the bench's
    outputs, all levels, are 0.90-0.92 of it) and ``DISK_MARGIN``."""
    missing = 0 if is_written(size, kind) else input_bytes(size)
    return missing + input_bytes(size) + DISK_MARGIN


def disk_free() -> int:
    """Free bytes on the disk that holds ``OUT``."""
    OUT.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(OUT).free


def check_disk(size: str, kind: str) -> None:
    """Exit with one line when this input and an output of it do not fit."""
    needed, free = disk_needed(size, kind), disk_free()
    if needed > free:
        raise SystemExit(
            f"error: the {size} {kind} input needs {needed / 1e9:.1f} GB of disk "
            f"(input, one output and {DISK_MARGIN / 2**30:.0f} GiB spare) but "
            f"{free / 1e9:.1f} GB are free: choose a smaller --size or free space "
            f"(old inputs in {OUT})."
        )


def rehearsal_size() -> tuple[str, str]:
    """The largest of ``REHEARSAL`` that fits on the disk, and why, in words."""
    free = disk_free()
    for size in REHEARSAL:
        if disk_needed(size, "tiff") <= free:
            larger = REHEARSAL[: REHEARSAL.index(size)]
            why = (
                f"{size} {SIZES[size]}: the largest of {', '.join(REHEARSAL)} whose "
                f"input and output fit the {free / 1e9:.1f} GB free"
            )
            if larger:
                why += (
                    f" ({larger[-1]} needs {disk_needed(larger[-1], 'tiff') / 1e9:.1f}"
                    " GB: the synthetic slices are noisy, so the output is about as "
                    "big as the input)"
                )
            return size, why
    raise SystemExit(
        f"error: not even the {REHEARSAL[-1]} rehearsal fits the "
        f"{free / 1e9:.1f} GB free on the disk: free "
        f"{disk_needed(REHEARSAL[-1], 'tiff') / 1e9:.1f} GB (old inputs in {OUT})."
    )


def slices(shape: tuple[int, int, int]) -> Iterator[np.ndarray]:
    """The synthetic volume's slices in z order, one at a time."""
    from data_helpers.synthetic import ct_like_slice

    for z in range(shape[0]):
        yield ct_like_slice(z, shape, seed=0)


def write_multipage_tiff(path: Path, shape: tuple[int, int, int]) -> None:
    """The volume as one BigTIFF, one uncompressed page per slice (tifffile)."""
    import tifffile

    tifffile.imwrite(
        path,
        slices(shape),
        shape=shape,
        dtype="uint16",
        bigtiff=True,
        photometric="minisblack",
        rowsperstrip=16,
        metadata={"axes": "ZYX"},
    )


def write_hdf5(path: Path, shape: tuple[int, int, int]) -> None:
    """The volume as one contiguous dataset at ``HDF5_DATASET`` (h5py)."""
    import h5py

    with h5py.File(path, "w") as file:
        dataset = file.create_dataset(HDF5_DATASET, shape=shape, dtype="uint16")
        for z, image in enumerate(slices(shape)):
            dataset[z] = image


def make_input(size: str, kind: str) -> Path:
    """The input of ``size`` in ``kind``, written unless it is already whole."""
    from data_helpers.synthetic import write_jp2_stack, write_tiff_stack

    path, shape = input_path(size, kind), SIZES[size]
    if is_written(size, kind):
        return path
    check_disk(size, kind)
    print(f"writing the {size} {kind} input {shape} to {path} ...", flush=True)
    shutil.rmtree(path, ignore_errors=True)
    if kind == "tiff":
        write_tiff_stack(path, shape, seed=0, rows_per_strip=16)
    elif kind == "jp2":
        write_jp2_stack(path, shape, seed=0)
    else:
        partial = path.with_name(path.name + ".partial")
        writer = write_hdf5 if kind == "hdf5" else write_multipage_tiff
        writer(partial, shape)
        partial.rename(path)
    return path


def remove_input(size: str, kind: str) -> None:
    """Delete the input of ``size`` in ``kind`` (a folder or a file)."""
    path = input_path(size, kind)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
