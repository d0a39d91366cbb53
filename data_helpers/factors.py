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


def factors_between(
    above: Sequence[float], below: Sequence[float], tolerance: float = 0.25
) -> Factors | None:
    """Whole per-axis factors from one level's scale to the next one's, or None.

    ``below[i] / above[i]`` rounded, for every axis; 1 where an axis (``t``,
    ``c``, or ``z`` of an anisotropic pyramid) is not downsampled. None if the
    vectors differ in length or a ratio is not within ``tolerance`` times
    itself of a whole number >= 1 (writers that compute scales from rounded
    shapes give e.g. 37 / 19 = 1.95 for 2).
    """
    if len(above) != len(below):
        return None
    factors = []
    for a, b in zip(above, below, strict=True):
        ratio = b / a if a > 0 else 0.0
        factor = round(ratio)
        if factor < 1 or abs(ratio - factor) > tolerance * factor:
            return None
        factors.append(factor)
    return tuple(factors)
