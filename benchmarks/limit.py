"""The benchmark's ``limit``: the time of the work no converter of a stack can avoid.

On one core, in this process, for a 3-level pyramid of ``U``-voxel chunks:

- *read*: every slice once (TIFF rows straight from the file; a JPEG 2000
  slice decoded once, whole);
- *means*: the 2x2x2 block means of levels 0 and 1 (``downsample_mean``, the
  book's), which make levels 1 and 2;
- *compress*: every chunk of every level with the same codec (numcodecs, in
  memory, Blosc on one thread);
- *write*: those compressed bytes, one file per chunk (Zarr 2's ``level/z/y/x``
  keys), to the output's file system.

The limit is ``(read + means + compress) / workers + write``: the work spread
over the workers, then the bytes written. When writing takes longer than the
workers take to compress (``write > compress / workers``), the disk, not the
codecs, is the limit.

Memory is bounded: the stack is read in bands of ``2U`` slices x ``2U`` rows
x the width (for JPEG 2000, ``2U`` whole decoded slices), and level 2 is
gathered one slab of ``U`` of its planes at a time; never the whole input.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numcodecs.blosc
import numpy as np

from data_helpers.codec_names import DEFAULT_CODEC, make_codec
from data_helpers.convert import inspect_slices, read_window
from data_helpers.convert.sources.jpeg2k import decode_jpeg2k
from data_helpers.pyramid import downsample_mean, level_shape

STEPS = ("read", "means", "compress", "write")


@dataclass
class Limit:
    """The measured unavoidable work of one conversion, step by step (seconds)."""

    workers: int
    seconds_by_step: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(STEPS, 0.0)
    )
    files: int = 0
    compressed_bytes: int = 0

    @property
    def work_s(self) -> float:
        """Seconds of work on one core that the workers can share."""
        return sum(self.seconds_by_step[s] for s in ("read", "means", "compress"))

    @property
    def seconds(self) -> float:
        """The limit: the shared work over the workers, plus the writes."""
        return self.work_s / self.workers + self.seconds_by_step["write"]

    @property
    def disk_bound(self) -> bool:
        """True when the disk writes slower than the workers compress."""
        return self.seconds_by_step["write"] > self.seconds_by_step["compress"] / (
            self.workers
        )

    @contextmanager
    def timing(self, step: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``step``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds_by_step[step] += time.perf_counter() - start

    def as_dict(self) -> dict[str, Any]:
        """The measurement and its derived numbers, for the JSON report."""
        return {
            **asdict(self),
            "work_s": self.work_s,
            "seconds": self.seconds,
            "disk_bound": self.disk_bound,
        }

    def summary(self) -> str:
        """One sentence: the limit, its steps, and what limits it."""
        steps = ", ".join(f"{s} {self.seconds_by_step[s]:.2f} s" for s in STEPS)
        compress = self.seconds_by_step["compress"] / self.workers
        write = self.seconds_by_step["write"]
        mb = self.compressed_bytes / 1e6
        what = (
            f"the disk is the limit: it wrote {mb / write:.0f} MB/s, the codecs "
            f"compressed {mb / compress:.0f} MB/s on {self.workers} workers"
            if self.disk_bound
            else f"the codecs, not the disk, are the limit ({mb / compress:.0f} MB/s "
            f"compressed on {self.workers} workers, {mb / max(write, 1e-9):.0f} MB/s "
            "written)"
        )
        return (
            f"limit {self.seconds:.2f} s = ({steps.rsplit(', ', 1)[0]}) / "
            f"{self.workers} workers + write {write:.2f} s "
            f"({self.files} files, {mb:.0f} MB); {what}."
        )


def _bands(
    folder: Path, band: int, limit: Limit
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(z0, y0, piece)``: the stack in pieces of ``band`` slices x ``band`` rows.

    Each slice is read once: TIFF rows straight from the file, a JPEG 2000
    slice decoded whole once for its ``band`` slices.
    """
    shape, dtype, slices = inspect_slices(folder)
    n_z, n_y, n_x = shape
    for z0 in range(0, n_z, band):
        sources = slices[z0 : z0 + band]
        if sources[0].jpeg2k:
            whole = np.empty((len(sources), n_y, n_x), dtype)
            with limit.timing("read"):
                for plane, source in zip(whole, sources, strict=True):
                    plane[:] = decode_jpeg2k(source.path)
            for y0 in range(0, n_y, band):
                yield z0, y0, whole[:, y0 : y0 + band]
            del whole
            continue
        for y0 in range(0, n_y, band):
            piece = np.empty((len(sources), min(band, n_y - y0), n_x), dtype)
            with limit.timing("read"):
                for plane, source in zip(piece, sources, strict=True):
                    read_window(plane, source, y0, 0, n_x)
            yield z0, y0, piece


def _means(region: np.ndarray, step: int) -> np.ndarray:
    """``downsample_mean`` of ``region``, ``step`` columns at a time.

    The converter averages pieces of a few chunks; one call on a band of the
    whole width is several times slower (its temporaries leave the caches),
    which would make the limit look higher than it is. ``step`` is even, so
    the result is the same.
    """
    out = np.empty(level_shape(region.shape, 1), region.dtype)
    for c in range(0, region.shape[2], step):
        out[:, :, c // 2 : (c + step) // 2] = downsample_mean(
            region[:, :, c : c + step]
        )
    return out


def _store_chunks(
    region: np.ndarray,
    start: tuple[int, int],
    level: int,
    output: Path,
    unit: int,
    compressor: Any,
    limit: Limit,
) -> None:
    """Compress and write every chunk of ``region`` (chunk-aligned at ``start``).

    ``region`` spans whole chunks along z and y from chunk ``start`` and the
    whole width; edge chunks are padded to full chunks with zeros, as Zarr 2
    stores them.
    """
    for a in range(0, region.shape[0], unit):
        for b in range(0, region.shape[1], unit):
            for c in range(0, region.shape[2], unit):
                part = region[a : a + unit, b : b + unit, c : c + unit]
                chunk = np.zeros((unit,) * 3, region.dtype)
                chunk[: part.shape[0], : part.shape[1], : part.shape[2]] = part
                with limit.timing("compress"):
                    data = compressor.encode(chunk)
                key = (start[0] + a // unit, start[1] + b // unit, c // unit)
                path = output.joinpath(str(level), *map(str, key))
                with limit.timing("write"):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                limit.files += 1
                limit.compressed_bytes += len(data)


def measure_limit(
    folder: Path,
    output: Path,
    *,
    chunks: int = 128,
    levels: int = 3,
    workers: int = 2,
    codec: str = DEFAULT_CODEC,
) -> Limit:
    """Measure the limit of converting the slices in ``folder`` into ``output``.

    ``levels`` is 1, 2 or 3 (the benchmark's pyramids have 3); ``chunks`` must
    be even. The chunk files written to ``output`` are the measurement's, not
    an image: no metadata.
    """
    if levels not in (1, 2, 3) or chunks % 2:
        raise ValueError(f"levels {levels} must be 1-3 and chunks {chunks} even.")
    shape, dtype, _ = inspect_slices(folder)
    unit, limit = chunks, Limit(workers)
    compressor = make_codec(codec)

    def store(region: np.ndarray, start: tuple[int, int], level: int) -> None:
        _store_chunks(region, start, level, output, unit, compressor, limit)

    threads, numcodecs.blosc.use_threads = numcodecs.blosc.use_threads, False
    try:
        n_z2, n_y2, n_x2 = level_shape(shape, 2)
        slab = np.empty((min(unit, n_z2), n_y2, n_x2), dtype)  # level 2, by slabs
        slab_index = 0  # the slab's chunk row along z
        for z0, y0, piece in _bands(folder, 2 * unit, limit):
            store(piece, (z0 // unit, y0 // unit), 0)
            if levels == 1:
                continue
            with limit.timing("means"):
                one = _means(piece, 2 * unit)
            store(one, (z0 // 2 // unit, y0 // 2 // unit), 1)
            if levels == 2:
                continue
            z2, y2 = z0 // 4, y0 // 4
            if z2 // unit != slab_index:  # the slab above is whole: store it
                store(slab, (slab_index, 0), 2)
                slab_index = z2 // unit
            with limit.timing("means"):
                two = _means(one, 2 * unit)
            a = z2 - slab_index * unit
            slab[a : a + two.shape[0], y2 : y2 + two.shape[1]] = two
        if levels == 3:
            store(slab[: n_z2 - slab_index * unit], (slab_index, 0), 2)
        return limit
    finally:
        numcodecs.blosc.use_threads = threads
