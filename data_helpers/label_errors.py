"""Measure what a label pyramid gets wrong: labels it invents, labels it loses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from data_helpers.pyramid import downsample_mean, downsample_mode


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


def blocks_holding(level0: np.ndarray, levels: int) -> list[dict[int, np.ndarray]]:
    """For each level below ``levels``: label -> which of its voxels' blocks hold it.

    Entry ``k`` maps every label of ``level0`` to a boolean array of level
    ``k``'s shape, true where the level-0 block under the voxel has that label.
    """
    found = [{int(v): level0 == v for v in np.unique(level0)}]
    for _ in range(1, levels):
        found.append({v: block_any(mask, 1) for v, mask in found[-1].items()})
    return found


def invented(holding: dict[int, np.ndarray], coarse: np.ndarray) -> np.ndarray:
    """Where ``coarse`` has a label that no voxel of the level-0 block under it has.

    ``holding`` is ``blocks_holding(level0, ...)[k]`` for ``coarse``'s level
    ``k``. Such a voxel carries a label that is not there: the mean of two
    labels, say, where neither is that label.
    """
    shapes = {mask.shape for mask in holding.values()}
    if shapes != {coarse.shape}:
        raise ValueError(
            f"coarse has shape {coarse.shape}, not the level's {sorted(shapes)}."
        )
    found = np.zeros(coarse.shape, dtype=bool)
    for value in np.unique(coarse):
        here = coarse == value
        if int(value) in holding:
            here &= ~holding[int(value)]
        found |= here
    return found


def invented_voxels(holding: dict[int, np.ndarray], coarse: np.ndarray) -> int:
    """How many voxels of ``coarse`` carry an invented label (see ``invented``)."""
    return int(np.count_nonzero(invented(holding, coarse)))


def lost_labels(level0: np.ndarray, coarse: np.ndarray) -> list[int]:
    """The labels of ``level0`` (other than 0) that ``coarse`` has none of."""
    return sorted(
        set(np.unique(level0).tolist()) - set(np.unique(coarse).tolist()) - {0}
    )
