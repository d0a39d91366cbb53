"""Tests for data_helpers.synthetic: CT-like volumes and TIFF slice stacks."""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest
import tifffile

from data_helpers.synthetic import (
    ct_like_hyperstack,
    ct_like_slice,
    ct_like_volume,
    write_jp2_stack,
    write_multipage_tiff,
    write_ome_tiff,
    write_tiff_stack,
)

SHAPE = (6, 40, 50)


@pytest.fixture(autouse=True)
def heart(book_data_env) -> None:
    """The slices are made from the heart sample."""


def test_slices_are_reproducible_and_seeded() -> None:
    first = ct_like_slice(3, SHAPE, seed=7)
    assert first.shape == SHAPE[1:] and first.dtype == np.uint16
    assert np.array_equal(first, ct_like_slice(3, SHAPE, seed=7))
    assert not np.array_equal(first, ct_like_slice(3, SHAPE, seed=8))
    assert not np.array_equal(first, ct_like_slice(4, SHAPE, seed=7))


def test_volume_is_its_slices_and_looks_like_ct() -> None:
    volume = ct_like_volume(SHAPE, seed=1)
    assert volume.shape == SHAPE and volume.dtype == np.uint16
    assert np.array_equal(volume[2], ct_like_slice(2, SHAPE, seed=1))
    # Tissue is brighter than the background, and there is noise everywhere.
    assert volume.max() > volume.min() + 4000
    assert volume.std() > 300


def test_tiff_stack_has_one_file_per_slice_in_strips(tmp_path) -> None:
    paths = write_tiff_stack(tmp_path / "stack", SHAPE, seed=2, rows_per_strip=8)
    assert [p.name for p in paths] == [f"slice_{z:05d}.tif" for z in range(SHAPE[0])]
    for z, path in enumerate(paths):
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            assert page.rowsperstrip == 8 and len(page.dataoffsets) == 5
            assert np.array_equal(page.asarray(), ct_like_slice(z, SHAPE, seed=2))


@pytest.mark.parametrize("shape", [(0, 4, 4), (4, 4), (2, -1, 3)])
def test_bad_shapes_are_refused(shape) -> None:
    with pytest.raises(ValueError, match="three positive lengths"):
        ct_like_volume(shape)


def test_slice_outside_the_volume_is_refused() -> None:
    with pytest.raises(IndexError, match="outside a volume with 6 slices"):
        ct_like_slice(6, SHAPE)


def test_jp2_stack_is_the_tiff_stack_losslessly(tmp_path) -> None:
    paths = write_jp2_stack(tmp_path / "stack", SHAPE, seed=2)
    assert [p.name for p in paths] == [f"slice_{z:05d}.jp2" for z in range(SHAPE[0])]
    for z, path in enumerate(paths):
        assert path.read_bytes()[4:8] == b"jP  "  # a JP2 file, not a bare codestream
        decoded = imagecodecs.jpeg2k_decode(path.read_bytes())
        assert np.array_equal(decoded, ct_like_slice(z, SHAPE, seed=2))


def test_multipage_tiff_holds_the_volume_in_plain_tiled_pages(tmp_path) -> None:
    path = write_multipage_tiff(
        tmp_path / "stack.tif", SHAPE, seed=2, compression="zlib", tile=(16, 32)
    )
    assert np.array_equal(tifffile.imread(path), ct_like_volume(SHAPE, seed=2))
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == SHAPE[0] and tif.pages.first.is_tiled
        assert tif.pages.first.compression == 8  # zlib (deflate)
        assert tif.series[0].axes == "IYX"  # no shape description: plain pages


def test_ome_tiff_holds_one_volume_per_channel_and_its_metadata(tmp_path) -> None:
    shape = (2, 2, *SHAPE)
    path = write_ome_tiff(
        tmp_path / "cells.ome.tif",
        shape,
        seed=4,
        voxel_size=(2.0, 0.5, 0.5),
        unit="nm",
        channel_names=["a", "b"],
        channel_colors=[-16776961, -1],
    )
    data = tifffile.imread(path)
    assert np.array_equal(data, ct_like_hyperstack(shape, seed=4))
    assert np.array_equal(data[1, 0], ct_like_volume(SHAPE, seed=6))  # seed + 2
    with tifffile.TiffFile(path) as tif:
        assert tif.series[0].axes == "TCZYX"
        xml = tif.ome_metadata
    assert 'PhysicalSizeZ="2.0" PhysicalSizeZUnit="nm"' in xml
    assert 'Name="b" Color="-1"' in xml
