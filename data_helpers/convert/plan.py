"""The plan: level shapes, and the tasks that each own whole chunks (or shards)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_helpers.pyramid import level_shape
from data_helpers.types import ZarrFormat

#: A dask key: ``("decode", z)``, ``("block", i, j, k)`` or ``("level2", i, j, k)``.
TaskKey = tuple[str | int, ...]
Region = tuple[slice, ...]

#: Voxels of level 0 a block task reads into memory at once (one piece of
#: ``U x U x columns``): a block is as many ``2U`` columns wide as fit, so each
#: row of a slice is read in as few windows as this allows (once up to 2048
#: columns with 128^3 chunks), and never fewer than ``2U`` columns.
PIECE_VOXELS = 128 * 128 * 2048


@dataclass(frozen=True)
class Task:
    """One task: the unit grid index it owns, the region it writes, what it reads.

    ``level`` -1 is a *decode task*: it decodes slice ``index[0]`` (JPEG 2000)
    once into a scratch copy that block tasks read by rows; ``level`` -2 a
    *free task*: once the block tasks of slab ``index[0]`` are done, it
    deletes the slab's scratch copies. ``level`` 0 is a *block task*: it
    writes ``region`` of level 0 and the unit below it of level 1, reading
    slices. ``level`` 2 and more is a *unit task*: it writes one chunk
    (shard) of that level from the level above.
    """

    level: int
    index: tuple[int, ...]
    region: Region
    deps: tuple[TaskKey, ...] = ()

    @property
    def key(self) -> TaskKey:
        """The dask key: ``("block", i, j, k)`` or ``("levelK", i, j, k)``."""
        kinds = {-2: "free", -1: "decode", 0: "block"}
        kind = kinds.get(self.level, f"level{self.level}")
        return (kind, *self.index)

    @property
    def name(self) -> str:
        """The key as text (``block-0-1-0``): the name of the task's done marker."""
        return "-".join(str(part) for part in self.key)


def default_levels(shape: Sequence[int], chunks: int) -> int:
    """Levels needed for the smallest one to fit in one chunk."""
    level = 0
    while any(n > chunks for n in level_shape(shape, level)):
        level += 1
    return level + 1


@dataclass(frozen=True)
class Plan:
    """Shapes, chunking and the list of tasks of one conversion."""

    shape: tuple[int, int, int]
    dtype: str
    chunks: int
    levels: int
    zarr_format: ZarrFormat = 2
    shards: int | None = None
    #: A label image: lower levels are 2x2x2 modes, not means.
    labels: bool = False
    #: JPEG 2000 slices: decode tasks first, one per slice.
    decode: bool = False
    #: At most this many voxels in one piece of a block task (``block_shape``).
    piece_voxels: int = PIECE_VOXELS

    @property
    def unit(self) -> int:
        """Edge of what one task writes whole: a shard, or else a chunk."""
        return self.shards or self.chunks

    def level_shapes(self) -> list[tuple[int, ...]]:
        """The (z, y, x) shape of every level, level 0 first."""
        return [level_shape(self.shape, k) for k in range(self.levels)]

    def grid(self, level: int) -> tuple[int, ...]:
        """How many units (chunks or shards) level ``level`` has along each axis."""
        return tuple(math.ceil(n / self.unit) for n in level_shape(self.shape, level))

    def slabs(self) -> int:
        """How many slabs of ``2U`` slices level 0 has: one row of block tasks each."""
        return math.ceil(self.shape[0] / self.block_shape()[0])

    def block_shape(self) -> tuple[int, int, int]:
        """Voxels of level 0 one block task owns: ``2U x 2U x columns``.

        ``columns`` is the largest multiple of ``2U`` whose pieces
        (``U x U x columns``) hold at most ``piece_voxels``, at least ``2U``,
        at most the width rounded up to ``2U``: it never depends on the width
        of wider slices.
        """
        edge = 2 * self.unit
        fit = max(1, self.piece_voxels // (self.unit * self.unit * edge))
        return edge, edge, edge * min(fit, math.ceil(self.shape[2] / edge))

    def block_of_unit(self, index: Sequence[int]) -> tuple[int, ...]:
        """The block task that writes unit ``index`` of level 1."""
        return tuple(
            2 * i * self.unit // edge
            for i, edge in zip(index, self.block_shape(), strict=True)
        )

    def decode_tasks(self) -> list[Task]:
        """One task per slice, if ``decode``: each decodes its slice once.

        The slices of slab ``i`` wait for the scratch of slab ``i - 2`` to be
        freed, so at most two slabs of scratch copies exist at once.
        """
        if not self.decode:
            return []
        edge = self.block_shape()[0]
        return [
            Task(
                -1,
                (z,),
                (slice(z, z + 1),),
                (("free", z // edge - 2),) if z // edge >= 2 else (),
            )
            for z in range(self.shape[0])
        ]

    def free_tasks(self, blocks: list[Task] | None = None) -> list[Task]:
        """One task per slab, if ``decode``: it deletes the slab's scratch copies.

        ``blocks``: ``block_tasks()``, if the caller has them already.
        """
        if not self.decode:
            return []
        edge = self.block_shape()[0]
        blocks = self.block_tasks() if blocks is None else blocks
        return [
            Task(
                -2,
                (i,),
                (slice(i * edge, min((i + 1) * edge, self.shape[0])),),
                tuple(block.key for block in blocks if block.index[0] == i),
            )
            for i in range(self.slabs())
        ]

    def block_tasks(self) -> list[Task]:
        """The tasks that write level 0 (and level 1): ``block_shape()`` each."""
        block = self.block_shape()
        tasks = []
        for index in np.ndindex(
            *(math.ceil(n / e) for n, e in zip(self.shape, block, strict=True))
        ):
            region = tuple(
                slice(i * e, min((i + 1) * e, n))
                for i, e, n in zip(index, block, self.shape, strict=True)
            )
            z = region[0]
            deps = tuple(("decode", k) for k in range(z.start, z.stop) if self.decode)
            tasks.append(Task(0, tuple(index), region, deps))
        return tasks

    def unit_tasks(self, level: int) -> list[Task]:
        """Tasks writing level ``level >= 2``, each with the tasks it reads from."""
        shape, source_grid = level_shape(self.shape, level), self.grid(level - 1)
        tasks = []
        for index in np.ndindex(*self.grid(level)):
            under = [
                (a, b, c)
                for a in (2 * index[0], 2 * index[0] + 1)
                for b in (2 * index[1], 2 * index[1] + 1)
                for c in (2 * index[2], 2 * index[2] + 1)
                if a < source_grid[0] and b < source_grid[1] and c < source_grid[2]
            ]
            deps: list[TaskKey]
            if level == 2:  # block tasks wrote level 1, several units each
                blocks = dict.fromkeys(self.block_of_unit(u) for u in under)
                deps = [("block", *b) for b in blocks]
            else:
                deps = [(f"level{level - 1}", *u) for u in under]
            region = tuple(
                slice(i * self.unit, min((i + 1) * self.unit, n))
                for i, n in zip(index, shape, strict=True)
            )
            tasks.append(Task(level, tuple(index), region, tuple(deps)))
        return tasks

    def tasks(self) -> list[Task]:
        """Every task, in an order where dependencies come first.

        With ``decode``, slab by slab: its decode tasks, block tasks, free task.
        """
        blocks = self.block_tasks()
        decodes, frees = self.decode_tasks(), self.free_tasks(blocks)
        tasks = blocks
        if self.decode:
            edge = self.block_shape()[0]
            tasks = []
            for free in frees:
                slab = free.index[0]
                tasks += [task for task in decodes if task.index[0] // edge == slab]
                tasks += [task for task in blocks if task.index[0] == slab]
                tasks.append(free)
        for level in range(2, self.levels):
            tasks += self.unit_tasks(level)
        return tasks

    def task_bytes(self) -> dict[str, int]:
        """Bytes of voxels one task holds at most: ``block`` and ``unit`` tasks.

        A block task holds one piece of ``U x U x columns`` and its block's
        units of level 1 (``U x U x columns/2``), and reads rows a few at a
        time into a buffer of at most one piece's slice (plus a row), where
        ``columns`` is ``block_shape()[2]``; a unit task holds its chunk
        (shard) and the one of the level above it is reading. None depends on
        the width of the slices. A decode task holds one whole slice (and its
        compressed bytes, about a tenth of that).
        """
        unit, (n_z, n_y, n_x) = self.unit, self.shape
        itemsize = np.dtype(self.dtype).itemsize
        rows, columns = min(unit, n_y), min(self.block_shape()[2], n_x)
        piece = min(unit, n_z) * rows * columns
        buffer = rows * columns + n_x
        lower = 0
        if self.levels > 1:
            half = (unit, unit, math.ceil(columns / 2))
            lower = math.prod(
                min(h, math.ceil(n / 2)) for h, n in zip(half, self.shape, strict=True)
            )
        memory = {
            "block": (piece + lower + buffer) * itemsize,
            "unit": 2 * unit**3 * itemsize,
        }
        if self.decode:
            memory["decode"] = n_y * n_x * itemsize
        return memory
