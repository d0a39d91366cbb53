"""The plan: level shapes, and the tasks that each own whole chunks (or shards)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from data_helpers.codec_names import DEFAULT_CODEC
from data_helpers.factors import SPACE_AXES, pyramid_factors
from data_helpers.pyramid import Factors, level_shape
from data_helpers.types import ZarrFormat

#: A dask key: ``("decode", z)``, ``("block", i, j, k)``, ``("level2", i, j, k)``,
#: or a migration's ``("copy0", image, i, j, k)``.
TaskKey = tuple[str | int, ...]
Region = tuple[slice, ...]

#: Voxels of level 0 a block task reads into memory at once (one piece of
#: ``U x U x columns``): a block is as many ``2U`` columns wide as fit, so each
#: row of a slice is read in as few windows as this allows (once up to 2048
#: columns with 128^3 chunks), and never fewer than ``2U`` columns.
PIECE_VOXELS = 128 * 128 * 2048


class TaskKind(StrEnum):
    """What a task does (its value starts its key)."""

    #: Stage one plane of an input that cannot be read by region (JPEG 2000).
    STAGE = "decode"
    #: Delete a slab's staged planes once its block tasks are done.
    FREE = "free"
    #: Write a block of level 0 and the part of level 1 under it.
    BLOCK = "block"
    #: Write one unit (chunk or shard) of level 2 or lower from the level above.
    UNIT = "level"
    #: Copy one unit of a level of an OME-Zarr image as it is (a migration).
    COPY = "copy"


class Downsampling(StrEnum):
    """How a level is made from the one above: block mean, or mode for labels."""

    MEAN = "mean"
    MODE = "mode"


def task_key(kind: TaskKind, index: Sequence[int], level: int = 0) -> TaskKey:
    """A task's dask key, the one place keys are built: ``("block", 0, 1, 0)``.

    Unit and copy tasks name their level: ``("level2", 0, 0, 0)``,
    ``("copy1", 0, 2, 0, 0)`` (a copy task's index starts with its image: 0,
    then the label images). These strings are the names of the done markers
    of existing outputs: keep them.
    """
    named = kind in (TaskKind.UNIT, TaskKind.COPY)
    name = f"{kind.value}{level}" if named else kind.value
    return (name, *index)


@dataclass(frozen=True)
class Task:
    """One task: what it does, the unit grid index it owns, its region, its deps.

    A *stage task* (``TaskKind.STAGE``) decodes plane ``index[0]`` once into
    a scratch copy that block tasks read by region; a *free task* deletes
    slab ``index[0]``'s scratch copies once its block tasks are done. A
    *block task* writes ``region`` of level 0 and the units below it of
    level 1, reading the input. A *unit task* writes one chunk (shard) of
    ``level`` (2 or more) from the level above.
    """

    kind: TaskKind
    index: tuple[int, ...]
    region: Region
    deps: tuple[TaskKey, ...] = ()
    #: The level a unit task writes (0 for the other kinds).
    level: int = 0

    @property
    def key(self) -> TaskKey:
        """The dask key: ``("block", i, j, k)`` or ``("levelK", i, j, k)``."""
        return task_key(self.kind, self.index, self.level)

    @property
    def name(self) -> str:
        """The key as text (``block-0-1-0``): the name of the task's done marker."""
        return "-".join(str(part) for part in self.key)


def halving(axes: Sequence[str]) -> Factors:
    """Factors of a level that halves every space axis and keeps ``t`` and ``c``."""
    return tuple(2 if axis in SPACE_AXES else 1 for axis in axes)


def default_levels(
    shape: Sequence[int], chunks: int | Sequence[int], axes: Sequence[str] = SPACE_AXES
) -> int:
    """Levels needed for the smallest one to fit in one chunk along space axes.

    Each level halves every space axis (``halving``): the levels of equal
    voxels (``factors.pyramid_factors`` gives those of any voxel size).
    """
    edges = (chunks,) * len(shape) if isinstance(chunks, int) else tuple(chunks)
    return len(pyramid_factors(shape, axes, (1.0, 1.0, 1.0), chunks=edges)) + 1


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Shapes, chunking and the list of tasks of one conversion.

    Per axis of ``axes``: ``shape``, ``chunks`` and ``shards`` (or None);
    ``factors[k - 1]`` downsample level ``k - 1`` into level ``k`` (default:
    ``halving`` at every level).
    """

    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    levels: int
    axes: tuple[str, ...] = SPACE_AXES
    zarr_format: ZarrFormat = 2
    shards: tuple[int, ...] | None = None
    factors: tuple[Factors, ...] = field(default=())
    #: How lower levels are made: the mean, or the mode (label images).
    method: Downsampling = Downsampling.MEAN
    #: The input is staged first (JPEG 2000): stage tasks, one per plane.
    staged: bool = False
    #: At most this many voxels in one piece of a block task (``block_shape``).
    piece_voxels: int = PIECE_VOXELS
    #: The chunks' codec, by name (``data_helpers.codec_names``).
    codec: str = DEFAULT_CODEC

    def __post_init__(self) -> None:
        n = len(self.axes)
        if not self.factors:
            object.__setattr__(
                self, "factors", (halving(self.axes),) * (self.levels - 1)
            )
        sizes = [len(self.shape), len(self.chunks), len(self.shards or self.chunks)]
        sizes += [len(f) for f in self.factors]
        if any(size != n for size in sizes) or len(self.factors) != self.levels - 1:
            raise ValueError(
                f"A plan of axes {self.axes} needs one shape, chunk, shard and factor "
                f"per axis, and factors for each of the {self.levels - 1} lower levels."
            )

    @property
    def unit(self) -> tuple[int, ...]:
        """Edges of what one task writes whole: a shard, or else a chunk."""
        return self.shards or self.chunks

    def level_shapes(self) -> list[tuple[int, ...]]:
        """The shape of every level, level 0 first."""
        return [level_shape(self.shape, k, self.factors) for k in range(self.levels)]

    def grid(self, level: int) -> tuple[int, ...]:
        """How many units (chunks or shards) level ``level`` has along each axis."""
        shape = level_shape(self.shape, level, self.factors)
        return tuple(math.ceil(n / u) for n, u in zip(shape, self.unit, strict=True))

    def block_factors(self) -> Factors:
        """Factors from level 0 to level 1 (``halving`` if there is no level 1)."""
        return self.factors[0] if self.factors else halving(self.axes)

    def slabs(self) -> int:
        """Slabs of level 0 along the first axis: one row of block tasks each."""
        return math.ceil(self.shape[0] / self.block_shape()[0])

    def block_shape(self) -> tuple[int, ...]:
        """Voxels of level 0 one block task owns: ``f U`` per axis, ``columns`` last.

        ``f`` is the axis's factor to level 1 (``2U x 2U x columns`` for
        ``z, y, x``). ``columns`` is the largest multiple of ``f U`` whose
        pieces (``U`` along every axis but the last, then ``columns``) hold at
        most ``piece_voxels``, at least ``f U``, at most the width rounded up
        to ``f U``: it never depends on the width of wider slices.
        """
        edges = [u * f for u, f in zip(self.unit, self.block_factors(), strict=True)]
        fit = max(1, self.piece_voxels // (math.prod(self.unit[:-1]) * edges[-1]))
        columns = edges[-1] * min(fit, math.ceil(self.shape[-1] / edges[-1]))
        return (*edges[:-1], columns)

    def block_of_unit(self, index: Sequence[int]) -> tuple[int, ...]:
        """The block task that writes unit ``index`` of level 1."""
        return tuple(
            i * u * f // edge
            for i, u, f, edge in zip(
                index, self.unit, self.block_factors(), self.block_shape(), strict=True
            )
        )

    def stage_tasks(self) -> list[Task]:
        """One task per plane, if ``staged``: each stages its plane once.

        The planes of slab ``i`` wait for the scratch of slab ``i - 2`` to be
        freed, so at most two slabs of scratch copies exist at once.
        """
        if not self.staged:
            return []
        edge = self.block_shape()[0]
        return [
            Task(
                TaskKind.STAGE,
                (z,),
                (slice(z, z + 1),),
                (task_key(TaskKind.FREE, (z // edge - 2,)),) if z // edge >= 2 else (),
            )
            for z in range(self.shape[0])
        ]

    def free_tasks(self, blocks: list[Task] | None = None) -> list[Task]:
        """One task per slab, if ``staged``: it deletes the slab's scratch copies.

        ``blocks``: ``block_tasks()``, if the caller has them already.
        """
        if not self.staged:
            return []
        edge = self.block_shape()[0]
        blocks = self.block_tasks() if blocks is None else blocks
        return [
            Task(
                TaskKind.FREE,
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
        counts = (math.ceil(n / e) for n, e in zip(self.shape, block, strict=True))
        for index in np.ndindex(*counts):
            region = tuple(
                slice(i * e, min((i + 1) * e, n))
                for i, e, n in zip(index, block, self.shape, strict=True)
            )
            planes = range(region[0].start, region[0].stop) if self.staged else ()
            deps = tuple(task_key(TaskKind.STAGE, (z,)) for z in planes)
            tasks.append(Task(TaskKind.BLOCK, tuple(index), region, deps))
        return tasks

    def unit_tasks(self, level: int) -> list[Task]:
        """Tasks writing level ``level >= 2``, each with the tasks it reads from."""
        shape = level_shape(self.shape, level, self.factors)
        factors, source_grid = self.factors[level - 1], self.grid(level - 1)
        tasks = []
        for index in np.ndindex(*self.grid(level)):
            children = (
                range(f * i, min(f * i + f, n))
                for i, f, n in zip(index, factors, source_grid, strict=True)
            )
            under = list(itertools.product(*children))
            deps: list[TaskKey]
            if level == 2:  # block tasks wrote level 1, several units each
                blocks = dict.fromkeys(self.block_of_unit(u) for u in under)
                deps = [task_key(TaskKind.BLOCK, b) for b in blocks]
            else:
                deps = [task_key(TaskKind.UNIT, u, level - 1) for u in under]
            region = tuple(
                slice(i * u, min((i + 1) * u, n))
                for i, u, n in zip(index, self.unit, shape, strict=True)
            )
            tasks.append(
                Task(TaskKind.UNIT, tuple(index), region, tuple(deps), level=level)
            )
        return tasks

    def tasks(self) -> list[Task]:
        """Every task, in an order where dependencies come first.

        With ``staged``, slab by slab: its stage tasks, block tasks, free task.
        """
        blocks = self.block_tasks()
        stages, frees = self.stage_tasks(), self.free_tasks(blocks)
        tasks = blocks
        if self.staged:
            edge = self.block_shape()[0]
            tasks = []
            for free in frees:
                slab = free.index[0]
                tasks += [task for task in stages if task.index[0] // edge == slab]
                tasks += [task for task in blocks if task.index[0] == slab]
                tasks.append(free)
        for level in range(2, self.levels):
            tasks += self.unit_tasks(level)
        return tasks

    def task_bytes(self) -> dict[str, int]:
        """Bytes of voxels one task holds at most: ``block`` and ``unit`` tasks.

        A block task holds one piece (``U`` along every axis but the last,
        then ``columns``, ``block_shape()[-1]``) and its block's units of
        level 1, and reads rows a few at a time into a buffer of at most one
        piece's plane (plus a row); a unit task holds its chunk (shard) and
        the one of the level above it is reading. None depends on the width
        of the slices. A stage task (``"decode"``) holds one whole plane (and
        its compressed bytes, about a tenth of that).
        """
        unit, shape = self.unit, self.shape
        itemsize = np.dtype(self.dtype).itemsize
        columns = min(self.block_shape()[-1], shape[-1])
        edges = [min(u, n) for u, n in zip(unit[:-1], shape[:-1], strict=True)]
        piece = math.prod(edges) * columns
        buffer = edges[-1] * columns + shape[-1]
        lower = 0
        if self.levels > 1:
            factors = self.block_factors()
            half = (*unit[:-1], math.ceil(columns / factors[-1]))
            lower = math.prod(
                min(h, math.ceil(n / f))
                for h, n, f in zip(half, shape, factors, strict=True)
            )
        memory = {
            "block": (piece + lower + buffer) * itemsize,
            "unit": 2 * math.prod(unit) * itemsize,
        }
        if self.staged:
            memory["decode"] = math.prod(shape[1:]) * itemsize
        return memory

    def work_bytes(self) -> int:
        """Bytes a block or unit task holds beside ``task_bytes()``, at most.

        The downsampling's working copies, made one z plane (of one time
        point of one channel) of the lower level at a time
        (``tasks.downsample_planes``): at most ``(2b + 4)`` bytes
        per voxel of ``f`` planes of a piece or unit for the mean (``b``
        bytes a voxel: a padded copy, 32-bit sums of half and a quarter of
        it, the rounded result), ``(3b + 4)`` for the mode (its groups'
        copies, the values it counts and their 16-bit counts).
        """
        if self.levels == 1:
            return 0
        itemsize = np.dtype(self.dtype).itemsize
        z = self.axes.index("z")  # planes of one time point of one channel
        columns = min(self.block_shape()[-1], self.shape[-1])
        edges = [min(u, n) for u, n in zip(self.unit, self.shape, strict=True)]
        plane = max(
            math.prod(edges[z + 1 : -1]) * columns, math.prod(self.unit[z + 1 :])
        )
        per_voxel = 2 * itemsize + 4
        if self.method is Downsampling.MODE:
            per_voxel = 3 * itemsize + 4
        return max(g[z] for g in self.factors) * plane * per_voxel
