"""Channels from several inputs (sources/channels.py): a ``ChannelStack`` reads
as the inputs stacked along ``c``, and inputs that differ are refused."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from data_helpers.convert import ConversionError
from data_helpers.convert.sources import (
    Channel,
    ChannelStack,
    open_source,
    open_sources,
    stack_channels,
)
from tests.convert.helpers import random_volume, write_jp2_slices, write_slices
from tests.convert.test_plan_invariants import traced_peak
from tests.convert.test_zarr_array import read, windows, write_array

SHAPE = (5, 13, 17)


@pytest.fixture(scope="module")
def two_channels(tmp_path_factory) -> tuple[list[Path], np.ndarray]:
    """Two seeded slice folders, ``dapi`` and ``gfp``, and their voxels stacked."""
    root = tmp_path_factory.mktemp("channels")
    volumes = [random_volume(SHAPE, seed=seed) for seed in (1, 2)]
    folders = [root / "dapi", root / "gfp"]
    for folder, volume in zip(folders, volumes, strict=True):
        write_slices(folder, volume, rowsperstrip=3)
    return folders, np.stack(volumes)


def test_reads_equal_the_stacked_folders(two_channels) -> None:
    folders, expected = two_channels
    stack = open_sources(folders)
    assert isinstance(stack, ChannelStack)
    assert stack.axes == ("c", "z", "y", "x")
    assert stack.shape == (2, *SHAPE)
    assert stack.dtype == expected.dtype
    assert not stack.staged
    for region in windows(expected.shape, seed=5, count=20):
        assert np.array_equal(read(stack, region), expected[region]), region
    copy = pickle.loads(pickle.dumps(stack))  # as dask sends it to a worker
    region = (slice(1, 2), slice(2, 4), slice(3, 11), slice(0, 17))
    assert np.array_equal(read(copy, region), expected[region])


def test_channel_names_and_fingerprint(two_channels) -> None:
    folders, _ = two_channels
    stack = open_sources(folders)
    assert stack.info().channels == (Channel("dapi"), Channel("gfp"))
    named = stack_channels([open_source(f) for f in folders], names=["DNA", "GFP"])
    assert [c.name for c in named.info().channels] == ["DNA", "GFP"]
    assert stack.fingerprint() == {
        "channels": [open_source(folder).fingerprint() for folder in folders]
    }
    assert (
        open_sources(folders[:1]).fingerprint() == open_source(folders[0]).fingerprint()
    )


def test_time_series_channels(tmp_path) -> None:
    """Inputs with t give t, c, z, y, x: each channel is a strided part of ``out``."""
    volumes = [random_volume((3, 4, 6, 7), seed=seed) for seed in (3, 4)]
    paths = [
        write_array(tmp_path / f"ch{k}.zarr", v, 3, ("t", "z", "y", "x"))
        for k, v in enumerate(volumes)
    ]
    stack = open_sources(paths)
    assert stack.axes == ("t", "c", "z", "y", "x")
    expected = np.stack(volumes, axis=1)
    assert stack.shape == expected.shape
    for region in windows(expected.shape, seed=6):
        assert np.array_equal(read(stack, region), expected[region]), region


def test_read_holds_little_more_than_the_window(tmp_path) -> None:
    """A window of two channels of 512 x 512 slices holds about its own voxels
    and a row of a slice at a time, never a slice (512 KiB)."""
    volumes = [random_volume((4, 512, 512), seed=seed) for seed in (5, 6)]
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder, volume in zip(folders, volumes, strict=True):
        write_slices(folder, volume)
    stack = open_sources(folders)
    region = (slice(0, 2), slice(0, 4), slice(100, 120), slice(200, 260))
    out = np.empty((2, 4, 20, 60), "uint16")  # 19 KiB
    peak = traced_peak(lambda: stack.read(region, out))
    assert np.array_equal(out, np.stack(volumes)[region])
    assert peak < 64 * 1024, peak


def differing(tmp_path: Path, case: str) -> list[Path]:
    """Two inputs, the second differing from the first as ``case`` says."""
    first, second = tmp_path / "first", tmp_path / "second"
    write_slices(first, random_volume((4, 8, 9)))
    if case == "slices":
        write_slices(second, random_volume((5, 8, 9)))
    elif case == "shape":
        write_slices(second, random_volume((4, 8, 10)))
    elif case == "dtype":
        write_slices(second, random_volume((4, 8, 9), dtype="uint8"))
    elif case == "jpeg 2000":
        write_jp2_slices(second, random_volume((4, 8, 9)))
    elif case == "channels already":
        second = write_array(tmp_path / "second.zarr", random_volume((2, 4, 8, 9)))
    return [first, second]


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("slices", ["(z 4, y 8, x 9) uint16 against (z 5, y 8, x 9) uint16"]),
        ("shape", ["(z 4, y 8, x 9) uint16 against (z 4, y 8, x 10) uint16"]),
        ("dtype", ["(z 4, y 8, x 9) uint16 against (z 4, y 8, x 9) uint8"]),
        ("jpeg 2000", ["second", "convert JPEG 2000 channels one at a time"]),
        ("channels already", ["has axes c, z, y, x", "one channel each"]),
    ],
)
def test_channels_that_differ_are_refused(tmp_path, case, fragments) -> None:
    """One line naming the inputs (both, when they differ) and what differs."""
    paths = differing(tmp_path, case)
    with pytest.raises(ConversionError) as raised:
        open_sources(paths)
    message = str(raised.value)
    assert "\n" not in message
    if case in ("slices", "shape", "dtype"):
        fragments = [*fragments, repr(str(paths[0])), repr(str(paths[1]))]
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_names_must_match_the_channels(two_channels) -> None:
    sources = [open_source(folder) for folder in two_channels[0]]
    with pytest.raises(ConversionError, match="3 channel names for 2 channels"):
        stack_channels(sources, names=["a", "b", "c"])
    with pytest.raises(ConversionError, match="no input given"):
        open_sources([])
