"""Write a dask array into a sharded zarr array so that no shard is shared.

A shard is one stored object holding many chunks; zarr-python writes it whole.
Writing part of a shard means reading the shard, changing it and writing all
of it back, so two tasks writing different chunks of one shard at the same time
can each undo the other's write (zarr-python issue 3682). The rule is simple:
every task owns whole shards. ``check_whole_shards`` enforces it on dask
blocks, ``check_whole_units`` on one write (the converter's tasks); both apply
``inside_units`` and raise ``SplitShardError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: dask.array takes a while to import
    import dask.array as da


class SplitShardError(ValueError, RuntimeError):
    """A write would cover part of a shard (or chunk) and so share it with another.

    A ``ValueError`` (bad blocks passed in) that is also a ``RuntimeError``,
    which the converter raised before the two checks shared one rule.
    """


def inside_units(edges: Sequence[int], unit: int, size: int) -> list[int]:
    """The ``edges`` of writes along one axis that fall inside a unit of ``unit``.

    An edge is fine at a multiple of ``unit`` or at the array's end, ``size``.
    """
    return [edge for edge in edges if edge % unit and edge != size]


def check_whole_shards(
    blocks: Sequence[Sequence[int]], shards: Sequence[int], shape: Sequence[int]
) -> None:
    """Raise ``SplitShardError`` unless every block covers whole shards.

    ``blocks`` are dask chunks (a tuple of block lengths per axis), ``shards``
    the zarr array's shard shape and ``shape`` its shape. Each block must start
    at a shard boundary and end at one or at the array's edge.
    """
    if not (len(blocks) == len(shards) == len(shape)):
        raise ValueError(
            f"blocks, shards and shape need one entry per axis; got {len(blocks)}, "
            f"{len(shards)} and {len(shape)}."
        )
    per_axis = zip(blocks, shards, shape, strict=True)
    for axis, (lengths, shard, size) in enumerate(per_axis):
        if sum(lengths) != size:
            raise ValueError(
                f"The blocks along axis {axis} add up to {sum(lengths)}, but the "
                f"array is {size} long: pass the chunks of an array of shape "
                f"{tuple(shape)}."
            )
        split = inside_units(list(accumulate(lengths)), shard, size)
        if split:
            raise SplitShardError(
                f"Blocks along axis {axis} end at {split}, inside shards of length "
                f"{shard}, so two tasks would write the same shard: rechunk to a "
                f"multiple of the shard shape, e.g. array.rechunk({tuple(shards)})."
            )


def check_whole_units(
    region: Sequence[slice], shape: Sequence[int], unit: int | Sequence[int]
) -> None:
    """Refuse a write that does not cover whole chunks (shards) of edges ``unit``.

    ``unit`` is one edge for every axis, or one per axis. Two tasks writing
    parts of one shard would each rewrite the whole shard and one would lose
    the other's data; with whole units they never meet.
    """
    units = (unit,) * len(shape) if isinstance(unit, int) else tuple(unit)
    for s, n, u in zip(region, shape, units, strict=True):
        if inside_units((s.start, s.stop), u, n):
            edges = unit if isinstance(unit, int) else "x".join(map(str, units))
            raise SplitShardError(
                f"Write {tuple(region)} does not cover whole {edges}-voxel units of an "
                f"array of shape {tuple(shape)}: tasks must own whole chunks/shards."
            )


def store_whole_shards(source: da.Array, target: Any, **compute: Any) -> None:
    """Write ``source`` into the zarr array ``target``, one task per block.

    Checks first that every dask block covers whole shards of ``target``
    (its chunks, if it is not sharded), so parallel tasks never share a
    shard; ``compute`` is passed to ``dask.array.store`` (e.g. ``num_workers``).
    """
    shards = target.shards or target.chunks
    check_whole_shards(source.chunks, shards, target.shape)
    import dask.array as da

    da.store(source, target, lock=False, **compute)
