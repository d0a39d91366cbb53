"""check on images with channel and time axes and anisotropic pyramids."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.check import block_mean, check_image
from data_helpers.factors import factors_between
from data_helpers.pyramid import downsample_mean, downsample_mode
from tests.channel_images import (
    CHANNELS,
    VOXEL,
    level_factors,
    level_shapes,
    volume,
    write_channel_image,
)

CASES = [
    (axes, version) for axes in ("czyx", "tczyx") for version in ("0.4", "0.5", "0.6")
]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Good images: c,z,y,x and t,c,z,y,x, in OME-Zarr 0.4, 0.5 and 0.6."""
    root = tmp_path_factory.mktemp("channel-images")
    return {
        (axes, version): write_channel_image(
            root / f"{axes}-{version}.ome.zarr", axes, version
        )
        for axes, version in CASES
    }


def problems(path: Path, deep: bool = True) -> list[str]:
    result = check_image(path, deep=deep)
    return [f"PROBLEM {p.where}: {p.message}" for p in result.problems]


@pytest.mark.parametrize(("axes", "version"), CASES)
def test_good_images_pass(images, axes: str, version: str) -> None:
    result = check_image(images[axes, version], deep=True)
    assert result.problems == []
    assert result.information == []  # every level the exact block mean
    names = tuple(name for name, _, _ in result.summary.axes)
    assert names == tuple(axes)
    assert [level.shape for level in result.summary.levels] == level_shapes(axes)


def test_good_image_exits_0(images) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "data_helpers.check", str(images["tczyx", "0.5"])]
        + ["--deep"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "axes: t (time, second), c (channel), z (space, micrometer)" in done.stdout


@pytest.mark.parametrize(("axes", "version"), [("czyx", "0.4"), ("tczyx", "0.5")])
def test_deep_names_one_altered_voxel_of_level_2(
    images, tmp_path, axes: str, version: str
) -> None:
    path = tmp_path / "altered.ome.zarr"
    shutil.copytree(images[axes, version], path)
    level = zarr.open_array(path / "2", mode="r+")
    voxel = (*(1,) * (len(axes) - 3), 5, 3, 4)  # the second channel (time point)
    level[voxel] = int(level[voxel]) + 1000
    assert problems(path, deep=False) == []
    factors = level_factors(axes)[1]  # level 1 to 2: z kept, y and x halved
    assert factors.endswith("1x2x2")
    found = problems(path)
    assert found[0] == (
        f"PROBLEM level 2: 1 voxel differs from the {factors} block mean of level "
        f"1 by more than rounding (by up to 1000, at ({', '.join(map(str, voxel))})),"
        " though the rest match it: the level was changed or written wrong there, "
        "and zoomed out, viewers show other values than the image has."
    )
    # level 3, the block mean of level 2 as it was, now differs from it there
    assert [line.split(":")[0] for line in found] == [
        "PROBLEM level 2",
        "PROBLEM level 3",
    ]


@pytest.mark.parametrize(("axis", "what"), [("c", "channel"), ("t", "time")])
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_level_that_downsamples_channels_or_time(
    tmp_path, axis: str, what: str, version: str
) -> None:
    path = write_channel_image(
        tmp_path / "wrong.ome.zarr", "tczyx", version, outer_factors={axis: 2}
    )
    index = "tc".index(axis)
    step = "channel" if axis == "c" else "time point"
    expected = (
        f"PROBLEM level 1: downsamples the {what} axis {axis} (1 {step} along it, "
        f"level 0 has 2; scale 2 along it, level 0's is 1): a pyramid must keep "
        f"every {step} at every level, or readers mix {step}s when zoomed out "
        "and place them wrong."
    )
    assert problems(path, deep=False) == [expected]
    # --deep compares level 1 with the mean over both (factor 2 along the axis)
    assert problems(path) == [expected]
    assert zarr.open_array(path / "1").shape[index] == 1


def test_factors_between_scales() -> None:
    assert factors_between((1, 2.0, 0.5, 0.5), (1, 2.0, 1.0, 1.0)) == (1, 1, 2, 2)
    assert factors_between((2.0, 2.0, 2.0), (4.0, 4.0, 4.0)) == (2, 2, 2)
    assert factors_between((1.0, 1.0), (3.0, 1.95)) == (3, 2)  # rounded shapes
    assert factors_between((1.0, 1.0), (1.5, 2.0)) == (2, 2)  # 3 voxels to 2
    assert factors_between((1.0, 1.0), (1.3, 2.0)) is None  # not whole
    assert factors_between((1.0, 1.0), (0.5, 2.0)) is None  # finer
    assert factors_between((1.0,), (2.0, 2.0)) is None


def test_block_mean_by_odd_and_mixed_factors() -> None:
    data = volume("czyx", seed=4)
    three = block_mean(data, (1, 3, 1, 1))
    assert three.shape == (2, 4, 23, 27)
    assert three[1, 1, 5, 6] == np.rint(data[1, 3:6, 5, 6].mean())
    six = block_mean(data, (1, 1, 6, 1))  # a halving, then thirds
    assert np.array_equal(
        six, downsample_mean(downsample_mean(data, (1, 1, 2, 1)), (1, 1, 3, 1))
    )


def test_label_images_are_compared_with_the_block_mode(tmp_path) -> None:
    path = write_channel_image(tmp_path / "labels.ome.zarr", "zyx", labels=True)
    level1 = np.asarray(zarr.open_array(path / "1")[...])
    assert np.array_equal(  # block modes: no label averaged with another
        np.asarray(zarr.open_array(path / "2")[...]),
        downsample_mode(level1, (1, 2, 2)),
    )
    assert problems(path) == []  # a block mean would differ in many voxels
    level = zarr.open_array(path / "2", mode="r+")
    level[5, 3, 4] = 7  # a label no level above has
    found = problems(path)
    assert found[0] == (
        "PROBLEM level 2: 1 voxel differs from the 1x2x2 block mode of level 1 by "
        f"more than rounding (by up to {7 - int(level1[5, 6:8, 8:10].max())}, at "
        "(5, 3, 4)), though the rest match it: the level was changed or written "
        "wrong there, and zoomed out, viewers show other values than the image has."
    )


def test_ngff_zarr_channel_image_passes(tmp_path) -> None:
    """ngff-zarr's anisotropic czyx pyramid (local means: bin shrink)."""
    import ngff_zarr

    data = volume("czyx", seed=2)
    image = ngff_zarr.to_ngff_image(
        data,
        dims=["c", "z", "y", "x"],
        scale={"c": 1.0, "z": VOXEL[0], "y": VOXEL[1], "x": VOXEL[2]},
        translation={"c": 0.0, "z": 0.0, "y": 0.0, "x": 0.0},
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Setting the shape", DeprecationWarning)
        multiscales = ngff_zarr.to_multiscales(
            image,
            scale_factors=[{"z": 1, "y": 2, "x": 2}, {"z": 1, "y": 4, "x": 4}],
            method=ngff_zarr.Methods.ITKWASM_BIN_SHRINK,
            chunks=8,
        )
        for version in ("0.4", "0.5"):
            path = tmp_path / f"ngff-zarr-{version}.ome.zarr"
            ngff_zarr.to_ngff_zarr(str(path), multiscales, version=version)
    for version in ("0.4", "0.5"):
        path = tmp_path / f"ngff-zarr-{version}.ome.zarr"
        result = check_image(path, deep=True)
        assert result.problems == [], version
        levels = result.summary.levels
        assert [level.shape[:2] for level in levels] == [(len(CHANNELS), 11)] * 3
