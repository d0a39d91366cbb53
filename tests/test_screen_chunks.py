"""Tests for data_helpers.screen_chunks: a viewer's level, and chunks on a screen."""

from __future__ import annotations

import pytest

from data_helpers.pyramid import level_shape
from data_helpers.screen_chunks import chunks_across, screen_chunks, viewer_level


def test_viewer_level_follows_the_zoom() -> None:
    assert [viewer_level(5, z) for z in (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 8)] == [
        4,
        3,
        2,
        1,
        0,
        0,
    ]
    # Neuroglancer accepts voxels up to 1.1 screen pixels.
    assert viewer_level(5, 1 / 2.2) == 1
    assert viewer_level(5, 1 / 2.3) == 1
    assert viewer_level(5, 1 / 4.5) == 2
    assert viewer_level(3, 1 / 64) == 2  # never coarser than the coarsest level


@pytest.mark.parametrize("zoom", [0, -1])
def test_viewer_level_refuses_bad_zoom(zoom: float) -> None:
    with pytest.raises(ValueError, match="zoom"):
        viewer_level(3, zoom)


def test_chunks_across() -> None:
    assert chunks_across(0, 16, 16, 10) == 1
    assert chunks_across(15, 17, 16, 10) == 2
    assert chunks_across(-100, 1000, 16, 10) == 10  # clipped to the grid
    assert chunks_across(200, 300, 16, 10) == 0


def test_screen_chunks_of_a_small_image_cover_it_whole() -> None:
    shapes = [level_shape((139, 120, 120), k) for k in range(5)]
    levels = screen_chunks(shapes, (16, 16, 16), (1000, 600), 2)
    assert [level.level for level in levels] == [4, 3, 2, 1, 0]
    assert [level.chunks_per_axis for level in levels][-1] == (1, 8, 8)
    assert sum(level.chunks for level in levels) == 1 + 1 + 4 + 16 + 64


def test_screen_chunks_stay_bounded_for_any_image() -> None:
    counts = []
    for side in (2**10, 2**14, 2**18):
        shapes = [level_shape((side,) * 3, k) for k in range(19)]
        finest = screen_chunks(shapes, (128,) * 3, (1000, 600), 1 / 3)[-1]
        counts.append(finest.chunks)
    # The chosen level's voxels are over 1.1 / 2 screen pixels wide, so it
    # spans under 2 / 1.1 screen widths of voxels: at most that many chunks + 2.
    bound = (2 / 1.1 * 1000 / 128 + 2) * (2 / 1.1 * 600 / 128 + 2)
    assert counts[0] < counts[1] == counts[2] <= bound


def test_xz_view_of_slice_chunks_reads_a_chunk_per_row() -> None:
    shapes = [(4096, 4096, 4096)]
    xz = screen_chunks(shapes, (1, 4096, 4096), (1000, 600), 1, normal="y")
    assert xz[0].chunks_per_axis == (600, 1, 1)
