"""The plan: level shapes, and the tasks that each own whole chunks (or shards)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_helpers.pyramid import level_shape
from data_helpers.types import ZarrFormat

#: A dask key: ``("decode", z)``, ``("block", i, j)`` or ``("level2", i, j, k)``.
TaskKey = tuple[str | int, ...]
Region = tuple[slice, ...]


@dataclass(frozen=True)
class Task:
    """One task: the unit grid index it owns, the region it writes, what it reads.

    ``level`` -1 is a *decode task*: it decodes slice ``index[0]`` (JPEG 2000)
    once into a scratch copy that block tasks read by rows. ``level`` 0 is a
    *block task*: it writes ``region`` of level 0 and the
    block below it of level 1, reading slices. ``level`` 2 and more is a *unit
    task*: it writes one chunk (shard) of that level from the level above.
    """

    level: int
    index: tuple[int, ...]
    region: Region
    deps: tuple[TaskKey, ...] = ()

    @property
    def key(self) -> TaskKey:
        """The dask key: ``("block", i, j)`` or ``("levelK", i, j, k)``."""
        kind = {-1: "decode", 0: "block"}.get(self.level, f"level{self.level}")
        return (kind, *self.index)

    @property
    def name(self) -> str:
        """The key as text (``block-0-1``): the name of the task's done marker."""
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

    def decode_tasks(self) -> list[Task]:
        """One task per slice, if ``decode``: each decodes its slice once."""
        if not self.decode:
            return []
        return [Task(-1, (z,), (slice(z, z + 1),)) for z in range(self.shape[0])]

    def block_tasks(self) -> list[Task]:
        """The tasks that write level 0 (and level 1): 2U slices x 2U rows each."""
        edge, (n_z, n_y, n_x) = 2 * self.unit, self.shape
        return [
            Task(
                0,
                (i, j),
                (
                    slice(i * edge, min((i + 1) * edge, n_z)),
                    slice(j * edge, min((j + 1) * edge, n_y)),
                    slice(0, n_x),
                ),
                tuple(
                    ("decode", z)
                    for z in range(i * edge, min((i + 1) * edge, n_z))
                    if self.decode
                ),
            )
            for i in range(math.ceil(n_z / edge))
            for j in range(math.ceil(n_y / edge))
        ]

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
            if level == 2:  # level 1 comes from block tasks (full width)
                deps = sorted({("block", a, b) for a, b, _ in under})
            else:
                deps = [(f"level{level - 1}", *u) for u in under]
            region = tuple(
                slice(i * self.unit, min((i + 1) * self.unit, n))
                for i, n in zip(index, shape, strict=True)
            )
            tasks.append(Task(level, tuple(index), region, tuple(deps)))
        return tasks

    def tasks(self) -> list[Task]:
        """Every task, in an order where dependencies come first."""
        tasks = self.decode_tasks() + self.block_tasks()
        for level in range(2, self.levels):
            tasks += self.unit_tasks(level)
        return tasks

    def task_bytes(self) -> dict[str, int]:
        """Bytes of voxels one task holds at most: ``block`` and ``unit`` tasks.

        A block task holds one piece of ``U x U x width`` and its block's share
        of level 1 (``U x U x width/2``); a unit task its chunk (shard) and the
        one of the level above it is reading; a decode task one whole slice
        (and its compressed bytes, about a tenth of that).
        """
        unit, width = self.unit, self.shape[2]
        itemsize = np.dtype(self.dtype).itemsize
        lower = unit * unit * math.ceil(width / 2) if self.levels > 1 else 0
        memory = {
            "block": (unit * unit * width + lower) * itemsize,
            "unit": 2 * unit**3 * itemsize,
        }
        if self.decode:
            memory["decode"] = self.shape[1] * width * itemsize
        return memory
