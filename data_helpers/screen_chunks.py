"""Which pyramid level a viewer picks for a zoom, and how many chunks fill a screen.

A 2-D viewer such as Neuroglancer shows one plane of a 3-D image. At a zoom of
``zoom`` screen pixels per level-0 voxel, a screen of ``width × height`` pixels
covers ``width / zoom × height / zoom`` level-0 voxels of the plane, and the
viewer reads the coarsest level whose voxels are at most ``PIXEL_SLACK`` (1.1)
times a screen pixel (Neuroglancer's factor, times its "Resolution (slice)"
setting, 1 by default). It reads that level's chunks that the plane
crosses inside the screen, and the same for every coarser level, which it
draws first while the finer chunks arrive. None of this depends on how large
the image is once it is larger than the screen: the count is bounded by the
screen and the chunk shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Neuroglancer (sliceview/base.ts, filterVisibleSources) accepts voxels up to
# 1.1 times the size of a screen pixel before it turns to a finer level.
PIXEL_SLACK = 1.1
AXES = ("z", "y", "x")


@dataclass(frozen=True)
class ScreenLevel:
    """The chunks of one level that a screen shows: how many along each axis."""

    level: int
    chunks_per_axis: tuple[int, int, int]

    @property
    def chunks(self) -> int:
        """Number of chunks of this level on the screen."""
        return math.prod(self.chunks_per_axis)


def viewer_level(n_levels: int, zoom: float) -> int:
    """The level a viewer reads at ``zoom`` screen pixels per level-0 voxel.

    Level ``k`` has voxels ``2**k`` level-0 voxels wide; the viewer takes the
    coarsest whose voxels are at most ``PIXEL_SLACK`` screen pixels, or level 0
    when even those are larger (zoomed in beyond level 0).
    """
    if n_levels < 1:
        raise ValueError(f"An image has at least one level, not {n_levels}.")
    if not zoom > 0:
        raise ValueError(f"zoom must be a positive number, not {zoom!r}.")
    level = math.floor(math.log2(PIXEL_SLACK / zoom) + 1e-9)
    return min(max(level, 0), n_levels - 1)


def chunks_across(start: float, stop: float, chunk: int, n_chunks: int) -> int:
    """How many chunks of ``chunk`` voxels the interval ``[start, stop)`` touches.

    Positions are in voxels of the level; chunks outside ``0 .. n_chunks - 1``
    do not exist and are not counted.
    """
    first = max(math.floor(start / chunk), 0)
    last = min(math.ceil(stop / chunk) - 1, n_chunks - 1)
    return max(last - first + 1, 0)


def screen_chunks(
    level_shapes: Sequence[Sequence[int]],
    chunk_shape: Sequence[int],
    screen: tuple[int, int],
    zoom: float,
    *,
    normal: str = "z",
    center: Sequence[float] | None = None,
) -> list[ScreenLevel]:
    """The chunks a viewer fetches to fill ``screen`` at ``zoom``, level by level.

    ``level_shapes`` are the ``(z, y, x)`` shapes of the pyramid, level 0 first,
    each level half the one above; ``chunk_shape`` is the same for every level.
    ``screen`` is ``(width, height)`` in pixels and ``zoom`` screen pixels per
    level-0 voxel. The plane shown is perpendicular to ``normal`` (``"z"``
    for an xy view, ``"y"`` for xz) and passes through ``center``, a
    ``(z, y, x)`` position in level-0 voxels (the image's centre by default).
    Returns the levels the viewer reads, coarsest first, down to
    ``viewer_level``.
    """
    if normal not in AXES:
        raise ValueError(f"normal must be one of {AXES}, not {normal!r}.")
    shape0 = [int(n) for n in level_shapes[0]]
    middle = [n / 2 for n in shape0] if center is None else list(center)
    # The screen's width runs along x (or y in a yz view), its height along y
    # (z in an xz or yz view), as in Neuroglancer's default panels.
    in_plane = [axis for axis in AXES if axis != normal]
    horizontal, vertical = in_plane[1], in_plane[0]
    extent = {horizontal: screen[0] / zoom, vertical: screen[1] / zoom}
    finest = viewer_level(len(level_shapes), zoom)
    levels = []
    for level in range(len(level_shapes) - 1, finest - 1, -1):
        factor = 2**level
        counts = []
        for axis, size, chunk, mid in zip(
            AXES, level_shapes[level], chunk_shape, middle, strict=True
        ):
            n_chunks = math.ceil(size / chunk)
            if axis == normal:  # the plane lies in one chunk along its normal
                position = min(mid / factor, size - 1e-6)
                counts.append(chunks_across(position, position + 1e-6, chunk, n_chunks))
            else:
                half = extent[axis] / 2 / factor
                counts.append(
                    chunks_across(
                        mid / factor - half, mid / factor + half, chunk, n_chunks
                    )
                )
        levels.append(ScreenLevel(level, (counts[0], counts[1], counts[2])))
    return levels
