"""Invariants of the converter's plan, swept over axes, shapes, chunks, shards,
voxel sizes (so factors) and levels.

Every plan is built by ``make_plan`` and every task is read through ``kind``,
``written`` and the plan's ``unit`` and ``factors``: when ``Plan`` or ``Task``
change, adapt those only.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from data_helpers.convert import tasks as task_module
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Plan, Region, Task, TaskKind
from data_helpers.convert.sources import Source, open_source
from data_helpers.convert.sources.channels import stack_channels
from data_helpers.convert.state import FolderState
from data_helpers.factors import SPACE_AXES, pyramid_factors
from data_helpers.pyramid import downsample_mean, level_shape
from tests.convert.helpers import random_volume, write_slices

#: The axes of an image of 3, 4 or 5 dimensions, as the converter orders them.
AXES_BY_NDIM = {
    3: ("z", "y", "x"),
    4: ("c", "z", "y", "x"),
    5: ("t", "c", "z", "y", "x"),
}

#: A voxel size (z, y, x), or None: the plan's own default factors.
VoxelSize = tuple[float, float, float] | None


def along_space(axes: Sequence[str], edge: int) -> tuple[int, ...]:
    """``edge`` along z, y and x, 1 along t and c (a unit holds one time
    point of one channel)."""
    return tuple(edge if axis in SPACE_AXES else 1 for axis in axes)


def level_count(shape: tuple[int, ...], chunks: int, voxel: VoxelSize) -> int:
    """The converter's number of levels: until the smallest fits in a chunk
    along z, y and x, each level downsampled by ``pyramid_factors``."""
    axes = AXES_BY_NDIM[len(shape)]
    size = voxel or (1.0, 1.0, 1.0)
    edges = along_space(axes, chunks)
    return len(pyramid_factors(shape, axes, size, chunks=edges)) + 1


def make_plan(
    shape: tuple[int, ...],
    chunks: int,
    *,
    shards: int | None = None,
    levels: int | None = None,
    voxel: VoxelSize = None,
    staged: bool = False,
    dtype: str = "uint16",
    piece_voxels: int | None = None,
) -> Plan:
    """The plan of a conversion of an image of axes ``AXES_BY_NDIM[len(shape)]``
    (``levels`` by default as the converter's).

    ``voxel``: the factors are ``pyramid_factors`` of that voxel size, as the
    converter passes them; None: the plan's default (halving z, y and x).
    ``staged``: the slices are first decoded to scratch copies (JPEG 2000),
    by decode tasks, which free tasks delete; ``piece_voxels`` caps a block
    task's piece (the plan's default if None).
    """
    axes = AXES_BY_NDIM[len(shape)]
    levels = levels or level_count(shape, chunks, voxel)
    options: dict = {} if piece_voxels is None else {"piece_voxels": piece_voxels}
    if voxel is not None:
        edges = along_space(axes, chunks)
        factors = pyramid_factors(shape, axes, voxel, levels=levels, chunks=edges)
        options["factors"] = factors
    return Plan(
        shape=shape,
        axes=axes,
        dtype=dtype,
        chunks=along_space(axes, chunks),
        levels=levels,
        zarr_format=3 if shards else 2,
        shards=along_space(axes, shards) if shards else None,
        staged=staged,
        **options,
    )


def kind(task: Task) -> str:
    """``decode``, ``free``, ``block`` (levels 0 and 1) or ``unit`` (level 2+)."""
    names = {TaskKind.STAGE: "decode", TaskKind.UNIT: "unit"}
    return names.get(task.kind, task.kind.value)


def divided(region: Region, factors: Sequence[int]) -> Region:
    """``region`` of a level, divided by ``factors`` (rounded up): the region
    of the next level its voxels are downsampled into."""
    return tuple(
        slice(-(-s.start // f), -(-s.stop // f))
        for s, f in zip(region, factors, strict=True)
    )


def written(plan: Plan, task: Task) -> list[tuple[int, Region]]:
    """(level, region of that level) of everything ``task`` writes.

    A block task writes its region of level 0 and, divided by level 1's
    factors, of level 1; a unit task its region of its level.
    """
    if kind(task) == "unit":
        return [(task.level, task.region)]
    if kind(task) != "block":
        return []
    if plan.levels == 1:
        return [(0, task.region)]
    return [(0, task.region), (1, divided(task.region, plan.factors[0]))]


def shape_of(plan: Plan, level: int) -> tuple[int, ...]:
    """The shape of level ``level``: level 0's divided by its factors."""
    return level_shape(plan.shape, level, plan.factors)


# --------------------------------------------------------------------------
# The sweep: every plan of the grid, checked whole
# --------------------------------------------------------------------------

SHAPES = [
    (1, 1, 1),
    (1, 5, 3),
    (2, 2, 2),
    (5, 9, 17),
    (16, 16, 16),
    (17, 33, 65),
    (33, 47, 65),
    (37, 70, 130),
]
#: (chunks, shards): shards are whole multiples of chunks, 2 or 3 of them.
UNITS = [
    (2, None),
    (4, None),
    (6, None),
    (8, None),
    (16, None),
    (2, 4),
    (4, 12),
    (8, 16),
]
#: Grids of more units at level 0 (2-voxel chunks of the largest shapes) take
#: seconds each and hold no case the smaller ones miss: left out.
MAX_UNITS = 6000
#: Voxel sizes (z, y, x) whose ``pyramid_factors`` the plans are given: z
#: kept at first (2, 0.5, 0.5: levels 1 and 2 halve y and x only), every
#: axis halved (1, 1, 1, given rather than the default), x kept at first
#: (0.3, 0.3, 1.0).
VOXEL_SIZES: list[VoxelSize] = [(2.0, 0.5, 0.5), (1.0, 1.0, 1.0), (0.3, 0.3, 1.0)]
#: Lengths along t and c before z, y, x: 2 channels; 2 time points of 3.
LEADING = [(2,), (2, 3)]
#: Shapes (z, y, x) and units of the sweep over axes and voxel sizes: odd
#: shapes, units that cut them unevenly, with and without shards. Each plan
#: has ``t x c`` as many units: the grid stays small.
SPACE_SHAPES = [(1, 5, 3), (5, 9, 17), (9, 33, 20), (17, 33, 65)]
SPACE_UNITS = [(4, None), (6, None), (2, 4), (4, 12)]
MAX_SPACE_UNITS = 800


def units_of(shape: tuple[int, ...], chunks: int, shards: int | None) -> int:
    """Units (chunks, or shards) of level 0 of a plan of ``shape``."""
    axes = AXES_BY_NDIM[len(shape)]
    edges = along_space(axes, shards or chunks)
    return math.prod(math.ceil(n / e) for n, e in zip(shape, edges, strict=True))


#: (shape, chunks, shards, voxel): z, y, x plans of the plan's default
#: factors; then plans of ``SPACE_SHAPES`` of axes z, y, x, of c, z, y, x and
#: of t, c, z, y, x, each of every voxel size (and of the default factors).
GRID = [
    (shape, chunks, shards, None)
    for shape in SHAPES
    for chunks, shards in UNITS
    if units_of(shape, chunks, shards) <= MAX_UNITS
] + [
    (leading + space, chunks, shards, voxel)
    for leading in [(), *LEADING]
    for voxel in [*VOXEL_SIZES, *([None] if leading else [])]
    for space in SPACE_SHAPES
    for chunks, shards in SPACE_UNITS
    if units_of(space, chunks, shards) <= MAX_SPACE_UNITS
]


def grid_plans(
    shape: tuple[int, ...], chunks: int, shards: int | None, voxel: VoxelSize
):
    """Levels 1 (no level 1), 2 (no unit tasks) and the default (every
    factor), staged or not (z, y, x only: no staged input has t or c), and
    pieces that make blocks as narrow as they can be, 3 times that, or as
    wide as the default. Other level counts have the default's first levels
    (``test_fewer_levels_are_the_first_levels``)."""
    unit = shards or chunks
    staging = (False, True) if len(shape) == 3 else (False,)
    for levels in sorted({1, 2, level_count(shape, chunks, voxel)}):
        for staged in staging:
            for piece in (unit**3 * 2, unit**3 * 6, None):
                yield make_plan(
                    shape,
                    chunks,
                    shards=shards,
                    levels=levels,
                    voxel=voxel,
                    staged=staged,
                    piece_voxels=piece,
                )


def unit_grid(plan: Plan, level: int) -> tuple[int, ...]:
    """Units (chunks, or shards) of level ``level`` along each axis."""
    shape = shape_of(plan, level)
    return tuple(math.ceil(n / u) for n, u in zip(shape, plan.unit, strict=True))


def check_aligned(plan: Plan, task: Task, level: int, region: Region) -> None:
    """``region`` of ``level`` is whole units: each start a multiple of the
    unit, each stop one too or the level's end, and not empty."""
    shape = shape_of(plan, level)
    assert len(region) == len(shape), (task, level)
    for s, n, u in zip(region, shape, plan.unit, strict=True):
        assert 0 <= s.start < s.stop <= n, (task, level, region, shape)
        assert s.start % u == 0, (task, level, region)
        assert s.stop % u == 0 or s.stop == n, (task, level, region, shape)


def units_in(plan: Plan, region: Region) -> tuple[slice, ...]:
    """The units (grid indices) a unit-aligned ``region`` covers."""
    return tuple(
        slice(s.start // u, math.ceil(s.stop / u))
        for s, u in zip(region, plan.unit, strict=True)
    )


def owners_of_units(plan: Plan, tasks: list[Task]) -> list[np.ndarray]:
    """For each level, the position in ``tasks`` of the task writing each unit.

    Fails if a task writes a part of a unit, or a unit twice, or if a unit of
    some level is written by no task: the tasks' units partition every level.
    """
    owners = [np.full(unit_grid(plan, k), -1) for k in range(plan.levels)]
    for position, task in enumerate(tasks):
        for level, region in written(plan, task):
            check_aligned(plan, task, level, region)
            units = units_in(plan, region)
            twice = owners[level][units]
            assert (twice == -1).all(), (
                f"level {level} units {units} written by {task.key} and by "
                f"{[tasks[p].key for p in np.unique(twice[twice >= 0])]}"
            )
            owners[level][units] = position
    for level, owner in enumerate(owners):
        missing = np.argwhere(owner < 0)
        assert not missing.size, f"level {level}: no task writes units {missing[:5]}"
    return owners


def check_block_extent(plan: Plan, tasks: list[Task]) -> None:
    """A block task holds one unit of level 1 along every axis but the last
    (what ``task_bytes`` counts; so one time point of one channel): its
    region of level 0 is at most ``f U`` along each (``f``: level 1's factor)."""
    if plan.levels == 1:
        return
    edges = [u * f for u, f in zip(plan.unit, plan.factors[0], strict=True)][:-1]
    for task in tasks:
        if kind(task) == "block":
            extent = [s.stop - s.start for s in task.region[:-1]]
            assert all(map(int.__le__, extent, edges)), (task.key, extent, edges)


def check_order_and_keys(tasks: list[Task]) -> None:
    """Keys are unique, every dependency is a task's key, listed before it."""
    keys = {task.key for task in tasks}
    assert len(keys) == len(tasks), "two tasks share a key"
    seen: set = set()
    for task in tasks:
        assert len(set(task.deps)) == len(task.deps), task
        assert set(task.deps) <= keys, (task.key, set(task.deps) - keys)
        assert set(task.deps) <= seen, (task.key, "depends on a later task")
        seen.add(task.key)


def check_unit_dependencies(
    plan: Plan, tasks: list[Task], owners: list[np.ndarray]
) -> None:
    """A unit task of level k depends on exactly the tasks that wrote the
    units of level k - 1 under its units (``f`` of them along an axis of
    factor ``f``; block tasks for k = 2)."""
    for task in tasks:
        if kind(task) != "unit":
            continue
        factors = plan.factors[task.level - 1]
        under = tuple(
            slice(f * s.start, f * s.stop)
            for s, f in zip(units_in(plan, task.region), factors, strict=True)
        )
        writers = {tasks[p].key for p in np.unique(owners[task.level - 1][under])}
        assert set(task.deps) == writers, (task.key, task.deps, writers)


def check_staging(plan: Plan, tasks: list[Task]) -> None:
    """Staged: each slice is decoded by one task, before the block tasks that
    read it, which depend on it; a free task of a slab comes after, and
    depends on, every block task of its slab. Not staged: neither kind."""
    blocks = [t for t in tasks if kind(t) == "block"]
    decodes = [t for t in tasks if kind(t) == "decode"]
    frees = [t for t in tasks if kind(t) == "free"]
    if not plan.staged:
        assert not decodes and not frees
        assert all(not t.deps for t in blocks)
        return
    position = {t.key: n for n, t in enumerate(tasks)}
    slice_of = {t.key: t.region[0] for t in decodes}
    assert sorted(s.start for s in slice_of.values()) == list(range(plan.shape[0]))
    assert all(s.stop == s.start + 1 for s in slice_of.values())
    decode_of = {s.start: key for key, s in slice_of.items()}
    for block in blocks:
        z = block.region[0]
        needed = {decode_of[k] for k in range(z.start, z.stop)}
        assert set(block.deps) == needed, (block.key, block.deps)
        assert max(position[k] for k in needed) < position[block.key]
    frees.sort(key=lambda free: free.region[0].start)
    assert [f.region[0].start for f in frees] == [
        0,
        *(f.region[0].stop for f in frees[:-1]),
    ], "the free tasks' slabs overlap or leave gaps"
    assert frees[-1].region[0].stop == plan.shape[0], "the slabs miss slices"
    for free in frees:
        slab = free.region[0]
        mine = {b.key for b in blocks if slab.start <= b.region[0].start < slab.stop}
        assert all(b.region[0].stop <= slab.stop for b in blocks if b.key in mine)
        assert mine and set(free.deps) == mine, (free.key, free.deps)
        assert max(position[k] for k in mine) < position[free.key]


@pytest.mark.parametrize(("shape", "chunks", "shards", "voxel"), GRID, ids=str)
def test_plan_invariants(shape, chunks, shards, voxel) -> None:
    """Every plan of the grid: units partitioned among tasks, whole units
    only; a block task one unit of level 1 along all axes but the last; keys
    unique, dependencies known and first; unit tasks depend on exactly the
    writers of the units under them; decode and free tasks around the block
    tasks of their slab."""
    for plan in grid_plans(shape, chunks, shards, voxel):
        tasks = plan.tasks()
        try:
            check_order_and_keys(tasks)
            owners = owners_of_units(plan, tasks)
            check_block_extent(plan, tasks)
            check_unit_dependencies(plan, tasks, owners)
            check_staging(plan, tasks)
        except AssertionError as error:
            raise AssertionError(f"{plan}: {error}") from error


@pytest.mark.parametrize("voxel", [None, *VOXEL_SIZES])
@pytest.mark.parametrize("shape", [(33, 47, 65), (2, 3, 33, 47, 65)], ids=str)
def test_fewer_levels_are_the_first_levels(shape, voxel) -> None:
    """A plan of fewer levels than the default has its factors and its tasks
    but those of the levels it lacks (so the sweep checks the default's)."""
    full = make_plan(shape, 4, shards=8, voxel=voxel, piece_voxels=8**3 * 2)
    assert full.levels >= 5
    for levels in range(2, full.levels):
        plan = make_plan(
            shape, 4, shards=8, levels=levels, voxel=voxel, piece_voxels=8**3 * 2
        )
        assert plan.factors == full.factors[: levels - 1]
        assert plan.tasks() == [t for t in full.tasks() if t.level < levels]


@pytest.mark.parametrize("shape", [(9, 33, 20), (3, 9, 33, 20), (2, 3, 9, 33, 20)])
def test_default_factors_halve_space_axes_only(shape) -> None:
    """A plan given no factors halves z, y and x at every level, never t or c
    (the sweep reads the factors of the plans it checks from the plans)."""
    plan = make_plan(shape, 4)
    halving = tuple(2 if axis in SPACE_AXES else 1 for axis in plan.axes)
    assert plan.levels == 5
    assert plan.factors == (halving,) * 4


# --------------------------------------------------------------------------
# Memory: Plan.task_bytes() bounds what a task holds, measured
# --------------------------------------------------------------------------

#: Python objects a task makes beside its voxels (frames, tuples, slices,
#: paths, the 8 KiB buffer of each slice file it opens, its done marker's
#: path). Measured: 5 KiB for a task without a level 1 (nothing but its piece
#: and read buffer). Every bound checked below is 64 KiB or more (checked
#: once: with ``task_bytes`` halved, even that task fails, 2x over).
INTERPRETER_BYTES = 32 * 1024


class LevelInMemory:
    """A level standing in for its zarr array: a NumPy array made before the
    measurement. Writes copy into it (nothing allocated); a read returns a
    new array, as zarr's does, so the task holds what it reads."""

    shards = None  # so write_region writes a region in one call

    def __init__(self, shape: tuple[int, ...], dtype: str) -> None:
        self.data = np.zeros(shape, dtype)
        self.shape = shape

    def __setitem__(self, region: Region, value: np.ndarray) -> None:
        self.data[region] = value

    def __getitem__(self, region: Region) -> np.ndarray:
        return self.data[region].copy()


def traced_peak(call: Callable[[], object]) -> int:
    """Peak bytes allocated during ``call()`` above those held before it.

    NumPy reports its arrays' buffers to tracemalloc, so the peak counts every
    voxel array of the call (and its Python objects). A warm-up call first:
    one-time allocations (caches, lazy imports) are not the task's.
    """
    call()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.fixture
def levels_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Plan], list[np.ndarray]]:
    """Make the tasks write and read levels held in NumPy arrays (returned).

    Zarr's own copies while it encodes or decodes a write or read (a
    contiguous copy and the encoded bytes of up to 10 chunks at once, a
    whole shard's) are not voxels the task holds and grow with zarr's
    concurrency, not with the plan: measured without them, a task's peak
    is exactly its own arrays, and the margin can stay a small constant.
    """

    def use(plan: Plan) -> list[np.ndarray]:
        arrays = {
            k: LevelInMemory(s, plan.dtype) for k, s in enumerate(plan.level_shapes())
        }
        monkeypatch.setattr(
            task_module, "open_level", lambda output, level, mode, plan: arrays[level]
        )
        return [level.data for level in arrays.values()]

    return use


@dataclass(frozen=True)
class ArraySource:
    """A ``Source`` test double of any axes: voxels made before the
    measurement, which ``read`` copies into ``out`` (allocating nothing)."""

    data: np.ndarray
    axes: tuple[str, ...]

    def read(self, region: Region, out: np.ndarray) -> None:
        out[...] = self.data[region]


def source_of(
    tmp_path: Path, shape: tuple[int, ...], dtype: str
) -> tuple[Source, np.ndarray]:
    """Seeded random voxels of ``shape``, and a ``Source`` of them: z, y, x as
    uncompressed TIFF slices (read by rows); c, z, y, x as one folder of them
    per channel, as the converter stacks them (``stack_channels``); t, c, z,
    y, x in memory."""
    volume = random_volume(shape, seed=sum(shape), dtype=dtype)
    if len(shape) == 5:
        return cast(Source, ArraySource(volume, AXES_BY_NDIM[5])), volume
    channels = volume[None] if len(shape) == 3 else volume
    for c, channel in enumerate(channels):
        write_slices(tmp_path / f"in{c}", channel)
    sources = [open_source(tmp_path / f"in{c}") for c in range(len(channels))]
    source = sources[0] if len(shape) == 3 else stack_channels(sources)
    return source, volume


#: (shape, chunks, shards, piece_voxels, levels, voxel size, dtype). 300 and
#: 301 columns are no multiple of 2U = 64 (nor of a 2S = 64 shard pair);
#: 32 x 32 x 128 pieces make blocks 128 columns wide, 3 of them across the
#: slices. Anisotropic voxels make blocks U deep (2, 0.5, 0.5: z kept at level
#: 1) or pieces U wide (0.3, 0.3, 1.0: x kept); each level count is the
#: converter's for those (None).
PIECE = 32 * 32 * 128
MEMORY_CASES = [
    ((70, 140, 300), 32, None, None, 3, None, "uint16"),  # one block wider
    ((70, 140, 300), 32, None, PIECE, 3, None, "uint16"),
    ((69, 139, 301), 32, None, PIECE, 3, None, "uint16"),  # odd pieces
    ((70, 140, 300), 32, None, PIECE, 3, None, "uint8"),
    ((70, 140, 300), 16, 32, PIECE, 3, None, "uint16"),  # shards of 2^3 chunks
    ((70, 140, 300), 32, None, PIECE, 1, None, "uint16"),  # no level 1
    ((69, 139, 301), 32, None, PIECE, None, (2.0, 0.5, 0.5), "uint16"),
    ((69, 139, 301), 32, None, PIECE, None, (0.3, 0.3, 1.0), "uint16"),
    ((69, 139, 301), 16, 32, None, None, (2.0, 0.5, 0.5), "uint16"),
    ((3, 37, 70, 130), 32, None, None, None, (1.0, 1.0, 1.0), "uint16"),
    ((2, 37, 70, 130), 32, None, PIECE, None, (2.0, 0.5, 0.5), "uint8"),
    ((2, 37, 70, 130), 16, 32, PIECE, None, (0.3, 0.3, 1.0), "uint16"),
    ((2, 3, 37, 70, 130), 32, None, PIECE, None, None, "uint16"),
    ((2, 3, 37, 70, 130), 32, None, PIECE, None, (2.0, 0.5, 0.5), "uint16"),
    ((2, 3, 37, 70, 130), 16, 32, None, None, (0.3, 0.3, 1.0), "uint16"),
]


@pytest.mark.parametrize(
    ("shape", "chunks", "shards", "piece", "levels", "voxel", "dtype"),
    MEMORY_CASES,
    ids=str,
)
def test_task_bytes_bound_what_tasks_hold(
    tmp_path, levels_in_memory, shape, chunks, shards, piece, levels, voxel, dtype
) -> None:
    """Every block task and unit task of the plan, measured on its input
    (``source_of``): its peak is at most ``task_bytes()`` and ``work_bytes()``
    (plus the interpreter's objects); and the levels they wrote are the input
    and its means over the plan's factors."""
    plan = make_plan(
        shape,
        chunks,
        shards=shards,
        levels=levels,
        voxel=voxel,
        dtype=dtype,
        piece_voxels=piece,
    )
    source, volume = source_of(tmp_path, shape, dtype)
    output = Output.of(tmp_path / "out.ome.zarr")
    state = FolderState(output.path)
    state.begin({})
    levels = levels_in_memory(plan)
    bound = plan.task_bytes()
    over = []
    for task in plan.tasks():
        if kind(task) == "block":

            def call(task=task):
                return task_module.convert_block(output, plan, source, task, state)
        else:

            def call(task=task):
                return task_module.convert_unit(output, plan, task, state)

        peak = traced_peak(call)
        if peak > bound[kind(task)] + plan.work_bytes() + INTERPRETER_BYTES:
            over.append((task.key, peak, round(peak / bound[kind(task)], 2)))
    assert not over, f"task_bytes() {bound}; (task, peak, peak / bound): {over}"
    expected = [volume]
    for factors in plan.factors:
        expected.append(downsample_mean(expected[-1], factors))
    for k, (level, wanted) in enumerate(zip(levels, expected, strict=True)):
        assert np.array_equal(level, wanted), f"level {k}"


@pytest.mark.parametrize("voxel", [None, *VOXEL_SIZES])
@pytest.mark.parametrize(("chunks", "shards"), [(16, None), (16, 32)])
def test_task_bytes_do_not_grow_with_time_points_or_channels(
    chunks, shards, voxel
) -> None:
    """A task holds one time point of one channel: a plan of 1 or 8 channels,
    and of 1 to 8 time points of them, has the task and work bytes (and
    levels) of the plan of z, y, x alone."""
    space = (37, 70, 130)
    alone = make_plan(space, chunks, shards=shards, voxel=voxel)
    expected = (alone.levels, alone.task_bytes(), alone.work_bytes())
    for leading in [(1,), (8,), (1, 1), (1, 8), (8, 1), (5, 3)]:
        plan = make_plan(leading + space, chunks, shards=shards, voxel=voxel)
        found = (plan.levels, plan.task_bytes(), plan.work_bytes())
        assert found == expected, (leading, found, expected)
