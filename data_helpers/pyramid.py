"""Build the lower levels of an image pyramid by 2x2x2 block averaging."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def level_shape(shape: Sequence[int], level: int) -> tuple[int, ...]:
    """Shape of level ``level``: each axis halved ``level`` times, rounded up."""
    if level < 0:
        raise ValueError(f"level must be 0 or more, not {level}.")
    return tuple(math.ceil(n / 2**level) for n in shape)


def downsample_mean(block: np.ndarray) -> np.ndarray:
    """Halve every axis of ``block`` by averaging 2x2x2 groups of voxels.

    An axis of odd length ends in a half-full group, which is averaged over the
    voxels it has, so the result always has shape ``ceil(n / 2)`` per axis.
    Integer images are rounded back to their own dtype.
    """
    block = np.asarray(block)
    if block.ndim == 0 or 0 in block.shape:
        raise ValueError(f"Cannot downsample an empty array of shape {block.shape}.")
    pad = [(0, n % 2) for n in block.shape]
    # Copies of the edge voxel keep an odd edge group's mean.
    padded = (
        np.pad(block, pad, mode="edge") if any(n % 2 for n in block.shape) else block
    )
    if padded.dtype.kind in "iu" and padded.dtype.itemsize <= 2:
        # Fast exact path for 8- and 16-bit integers: a sum of 8 values fits in
        # 32 bits and float32 represents it and its eighth exactly, so this is
        # the same correctly rounded (half to even) mean as below, ~6x faster.
        total = padded[0::2].astype(np.int32 if padded.dtype.kind == "i" else np.uint32)
        total += padded[1::2]
        for axis in range(1, total.ndim):
            even = [slice(None)] * total.ndim
            odd = [slice(None)] * total.ndim
            even[axis], odd[axis] = slice(0, None, 2), slice(1, None, 2)
            total = total[tuple(even)] + total[tuple(odd)]
        scale = np.float32(0.5**block.ndim)
        return np.rint(total.astype(np.float32) * scale).astype(block.dtype)
    grouped = padded.reshape([m for n in padded.shape for m in (n // 2, 2)])
    mean = grouped.mean(axis=tuple(range(1, grouped.ndim, 2)), dtype=np.float64)
    if np.issubdtype(block.dtype, np.integer):
        mean = np.rint(mean)
    return mean.astype(block.dtype)


def _check_target(source: Any, target: Any) -> tuple[int, ...]:
    """The shape ``target`` must have: ``source`` downsampled 2x (else raise)."""
    expected = level_shape(source.shape, 1)
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target has shape {tuple(target.shape)}, but downsampling "
            f"{tuple(source.shape)} by 2 gives {expected}: create the target "
            "with level_shape(source.shape, 1)."
        )
    return expected


def write_downsampled(source: Any, target: Any, *, slab: int | None = None) -> None:
    """Fill ``target`` with ``source`` downsampled 2x, one slab at a time.

    ``source`` and ``target`` are zarr (or NumPy) arrays. Only ``2 * slab``
    planes of ``source`` are in memory at once (``slab`` defaults to the
    target's chunk length along the first axis), so this works for images much
    larger than memory.
    """
    expected = _check_target(source, target)
    if slab is None:
        slab = getattr(target, "chunks", (16,))[0]
    for start in range(0, expected[0], slab):
        stop = min(start + slab, expected[0])
        target[start:stop] = downsample_mean(source[2 * start : 2 * stop])


def write_pyramid(
    store: Any,
    level0_spec: Any,
    image: np.ndarray,
    *,
    voxel_size: Sequence[float],
    levels: int,
    name: str | None = None,
) -> Any:
    """Write ``image`` (z, y, x) as an OME-Zarr pyramid of ``levels`` levels.

    Every level copies ``level0_spec`` (chunks, shards, codecs) with its own
    shape; a format 2 spec gives OME-Zarr 0.4, a format 3 spec OME-Zarr 0.5
    (see ``data_helpers.ome.image_model``). Level 0 is ``image``; each further
    level is the one above averaged 2x2x2, slab by slab. Returns the group.
    """
    from data_helpers.ome import image_model, write_image

    specs = [
        level0_spec.model_copy(update={"shape": level_shape(image.shape, level)})
        for level in range(levels)
    ]
    model = image_model(specs, voxel_size=voxel_size, name=name)
    group = write_image(model, store)
    arrays = [group[dataset.path] for dataset in model.datasets[0]]
    arrays[0][...] = image  # type: ignore[index]  # levels are arrays
    for finer, coarser in zip(arrays, arrays[1:], strict=False):
        write_downsampled(finer, coarser)
    return group
