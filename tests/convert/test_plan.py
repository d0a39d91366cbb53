"""The converter's plan: tasks, their regions, dependencies and memory (plan.py)."""

from __future__ import annotations

import itertools

import numpy as np

from data_helpers.convert import PIECE_VOXELS, Plan, Task, TaskKind
from tests.convert.helpers import ODD_SHAPE

C128 = (128,) * 3  # chunks of 128^3


def test_every_task_writes_whole_shards_and_no_shard_twice() -> None:
    """The plan gives each unit (chunk or shard) of each level to one task."""
    plan = Plan(
        shape=(70, 100, 90),
        dtype="uint16",
        chunks=(8,) * 3,
        levels=4,
        zarr_format=3,
        shards=(16,) * 3,
    )
    owners: dict[tuple, Task] = {}
    for task in plan.tasks():
        for unit in units_written(plan, task):
            assert unit not in owners, f"{unit} written by {owners[unit]} and {task}"
            owners[unit] = task
    for level, shape in enumerate(plan.level_shapes()):
        grid = [-(-n // 16) for n in shape]
        assert sum(1 for u in owners if u[0] == level) == np.prod(grid)


def units_written(plan: Plan, task: Task) -> list[tuple[int, ...]]:
    """(level, i, j, k) of every shard a task writes, from its region.

    A block task writes its region of level 0 and the half of it in level 1.
    """
    if task.kind is TaskKind.UNIT:
        return [(task.level, *task.index)]
    written = []
    for level in (0, 1):
        ranges = [
            range(s.start // 2**level // unit, -(-s.stop // 2**level // unit))
            for s, unit in zip(task.region, plan.unit, strict=True)
        ]
        written += [(level, *u) for u in itertools.product(*ranges)]
    return written


def test_tasks_carry_their_key_region_and_dependencies() -> None:
    """Block tasks tile level 0 without overlap; every dependency comes first."""
    plan = Plan(shape=ODD_SHAPE, dtype="uint16", chunks=(8,) * 3, levels=4)
    tasks = plan.tasks()
    covered = np.zeros(ODD_SHAPE, int)
    for task in tasks:
        if task.kind is TaskKind.BLOCK:
            assert task.key == ("block", *task.index) and not task.deps
            covered[task.region] += 1
    assert (covered == 1).all()
    seen: set = set()
    for task in tasks:
        assert set(task.deps) <= seen, task.key
        seen.add(task.key)
    level2 = [task for task in tasks if task.kind is TaskKind.UNIT]
    assert level2[0].key == ("level2", 0, 0, 0)
    # a block is as wide as the slices here (65 columns, rounded up to 80):
    # the 2x2x2 units of level 1 under level2-0-0-0 come from 2x2 blocks
    assert plan.block_shape() == (16, 16, 80)
    assert level2[0].deps == tuple(("block", a, b, 0) for a, b in np.ndindex(2, 2))
    assert level2[0].region == (slice(0, 8), slice(0, 8), slice(0, 8))
    assert level2[0].name == "level2-0-0-0"
    # with pieces of 8 x 8 x 16 voxels at most, blocks are 2U = 16 columns wide
    narrow = Plan(
        shape=ODD_SHAPE,
        dtype="uint16",
        chunks=(8,) * 3,
        levels=4,
        piece_voxels=8 * 8 * 16,
    )
    assert narrow.block_shape() == (16, 16, 16)
    level2 = [t for t in narrow.tasks() if t.kind is TaskKind.UNIT and t.level == 2]
    assert level2[0].deps == tuple(("block", *u) for u in np.ndindex(2, 2, 2))


def test_block_width_comes_from_the_piece_budget_not_the_slices() -> None:
    """128^3 chunks: blocks up to 2048 columns wide (pieces of 128 x 128 x 2048);
    256^3 shards: 512 (2U, the least); wider slices change neither."""
    assert PIECE_VOXELS == 128 * 128 * 2048
    for width, columns in ((1024, 1024), (2048, 2048), (4096, 2048), (7641, 2048)):
        plan = Plan(shape=(1024, 1024, width), dtype="uint16", chunks=C128, levels=3)
        assert plan.block_shape() == (256, 256, columns)
        sharded = Plan(
            shape=(1024, 1024, width),
            dtype="uint16",
            chunks=C128,
            levels=3,
            zarr_format=3,
            shards=(256,) * 3,
        )
        assert sharded.block_shape() == (512, 512, 512)
    one_level = Plan(shape=(64, 64, 300), dtype="uint16", chunks=C128, levels=1)
    assert one_level.block_shape() == (256, 256, 512)
    blocks = Plan(
        shape=(1024, 1024, 7641), dtype="uint16", chunks=C128, levels=3
    ).block_tasks()
    assert [t.region[2] for t in blocks[:4]] == [
        *(slice(x, x + 2048) for x in range(0, 6144, 2048)),
        slice(6144, 7641),
    ]


def test_task_bytes_is_what_a_task_holds() -> None:
    """A block task: a U x U x columns piece, its U x U x columns/2 of level 1
    and a read buffer of one piece's slice plus a row; a unit task: two units."""
    plan = Plan(shape=(8839, 7641, 7641), dtype="uint16", chunks=C128, levels=2)
    memory = plan.task_bytes()
    piece, lower = 128 * 128 * 2048, 128 * 128 * 1024
    assert memory["block"] == (piece + lower + 128 * 2048 + 7641) * 2
    assert memory["unit"] == 2 * 128**3 * 2
    sharded = Plan(
        shape=(64, 64, 64),
        dtype="uint8",
        chunks=(8,) * 3,
        levels=1,
        zarr_format=3,
        shards=(16,) * 3,
    )
    assert sharded.task_bytes() == {
        "block": 16 * 16 * 64 + 16 * 64 + 64,  # blocks of 32 x 32 x 64
        "unit": 2 * 16**3,
    }
    # an odd width: the block's level 1 is ceil(65 / 2) = 33 columns wide
    odd = Plan(shape=(16, 16, 65), dtype="uint8", chunks=(8,) * 3, levels=2)
    assert odd.task_bytes()["block"] == 8 * 8 * 65 + 8 * 8 * 33 + 8 * 65 + 65


def test_block_task_bytes_do_not_grow_with_the_slice_width() -> None:
    """Four times wider slices: the same bytes per block task (but one row)."""
    sharded_256 = {"chunks": C128, "levels": 4, "zarr_format": 3, "shards": (256,) * 3}
    narrow = Plan(shape=(1024,) * 3, dtype="uint16", **sharded_256).task_bytes()
    wide = Plan(shape=(1024, 4096, 4096), dtype="uint16", **sharded_256).task_bytes()
    assert wide["block"] - narrow["block"] == (4096 - 1024) * 2
    assert narrow["block"] == (256 * 256 * 512 + 256**3 + 256 * 512 + 1024) * 2


def test_decode_tasks_come_slab_by_slab_and_hold_one_slice() -> None:
    """Each slab (16 slices): its decode tasks, its 4 x 3 block tasks, its free task."""
    narrow = 8 * 8 * 16  # pieces of 8 x 8 x 16 voxels at most: blocks 16 wide
    plan = Plan(
        shape=(40, 64, 48),
        dtype="uint16",
        chunks=(8,) * 3,
        levels=2,
        staged=True,
        piece_voxels=narrow,
    )
    tasks = plan.tasks()
    first = [("decode", z) for z in range(16)]
    first += [("block", 0, j, k) for j in range(4) for k in range(3)]
    assert [t.key for t in tasks[:29]] == [*first, ("free", 0)]
    assert tasks[28].deps == tuple(first[16:])
    assert tasks[29].key == ("decode", 16)
    blocks = [t for t in tasks if t.kind is TaskKind.BLOCK]
    assert blocks[0].deps == tuple(("decode", z) for z in range(16))
    assert blocks[-1].deps == tuple(("decode", z) for z in range(32, 40))
    assert plan.slabs() == 3 and [t.key for t in tasks if t.kind is TaskKind.FREE] == [
        ("free", i) for i in range(3)
    ]
    plan = Plan(
        shape=(40, 7641, 7641),
        dtype="uint16",
        chunks=(128,) * 3,
        levels=2,
        staged=True,
    )
    assert plan.task_bytes()["decode"] == 7641 * 7641 * 2
    unstaged = Plan(shape=(40, 64, 64), dtype="uint16", chunks=(8,) * 3, levels=2)
    assert "decode" not in unstaged.task_bytes()
