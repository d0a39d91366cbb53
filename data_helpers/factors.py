"""Downsampling factors: how many level-0 voxels one voxel of a level spans."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Downsampling factors per axis from one level to the next, e.g. ``(2, 2, 2)``.
Factors = tuple[int, ...]


def scale_at(
    level: int, ndim: int, factors: Sequence[Sequence[int]] | None = None
) -> Factors:
    """How many level-0 voxels one voxel of level ``level`` spans along each axis.

    ``factors[k - 1]`` are the per-axis factors from level ``k - 1`` to level
    ``k``; without them every level halves every axis (``2**level``).
    """
    if level < 0:
        raise ValueError(f"level must be 0 or more, not {level}.")
    if factors is None:
        return (2**level,) * ndim
    if len(factors) < level:
        raise ValueError(f"{len(factors)} levels of factors, but level {level} asked.")
    return tuple(math.prod(f[axis] for f in factors[:level]) for axis in range(ndim))
