"""Invariants of the converter's plan, swept over shapes, chunks, shards and levels.

Every plan is built by ``make_plan`` and every task is read through ``kind``,
``edge`` and ``written``: when ``Plan`` or ``Task`` change, adapt those only.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from data_helpers.convert import tasks as task_module
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Plan, Region, Task, TaskKind, default_levels
from data_helpers.convert.sources import Source, open_source
from data_helpers.convert.state import FolderState
from data_helpers.pyramid import level_shape
from tests.convert.helpers import random_volume, write_slices


def make_plan(
    shape: tuple[int, int, int],
    chunks: int,
    *,
    shards: int | None = None,
    levels: int | None = None,
    staged: bool = False,
    dtype: str = "uint16",
    piece_voxels: int | None = None,
) -> Plan:
    """The plan of a conversion (``levels`` by default as the converter's).

    ``staged``: the slices are first decoded to scratch copies (JPEG 2000),
    by decode tasks, which free tasks delete; ``piece_voxels`` caps a block
    task's piece (the plan's default if None).
    """
    options = {} if piece_voxels is None else {"piece_voxels": piece_voxels}
    return Plan(
        shape=shape,
        dtype=dtype,
        chunks=(chunks,) * 3,
        levels=levels or default_levels(shape, chunks),
        zarr_format=3 if shards else 2,
        shards=(shards,) * 3 if shards else None,
        staged=staged,
        **options,
    )


def edge(plan: Plan) -> int:
    """The edge of a unit (chunk or shard): the plans here are of cubes."""
    return plan.unit[0]


def kind(task: Task) -> str:
    """``decode``, ``free``, ``block`` (levels 0 and 1) or ``unit`` (level 2+)."""
    names = {TaskKind.STAGE: "decode", TaskKind.UNIT: "unit"}
    return names.get(task.kind, task.kind.value)


def written(plan: Plan, task: Task) -> list[tuple[int, Region]]:
    """(level, region of that level) of everything ``task`` writes.

    A block task writes its region of level 0 and that region halved
    (rounded up) of level 1; a unit task its region of its level.
    """
    if kind(task) == "unit":
        return [(task.level, task.region)]
    if kind(task) != "block":
        return []
    halved = tuple(slice(-(-s.start // 2), -(-s.stop // 2)) for s in task.region)
    return [(0, task.region), (1, halved)][: plan.levels]


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
GRID = [
    (shape, chunks, shards)
    for shape in SHAPES
    for chunks, shards in UNITS
    if math.prod(math.ceil(n / (shards or chunks)) for n in shape) <= MAX_UNITS
]


def grid_plans(shape: tuple[int, int, int], chunks: int, shards: int | None):
    """Every level count from 1 to the default, staged or not, and pieces that
    make blocks 2U wide (the least), 3 x 2U wide, or as wide as the default."""
    unit = shards or chunks
    for levels in range(1, default_levels(shape, chunks) + 1):
        for staged in (False, True):
            for piece in (unit**3 * 2, unit**3 * 6, None):
                yield make_plan(
                    shape,
                    chunks,
                    shards=shards,
                    levels=levels,
                    staged=staged,
                    piece_voxels=piece,
                )


def unit_grid(plan: Plan, level: int) -> tuple[int, ...]:
    """Units (chunks, or shards) of level ``level`` along each axis."""
    return tuple(math.ceil(n / edge(plan)) for n in level_shape(plan.shape, level))


def check_aligned(plan: Plan, task: Task, level: int, region: Region) -> None:
    """``region`` of ``level`` is whole units: each start a multiple of the
    unit, each stop one too or the level's end, and not empty."""
    shape = level_shape(plan.shape, level)
    assert len(region) == 3, (task, level)
    for s, n in zip(region, shape, strict=True):
        assert 0 <= s.start < s.stop <= n, (task, level, region, shape)
        assert s.start % edge(plan) == 0, (task, level, region)
        assert s.stop % edge(plan) == 0 or s.stop == n, (task, level, region, shape)


def owners_of_units(plan: Plan, tasks: list[Task]) -> list[np.ndarray]:
    """For each level, the position in ``tasks`` of the task writing each unit.

    Fails if a task writes a part of a unit, or a unit twice, or if a unit of
    some level is written by no task: the tasks' units partition every level.
    """
    owners = [np.full(unit_grid(plan, k), -1) for k in range(plan.levels)]
    for position, task in enumerate(tasks):
        for level, region in written(plan, task):
            check_aligned(plan, task, level, region)
            units = tuple(
                slice(s.start // edge(plan), math.ceil(s.stop / edge(plan)))
                for s in region
            )
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
    2x2x2 units of level k - 1 under its units (block tasks for k = 2)."""
    for task in tasks:
        if kind(task) != "unit":
            continue
        under = tuple(
            slice(2 * (s.start // edge(plan)), 2 * math.ceil(s.stop / edge(plan)))
            for s in task.region
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


@pytest.mark.parametrize(("shape", "chunks", "shards"), GRID, ids=str)
def test_plan_invariants(shape, chunks, shards) -> None:
    """Every plan of the grid: units partitioned among tasks, whole units
    only; keys unique, dependencies known and first; unit tasks depend on
    exactly the writers of the units under them; decode and free tasks
    around the block tasks of their slab."""
    for plan in grid_plans(shape, chunks, shards):
        tasks = plan.tasks()
        try:
            check_order_and_keys(tasks)
            owners = owners_of_units(plan, tasks)
            check_unit_dependencies(plan, tasks, owners)
            check_staging(plan, tasks)
        except AssertionError as error:
            raise AssertionError(f"{plan}: {error}") from error


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
def levels_in_memory(monkeypatch: pytest.MonkeyPatch) -> Callable[[Plan], None]:
    """Make the tasks write and read levels held in NumPy arrays.

    Zarr's own copies while it encodes or decodes a write or read (a
    contiguous copy and the encoded bytes of up to 10 chunks at once, a
    whole shard's) are not voxels the task holds and grow with zarr's
    concurrency, not with the plan: measured without them, a task's peak
    is exactly its own arrays, and the margin can stay a small constant.
    """

    def use(plan: Plan) -> None:
        arrays = {
            k: LevelInMemory(s, plan.dtype) for k, s in enumerate(plan.level_shapes())
        }
        monkeypatch.setattr(
            task_module, "open_level", lambda output, level, mode, plan: arrays[level]
        )

    return use


def stack(tmp_path: Path, shape: tuple[int, int, int], dtype: str) -> Source:
    """Uncompressed TIFF slices of seeded random voxels (read by rows)."""
    write_slices(tmp_path / "in", random_volume(shape, seed=sum(shape), dtype=dtype))
    return open_source(tmp_path / "in")


#: (shape, chunks, shards, piece_voxels, levels, dtype). 300 and 301 columns
#: are no multiple of 2U = 64 (nor of a 2S = 64 shard pair); 32 x 32 x 128
#: pieces make blocks 128 columns wide, 3 of them across the slices.
MEMORY_CASES = [
    ((70, 140, 300), 32, None, None, 3, "uint16"),  # one block wider than the slices
    ((70, 140, 300), 32, None, 32 * 32 * 128, 3, "uint16"),
    ((69, 139, 301), 32, None, 32 * 32 * 128, 3, "uint16"),  # odd pieces
    ((70, 140, 300), 32, None, 32 * 32 * 128, 3, "uint8"),
    ((70, 140, 300), 16, 32, 32 * 32 * 128, 3, "uint16"),  # shards of 2^3 chunks
    ((70, 140, 300), 32, None, 32 * 32 * 128, 1, "uint16"),  # no level 1
]


@pytest.mark.parametrize(
    ("shape", "chunks", "shards", "piece", "levels", "dtype"), MEMORY_CASES, ids=str
)
def test_task_bytes_bound_what_tasks_hold(
    tmp_path, levels_in_memory, shape, chunks, shards, piece, levels, dtype
) -> None:
    """Every block task and unit task of the plan, measured on TIFF slices:
    its peak is at most ``task_bytes()`` (plus the interpreter's objects)."""
    plan = make_plan(
        shape, chunks, shards=shards, levels=levels, dtype=dtype, piece_voxels=piece
    )
    source, output = stack(tmp_path, shape, dtype), Output.of(tmp_path / "out.ome.zarr")
    state = FolderState(output.path)
    state.begin({})
    levels_in_memory(plan)
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
