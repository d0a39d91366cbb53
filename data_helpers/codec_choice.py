"""Measure compression ratio and read/write speed of codec and chunk settings.

A codec setting is named by a short string (a *candidate*, see
``data_helpers.codec_names``): ``"blosc-zstd-3-shuffle"``, ``"zstd-3"``,
``"gzip-6"`` or ``"none"``.

:func:`measure_codecs` times each candidate on a seeded random sample of full
chunks of your array, so you can run the test on your own data.
:func:`measure_chunk_shapes` writes a whole in-memory volume with several chunk
shapes and times reading it back in a few access patterns.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from data_helpers.codec_names import make_codec
from data_helpers.files import folder_bytes
from data_helpers.types import ZarrFormat


@dataclass(frozen=True)
class CodecResult:
    """One candidate measured on a sample: sizes in bytes, best times in seconds."""

    candidate: str
    raw_bytes: int
    stored_bytes: int
    write_s: float
    read_s: float

    @property
    def ratio(self) -> float:
        """Compression ratio: uncompressed size / stored size."""
        return self.raw_bytes / self.stored_bytes

    @property
    def write_mb_s(self) -> float:
        """Write speed in MB/s of uncompressed data."""
        return self.raw_bytes / self.write_s / 1e6

    @property
    def read_mb_s(self) -> float:
        """Read speed in MB/s of uncompressed data."""
        return self.raw_bytes / self.read_s / 1e6


def stored_bytes(path: Path) -> int:
    """Total size of the chunk files under ``path`` (metadata files left out)."""
    return folder_bytes(path, metadata=False)


def timed(action: Callable[[], object]) -> float:
    """Seconds that one call of ``action`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def best_time(run: Callable[[], float], repeats: int, max_seconds: float) -> float:
    """Shortest of up to ``repeats`` runs; ``run`` returns the seconds it measured.

    The first run always happens; no new run starts once the runs so far have
    taken ``max_seconds`` in all (slow settings are then timed fewer times).
    """
    times: list[float] = []
    while len(times) < repeats and (not times or sum(times) < max_seconds):
        times.append(run())
    return min(times)


def _check_chunks(shape: tuple[int, ...], chunks: Sequence[int]) -> tuple[int, ...]:
    chunks = tuple(int(c) for c in chunks)
    if len(chunks) != len(shape) or any(c < 1 for c in chunks):
        raise ValueError(
            f"chunks {chunks} must be {len(shape)} positive lengths, one per axis "
            f"of the array of shape {shape}."
        )
    too_big = [
        axis for axis, (c, n) in enumerate(zip(chunks, shape, strict=True)) if c > n
    ]
    if too_big:
        raise ValueError(
            f"chunks {chunks} are larger than the array {shape} along axis "
            f"{too_big[0]}: choose chunks no larger than the array."
        )
    return chunks


def sample_chunks_of(
    array: Any, chunks: Sequence[int], n: int, seed: int = 0
) -> np.ndarray:
    """``n`` full chunks of ``array`` picked at random (seeded), stacked on axis 0.

    Only whole chunks are taken (the partial ones at the far edges are skipped),
    so every sampled chunk compresses as a chunk of the real array would.
    """
    shape = tuple(array.shape)
    chunks = _check_chunks(shape, chunks)
    full_grid = tuple(n_ // c for n_, c in zip(shape, chunks, strict=True))
    rng = np.random.default_rng(seed)
    n_full = math.prod(full_grid)
    picked = rng.choice(n_full, size=min(n, n_full), replace=False)
    blocks = []
    for flat in sorted(int(i) for i in picked):
        index = np.unravel_index(flat, full_grid)
        region = tuple(
            slice(i * c, (i + 1) * c) for i, c in zip(index, chunks, strict=True)
        )
        blocks.append(np.asarray(array[region]))
    return np.concatenate(blocks, axis=0)


def _check_measure_codecs(
    array: Any,
    candidates: Sequence[str],
    chunks: Sequence[int] | None,
    sample_chunks: int,
    repeats: int,
) -> tuple[int, ...]:
    """Reject arguments ``measure_codecs`` cannot use; return the chunk shape."""
    shape = tuple(array.shape)
    if math.prod(shape) == 0:
        raise ValueError(f"the array is empty (shape {shape}): nothing to measure.")
    if chunks is None:
        chunks = getattr(array, "chunks", None)
        if chunks is None or not all(isinstance(c, int) for c in chunks):
            raise ValueError(
                "this array has no regular chunk shape: pass chunks=(...) to say "
                "which chunk shape to measure."
            )
    if isinstance(candidates, str) or not candidates:
        raise ValueError(
            f"candidates must be a non-empty list of names such as ['zstd-3'], not "
            f"{candidates!r}."
        )
    if sample_chunks < 1 or repeats < 1:
        raise ValueError("sample_chunks and repeats must be at least 1.")
    return _check_chunks(shape, chunks)


def measure_codecs(
    array: Any,
    candidates: Sequence[str],
    *,
    chunks: Sequence[int] | None = None,
    sample_chunks: int = 8,
    repeats: int = 3,
    max_seconds: float = 1.0,
    seed: int = 0,
    zarr_format: ZarrFormat = 2,
    directory: str | Path | None = None,
) -> list[CodecResult]:
    """Measure each candidate codec on a random sample of ``array``'s chunks.

    ``array`` is anything with ``shape``, ``dtype`` and NumPy-style slicing (a
    zarr array, a NumPy or dask array); ``chunks`` defaults to its own chunks.
    ``sample_chunks`` full chunks, picked at random with ``seed``, are written
    with each candidate to a Zarr array in a temporary folder (in ``directory``)
    and read back. Write and read speeds are in MB/s of uncompressed data, each
    the best of up to ``repeats`` runs (see :func:`best_time`).
    """
    chunks = _check_measure_codecs(array, candidates, chunks, sample_chunks, repeats)
    codecs = {c: make_codec(c, zarr_format) for c in candidates}  # check all first
    sample = sample_chunks_of(array, chunks, sample_chunks, seed)

    best = partial(best_time, repeats=repeats, max_seconds=max_seconds)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:  # a folder per codec
        return [
            _measure_codec(
                sample, chunks, name, codec, Path(tmp, str(n)), best, zarr_format
            )
            for n, (name, codec) in enumerate(codecs.items())
        ]


def _new_array(
    folder: Path,
    like: np.ndarray,
    chunks: tuple[int, ...],
    codec: Any,
    zarr_format: ZarrFormat,
) -> zarr.Array:
    """An empty Zarr array shaped like ``like`` in a new folder (emptied first)."""
    shutil.rmtree(folder, ignore_errors=True)
    return zarr.create_array(
        zarr.storage.LocalStore(folder),
        shape=like.shape,
        chunks=chunks,
        dtype=like.dtype,
        compressors=codec,
        filters=None,
        fill_value=0,
        zarr_format=zarr_format,
    )


def _measure_codec(
    sample: np.ndarray,
    chunks: tuple[int, ...],
    candidate: str,
    codec: Any,
    folder: Path,
    best: Callable[[Callable[[], float]], float],
    zarr_format: ZarrFormat,
) -> CodecResult:
    """Write ``sample`` with one codec into ``folder``, read it back, time both."""

    def write() -> float:
        array = _new_array(folder, sample, chunks, codec, zarr_format)  # not timed
        return timed(lambda: array.__setitem__(..., sample))

    write_s = best(write)
    written = zarr.open_array(zarr.storage.LocalStore(folder), mode="r")
    read_s = best(lambda: timed(lambda: written[...]))
    if not np.array_equal(written[...], sample):
        raise RuntimeError(f"{candidate} did not give back the data written.")
    result = CodecResult(
        candidate=candidate,
        raw_bytes=sample.nbytes,
        stored_bytes=stored_bytes(folder),
        write_s=write_s,
        read_s=read_s,
    )
    shutil.rmtree(folder)
    return result


def pareto_front(results: Sequence[CodecResult]) -> list[CodecResult]:
    """The results no other result beats on both ratio and write speed.

    Sorted from the fastest writer to the best ratio.
    """
    front = [
        r
        for r in results
        if not any(
            o.ratio >= r.ratio
            and o.write_mb_s >= r.write_mb_s
            and (o.ratio > r.ratio or o.write_mb_s > r.write_mb_s)
            for o in results
        )
    ]
    return sorted(front, key=lambda r: -r.write_mb_s)


def chunks_touched(
    shape: Sequence[int], chunks: Sequence[int], selection: Sequence[slice | int]
) -> int:
    """How many chunks a reader must fetch and decompress for ``selection``.

    ``selection`` holds one slice (step 1) or one index per axis.
    """
    count = 1
    for n, c, s in zip(shape, chunks, selection, strict=True):
        start, stop, _ = (
            s.indices(n) if isinstance(s, slice) else (int(s), int(s) + 1, 1)
        )
        count *= (stop - 1) // c - start // c + 1 if stop > start else 0
    return count


@dataclass(frozen=True)
class ChunkShapeResult:
    """One chunk shape: ratio, write time and read time per pattern (seconds)."""

    chunks: tuple[int, ...]
    n_chunks: int
    ratio: float
    write_s: float
    read_s: dict[str, float]
    chunks_read: dict[str, int]


def measure_chunk_shapes(
    volume: np.ndarray,
    chunk_shapes: Sequence[Sequence[int]],
    patterns: Mapping[str, tuple[slice | int, ...]],
    *,
    candidate: str,
    repeats: int = 3,
    max_seconds: float = 1.0,
    zarr_format: ZarrFormat = 2,
    directory: str | Path | None = None,
) -> list[ChunkShapeResult]:
    """Write ``volume`` once per chunk shape and time reading each pattern.

    ``patterns`` maps a name to the selection (a tuple of slices) it reads.
    Writing is timed once (it is the longest step); each read is the best of up
    to ``repeats`` runs. Reads come after the write, so the files are in the
    operating system's cache: the times are for finding, decompressing and
    assembling chunks, not for the disk.
    """
    if volume.size == 0:
        raise ValueError(f"the volume is empty (shape {volume.shape}).")
    codec = make_codec(candidate, zarr_format)
    shapes = [_check_chunks(volume.shape, c) for c in chunk_shapes]
    best = partial(best_time, repeats=repeats, max_seconds=max_seconds)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:  # a folder per shape
        return [
            _measure_chunk_shape(
                volume, chunks, codec, patterns, Path(tmp, str(n)), best, zarr_format
            )
            for n, chunks in enumerate(shapes)
        ]


def _measure_chunk_shape(
    volume: np.ndarray,
    chunks: tuple[int, ...],
    codec: Any,
    patterns: Mapping[str, tuple[slice | int, ...]],
    folder: Path,
    best: Callable[[Callable[[], float]], float],
    zarr_format: ZarrFormat,
) -> ChunkShapeResult:
    """Write ``volume`` in ``chunks`` into ``folder``; time it and each read."""
    array = _new_array(folder, volume, chunks, codec, zarr_format)
    write_s = timed(lambda: array.__setitem__(..., volume))
    reader = zarr.open_array(zarr.storage.LocalStore(folder), mode="r")

    def read(selection: tuple[slice | int, ...]) -> Callable[[], float]:
        return lambda: timed(lambda: reader[selection])

    read_s = {name: best(read(selection)) for name, selection in patterns.items()}
    result = ChunkShapeResult(
        chunks=chunks,
        n_chunks=math.prod(reader.cdata_shape),
        ratio=volume.nbytes / stored_bytes(folder),
        write_s=write_s,
        read_s=read_s,
        chunks_read={
            name: chunks_touched(volume.shape, chunks, selection)
            for name, selection in patterns.items()
        },
    )
    shutil.rmtree(folder)
    return result


def compare_times(seconds: float, reference_seconds: float, margin: float = 1.5) -> str:
    """``"slower"``, ``"faster"`` or ``"about the same"`` as the reference.

    Only a difference larger than the factor ``margin`` counts, so that the
    verdict on a noisy, shared machine does not flip from one run to the next.
    """
    if margin < 1:
        raise ValueError(f"margin must be at least 1, not {margin}.")
    if seconds > margin * reference_seconds:
        return "slower"
    if seconds * margin < reference_seconds:
        return "faster"
    return "about the same"
