"""Inputs of every kind and dimension, end to end (``convert_stack`` and the
command line): OME-TIFF c, z, y, x and t, c, z, y, x, a plain multi-page TIFF,
HDF5 files (5-D, and 3-D picked by ``dataset``), a Zarr array, two slice
folders as channels.

Each output's level 0 is the input's array and every lower level the block
mean of the one above over the factors of the anisotropic rule, written out
by hand for each case (the rule: a space axis is halved only when its voxel
size is less than twice the smallest voxel size of the level above; ``t`` and
``c`` never). Also: the metadata (axes, scales, translations, channels, voxel
size from an OME-TIFF or ``--voxel-size``) in OME-Zarr 0.4, 0.5 and 0.6 as
the readers see it, bad inputs refused in one line, resuming after a kill,
and each voxel of the input read once for level 0.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr

from data_helpers.convert import STATE_FOLDER, convert_stack, run
from data_helpers.convert.sources.hdf5 import Hdf5Dataset
from data_helpers.convert.sources.tiff_file import TiffStack
from data_helpers.ome import level_transforms, multiscale_axes, multiscale_metadata
from data_helpers.pyramid import downsample_mean
from data_helpers.readers import open_group
from data_helpers.synthetic import (
    ct_like_hyperstack,
    seeded_volume,
    write_hdf5_volume,
    write_multipage_tiff,
    write_ome_tiff,
)
from tests.convert.helpers import (
    REPO,
    assert_refused,
    chunk_files,
    cli,
    kill_once,
    levels_of,
    random_volume,
    write_slices,
)
from tests.convert.test_tiff_file import write_pages
from tests.convert.test_zarr_array import write_array
from tests.ome_readers import reader_problems

RED, GREEN = -16776961, 16711935  # OME's signed RGBA of FF0000FF and 00FF00FF
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}


@dataclass
class Case:
    """An input, what converting it must give, and how it is converted."""

    path: Path | list[Path]
    volume: np.ndarray
    axes: tuple[str, ...]
    #: Level k-1 to level k, by the rule, by hand.
    factors: list[tuple[int, ...]]
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    options: dict[str, Any] = field(default_factory=dict)


def ome_czyx(folder: Path) -> Case:
    """2 channels, voxels 2 x 0.5 x 0.5 um; space (12, 40, 52), chunks 8.

    Level 0 voxels 2, 0.5, 0.5: y and x are below twice 0.5, z is not ->
    (1, 1, 2, 2), giving (12, 20, 26) of 2 x 1 x 1. z = 2 is not below twice 1
    -> (1, 1, 2, 2) again: (12, 10, 13) of 2 x 2 x 2. Equal sizes halve all
    three -> (1, 2, 2, 2): (6, 5, 7), which fits one chunk of 8.
    """
    shape = (2, 12, 40, 52)
    path = write_ome_tiff(
        folder / "cells.ome.tif",
        shape,
        seed=11,
        voxel_size=(2.0, 0.5, 0.5),
        channel_names=["nuclei", "membranes"],
        channel_colors=[RED, GREEN],
    )
    factors = [(1, 1, 2, 2), (1, 1, 2, 2), (1, 2, 2, 2)]
    volume = ct_like_hyperstack(shape, seed=11)
    return Case(path, volume, ("c", "z", "y", "x"), factors, (2.0, 0.5, 0.5))


def ome_tczyx(folder: Path) -> Case:
    """2 time points, 2 channels, 1 um voxels: (10, 24, 20) -> (5, 12, 10) ->
    (3, 6, 5), halving z, y and x (never t or c)."""
    shape = (2, 2, 10, 24, 20)
    path = write_ome_tiff(folder / "movie.ome.tif", shape, seed=12)
    volume = ct_like_hyperstack(shape, seed=12)
    factors = [(1, 1, 2, 2, 2)] * 2
    return Case(path, volume, ("t", "c", "z", "y", "x"), factors)


def multipage_zyx(folder: Path) -> Case:
    """No voxel size, so 1 x 1 x 1: (20, 40, 52) -> (10, 20, 26) -> (5, 10, 13)
    -> (3, 5, 7)."""
    shape = (20, 40, 52)
    path = write_multipage_tiff(folder / "stack.tif", shape, seed=13)
    volume = ct_like_hyperstack(shape, seed=13)
    return Case(path, volume, ("z", "y", "x"), [(2, 2, 2)] * 3)


def hdf5_tczyx(folder: Path) -> Case:
    """A 5-D dataset, chunked: (9, 20, 18) -> (5, 10, 9) -> (3, 5, 5)."""
    shape = (2, 2, 9, 20, 18)
    path = write_hdf5_volume(
        folder / "movie.h5", shape, seed=14, dtype="uint16", chunks=(1, 1, 4, 8, 8)
    )
    volume = seeded_volume(shape, seed=14, dtype="uint16")
    return Case(path, volume, ("t", "c", "z", "y", "x"), [(1, 1, 2, 2, 2)] * 2)


def hdf5_zyx_dataset(folder: Path) -> Case:
    """One of two 3-D float32 arrays, by ``dataset``: (17, 33, 24) ->
    (9, 17, 12) -> (5, 9, 6) -> (3, 5, 3)."""
    shape = (17, 33, 24)
    path = write_hdf5_volume(
        folder / "scan.nxs", shape, seed=15, dtype="float32", chunks=(5, 11, 8)
    )
    with h5py.File(path, "a") as file:
        file["other/volume"] = np.zeros((4, 5, 6), "uint8")
    volume = seeded_volume(shape, seed=15, dtype="float32")
    options = {"dataset": "entry0000/reconstruction/results/data"}
    return Case(path, volume, ("z", "y", "x"), [(2, 2, 2)] * 3, options=options)


def zarr_czyx(folder: Path) -> Case:
    """A 4-D Zarr array is c, z, y, x: (12, 20, 18) -> (6, 10, 9) -> (3, 5, 5)."""
    volume = random_volume((3, 12, 20, 18), seed=16, dtype="uint8")
    path = write_array(folder / "array.zarr", volume, chunks=(1, 5, 7, 9))
    return Case(path, volume, ("c", "z", "y", "x"), [(1, 2, 2, 2)] * 2)


def two_folders(folder: Path) -> Case:
    """Two slice folders as c: (11, 19, 30) -> (6, 10, 15) -> (3, 5, 8)."""
    volumes = [random_volume((11, 19, 30), seed=seed) for seed in (17, 18)]
    paths = [folder / "dapi", folder / "gfp"]
    for path, volume in zip(paths, volumes, strict=True):
        write_slices(path, volume, rowsperstrip=5)
    return Case(paths, np.stack(volumes), ("c", "z", "y", "x"), [(1, 2, 2, 2)] * 2)


CASES: dict[str, Callable[[Path], Case]] = {
    "ome-tiff czyx": ome_czyx,
    "ome-tiff tczyx": ome_tczyx,
    "multi-page tiff zyx": multipage_zyx,
    "hdf5 tczyx": hdf5_tczyx,
    "hdf5 zyx dataset": hdf5_zyx_dataset,
    "zarr czyx": zarr_czyx,
    "two slice folders": two_folders,
}


@pytest.fixture
def heart(book_data_env) -> None:
    """The synthetic TIFF volumes are made from the heart sample."""


def expected_levels(volume: np.ndarray, factors: Sequence[Sequence[int]]) -> list:
    """Level 0, then each level the block mean of the one above."""
    levels = [volume]
    for step in factors:
        levels.append(downsample_mean(levels[-1], step))
    return levels


def scales(
    axes: Sequence[str], voxel_size: Sequence[float], factors: Sequence[Sequence[int]]
) -> list[list[float]]:
    """Each level's voxel size per axis: level 0's times the factors so far."""
    space = dict(zip("zyx", voxel_size, strict=True))
    size = [space.get(axis, 1.0) for axis in axes]
    found = [list(size)]
    for step in factors:
        size = [s * f for s, f in zip(size, step, strict=True)]
        found.append(list(size))
    return found


def metadata(output: Path) -> tuple[list, list, list, dict]:
    """The image's axes, each level's scale and translation, its ``omero``."""
    group = open_group(output)
    multiscale = multiscale_metadata(group)
    transforms = [
        {t["type"]: t for t in level_transforms(d)} for d in multiscale["datasets"]
    ]
    attributes = group.attrs.asdict()
    omero = attributes.get("ome", attributes).get("omero", {})
    return (
        multiscale_axes(multiscale),
        [t["scale"]["scale"] for t in transforms],
        [t["translation"]["translation"] for t in transforms],
        omero,
    )


def assert_levels(output: Path, case: Case) -> None:
    """Level 0 is the input, each level below the block mean of the one
    above, with the scales of the factors."""
    found = levels_of(output)
    expected = expected_levels(case.volume, case.factors)
    assert [a.shape for a in found] == [a.shape for a in expected]
    for k, (a, b) in enumerate(zip(found, expected, strict=True)):
        assert a.dtype == b.dtype and np.array_equal(a, b), f"level {k}"
    assert metadata(output)[1] == scales(case.axes, case.voxel_size, case.factors)


# ----------------------------------------------------------------------------
# 1. Each input kind against the array it came from
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_levels_are_the_input_and_its_block_means(tmp_path, heart, make) -> None:
    case = make(tmp_path)
    output = tmp_path / "out.ome.zarr"
    result = convert_stack(
        case.path, output, chunks=8, progress=False, workers=2, **case.options
    )
    assert result.finished and result.shape == case.volume.shape
    assert_levels(output, case)
    assert [a["name"] for a in metadata(output)[0]] == list(case.axes)
    chunks = zarr.open_array(output / "0", mode="r").chunks
    assert chunks == tuple(1 if a in "tc" else 8 for a in case.axes)


# ----------------------------------------------------------------------------
# 2. Metadata
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5", "0.6"])
@pytest.mark.parametrize("make", [ome_czyx, ome_tczyx], ids=["czyx", "tczyx"])
def test_metadata_and_readers(tmp_path, heart, make, version) -> None:
    case = make(tmp_path)
    output = tmp_path / f"image-{version}.ome.zarr"
    result = convert_stack(
        case.path, output, chunks=8, progress=False, ome_zarr_version=version
    )
    axes, found_scales, translations, omero = metadata(output)
    assert axes == [
        {"name": a, "type": AXIS_TYPES[a]}
        | ({"unit": "micrometer"} if a in "zyx" else {})
        for a in case.axes
    ]
    expected = scales(case.axes, case.voxel_size, case.factors)
    assert found_scales == expected
    # A level-k voxel averages F level-0 voxels: its centre is (F - 1) / 2
    # level-0 voxels from the first one's.
    level0 = expected[0]
    assert translations == [
        [(s / v - 1) / 2 * v for s, v in zip(scale, level0, strict=True)]
        for scale in expected
    ]
    channels = omero["channels"]
    if make is ome_czyx:
        assert [c["label"] for c in channels] == ["nuclei", "membranes"]
        assert [c["color"] for c in channels] == ["FF0000", "00FF00"]
        summary = result.summary()
        assert "voxel size 2 x 0.5 x 0.5 micrometer;" in summary
        assert "voxel size from the input's metadata" in summary
    else:
        assert len(channels) == 2
    assert reader_problems(output) == {}
    check = subprocess.run(
        [sys.executable, "-m", "data_helpers.check", "--deep", str(output)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_voxel_size_option_overrides_the_ome_tiff(tmp_path, heart) -> None:
    case = ome_czyx(tmp_path)
    output = tmp_path / "image.ome.zarr"
    process = cli(
        str(case.path), str(output), "--chunks", "8", "--voxel-size", "1", "1", "1"
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "voxel size 1 x 1 x 1 micrometer;" in out
    assert "--voxel-size used, not the input's own 2 x 0.5 x 0.5 micrometer" in out
    assert "from the input's metadata" not in out
    # 1 um voxels: every space axis halved at every level, (12, 40, 52) ->
    # (6, 20, 26) -> (3, 10, 13) -> (2, 5, 7)
    case = replace(case, voxel_size=(1.0, 1.0, 1.0), factors=[(1, 2, 2, 2)] * 3)
    assert_levels(output, case)


# ----------------------------------------------------------------------------
# 3. The anisotropic rule on three voxel shapes
# ----------------------------------------------------------------------------

RULE_CASES = {
    # 2 x 0.5 x 0.5 -> y, x -> 2 x 1 x 1 -> y, x (2 is not < 2) -> 2 x 2 x 2 -> all
    "2 x 0.5 x 0.5": (
        (2.0, 0.5, 0.5),
        [(16, 64, 64), (16, 32, 32), (16, 16, 16), (8, 8, 8)],
        [(2, 0.5, 0.5), (2, 1, 1), (2, 2, 2), (4, 4, 4)],
    ),
    "1 x 1 x 1": (
        (1.0, 1.0, 1.0),
        [(16, 64, 64), (8, 32, 32), (4, 16, 16), (2, 8, 8)],
        [(1, 1, 1), (2, 2, 2), (4, 4, 4), (8, 8, 8)],
    ),
    # 0.3 x 0.3 x 1 -> z, y (1 is not < 0.6) -> 0.6 x 0.6 x 1 -> all (1 < 1.2)
    # -> 1.2 x 1.2 x 2 -> all ... until x fits one chunk of 8
    "0.3 x 0.3 x 1": (
        (0.3, 0.3, 1.0),
        [(16, 64, 64), (8, 32, 64), (4, 16, 32), (2, 8, 16), (1, 4, 8)],
        [(0.3, 0.3, 1), (0.6, 0.6, 1), (1.2, 1.2, 2), (2.4, 2.4, 4), (4.8, 4.8, 8)],
    ),
}


@pytest.fixture(scope="module")
def rule_stack(tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("rule") / "slices"
    volume = random_volume((16, 64, 64), seed=19)
    write_slices(folder, volume)
    return folder, volume


@pytest.mark.parametrize("case", RULE_CASES.values(), ids=RULE_CASES.keys())
def test_anisotropic_rule(tmp_path, rule_stack, case) -> None:
    voxel_size, shapes, expected_scales = case
    output = tmp_path / "out.ome.zarr"
    result = convert_stack(
        rule_stack[0], output, chunks=8, voxel_size=voxel_size, progress=False
    )
    assert result.level_shapes == shapes
    assert [tuple(a.shape) for a in levels_of(output)] == shapes
    assert np.allclose(metadata(output)[1], expected_scales, rtol=1e-12)
    factors = [
        tuple(a // b for a, b in zip(upper, lower, strict=True))
        for upper, lower in zip(shapes, shapes[1:], strict=False)
    ]
    # the factors are the ratios of the shapes above (all even or kept here)
    assert_levels(
        output,
        Case(rule_stack[0], rule_stack[1], ("z", "y", "x"), factors, voxel_size),
    )


# ----------------------------------------------------------------------------
# 4. Bad inputs: exit 2, one line, nothing written
# ----------------------------------------------------------------------------


def bad_inputs(folder: Path) -> dict[str, tuple[list[Any], list[str]]]:
    """Each bad command line's inputs and options, and what the refusal says."""
    plane = np.zeros((8, 8), "uint16")
    shapes = write_pages(
        folder / "shapes.tif", plane, plane, np.zeros((8, 9), "uint16")
    )
    dtypes = write_pages(folder / "dtypes.tif", plane, plane.astype("uint8"))
    nabu = write_hdf5_volume(folder / "nabu.h5", (4, 8, 8), dtype="uint16")
    with h5py.File(nabu, "a") as file:
        file["flat"] = np.zeros((8, 8), "uint16")
    flat = write_array(folder / "flat.zarr", np.zeros((8, 9), "uint8"))
    short = write_slices(folder / "a", np.zeros((4, 8, 8), "uint16"))[0].parent
    shorter = write_slices(folder / "b", np.zeros((3, 8, 8), "uint16"))[0].parent
    return {
        "pages of two shapes": ([shapes], ["page 2 is (8, 9) uint16"]),
        "pages of two dtypes": ([dtypes], ["page 1 is (8, 8) uint8"]),
        "missing dataset": (
            [nabu, "--dataset", "entry0000/nothing"],
            ["--dataset /entry0000/nothing does not exist", "reconstruction"],
        ),
        "dataset a group": (
            [nabu, "--dataset", "entry0000/reconstruction"],
            ["is a group of", "not an array"],
        ),
        "2-D dataset": (
            [nabu, "--dataset", "flat"],
            ["/flat in", "is 2-D uint16 (8, 8)", "arrays of 3 to 5 dimensions"],
        ),
        "2-D zarr array": ([flat], ["is a 2-D Zarr array (shape (8, 9))"]),
        "channels of other slice counts": (
            [short, shorter],
            ["(z 4, y 8, x 8) uint16 against (z 3, y 8, x 8)", "same number of"],
        ),
        "unknown codec": (
            [short, "--codec", "lzma-9"],
            ["--codec lzma-9: unknown codec 'lzma'"],
        ),
        "dataset for slices": ([short, "--dataset", "data"], ["--dataset is for"]),
    }


BAD_INPUTS = (
    "pages of two shapes",
    "pages of two dtypes",
    "missing dataset",
    "dataset a group",
    "2-D dataset",
    "2-D zarr array",
    "channels of other slice counts",
    "unknown codec",
    "dataset for slices",
)


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_refused(tmp_path, capsys, name) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    cases = bad_inputs(inputs)
    assert set(cases) == set(BAD_INPUTS)
    args, fragments = cases[name]
    output = tmp_path / "out" / "image.ome.zarr"
    output.parent.mkdir()
    # the output's folder is left as it was (nothing made in or beside it)
    options = [a for a in args if isinstance(a, str) and a.startswith("--")]
    at = args.index(options[0]) if options else len(args)
    assert_refused(capsys, output, [*args[:at], output, *args[at:]], *fragments)
    assert not output.exists()


# ----------------------------------------------------------------------------
# 5. Resuming after a kill
# ----------------------------------------------------------------------------

RESUMED_SHAPE = (64, 64, 48)


def resume_inputs(folder: Path, kind: str) -> Path:
    if kind == "tiff":
        return write_multipage_tiff(folder / "stack.tif", RESUMED_SHAPE, seed=20)
    return write_hdf5_volume(
        folder / "scan.h5", RESUMED_SHAPE, seed=20, dtype="uint16", chunks=(8, 16, 16)
    )


@pytest.mark.parametrize("kind", ["tiff", "hdf5"])
def test_resume_after_sigkill(tmp_path, heart, kind) -> None:
    path = resume_inputs(tmp_path, kind)
    args = ["--chunks", "8", "--ome-zarr-version", "0.4"]
    reference = tmp_path / "reference" / "image.ome.zarr"
    reference.parent.mkdir()
    convert_stack(path, reference, chunks=8, progress=False, ome_zarr_version="0.4")

    output = tmp_path / "image.ome.zarr"
    done = output / STATE_FOLDER / "done"
    process = cli(str(path), str(output), *args, slow=True)
    kill_once(process, lambda: len(list(done.iterdir())) if done.is_dir() else 0, 3)
    killed_after = len(list(done.iterdir()))
    again = cli(str(path), str(output), *args)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"{killed_after} already done" in out
    assert chunk_files(output) == chunk_files(reference)
    assert not (output / STATE_FOLDER).exists()


# ----------------------------------------------------------------------------
# 6. Each voxel of the input read once for level 0
# ----------------------------------------------------------------------------


def count_reads(
    monkeypatch: pytest.MonkeyPatch, kind: type, shape: tuple[int, ...]
) -> tuple[np.ndarray, list[tuple[slice, ...]]]:
    """How many times each voxel is read by ``kind.read`` from now on, and the
    regions read."""
    counts = np.zeros(shape, "int32")
    regions: list[tuple[slice, ...]] = []
    lock = threading.Lock()
    read = kind.read

    def counted(self, region, out):
        with lock:
            counts[region] += 1
            regions.append(region)
        return read(self, region, out)

    monkeypatch.setattr(kind, "read", counted)
    return counts, regions


def narrow_pieces(monkeypatch: pytest.MonkeyPatch, voxels: int) -> None:
    """Plans of block tasks of pieces of at most ``voxels`` voxels."""
    plan_for = run.plan_for

    def narrow(*args, **kwargs):
        return replace(plan_for(*args, **kwargs), piece_voxels=voxels)

    monkeypatch.setattr(run, "plan_for", narrow)


READ_CASES = {
    "tiff": (TiffStack, multipage_zyx),
    "hdf5 5-D": (Hdf5Dataset, hdf5_tczyx),
    "hdf5 zyx": (Hdf5Dataset, hdf5_zyx_dataset),
}


@pytest.mark.parametrize("wide", [True, False], ids=["whole rows", "part rows"])
@pytest.mark.parametrize("case", READ_CASES.values(), ids=READ_CASES.keys())
def test_each_voxel_read_once(tmp_path, heart, monkeypatch, case, wide) -> None:
    kind, make = case
    made = make(tmp_path)
    if not wide:  # pieces of 8 x 8 x 16: blocks 16 columns wide
        narrow_pieces(monkeypatch, 8 * 8 * 16)
    counts, regions = count_reads(monkeypatch, kind, made.volume.shape)
    output = tmp_path / "out.ome.zarr"
    # OME-Zarr 0.4: units of one chunk (8), not of a shard of 2 x 2 x 2
    options = {"chunks": 8, "ome_zarr_version": "0.4", **made.options}
    convert_stack(made.path, output, progress=False, **options)
    assert np.array_equal(levels_of(output)[0], made.volume)
    assert counts.min() == 1 and counts.max() == 1
    width = made.volume.shape[-1]
    widths = {r[-1].stop - r[-1].start for r in regions}
    if wide:
        assert widths == {width}
    else:
        assert max(widths) == 16 < width
