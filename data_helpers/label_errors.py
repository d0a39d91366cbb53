"""Measure what a label pyramid gets wrong: labels it invents, labels it loses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from data_helpers.pyramid import downsample_mean, downsample_mode, level_shape


def downsample_stride(block: np.ndarray) -> np.ndarray:
    """Halve every axis by keeping every second voxel (nearest neighbour)."""
    return np.asarray(block)[::2, ::2, ::2]


#: The three ways of halving a label image the book compares.
METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": downsample_mean,
    "stride": downsample_stride,
    "mode": downsample_mode,
}


def pyramid_levels(
    labels: np.ndarray, levels: int, downsample: Callable[[np.ndarray], np.ndarray]
) -> list[np.ndarray]:
    """``labels`` and ``levels - 1`` lower levels, each halved by ``downsample``."""
    found = [np.asarray(labels)]
    for _ in range(levels - 1):
        found.append(downsample(found[-1]))
    return found


def block_any(mask: np.ndarray, level: int) -> np.ndarray:
    """For each voxel of level ``level``: is ``mask`` true anywhere in its block?

    The block of a level-``level`` voxel is the ``2**level`` cube of level-0
    voxels under it (fewer at odd edges, as in ``level_shape``).
    """
    for _ in range(level):
        pad = [(0, n % 2) for n in mask.shape]
        mask = np.pad(mask, pad) if any(p for _, p in pad) else mask
        z, y, x = (n // 2 for n in mask.shape)
        mask = mask.reshape(z, 2, y, 2, x, 2).any(axis=(1, 3, 5))
    return mask


def invented_voxels(level0: np.ndarray, coarse: np.ndarray, level: int) -> int:
    """Voxels of ``coarse`` (level ``level``) whose value no voxel of its block has.

    Such a voxel carries a label that is not there: the mean of two labels,
    say, where neither is that label.
    """
    if coarse.shape != level_shape(level0.shape, level):
        raise ValueError(
            f"coarse has shape {coarse.shape}, not level {level}'s "
            f"{level_shape(level0.shape, level)}."
        )
    invented = 0
    for value in np.unique(coarse):
        here = coarse == value
        invented += int(np.count_nonzero(here & ~block_any(level0 == value, level)))
    return invented


def lost_labels(level0: np.ndarray, coarse: np.ndarray) -> list[int]:
    """The labels of ``level0`` (other than 0) that ``coarse`` has none of."""
    return sorted(
        set(np.unique(level0).tolist()) - set(np.unique(coarse).tolist()) - {0}
    )
