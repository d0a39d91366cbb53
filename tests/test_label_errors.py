"""Tests for data_helpers.label_errors: invented and lost labels of a pyramid."""

from __future__ import annotations

import numpy as np
import pytest

from data_helpers.label_errors import (
    METHODS,
    block_any,
    blocks_holding,
    downsample_stride,
    invented,
    invented_voxels,
    lost_labels,
    pyramid_levels,
)
from data_helpers.pyramid import downsample_mean, downsample_mode, level_shape


def brute_force_invented(level0: np.ndarray, coarse: np.ndarray, level: int) -> int:
    side = 2**level
    count = 0
    for index in np.ndindex(*coarse.shape):
        block = level0[tuple(slice(side * i, side * (i + 1)) for i in index)]
        count += coarse[index] not in set(block.ravel().tolist())
    return count


@pytest.mark.parametrize("shape", [(7, 5, 9), (8, 8, 8), (1, 3, 2)])
@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_block_any_matches_brute_force(shape, level) -> None:
    rng = np.random.default_rng([10, level, *shape])
    mask = rng.random(shape) < 0.05
    side = 2**level
    found = block_any(mask, level)
    assert found.shape == level_shape(shape, level)
    for index in np.ndindex(*found.shape):
        block = mask[tuple(slice(side * i, side * (i + 1)) for i in index)]
        assert found[index] == block.any()


@pytest.mark.parametrize("method", ["mean", "stride", "mode"])
@pytest.mark.parametrize("shape", [(13, 9, 11), (8, 8, 8)])
def test_invented_voxels_matches_brute_force(method, shape) -> None:
    rng = np.random.default_rng([11, *shape])
    labels = rng.choice(np.array([0, 2, 4, 9], dtype=np.uint16), size=shape)
    levels = pyramid_levels(labels, 4, METHODS[method])
    holding = blocks_holding(labels, 4)
    for level, coarse in enumerate(levels):
        expected = brute_force_invented(labels, coarse, level)
        assert invented_voxels(holding[level], coarse) == expected
        if method != "mean":
            assert expected == 0  # stride and mode pick values the block has
    if method == "mean":
        assert invented_voxels(holding[1], levels[1]) > 0


def test_the_mean_of_two_labels_is_invented() -> None:
    labels = np.array([1000] * 4 + [3000] * 4, dtype=np.uint16).reshape(2, 2, 2)
    holding = blocks_holding(labels, 2)[1]
    assert invented(holding, downsample_mean(labels)).tolist() == [[[True]]]
    assert invented_voxels(holding, downsample_mean(labels)) == 1
    assert invented_voxels(holding, downsample_mode(labels)) == 0


def test_blocks_holding() -> None:
    labels = np.zeros((5, 4, 4), dtype=np.uint8)
    labels[4, 3, 3] = 9
    holding = blocks_holding(labels, 3)
    assert sorted(holding[0]) == [0, 9]
    assert [h[9].shape for h in holding] == [(5, 4, 4), (3, 2, 2), (2, 1, 1)]
    assert holding[1][9].sum() == 1 and holding[1][9][2, 1, 1]
    assert holding[2][0].all() and holding[2][9].tolist() == [[[False]], [[True]]]


def test_invented_voxels_wrong_shape() -> None:
    labels = np.zeros((8, 8, 8), dtype=np.uint8)
    holding = blocks_holding(labels, 2)[1]
    with pytest.raises(ValueError, match=r"not the level's \[\(4, 4, 4\)\]"):
        invented_voxels(holding, labels)


def test_stride_keeps_every_second_voxel() -> None:
    labels = np.arange(7 * 6 * 5).reshape(7, 6, 5)
    result = downsample_stride(labels)
    assert result.shape == level_shape(labels.shape, 1)
    np.testing.assert_array_equal(result, labels[::2, ::2, ::2])


def test_pyramid_levels_and_lost_labels() -> None:
    labels = np.zeros((8, 8, 8), dtype=np.uint8)
    labels[1, 1, 1] = 5  # one voxel: the stride never sees it, the mode drops it
    labels[:4, :4, 4:] = 7
    levels = pyramid_levels(labels, 3, downsample_mode)
    assert [level.shape for level in levels] == [(8, 8, 8), (4, 4, 4), (2, 2, 2)]
    assert lost_labels(labels, levels[0]) == []
    assert lost_labels(labels, levels[1]) == [5]
    assert lost_labels(labels, levels[2]) == [5]
    assert 7 in levels[2]
