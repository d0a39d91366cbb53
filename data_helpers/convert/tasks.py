"""The tasks: a block of level 0 (and level 1 under it), or one unit of a level.

Each receives the output, the plan, its ``Task`` (coordinates, not names) and
the state to mark itself done in; a block task also the ``Source`` it reads.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from data_helpers.convert.output import Output
from data_helpers.convert.plan import Downsampling, Plan, Task
from data_helpers.convert.sources import RawPlanes, Source
from data_helpers.convert.state import ConversionState
from data_helpers.convert.writing import open_level, write_region
from data_helpers.pyramid import downsample_mean, downsample_mode, level_shape


def downsampler(plan: Plan) -> Callable[[np.ndarray, Sequence[int]], np.ndarray]:
    """How this conversion makes a level: the mode for labels, else the mean."""
    return downsample_mode if plan.method is Downsampling.MODE else downsample_mean


def downsample_planes(
    plan: Plan, data: np.ndarray, factors: Sequence[int], out: np.ndarray
) -> None:
    """``out[...] = downsample(data, factors)``, one z plane of ``out`` at a time.

    Groups never straddle two planes of ``out``, so the result is the same as
    in one call, while the downsampling's working copies stay those of one
    plane (``Plan.work_bytes``), not of all of ``data``: a plane of one time
    point of one channel (``t`` and ``c``, before ``z``, have factor 1).
    """
    lead = plan.axes.index("z")
    downsample, step = downsampler(plan), factors[lead]
    for index in np.ndindex(*out.shape[: lead + 1]):
        *outer, i = index
        group = data[(*outer, slice(i * step, (i + 1) * step))]
        out[index] = downsample(group, factors[lead:])[0]


def stage_plane(
    source: Source, folder: Path, task: Task, state: ConversionState, *deps: str
) -> str:
    """Stage task: plane ``task.index[0]`` of ``source`` decoded once into ``folder``.

    ``deps``: the free task of two slabs before, which it waits for.
    """
    source.stage(task.index[0], folder)
    state.mark_done(task.name)
    return task.name


def free_staged(
    staged: RawPlanes, task: Task, state: ConversionState, *deps: str
) -> str:
    """Free task: delete a slab's staged planes, its block tasks all done."""
    staged.discard(range(task.region[0].start, task.region[0].stop))
    state.mark_done(task.name)
    return task.name


def convert_block(
    output: Output,
    plan: Plan,
    source: Source,
    task: Task,
    state: ConversionState,
    *deps: str,
) -> str:
    """Block task: ``plan.block_shape()`` of level 0, and the level 1 below it.

    Reads its region of ``source`` in pieces of one unit along every axis but
    the last; ``deps`` are the stage tasks it waits for (JPEG 2000).
    """
    unit, region, factors = plan.unit, task.region, plan.block_factors()
    level0 = open_level(output, 0, "r+", plan)
    lower = None
    if plan.levels > 1:
        size = [s.stop - s.start for s in region]
        lower = np.empty(level_shape(size, 1, [factors]), plan.dtype)
    leading = (
        range(s.start, s.stop, u) for s, u in zip(region, unit[:-1], strict=False)
    )
    for starts in itertools.product(*leading):
        piece_region = (
            *(
                slice(a, min(a + u, s.stop))
                for a, u, s in zip(starts, unit, region, strict=False)
            ),
            region[-1],
        )
        piece = np.empty([s.stop - s.start for s in piece_region], plan.dtype)
        source.read(piece_region, piece)
        write_region(level0, piece_region, piece, unit)
        if lower is not None:  # pieces start at multiples of the factors
            shape = level_shape(piece.shape, 1, [factors])
            place = (
                slice((a - s.start) // f, (a - s.start) // f + m)
                for a, s, f, m in zip(starts, region, factors, shape, strict=False)
            )
            downsample_planes(plan, piece, factors, lower[tuple(place)])
        del piece
    if lower is not None:
        level1 = open_level(output, 1, "r+", plan)
        below = tuple(
            slice(s.start // f, s.start // f + n)
            for s, f, n in zip(region, factors, lower.shape, strict=True)
        )
        write_region(level1, below, lower, unit)
    state.mark_done(task.name)
    return task.name


def convert_unit(
    output: Output, plan: Plan, task: Task, state: ConversionState, *deps: str
) -> str:
    """Unit task: one chunk (shard) of level ``k`` from the units of ``k - 1`` below."""
    unit, region, level = plan.unit, task.region, task.level
    factors = plan.factors[level - 1]
    source = open_level(output, level - 1, "r", plan)
    target = open_level(output, level, "r+", plan)
    out = np.empty([s.stop - s.start for s in region], plan.dtype)
    for offsets in np.ndindex(*factors):  # the source units under this one
        start = [
            f * s.start + o * u
            for s, o, u, f in zip(region, offsets, unit, factors, strict=True)
        ]
        if any(st >= n for st, n in zip(start, source.shape, strict=True)):
            continue
        part = np.asarray(
            source[tuple(slice(st, st + u) for st, u in zip(start, unit, strict=True))]
        )
        offset = [
            st // f - s.start for st, f, s in zip(start, factors, region, strict=True)
        ]
        place = zip(offset, level_shape(part.shape, 1, [factors]), strict=True)
        downsample_planes(
            plan, part, factors, out[tuple(slice(o, o + m) for o, m in place)]
        )
    write_region(target, region, out, unit)
    state.mark_done(task.name)
    return task.name
