"""The deep check: every chunk decoded, each level against the level above."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import zarr
from zarr.abc.store import RangeByteRequest
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync  # zarr's own way to run store calls from threads

from data_helpers.check.metadata import codec_name
from data_helpers.check.result import Finding, Level, one_line
from data_helpers.factors import factors_between
from data_helpers.pyramid import downsample_mean, downsample_mode
from data_helpers.wording import count

#: Below this correlation with the block mean of the level above, a level is
#: not a downsampled copy of it.
MIN_CORRELATION = 0.9
#: A level whose voxels match the block mean of the level above, up to
#: rounding, at least this often was made by the block mean: any other voxel
#: of it is wrong.
MADE_BY_BLOCK_MEAN = 0.99
#: A deep check shows a progress bar once it has run this many seconds.
PROGRESS_AFTER_SECONDS = 2.0


@dataclass
class Stats:
    """Sums over voxels of a level (y) and the block mean of the level above (x)."""

    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0
    equal: int = 0
    close: int = 0  # equal up to rounding (``rounding``)
    max_difference: float = 0.0
    worst_at: tuple[int, ...] | None = None  # where the difference is largest

    def add(self, other: Stats) -> None:
        for name in ("n", "sx", "sy", "sxx", "syy", "sxy", "equal", "close"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.max_difference > self.max_difference or self.worst_at is None:
            self.max_difference = other.max_difference
            self.worst_at = other.worst_at

    @classmethod
    def of(
        cls, mean: np.ndarray, level: np.ndarray, origin: Sequence[int] = ()
    ) -> Stats:
        """The sums of ``level`` against ``mean``; ``origin``: where ``level``
        starts in its whole array (for ``worst_at``)."""
        x, y = mean.astype(np.float64), level.astype(np.float64)
        difference = np.abs(x - y)
        worst = np.unravel_index(int(difference.argmax()), difference.shape)
        origin = tuple(origin) or (0,) * difference.ndim
        x, y = x.ravel(), y.ravel()
        return cls(
            n=x.size,
            sx=float(x.sum()),
            sy=float(y.sum()),
            sxx=float(x @ x),
            syy=float(y @ y),
            sxy=float(x @ y),
            equal=int(np.count_nonzero(x == y)),
            close=int(np.count_nonzero(difference <= rounding(level.dtype, x))),
            max_difference=float(difference.max(initial=0.0)),
            worst_at=tuple(int(o + w) for o, w in zip(origin, worst, strict=True)),
        )

    def correlation(self) -> float | None:
        """Pearson correlation of the level with the block mean (None: constant)."""
        if self.n == 0:
            return None
        cov = self.sxy - self.sx * self.sy / self.n
        vx = self.sxx - self.sx**2 / self.n
        vy = self.syy - self.sy**2 / self.n
        if vx <= 1e-12 * max(self.sxx, 1.0) or vy <= 1e-12 * max(self.syy, 1.0):
            return None
        return cov / math.sqrt(vx * vy)


def rounding(dtype: np.dtype, values: np.ndarray) -> float:
    """The difference from the block mean that rounding explains: 1 for
    integers (a mean rounded once or per halving, up or down), a few units
    in the last place of the largest value for floats."""
    if np.issubdtype(dtype, np.integer):
        return 1.0
    largest = float(np.abs(values).max(initial=0.0))
    return 4 * float(np.finfo(dtype).eps) * max(largest, 1.0)


#: A task of a deep check reads a block of up to this many chunks along each
#: axis (zarr fetches and decodes them together), or a single shard.
BLOCK = 2


def objects_per_task(array: zarr.Array) -> int:
    """Stored objects a deep-check task reads along each axis: shards are big."""
    return 1 if array.shards else BLOCK


@dataclass
class BlockResult:
    """What one task found in a block of stored objects of a level."""

    level: int
    errors: list[tuple[str, str]] = field(default_factory=list)  # key, what
    not_fill: int = 0
    below: Stats | None = None  # the level below against this block's mean


Downsample = Callable[[np.ndarray, Sequence[int]], np.ndarray]


def block_mean(
    block: np.ndarray,
    factors: Sequence[int],
    downsample: Downsample = downsample_mean,
) -> np.ndarray:
    """Block mean by whole ``factors``: ``downsample_mean`` step by step.

    An even factor is a halving and the rest (a factor of 4 is two halvings,
    as a pyramid made level by level has it); an odd one is one step. A factor
    of 1 (``t``, ``c``, an axis an anisotropic level keeps) leaves the axis
    as it is. ``downsample_mode`` in place of ``downsample_mean`` gives the
    block mode of a label image.
    """
    left = [int(f) for f in factors]
    while any(f > 1 for f in left):
        steps = [2 if f % 2 == 0 else f for f in left]
        block = downsample(block, steps)
        left = [f // s for f, s in zip(left, steps, strict=True)]
    return block


def scale_factors(above: Level, level: Level) -> tuple[int, ...] | None:
    """Whole factors between two levels' scales (1 along t and c), or None."""
    if above.scale is None or level.scale is None:
        return None
    return factors_between(above.scale, level.scale)


def blosc_size_problems(array: zarr.Array, keys: Sequence[str]) -> dict[str, str]:
    """The stored objects among ``keys`` that are shorter (or longer) than their
    Blosc header says.

    Blosc can decode a chunk cut short without an error (into partly wrong
    voxels), so each chunk's length is checked against the compressed size,
    ``cbytes``, that bytes 12-15 of every Blosc frame hold (c-blosc's
    README_HEADER.rst). Only for unsharded arrays whose outermost codec is
    Blosc; a shard's index says where each of its chunks ends.
    """
    compressors = array.compressors
    if (
        array.shards
        or not compressors
        or not codec_name(compressors[-1]).startswith("blosc")
    ):
        return {}
    store = array.store_path.store

    async def head_and_size(key: str) -> tuple[bytes | None, int]:
        head = await store.get(key, default_buffer_prototype(), RangeByteRequest(0, 16))
        if head is None:
            return None, 0  # not stored: read as the fill value
        return head.to_bytes(), await store.getsize(key)

    async def all_keys() -> list[tuple[bytes | None, int]]:
        return await asyncio.gather(*(head_and_size(key) for key in keys))

    found = {}
    for key, (head, size) in zip(keys, sync(all_keys()), strict=True):
        if head is None:
            continue
        if len(head) < 16:
            found[key] = f"{count(size, 'byte')} stored, shorter than a Blosc header"
        elif (cbytes := int.from_bytes(head[12:16], "little")) != size:
            found[key] = f"its Blosc header says {cbytes} bytes, but {size} are stored"
    return found


def region_of(
    array: zarr.Array, start: Sequence[int], count: int = 1
) -> tuple[slice, ...]:
    """The voxels of ``count``**ndim stored objects from object ``start``."""
    grid = array.shards or array.chunks
    return tuple(
        slice(c * g, min((c + count) * g, n))
        for c, g, n in zip(start, grid, array.shape, strict=True)
    )


def read_block(
    index: int,
    array: zarr.Array,
    block: tuple[int, ...],
    below: zarr.Array | None,
    factors: tuple[int, ...] | None,
    downsample: Downsample = downsample_mean,
) -> BlockResult:
    """Read a block of stored objects; compare ``below`` with its block mean
    (``downsample``: ``downsample_mode`` for labels)."""
    grid = array.shards or array.chunks
    counts = [math.ceil(n / g) for n, g in zip(array.shape, grid, strict=True)]
    per_task = objects_per_task(array)
    first = [b * per_task for b in block]
    objects = itertools.product(
        *(range(f, min(f + per_task, c)) for f, c in zip(first, counts, strict=True))
    )
    prefix = f"{array.path}/" if array.path else ""
    keys = {c: prefix + array.metadata.encode_chunk_key(c) for c in objects}
    result = BlockResult(index)
    region = region_of(array, first, per_task)
    cut = blosc_size_problems(array, list(keys.values()))
    data: np.ndarray | None = None
    failed = ""
    if not cut:
        try:
            data = np.asarray(array[region])
        except Exception as error:  # a codec's error on a cut or corrupt object
            failed = one_line(error)
    if data is None:  # name the objects at fault, one by one
        for coords, key in keys.items():
            if key in cut:
                result.errors.append((key, cut[key]))
                continue
            try:
                array[region_of(array, coords)]
            except Exception as error:
                result.errors.append((key, one_line(error)))
        if not result.errors:
            result.errors.append((next(iter(keys.values())), failed))
        return result
    fill = array.fill_value if array.fill_value is not None else 0
    result.not_fill = int(np.count_nonzero(data != fill))
    if below is None or factors is None:
        return result
    # The voxels of `below` whose block starts inside this region; a block
    # may end past it (a grid of one channel per chunk, factor 2 along c).
    starts = [math.ceil(s.start / f) for s, f in zip(region, factors, strict=True)]
    stops = [
        min(math.ceil(s.stop / f), n)
        for s, f, n in zip(region, factors, below.shape, strict=True)
    ]
    if any(a >= b for a, b in zip(starts, stops, strict=True)):
        return result
    blocks = tuple(
        slice(a * f, min(b * f, n))
        for a, b, f, n in zip(starts, stops, factors, array.shape, strict=True)
    )
    try:
        if all(
            r.start <= b.start and b.stop <= r.stop
            for r, b in zip(region, blocks, strict=True)
        ):
            above = data[
                tuple(
                    slice(b.start - r.start, b.stop - r.start)
                    for r, b in zip(region, blocks, strict=True)
                )
            ]
        else:  # the rest of the blocks, from the next objects
            above = np.asarray(array[blocks])
        lower = np.asarray(
            below[tuple(slice(a, b) for a, b in zip(starts, stops, strict=True))]
        )
    except Exception:  # its own task reports the object that cannot be read
        return result
    mean = block_mean(above, factors, downsample)
    common = tuple(
        slice(0, min(m, n)) for m, n in zip(mean.shape, lower.shape, strict=True)
    )
    result.below = Stats.of(mean[common], lower[common], starts)
    return result


def deep_findings(
    arrays: list[zarr.Array],
    levels: list[Level],
    workers: int,
    progress: bool,
    labels: bool = False,
) -> tuple[list[Finding], list[Finding]]:
    """Read every stored object of every level on dask; problems and information.

    Each level is compared with the block mean of the level above (the block
    mode for a label image, ``labels``) over the factors their scales say.
    """
    import dask.bag
    from dask.diagnostics import ProgressBar

    factors = [scale_factors(a, b) for a, b in zip(levels, levels[1:], strict=False)]
    blocks = []  # (level, block coordinates): small, cheap for dask to hash
    for index, array in enumerate(arrays):
        grid = array.shards or array.chunks
        counts = [
            math.ceil(n / (g * objects_per_task(array)))
            for n, g in zip(array.shape, grid, strict=True)
        ]
        blocks += [(index, tuple(map(int, c))) for c in np.ndindex(*counts)]

    def read(task: tuple[int, tuple[int, ...]]) -> BlockResult:
        index, block = task
        below = arrays[index + 1] if index + 1 < len(arrays) else None
        scale = factors[index] if below is not None else None
        downsample = downsample_mode if labels else downsample_mean
        return read_block(index, arrays[index], block, below, scale, downsample)

    # One task per block: a worker holds one block of stored objects and the
    # part of the level below it at a time.
    bag = dask.bag.from_sequence(blocks, partition_size=1).map(read)
    bar = ProgressBar(minimum=PROGRESS_AFTER_SECONDS, out=sys.stderr)
    with bar if progress else contextlib.nullcontext():
        results = bag.compute(scheduler="threads", num_workers=workers)
    return pyramid_findings(levels, results, labels)


def pyramid_findings(
    levels: list[Level], results: Sequence[BlockResult], labels: bool = False
) -> tuple[list[Finding], list[Finding]]:
    """Problems and information from what the tasks of a deep check found."""
    reduction = "mode" if labels else "mean"
    problems, information = [], []
    not_fill = [0] * len(levels)
    stats = [Stats() for _ in levels]
    broken = [0] * len(levels)
    for result in results:
        for key, error in result.errors:
            message = (
                f"cannot be decoded ({error}): the stored object is cut "
                "short or corrupt, so readers fail on it or show wrong voxels."
            )
            stored = "shard" if levels[result.level].shards else "chunk"
            problems.append(Finding(f"{stored} {key}", message))
        if result.errors:
            broken[result.level] += 1
            continue
        not_fill[result.level] += result.not_fill
        if result.below is not None:
            stats[result.level + 1].add(result.below)
    for k in range(1, len(levels)):
        where, above = f"level {levels[k].path}", f"level {levels[k - 1].path}"
        factors = scale_factors(levels[k - 1], levels[k])
        found, correlation = stats[k], stats[k].correlation()
        if factors is None:
            message = (
                f"not compared with {above}: the ratio of their scales is not a "
                "whole number on every axis."
            )
            information.append(Finding(where, message))
        elif not_fill[k] == 0 and not_fill[k - 1] > 0 and not broken[k]:
            message = (
                f"every voxel is the fill value, but {above} holds data: the level "
                "was never written, or its writes were lost."
            )
            problems.append(Finding(where, message))
        elif broken[k] or broken[k - 1] or (found.n and found.equal == found.n):
            pass  # cut short (the chunks say enough), or the exact block mean
        elif found.n and found.close == found.n:
            pass  # the block mean, rounded another way (down, or in one step)
        elif found.n and found.close >= MADE_BY_BLOCK_MEAN * found.n:
            wrong = found.n - found.close
            where_worst = ", ".join(map(str, found.worst_at or ()))
            message = (
                f"{count(wrong, 'voxel')} {'differs' if wrong == 1 else 'differ'} "
                f"from the "
                f"{'x'.join(map(str, factors))} block {reduction} of {above} by "
                f"more than rounding (by up to {found.max_difference:g}, at "
                f"({where_worst})), though the rest match it: the level was "
                "changed or written wrong there, and zoomed out, viewers show "
                "other values than the image has."
            )
            problems.append(Finding(where, message))
        elif correlation is None or correlation < MIN_CORRELATION:
            said = "undefined" if correlation is None else f"{correlation:.3f}"
            message = (
                f"not a downsampled copy of {above}: its correlation with the "
                f"{'x'.join(map(str, factors))} block {reduction} of {above} is "
                f"{said} "
                f"(below {MIN_CORRELATION}); zoomed out, viewers show another image."
            )
            problems.append(Finding(where, message))
        else:
            message = (
                f"a downsampled copy of {above} (correlation {correlation:.3f} with "
                f"its {'x'.join(map(str, factors))} block {reduction}), but not the "
                f"exact block {reduction} ({found.equal / found.n:.1%} of voxels "
                "equal it): made "
                "with another method, e.g. Gaussian smoothing."
            )
            information.append(Finding(where, message))
    return problems, information


# --------------------------------------------------------------------------
