"""Tests for data_helpers.pyramid: level shapes and 2x2x2 mean downsampling."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers import downsample_mean, level_shape, write_downsampled

SHAPES = [(121, 97, 139), (7, 5, 3), (1, 1, 1), (2, 2, 2), (120, 120, 139)]


def brute_force_mean(block: np.ndarray) -> np.ndarray:
    """Mean of each 2x2x2 group, over the voxels the group really has."""
    out_shape = tuple(math.ceil(n / 2) for n in block.shape)
    out = np.empty(out_shape, dtype=np.float64)
    for index in np.ndindex(*out_shape):
        group = block[tuple(slice(2 * i, 2 * i + 2) for i in index)]
        out[index] = group.astype(np.float64).mean()
    return out


# --------------------------------------------------------------------------
# level_shape
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "level", "expected"),
    [
        ((120, 120, 139), 0, (120, 120, 139)),
        ((120, 120, 139), 1, (60, 60, 70)),
        ((120, 120, 139), 2, (30, 30, 35)),
        ((120, 120, 139), 3, (15, 15, 18)),
        ((121, 97, 139), 1, (61, 49, 70)),
        ((7, 5, 3), 1, (4, 3, 2)),
        ((7, 5, 3), 2, (2, 2, 1)),
        ((7, 5, 3), 10, (1, 1, 1)),
        ((1, 1, 1), 5, (1, 1, 1)),
        ((2, 2, 2), 1, (1, 1, 1)),
    ],
)
def test_level_shape(shape, level, expected) -> None:
    assert level_shape(shape, level) == expected


def test_level_shape_returns_a_tuple_for_a_list() -> None:
    assert level_shape([4, 6, 8], 1) == (2, 3, 4)


def test_level_shape_negative_level() -> None:
    with pytest.raises(ValueError, match="level must be 0 or more, not -1"):
        level_shape((4, 4, 4), -1)


# --------------------------------------------------------------------------
# downsample_mean
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_every_level_has_the_shape_of_level_shape(shape) -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=shape, dtype=np.uint8)
    level = 0
    while True:
        assert data.shape == level_shape(shape, level)
        assert data.dtype == np.uint8
        if data.shape == (1, 1, 1):
            break
        data = downsample_mean(data)
        level += 1
    # Downsampling a single voxel keeps it.
    assert downsample_mean(data).shape == (1, 1, 1) == level_shape(shape, level + 1)


def test_mean_of_one_block() -> None:
    block = np.arange(8, dtype=np.float64).reshape(2, 2, 2)
    result = downsample_mean(block)
    assert result.shape == (1, 1, 1)
    assert result.dtype == np.float64
    assert result[0, 0, 0] == 3.5


def test_mean_of_blocks_with_known_values() -> None:
    block = np.zeros((4, 2, 2), dtype=np.float32)
    block[:2] = 10.0
    block[2:] = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
    result = downsample_mean(block)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, np.array([[[10.0]], [[4.5]]]))


def test_odd_edge_is_averaged_over_the_voxels_it_has() -> None:
    # 3 x 2 x 2: the second group along x has only one plane, x = 2.
    block = np.zeros((3, 2, 2))
    block[:2] = 1.0
    block[2] = [[0, 2], [4, 6]]
    result = downsample_mean(block)
    np.testing.assert_array_equal(result, np.array([[[1.0]], [[3.0]]]))


def test_odd_corner_is_averaged_over_the_voxels_it_has() -> None:
    # 3 x 3 x 3: the far corner group is the single voxel (2, 2, 2); the group
    # on the (x=2, y=2) edge has the two voxels (2, 2, 0) and (2, 2, 1).
    block = np.zeros((3, 3, 3))
    block[2, 2, 2] = 9.0
    block[2, 2, 0] = 1.0
    block[2, 2, 1] = 2.0
    result = downsample_mean(block)
    assert result.shape == (2, 2, 2)
    assert result[1, 1, 1] == 9.0
    assert result[1, 1, 0] == 1.5
    assert result[0, 0, 0] == 0.0


@pytest.mark.parametrize("shape", [(7, 5, 3), (2, 2, 2), (1, 1, 1), (6, 1, 9)])
def test_matches_brute_force(shape) -> None:
    rng = np.random.default_rng(2)
    block = rng.random(shape)
    np.testing.assert_allclose(downsample_mean(block), brute_force_mean(block))


def test_integer_results_are_rounded_to_nearest() -> None:
    # Means 0.125, 0.875, 3.5 -> 0, 1, 4.
    block = np.zeros((2, 2, 6), dtype=np.uint8)
    block[0, 0, 0] = 1
    block[:, :, 2:4] = 1
    block[0, 0, 2] = 0
    block[:, :, 4:6] = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    result = downsample_mean(block)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result[0, 0], [0, 1, 4])


def test_integer_halves_round_to_even() -> None:
    # np.rint rounds x.5 to the even neighbour: 2.5 -> 2, 3.5 -> 4.
    low = np.array([0, 0, 0, 0, 5, 5, 5, 5], dtype=np.int16).reshape(2, 2, 2)
    assert downsample_mean(low)[0, 0, 0] == 2
    assert downsample_mean(low + 1)[0, 0, 0] == 4


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int32])
def test_integer_extremes_do_not_overflow(dtype) -> None:
    info = np.iinfo(dtype)
    high = np.full((2, 2, 2), info.max, dtype=dtype)
    low = np.full((2, 2, 2), info.min, dtype=dtype)
    assert downsample_mean(high)[0, 0, 0] == info.max
    assert downsample_mean(low)[0, 0, 0] == info.min


def test_integer_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    block = rng.integers(0, 256, size=(9, 6, 5), dtype=np.uint8)
    expected = np.rint(brute_force_mean(block)).astype(np.uint8)
    np.testing.assert_array_equal(downsample_mean(block), expected)


def test_input_is_not_changed() -> None:
    block = np.arange(27, dtype=np.uint8).reshape(3, 3, 3)
    copy = block.copy()
    downsample_mean(block)
    np.testing.assert_array_equal(block, copy)


@pytest.mark.parametrize("shape", [(0, 2, 2), (2, 0, 2), ()])
def test_empty_array(shape) -> None:
    with pytest.raises(ValueError, match="Cannot downsample an empty array"):
        downsample_mean(np.zeros(shape))


# --------------------------------------------------------------------------
# write_downsampled
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(121, 97, 139), (7, 5, 3), (1, 1, 1), (2, 2, 2)])
@pytest.mark.parametrize("slab", [1, 5, None])
def test_write_downsampled_equals_downsample_mean(tmp_path: Path, shape, slab) -> None:
    rng = np.random.default_rng(4)
    data = rng.integers(0, 256, size=shape, dtype=np.uint8)
    source = zarr.create_array(
        store=tmp_path / "source.zarr", shape=shape, chunks=(16, 64, 64), dtype="uint8"
    )
    source[:] = data
    target = zarr.create_array(
        store=tmp_path / "target.zarr",
        shape=level_shape(shape, 1),
        chunks=(4, 32, 64),  # slab=None: 4 planes at a time
        dtype="uint8",
    )
    write_downsampled(source, target, slab=slab)
    np.testing.assert_array_equal(target[:], downsample_mean(data))


def test_write_downsampled_reads_slab_by_slab(tmp_path: Path) -> None:
    """Only 2 * slab planes of the source are read at once."""
    shape = (13, 6, 4)
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)

    class Source:
        def __init__(self) -> None:
            self.shape = shape
            self.reads: list[int] = []

        def __getitem__(self, key: slice) -> np.ndarray:
            part = data[key]
            self.reads.append(part.shape[0])
            return part

    source = Source()
    target = np.zeros(level_shape(shape, 1))
    write_downsampled(source, target, slab=2)
    assert max(source.reads) <= 4
    assert sum(source.reads) == shape[0]
    np.testing.assert_array_equal(target, downsample_mean(data))


def test_write_downsampled_into_numpy_default_slab() -> None:
    rng = np.random.default_rng(5)
    data = rng.random((40, 3, 3))
    target = np.zeros(level_shape(data.shape, 1))
    write_downsampled(data, target)
    np.testing.assert_array_equal(target, downsample_mean(data))


@pytest.mark.parametrize("bad", [(60, 60, 69), (60, 60, 71), (120, 120, 139)])
def test_write_downsampled_wrong_target_shape(bad) -> None:
    source = np.zeros((120, 120, 139), dtype=np.uint8)
    target = np.zeros(bad, dtype=np.uint8)
    with pytest.raises(
        ValueError,
        match=rf"target has shape \({bad[0]}, {bad[1]}, {bad[2]}\).*"
        r"gives \(60, 60, 70\).*level_shape\(source\.shape, 1\)",
    ):
        write_downsampled(source, target)
    assert not target.any()  # nothing was written
