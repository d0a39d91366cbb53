"""Write a dask array into a sharded zarr array so that no shard is shared.

A shard is one stored object holding many chunks; zarr-python writes it whole.
Writing part of a shard means reading the shard, changing it and writing all
of it back, so two tasks writing different chunks of one shard at the same time
can each undo the other's write (zarr-python issue 3682). The rule is simple:
every task owns whole shards. ``check_whole_shards`` enforces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import dask.array as da


def check_whole_shards(
    blocks: Sequence[Sequence[int]], shards: Sequence[int], shape: Sequence[int]
) -> None:
    """Raise ``ValueError`` unless every block covers whole shards.

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
        ends = list(accumulate(lengths))[:-1]  # the last block ends at the edge
        split = [end for end in ends if end % shard]
        if split:
            raise ValueError(
                f"Blocks along axis {axis} end at {split}, inside shards of length "
                f"{shard}, so two tasks would write the same shard: rechunk to a "
                f"multiple of the shard shape, e.g. array.rechunk({tuple(shards)})."
            )


def store_whole_shards(source: da.Array, target: Any, **compute: Any) -> None:
    """Write ``source`` into the zarr array ``target``, one task per block.

    Checks first that every dask block covers whole shards of ``target``
    (its chunks, if it is not sharded), so parallel tasks never share a
    shard; ``compute`` is passed to ``dask.array.store`` (e.g. ``num_workers``).
    """
    shards = target.shards or target.chunks
    check_whole_shards(source.chunks, shards, target.shape)
    da.store(source, target, lock=False, **compute)
