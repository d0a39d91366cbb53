"""Build the lower levels of a pyramid: 2x2x2 means for images, modes for labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from data_helpers.factors import Factors, scale_at


def level_shape(
    shape: Sequence[int], level: int, factors: Sequence[Sequence[int]] | None = None
) -> tuple[int, ...]:
    """Shape of level ``level``: each axis divided by its factors, rounded up.

    Without ``factors`` each axis is halved ``level`` times; ``factors[k - 1]``
    are the per-axis factors from level ``k - 1`` to ``k`` (``scale_at``).
    """
    scale = scale_at(level, len(shape), factors)
    return tuple(math.ceil(n / f) for n, f in zip(shape, scale, strict=True))


def downsample_mean(
    block: np.ndarray, factors: Sequence[int] | None = None
) -> np.ndarray:
    """Downsample ``block`` by averaging groups of ``factors`` voxels (2 per axis).

    An axis whose length is not a multiple of its factor ends in a part-full
    group, which is averaged over the voxels it has, so the result always has
    shape ``ceil(n / f)`` per axis. Integer images are rounded back to their
    own dtype.
    """
    block = np.asarray(block)
    if block.ndim == 0 or 0 in block.shape:
        raise ValueError(f"Cannot downsample an empty array of shape {block.shape}.")
    steps = _factors(block, factors)
    pad = [(0, -n % f) for n, f in zip(block.shape, steps, strict=True)]
    # Copies of the edge voxel keep an edge group's mean.
    padded = np.pad(block, pad, mode="edge") if any(p for _, p in pad) else block
    if padded.dtype.kind in "iu" and padded.dtype.itemsize <= 2 and max(steps) <= 2:
        # Fast exact path for 8- and 16-bit integers: a sum of up to 8 values
        # fits in 32 bits and float32 represents it and its eighth exactly, so
        # this is the same correctly rounded (half to even) mean as below,
        # ~6x faster.
        total: np.ndarray | None = None
        for axis, f in enumerate(steps):
            if f == 1:
                continue
            even = [slice(None)] * padded.ndim
            odd = [slice(None)] * padded.ndim
            even[axis], odd[axis] = slice(0, None, 2), slice(1, None, 2)
            if total is None:
                wide = np.int32 if padded.dtype.kind == "i" else np.uint32
                total = padded[tuple(even)].astype(wide)
                total += padded[tuple(odd)]
            else:
                total = total[tuple(even)] + total[tuple(odd)]
        if total is None:  # nothing to downsample
            return block.copy()
        scale = np.float32(1 / math.prod(steps))
        return np.rint(total.astype(np.float32) * scale).astype(block.dtype)
    grouped = padded.reshape(
        [m for n, f in zip(padded.shape, steps, strict=True) for m in (n // f, f)]
    )
    mean = grouped.mean(axis=tuple(range(1, grouped.ndim, 2)), dtype=np.float64)
    if np.issubdtype(block.dtype, np.integer):
        mean = np.rint(mean)
    return mean.astype(block.dtype)


def _factors(block: np.ndarray, factors: Sequence[int] | None) -> Factors:
    """``factors`` checked against ``block`` (default: 2 along every axis)."""
    if factors is None:
        return (2,) * block.ndim
    steps = tuple(int(f) for f in factors)
    if len(steps) != block.ndim or min(steps) < 1:
        raise ValueError(
            f"factors {tuple(factors)} need one whole number >= 1 per axis of a "
            f"{block.ndim}-D array."
        )
    return steps


def _groups(block: np.ndarray, steps: Factors) -> list[np.ndarray]:
    """The voxels of every group of ``steps`` voxels, as one flat array each.

    An axis that is not a multiple of its factor is padded with copies of its
    last plane, which counts every voxel of an edge group the same number of
    times along that axis, so counts within a group keep their order.
    """
    pad = [(0, -n % f) for n, f in zip(block.shape, steps, strict=True)]
    padded = np.pad(block, pad, mode="edge") if any(p for _, p in pad) else block
    return [
        np.ascontiguousarray(
            padded[tuple(slice(o, None, f) for o, f in zip(offset, steps, strict=True))]
        ).ravel()
        for offset in np.ndindex(*steps)
    ]


def downsample_mode(
    block: np.ndarray, factors: Sequence[int] | None = None
) -> np.ndarray:
    """Downsample a label image, keeping each group's commonest label.

    Groups are ``factors`` voxels (2x2x2 by default). Each voxel of the result
    is the most frequent value of its group (at edges, of the voxels the group
    has); a tie goes to the smallest of the tied values. The result holds only
    values of ``block``, never an average of two labels. Integer dtypes only,
    8 to 64 bits, signed or unsigned.
    """
    block = np.asarray(block)
    if block.dtype.kind not in "iu":
        raise ValueError(
            f"downsample_mode needs integer labels (int8 to uint64), not "
            f"{block.dtype}: cast a label image to an integer dtype first."
        )
    if (factors is None and block.ndim != 3) or 0 in block.shape:
        raise ValueError(
            f"downsample_mode needs a non-empty 3-D (z, y, x) array, not shape "
            f"{block.shape}."
        )
    steps = _factors(block, factors)
    out_shape = level_shape(block.shape, 1, [steps])
    voxels = _groups(block, steps)
    first = voxels[0]
    mixed = np.zeros(first.shape, dtype=bool)
    for other in voxels[1:]:
        mixed |= other != first
    result = first.copy()
    if not mixed.any():
        return result.reshape(out_shape)
    # Only groups with two or more labels need counting (labels are mostly
    # uniform): count each voxel's matches among the group's members.
    values = [v[mixed] for v in voxels]
    counts = [np.ones(values[0].shape, dtype=np.uint16) for _ in values]
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
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


def _check_target(
    source: Any, target: Any, factors: Sequence[int] | None = None
) -> tuple[int, ...]:
    """The shape ``target`` must have: ``source`` downsampled by ``factors``
    (2 along every axis if None; else raise)."""
    expected = level_shape(source.shape, 1, None if factors is None else [factors])
    if tuple(target.shape) != expected:
        by = "2" if factors is None else str(tuple(factors))
        raise ValueError(
            f"target has shape {tuple(target.shape)}, but downsampling "
            f"{tuple(source.shape)} by {by} gives {expected}: create the target "
            "with level_shape(source.shape, 1)."
        )
    return expected


def write_downsampled(
    source: Any,
    target: Any,
    *,
    slab: int | None = None,
    downsample: Callable[..., np.ndarray] = downsample_mean,
    factors: Sequence[int] | None = None,
) -> None:
    """Fill ``target`` with ``source`` downsampled 2x, one slab at a time.

    ``source`` and ``target`` are zarr (or NumPy) arrays. Only ``2 * slab``
    planes of ``source`` are in memory at once (``slab`` defaults to the
    target's chunk length along the first axis), so this works for images much
    larger than memory. ``downsample`` halves a slab: ``downsample_mean``
    for images, ``downsample_mode`` for labels. ``factors``: other factors
    than 2 per axis (an anisotropic pyramid's).
    """
    expected = _check_target(source, target, factors)
    if slab is None:
        slab = getattr(target, "chunks", (16,))[0]
    step = 2 if factors is None else factors[0]
    for start in range(0, expected[0], slab):
        stop = min(start + slab, expected[0])
        target[start:stop] = downsample(source[step * start : step * stop], factors)


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
    from data_helpers.ome import (
        image_factors,
        label_model_for,
        multiscale_metadata,
        write_label_image,
    )

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
    steps = image_factors(image) or [None] * (len(arrays) - 1)
    for finer, coarser, step in zip(arrays, arrays[1:], steps, strict=False):
        write_downsampled(finer, coarser, downsample=downsample_mode, factors=step)
    return group
