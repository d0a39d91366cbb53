"""Tests for data_helpers.pyramid: level shapes, 2x2x2 means and 2x2x2 modes."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers import (
    downsample_mean,
    downsample_mode,
    level_shape,
    write_downsampled,
)

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


# --------------------------------------------------------------------------
# downsample_mode
# --------------------------------------------------------------------------

INTEGER_DTYPES = [
    np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64
]  # fmt: skip


def brute_force_mode(block: np.ndarray) -> np.ndarray:
    """The commonest value of each 2x2x2 group it has; ties to the smallest."""
    out_shape = tuple(math.ceil(n / 2) for n in block.shape)
    out = np.empty(out_shape, dtype=block.dtype)
    for index in np.ndindex(*out_shape):
        group = block[tuple(slice(2 * i, 2 * i + 2) for i in index)]
        counts = Counter(group.ravel().tolist())
        most = max(counts.values())
        out[index] = min(value for value, n in counts.items() if n == most)
    return out


def random_labels(rng, shape, dtype, n_values: int) -> np.ndarray:
    """Labels drawn from ``n_values`` values spread over the dtype's whole range."""
    info = np.iinfo(dtype)
    extremes = np.array([info.min, info.max, 0], dtype=dtype)
    others = rng.integers(info.min, info.max, 8, dtype=dtype, endpoint=True)
    # The extremes first: every draw of 2 or more values tests them.
    choices = np.concatenate([extremes, np.setdiff1d(others, extremes)])
    choices = np.unique(choices)[:n_values] if n_values > 3 else choices[:n_values]
    return rng.choice(choices, size=shape)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
@pytest.mark.parametrize(
    "shape", [(7, 5, 3), (6, 4, 8), (1, 1, 1), (1, 3, 2), (9, 1, 6)]
)
@pytest.mark.parametrize("n_values", [2, 3, 8])
def test_mode_matches_brute_force(dtype, shape, n_values) -> None:
    # Few values make many ties (4 + 4, 2 + 2 + 2 + 2, ...) and uniform groups.
    rng = np.random.default_rng([6, n_values, len(shape), *shape])
    for _ in range(3):
        block = random_labels(rng, shape, dtype, n_values)
        result = downsample_mode(block)
        assert result.dtype == block.dtype
        np.testing.assert_array_equal(result, brute_force_mode(block))


def test_mode_of_a_larger_random_array() -> None:
    rng = np.random.default_rng(7)
    block = rng.integers(0, 4, size=(21, 18, 23), dtype=np.uint16)
    np.testing.assert_array_equal(downsample_mode(block), brute_force_mode(block))


def test_mode_ties_go_to_the_smallest() -> None:
    block = np.array([5, 9, 5, 9, 9, 5, 9, 5], dtype=np.int32).reshape(2, 2, 2)
    assert downsample_mode(block)[0, 0, 0] == 5
    assert downsample_mode(block * -1)[0, 0, 0] == -9
    three_way = np.array([3, 3, 1, 1, 2, 2, 7, 8], dtype=np.uint8).reshape(2, 2, 2)
    assert downsample_mode(three_way)[0, 0, 0] == 1


def test_mode_is_the_most_frequent_not_the_smallest() -> None:
    block = np.array([1, 2, 2, 2, 3, 3, 0, 4], dtype=np.uint16).reshape(2, 2, 2)
    assert downsample_mode(block)[0, 0, 0] == 2


def test_mode_at_odd_edges_counts_only_the_voxels_the_group_has() -> None:
    # 3 x 2 x 2: the second group along z is the plane z = 2 alone, where 7 is
    # the commonest value (3 of 4); level 0's 5s above it do not count.
    block = np.full((3, 2, 2), 5, dtype=np.uint8)
    block[2] = [[7, 7], [7, 1]]
    np.testing.assert_array_equal(downsample_mode(block)[:, 0, 0], [5, 7])
    # 3 x 3 x 3: the corner group is the voxel (2, 2, 2) alone; the edge group
    # at (y=2, x=2) has the two voxels (0, 2, 2) and (1, 2, 2): a tie.
    cube = np.zeros((3, 3, 3), dtype=np.int64)
    cube[2, 2, 2] = 42
    cube[0, 2, 2], cube[1, 2, 2] = 9, 4
    result = downsample_mode(cube)
    assert result[1, 1, 1] == 42
    assert result[0, 1, 1] == 4


def test_mode_never_invents_a_label_where_the_mean_does() -> None:
    block = np.array([1000] * 4 + [3000] * 4, dtype=np.uint16).reshape(2, 2, 2)
    assert downsample_mean(block)[0, 0, 0] == 2000
    assert downsample_mode(block)[0, 0, 0] == 1000


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_mode_keeps_extreme_values(dtype) -> None:
    info = np.iinfo(dtype)
    block = np.full((2, 2, 4), info.max, dtype=dtype)
    block[:, :, 2:] = info.min
    block[0, 0, 2] = info.max
    np.testing.assert_array_equal(downsample_mode(block)[0, 0], [info.max, info.min])


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_every_level_holds_a_subset_of_the_values_above(dtype) -> None:
    rng = np.random.default_rng(8)
    # Blobs of labels with thin lines through them, down to a single voxel.
    level = random_labels(rng, (5, 4, 6), dtype, 6).repeat(4, 0).repeat(4, 1)
    level = level.repeat(4, 2)[:19, :15, :23].copy()
    level[:, 7, :] = level.flat[0]
    level[3, :, 11] = np.iinfo(dtype).max
    while level.shape != (1, 1, 1):
        coarser = downsample_mode(level)
        assert coarser.shape == level_shape(level.shape, 1)
        assert set(np.unique(coarser)) <= set(np.unique(level))
        level = coarser


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_, np.complex64])
def test_mode_rejects_non_integer_labels(dtype) -> None:
    with pytest.raises(ValueError, match=r"needs integer labels") as error:
        downsample_mode(np.zeros((2, 2, 2), dtype=dtype))
    assert "\n" not in str(error.value)
    assert np.dtype(dtype).name in str(error.value)


@pytest.mark.parametrize("shape", [(0, 2, 2), (2, 2), ()])
def test_mode_rejects_empty_or_not_3d(shape) -> None:
    with pytest.raises(ValueError, match="non-empty 3-D"):
        downsample_mode(np.zeros(shape, dtype=np.uint8))


def test_mode_input_is_not_changed() -> None:
    block = np.arange(27, dtype=np.uint8).reshape(3, 3, 3) % 4
    copy = block.copy()
    downsample_mode(block)
    np.testing.assert_array_equal(block, copy)


# --------------------------------------------------------------------------
# write_label_pyramid
# --------------------------------------------------------------------------

IMAGE_SHAPE = (19, 14, 23)  # odd on purpose: level 2 is (5, 4, 6)


def level0_spec(zarr_format: int, shards: int | None = None):
    """A level-0 spec of 4-voxel chunks (in 8-voxel shards if ``shards``)."""
    import data_helpers.ome  # noqa: F401  (before pydantic_zarr.v3)

    if zarr_format == 2:
        from pydantic_zarr.v2 import ArraySpec

        return ArraySpec(
            shape=IMAGE_SHAPE, dtype="|u1", chunks=(4, 4, 4), attributes={}
        )
    from pydantic_zarr.v3 import ArraySpec

    inner = [{"name": "bytes", "configuration": {}}]
    grid = {"name": "regular", "configuration": {"chunk_shape": (4, 4, 4)}}
    codecs: list = inner
    if shards:
        grid = {"name": "regular", "configuration": {"chunk_shape": (shards,) * 3}}
        codecs = [
            {
                "name": "sharding_indexed",
                "configuration": {"chunk_shape": (4, 4, 4), "codecs": inner},
            }
        ]
    return ArraySpec(
        shape=IMAGE_SHAPE,
        data_type="uint8",
        chunk_grid=grid,
        chunk_key_encoding={"name": "default", "configuration": {"separator": "/"}},
        fill_value=0,
        codecs=codecs,
        attributes={},
    )


def blob_labels(dtype) -> np.ndarray:
    """Blocks of labels with a one-voxel-thin plane and line of their own."""
    rng = np.random.default_rng(9)
    blocks = rng.integers(1, 5, size=(5, 4, 6)).astype(dtype)
    labels = blocks.repeat(4, 0).repeat(4, 1).repeat(4, 2)[:19, :14, :23].copy()
    labels[:, 6, :] = 7  # a plane one voxel thin
    labels[9, 3, :] = np.iinfo(dtype).max  # a line one voxel thin
    return labels


def image_with_labels(path: Path, zarr_format: int, shards=None, dtype=np.uint32):
    from data_helpers.pyramid import write_label_pyramid, write_pyramid

    image = np.arange(np.prod(IMAGE_SHAPE), dtype=np.uint64) % 251
    group = write_pyramid(
        zarr.storage.LocalStore(path),
        level0_spec(zarr_format, shards),
        image.astype(np.uint8).reshape(IMAGE_SHAPE),
        voxel_size=(3.0, 2.0, 1.0),
        levels=3,
        name="image",
    )
    labels = blob_labels(dtype)
    write_label_pyramid(group, "organs", labels, colors={7: (255, 0, 0, 255)})
    return group, labels


@pytest.mark.parametrize(
    ("zarr_format", "shards"),
    [(2, None), (3, None), (3, 8)],
    ids=["0.4", "0.5", "0.5-sharded"],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint64])
def test_label_pyramid_lies_on_the_image_and_keeps_its_labels(
    tmp_path: Path, zarr_format: int, shards, dtype
) -> None:
    from data_helpers.ome import multiscale_metadata

    group, labels = image_with_labels(
        tmp_path / "i.ome.zarr", zarr_format, shards, dtype
    )
    reopened = zarr.open_group(tmp_path / "i.ome.zarr", mode="r")
    label = reopened["labels/organs"]
    image_meta, label_meta = multiscale_metadata(reopened), multiscale_metadata(label)
    assert label_meta["datasets"] == image_meta["datasets"]
    assert label_meta["axes"] == image_meta["axes"]
    above = None
    for k, dataset in enumerate(label_meta["datasets"]):
        level = label[dataset["path"]]
        image_level = reopened[dataset["path"]]
        assert level.shape == image_level.shape == level_shape(IMAGE_SHAPE, k)
        assert level.chunks == image_level.chunks
        assert level.shards == image_level.shards
        assert level.dtype == dtype
        data = level[:]
        if above is None:
            np.testing.assert_array_equal(data, labels)
        else:
            np.testing.assert_array_equal(data, downsample_mode(above))
            assert set(np.unique(data)) <= set(np.unique(above))
        above = data


def test_label_pyramid_bad_input(tmp_path: Path) -> None:
    from data_helpers.pyramid import write_label_pyramid

    group, labels = image_with_labels(tmp_path / "i.ome.zarr", 2)
    cases = [
        (labels[:-1], r"labels have shape \(18, 14, 23\), but the image's level 0"),
        (labels.astype(np.float32), "integer dtype"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            write_label_pyramid(group, "other", bad)
        assert "\n" not in str(error.value)
        assert "other" not in group.get("labels", {})
    with pytest.raises(ValueError, match="already has a label image labels/organs"):
        write_label_pyramid(group, "organs", labels)
    write_label_pyramid(group, "organs", labels * 0 + 1, overwrite=True)
    assert (zarr.open_group(tmp_path / "i.ome.zarr")["labels/organs/2"][:] == 1).all()


def test_label_pyramid_of_an_anisotropic_image_follows_its_factors(tmp_path) -> None:
    """An image whose level 1 keeps z (voxels 2 x 0.5 x 0.5): its labels' level
    1 is the mode over 1 x 2 x 2 voxels, as the image's scales say."""
    from data_helpers import ome
    from data_helpers.pyramid import downsample_mode, write_label_pyramid

    factors = [(1, 2, 2)]
    shapes = [level_shape((8, 16, 16), k, factors) for k in range(2)]
    spec_class = ome.array_spec_class(2)
    specs = [spec_class.from_array(np.zeros(shape, np.uint16)) for shape in shapes]
    model = ome.image_model(specs, voxel_size=(2, 0.5, 0.5), factors=factors)
    image = ome.write_image(model, str(tmp_path / "image.ome.zarr"))
    labels = (np.random.default_rng(3).integers(0, 3, (8, 16, 16))).astype(np.uint8)
    group = write_label_pyramid(image, "cells", labels)
    assert group["1"].shape == (8, 8, 8)
    np.testing.assert_array_equal(group["1"][:], downsample_mode(labels, (1, 2, 2)))
