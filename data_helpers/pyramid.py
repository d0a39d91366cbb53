"""Build the lower levels of a pyramid: 2x2x2 means for images, modes for labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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


def _groups(block: np.ndarray) -> list[np.ndarray]:
    """The eight voxels of every 2x2x2 group, as eight flat arrays.

    An odd axis is padded with a copy of its last plane, which counts every
    voxel of an edge group the same number of times (twice per odd axis), so
    counts within a group keep their order.
    """
    pad = [(0, n % 2) for n in block.shape]
    padded = np.pad(block, pad, mode="edge") if any(p for _, p in pad) else block
    return [
        np.ascontiguousarray(padded[z::2, y::2, x::2]).ravel()
        for z in (0, 1)
        for y in (0, 1)
        for x in (0, 1)
    ]


def downsample_mode(block: np.ndarray) -> np.ndarray:
    """Halve every axis of a label image, keeping each 2x2x2 group's commonest label.

    Each voxel of the result is the most frequent value of its 2x2x2 group (at
    odd edges, of the voxels the group has); a tie goes to the smallest of the
    tied values. The result holds only values of ``block``, never an average
    of two labels. Integer dtypes only, 8 to 64 bits, signed or unsigned.
    """
    block = np.asarray(block)
    if block.dtype.kind not in "iu":
        raise ValueError(
            f"downsample_mode needs integer labels (int8 to uint64), not "
            f"{block.dtype}: cast a label image to an integer dtype first."
        )
    if block.ndim != 3 or 0 in block.shape:
        raise ValueError(
            f"downsample_mode needs a non-empty 3-D (z, y, x) array, not shape "
            f"{block.shape}."
        )
    out_shape = level_shape(block.shape, 1)
    voxels = _groups(block)
    first = voxels[0]
    mixed = np.zeros(first.shape, dtype=bool)
    for other in voxels[1:]:
        mixed |= other != first
    result = first.copy()
    if not mixed.any():
        return result.reshape(out_shape)
    # Only groups with two or more labels need counting (labels are mostly
    # uniform): count each voxel's matches among the group's eight.
    values = [v[mixed] for v in voxels]
    counts = [np.ones(values[0].shape, dtype=np.uint8) for _ in values]
    for i in range(8):
        for j in range(i + 1, 8):
            same = values[i] == values[j]
            counts[i] += same
            counts[j] += same
    best, best_count = values[0], counts[0]
    for value, count in zip(values[1:], counts[1:], strict=True):
        better = (count > best_count) | ((count == best_count) & (value < best))
        best = np.where(better, value, best)
        best_count = np.where(better, count, best_count)
    result[mixed] = best
    return result.reshape(out_shape)


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


def write_downsampled(
    source: Any,
    target: Any,
    *,
    slab: int | None = None,
    downsample: Callable[[np.ndarray], np.ndarray] = downsample_mean,
) -> None:
    """Fill ``target`` with ``source`` downsampled 2x, one slab at a time.

    ``source`` and ``target`` are zarr (or NumPy) arrays. Only ``2 * slab``
    planes of ``source`` are in memory at once (``slab`` defaults to the
    target's chunk length along the first axis), so this works for images much
    larger than memory. ``downsample`` halves a slab: ``downsample_mean``
    for images, ``downsample_mode`` for labels.
    """
    expected = _check_target(source, target)
    if slab is None:
        slab = getattr(target, "chunks", (16,))[0]
    for start in range(0, expected[0], slab):
        stop = min(start + slab, expected[0])
        target[start:stop] = downsample(source[2 * start : 2 * stop])


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


def write_label_pyramid(
    image: Any,
    name: str,
    labels: np.ndarray,
    *,
    colors: Mapping[int, tuple[int, int, int, int]] | None = None,
    overwrite: bool = False,
) -> Any:
    """Write ``labels`` as label image ``name`` of the OME-Zarr image group ``image``.

    ``labels`` (integer, the shape of the image's level 0) becomes
    ``labels/<name>`` with the image's levels, chunks, scales and translations
    (see ``data_helpers.ome.label_model_for``); each further level is the one
    above downsampled with ``downsample_mode``, so no level holds a label the
    one above does not have. Returns the label image's group.
    """
    from data_helpers.ome import label_model_for, multiscale_metadata, write_label_image

    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"Labels must have an integer dtype (int8 to uint64), not {labels.dtype}."
        )
    level0 = image[multiscale_metadata(image)["datasets"][0]["path"]]
    if labels.shape != tuple(level0.shape):
        raise ValueError(
            f"labels have shape {labels.shape}, but the image's level 0 has "
            f"{tuple(level0.shape)}: label every voxel of level 0."
        )
    model = label_model_for(image, labels.dtype, colors=colors, name=name)
    group = write_label_image(model, image, name, overwrite=overwrite)
    datasets = model.ome_attributes.multiscales[0].datasets
    arrays = [group[dataset.path] for dataset in datasets]
    arrays[0][...] = labels  # type: ignore[index]  # levels are arrays
    for finer, coarser in zip(arrays, arrays[1:], strict=False):
        write_downsampled(finer, coarser, downsample=downsample_mode)
    return group
