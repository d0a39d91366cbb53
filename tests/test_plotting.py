"""Tests for data_helpers.plotting.plot_slice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import zarr  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from zarr.storage import LocalStore, WrapperStore  # noqa: E402

from data_helpers import plot_slice  # noqa: E402

SHAPE = (10, 12, 20)
CHUNKS = (4, 5, 6)  # z-chunks: [0, 6), [6, 12), [12, 18), [18, 20)


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture
def volume() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=SHAPE, dtype=np.uint8)


@pytest.fixture
def zarr_path(tmp_path: Path, volume: np.ndarray) -> Path:
    path = tmp_path / "volume.zarr"
    array = zarr.create_array(
        store=LocalStore(path), shape=SHAPE, chunks=CHUNKS, dtype=volume.dtype
    )
    array[:] = volume
    return path


def open_read_only(path: Path) -> zarr.Array:
    return zarr.open_array(store=LocalStore(path, read_only=True), mode="r")


def shown(ax: Axes) -> np.ndarray:
    assert len(ax.images) == 1
    return np.asarray(ax.images[0].get_array())


def title_index(ax: Axes) -> int:
    numbers = re.findall(r"-?\d+", ax.get_title())
    assert len(numbers) == 1, ax.get_title()
    return int(numbers[0])


class CountingStore(WrapperStore[LocalStore]):
    """Records the key of every read."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__(store)
        self.keys: list[str] = []

    async def get(self, key, prototype, byte_range=None):  # type: ignore[override]
        self.keys.append(key)
        return await super().get(key, prototype, byte_range)


@pytest.mark.parametrize("z_idx", [0, 5, 6, 13, 19])
def test_numpy_slice(volume: np.ndarray, z_idx: int) -> None:
    ax = plot_slice(volume, z_idx=z_idx)
    assert isinstance(ax, Axes)
    np.testing.assert_array_equal(shown(ax), volume[:, :, z_idx])
    assert title_index(ax) == z_idx
    assert not ax.axison
    image = ax.images[0]
    assert image.get_cmap().name == "gray"
    assert image.get_clim() == (0, 255)  # full uint8 range, not the slice's


@pytest.mark.parametrize("z_idx", [0, 7, 19])
def test_zarr_slice(zarr_path: Path, volume: np.ndarray, z_idx: int) -> None:
    ax = plot_slice(open_read_only(zarr_path), z_idx=z_idx)
    np.testing.assert_array_equal(shown(ax), volume[:, :, z_idx])
    assert title_index(ax) == z_idx
    assert not ax.axison


def test_zero_slice_is_black() -> None:
    ax = plot_slice(np.zeros((3, 3, 3), dtype=np.uint16), z_idx=1)
    assert ax.images[0].get_clim() == (0, 65535)


def test_float_array() -> None:
    volume = np.linspace(0, 1, 2 * 3 * 4).reshape(2, 3, 4)
    ax = plot_slice(volume, z_idx=np.int64(2))
    np.testing.assert_array_equal(shown(ax), volume[:, :, 2])
    assert title_index(ax) == 2


def test_returns_the_given_axes(volume: np.ndarray) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_slice(volume, z_idx=3, ax=right) is right
    assert len(right.images) == 1
    assert len(left.images) == 0
    assert len(plt.get_fignums()) == 1  # no new figure


def test_new_axes_without_ax(volume: np.ndarray) -> None:
    assert plt.get_fignums() == []
    ax = plot_slice(volume, z_idx=3)
    assert plt.get_fignums() == [ax.figure.number]


@pytest.mark.parametrize("z_idx", [-1, -7, -SHAPE[2]])
def test_negative_index_counts_from_the_end(
    volume: np.ndarray, zarr_path: Path, z_idx: int
) -> None:
    for array in (volume, open_read_only(zarr_path)):
        ax = plot_slice(array, z_idx=z_idx)
        np.testing.assert_array_equal(shown(ax), volume[:, :, z_idx])
        assert title_index(ax) == z_idx % SHAPE[2]  # title shows the real index


def test_reads_only_the_chunks_holding_the_slice(zarr_path: Path) -> None:
    store = CountingStore(LocalStore(zarr_path, read_only=True))
    array = zarr.open_array(store=store, mode="r")
    store.keys.clear()
    plot_slice(array, z_idx=7)  # z-chunk 1
    chunk_keys = {k for k in store.keys if k.startswith("c/")}
    expected = {f"c/{i}/{j}/1" for i in range(3) for j in range(3)}
    assert chunk_keys == expected


def test_works_when_other_chunks_are_corrupt(
    zarr_path: Path, volume: np.ndarray
) -> None:
    """Chunks outside the slice are garbage: reading them would raise."""
    for chunk in (zarr_path / "c").rglob("*"):
        if chunk.is_file() and chunk.name != "3":  # keep z-chunk 3: z 18-19
            chunk.write_bytes(b"not a zstd frame" * 10)
    array = open_read_only(zarr_path)
    with pytest.raises(Exception):  # noqa: B017 (the codec's own error)
        array[:, :, 0]
    ax = plot_slice(array, z_idx=18)
    np.testing.assert_array_equal(shown(ax), volume[:, :, 18])


@pytest.mark.parametrize("z_idx", [SHAPE[2], 100, -SHAPE[2] - 1])
def test_index_out_of_range(volume: np.ndarray, z_idx: int) -> None:
    with pytest.raises(
        IndexError,
        match=rf"z_idx={z_idx} is out of range .* 20 slices .*from 0 to 19",
    ):
        plot_slice(volume, z_idx=z_idx)
    assert plt.get_fignums() == []  # fails before making a figure


def test_index_out_of_range_zarr(zarr_path: Path) -> None:
    with pytest.raises(IndexError, match="use a value from 0 to 19"):
        plot_slice(open_read_only(zarr_path), z_idx=20)


@pytest.mark.parametrize("z_idx", [1.0, "3", True, None])
def test_index_must_be_an_integer(volume: np.ndarray, z_idx: object) -> None:
    with pytest.raises(TypeError, match="z_idx must be an integer"):
        plot_slice(volume, z_idx=z_idx)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5), (7,), ()])
def test_array_must_be_3d(shape: tuple[int, ...]) -> None:
    with pytest.raises(
        ValueError, match=rf"needs a 3-D array.*{re.escape(str(shape))}.*Pass a"
    ):
        plot_slice(np.zeros(shape), z_idx=0)


def test_list_input_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="needs a 3-D array"):
        plot_slice([[[1, 2]]], z_idx=0)


# Storage orders other than (x, y, z), and OME-Zarr images (stored z, y, x).


@pytest.mark.parametrize("axes", ["zyx", ("z", "y", "x"), "yxz", "zxy"])
def test_any_axis_order_shows_the_same_slice(volume: np.ndarray, axes) -> None:
    stored = volume.transpose(["xyz".index(name) for name in axes])
    ax = plot_slice(stored, z_idx=13, axes=axes)
    np.testing.assert_array_equal(shown(ax), volume[:, :, 13])  # x down, y across
    assert title_index(ax) == 13


def test_z_y_x_index_range_is_along_z(volume: np.ndarray) -> None:
    zyx = volume.transpose(2, 1, 0)
    with pytest.raises(IndexError, match=r"20 slices along its z axis \(axis 0\)"):
        plot_slice(zyx, z_idx=20, axes="zyx")


@pytest.mark.parametrize("axes", ["xy", "xyzz", "abc", ("x", "y", "y"), "xyzt"])
def test_axes_must_name_x_y_z_once(volume: np.ndarray, axes) -> None:
    with pytest.raises(ValueError, match="axes must name the array's axes x, y and z"):
        plot_slice(volume, z_idx=0, axes=axes)


def write_ome_image(zarr_format: int, volume: np.ndarray) -> zarr.Group:
    """The volume as a two-level OME-Zarr image, stored (z, y, x)."""
    import data_helpers.ome as ome
    from data_helpers import downsample_mean

    levels = [volume.transpose(2, 1, 0)]
    levels.append(downsample_mean(levels[0]))
    spec_class = ome.array_spec_class(zarr_format)
    specs = [spec_class.from_array(level) for level in levels]
    image = ome.image_model(specs, voxel_size=(1.0, 1.0, 1.0))
    group = ome.write_image(image, zarr.storage.MemoryStore())
    for k, level in enumerate(levels):
        group[str(k)][...] = level
    return group


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_level_is_shown_like_the_x_y_z_volume(
    volume: np.ndarray, zarr_format: int
) -> None:
    from data_helpers import downsample_mean, plot_image_slice

    group = write_ome_image(zarr_format, volume)
    ax = plot_image_slice(group, z_idx=13)
    np.testing.assert_array_equal(shown(ax), volume[:, :, 13])
    assert title_index(ax) == 13
    level1 = downsample_mean(volume)
    for level in (1, -1):
        ax = plot_image_slice(group, z_idx=4, level=level)
        np.testing.assert_array_equal(shown(ax), level1[:, :, 4])


def test_ome_zarr_level_out_of_range(volume: np.ndarray) -> None:
    from data_helpers import plot_image_slice

    group = write_ome_image(2, volume)
    with pytest.raises(IndexError, match="level=2 is out of range .* 2 levels"):
        plot_image_slice(group, z_idx=0, level=2)


def test_plain_group_is_rejected_clearly() -> None:
    from data_helpers import plot_image_slice

    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    with pytest.raises(ValueError, match="no OME-Zarr multiscales metadata"):
        plot_image_slice(group, z_idx=0)
