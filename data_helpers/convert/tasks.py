"""The tasks: a block of level 0 (and level 1 under it), or one unit of a level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr

from data_helpers.convert.jpeg2k import decode_to_scratch
from data_helpers.convert.plan import Plan, Region, Task
from data_helpers.convert.slices import Slice, read_window
from data_helpers.convert.state import ConversionState, output_child, output_store
from data_helpers.pyramid import downsample_mean, downsample_mode, level_shape
from data_helpers.shards import check_whole_units


def write_region(
    array: zarr.Array, region: Region, data: np.ndarray, unit: int
) -> None:
    """Write ``data`` at ``region`` after checking it covers whole units.

    A sharded array gets one shard along x per call: zarr encodes every
    shard of a call at once, each with its copy and its encoded chunks.
    """
    check_whole_units(region, array.shape, unit)
    if array.shards is None:
        array[region] = data
        return
    z, y, x = region
    for start in range(0, data.shape[2], unit):
        columns = slice(x.start + start, min(x.start + start + unit, x.stop))
        array[z, y, columns] = data[:, :, start : start + unit]


def open_level(output: str, level: int, mode: str, zarr_format: int) -> zarr.Array:
    """Level ``level`` of the output image (a folder, or an s3:// URL).

    Told the format, zarr asks for no metadata of the other format: on object
    storage, each such question is a request.
    """
    store = output_store(output_child(output, str(level)), mode)
    return zarr.open_array(store, mode=mode, zarr_format=zarr_format)  # type: ignore[arg-type]


def downsampler(plan: Plan) -> Callable[[np.ndarray], np.ndarray]:
    """How this conversion halves a level: the mode for labels, else the mean."""
    return downsample_mode if plan.labels else downsample_mean


def decode_slice(
    source: Slice,
    scratch: str,
    plan: Plan,
    task: Task,
    state: ConversionState,
    *deps: str,
) -> str:
    """Decode task: JPEG 2000 slice ``source``, decoded once, into ``scratch``.

    ``deps``: the free task of two slabs before, which it waits for.
    """
    shape = (plan.shape[1], plan.shape[2])
    decode_to_scratch(source.path, scratch, shape, np.dtype(plan.dtype))
    state.mark_done(task.name)
    return task.name


def free_scratch(
    scratch: list[str], task: Task, state: ConversionState, *deps: str
) -> str:
    """Free task: delete a slab's scratch copies, its block tasks all done."""
    for path in scratch:
        Path(path).unlink(missing_ok=True)
    state.mark_done(task.name)
    return task.name


def convert_block(
    output: str,
    plan: Plan,
    slices: list[Slice],
    task: Task,
    state: ConversionState,
    *deps: str,
) -> str:
    """Block task: ``plan.block_shape()`` of level 0, and the level 1 below it.

    ``slices`` are all the slices (it reads those of its region); ``deps``
    the names of the decode tasks it waits for (JPEG 2000).
    """
    unit, n_x = plan.unit, plan.shape[2]
    (z0, z1), (y0, y1), (x0, x1) = ((s.start, s.stop) for s in task.region)
    level0 = open_level(output, 0, "r+", plan.zarr_format)
    lower = None
    if plan.levels > 1:
        lower = np.empty(level_shape((z1 - z0, y1 - y0, x1 - x0), 1), plan.dtype)
    for zq in range(z0, z1, unit):
        for yq in range(y0, y1, unit):
            zq1, yq1 = min(zq + unit, z1), min(yq + unit, y1)
            piece = np.empty((zq1 - zq, yq1 - yq, x1 - x0), plan.dtype)
            for z in range(zq, zq1):
                read_window(piece[z - zq], slices[z], yq, x0, n_x)
            region = (slice(zq, zq1), slice(yq, yq1), slice(x0, x1))
            write_region(level0, region, piece, unit)
            if lower is not None:  # pieces start at even offsets: exact 2x2x2 groups
                mean = downsampler(plan)(piece)
                a, b = (zq - z0) // 2, (yq - y0) // 2
                lower[a : a + mean.shape[0], b : b + mean.shape[1]] = mean
            del piece
    if lower is not None:
        level1 = open_level(output, 1, "r+", plan.zarr_format)
        starts = (z0 // 2, y0 // 2, x0 // 2)
        below = tuple(slice(s, s + n) for s, n in zip(starts, lower.shape, strict=True))
        write_region(level1, below, lower, unit)
    state.mark_done(task.name)
    return task.name


def convert_unit(
    output: str, plan: Plan, task: Task, state: ConversionState, *deps: str
) -> str:
    """Unit task: one chunk (shard) of level ``k`` from the 2x2x2 of level ``k - 1``."""
    unit, region = plan.unit, task.region
    source = open_level(output, task.level - 1, "r", plan.zarr_format)
    target = open_level(output, task.level, "r+", plan.zarr_format)
    out = np.empty([s.stop - s.start for s in region], plan.dtype)
    for a, b, c in np.ndindex(2, 2, 2):  # the source units under this one
        start = [2 * s.start + o * unit for s, o in zip(region, (a, b, c), strict=True)]
        if any(st >= n for st, n in zip(start, source.shape, strict=True)):
            continue
        part = np.asarray(source[tuple(slice(st, st + unit) for st in start)])
        mean = downsampler(plan)(part)
        offset = [st // 2 - s.start for st, s in zip(start, region, strict=True)]
        place = zip(offset, mean.shape, strict=True)
        out[tuple(slice(o, o + m) for o, m in place)] = mean
    write_region(target, region, out, unit)
    state.mark_done(task.name)
    return task.name
