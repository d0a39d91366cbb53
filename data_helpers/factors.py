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


#: Axes a pyramid downsamples; ``t`` and ``c`` keep their length at every level.
SPACE_AXES = ("z", "y", "x")


def axis_sizes(axes: Sequence[str], voxel_size: Sequence[float]) -> list[float]:
    """Level 0's scale along each of ``axes``: ``voxel_size`` (z, y, x) on the
    space axes, 1 on ``t`` and ``c``."""
    space = dict(zip(SPACE_AXES, voxel_size, strict=True))
    return [float(space.get(name, 1.0)) for name in axes]


def next_factors(sizes: Sequence[float], axes: Sequence[str]) -> Factors:
    """Factors from a level whose voxels measure ``sizes`` (per axis) to the next.

    The book's rule for anisotropic voxels: a space axis is halved only when
    its voxel size is less than twice the smallest voxel size of the level
    (``t`` and ``c`` never are). Voxels of 2 x 0.5 x 0.5 give (1, 2, 2); the
    next level's 2 x 1 x 1 give (1, 2, 2) again, which makes cubes of 2; equal
    sizes halve every space axis.
    """
    space = [s for s, axis in zip(sizes, axes, strict=True) if axis in SPACE_AXES]
    smallest = min(space)
    return tuple(
        2 if axis in SPACE_AXES and size < 2 * smallest * (1 - 1e-9) else 1
        for size, axis in zip(sizes, axes, strict=True)
    )


def pyramid_factors(
    shape: Sequence[int],
    axes: Sequence[str],
    voxel_size: Sequence[float],
    *,
    levels: int | None = None,
    chunks: Sequence[int] | None = None,
) -> tuple[Factors, ...]:
    """The factors of every level below level 0, by ``next_factors``.

    ``voxel_size`` is level 0's ``(z, y, x)`` size. ``levels`` levels in all;
    or, if None, as many as it takes for every space axis of the smallest to
    fit in one chunk (``chunks``, per axis).
    """
    sizes = axis_sizes(axes, voxel_size)
    lengths = list(shape)
    found: list[Factors] = []

    def fits() -> bool:
        edges = chunks or (1,) * len(shape)
        return all(
            n <= e
            for n, e, a in zip(lengths, edges, axes, strict=True)
            if a in SPACE_AXES
        )

    while (len(found) + 1 < levels) if levels is not None else not fits():
        step = next_factors(sizes, axes)
        found.append(step)
        sizes = [s * f for s, f in zip(sizes, step, strict=True)]
        lengths = [math.ceil(n / f) for n, f in zip(lengths, step, strict=True)]
    return tuple(found)


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
