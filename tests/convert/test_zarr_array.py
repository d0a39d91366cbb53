"""A plain Zarr array as input (sources/zarr_array.py): its axes, reads by
region equal to the array, its refusals, and a conversion of one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.convert import ConversionError, convert_stack, open_source
from data_helpers.convert.sources import ImageInfo
from data_helpers.convert.sources.ome_zarr import OmeZarrImage
from data_helpers.convert.sources.zarr_array import ZarrArray
from tests.convert.helpers import assert_refused, levels_of, random_volume
from tests.convert.test_plan_invariants import traced_peak
from tests.data_server import DataServer


def write_array(
    path: Path,
    data: np.ndarray,
    zarr_format: int = 3,
    names: tuple[str, ...] | None = None,
    chunks: tuple[int, ...] | None = None,
) -> Path:
    """``data`` as a Zarr array at ``path``; ``names`` as its dimension_names
    (format 3) or ``_ARRAY_DIMENSIONS`` (format 2)."""
    options = {} if names is None or zarr_format == 2 else {"dimension_names": names}
    array = zarr.create_array(
        path,
        shape=data.shape,
        dtype=data.dtype,
        chunks=chunks or tuple(max(1, n // 2 - 1) for n in data.shape),
        zarr_format=zarr_format,  # type: ignore[arg-type]
        **options,
    )
    array[...] = data
    if names is not None and zarr_format == 2:
        array.attrs["_ARRAY_DIMENSIONS"] = list(names)
    return path


def windows(shape: tuple[int, ...], seed: int, count: int = 12):
    """Seeded regions of odd sizes and offsets, the whole array among them."""
    rng = np.random.default_rng(seed)
    yield tuple(slice(0, n) for n in shape)
    for _ in range(count):
        starts = [int(rng.integers(0, n)) for n in shape]
        yield tuple(
            slice(s, int(rng.integers(s + 1, n + 1)))
            for s, n in zip(starts, shape, strict=True)
        )


def read(source, region) -> np.ndarray:
    out = np.full([r.stop - r.start for r in region], 7, dtype=source.dtype)
    source.read(region, out)
    return out


# (zarr format, stored shape, dimension names, presented axes, stored axis of each)
CASES = {
    "2, zyx": (2, (9, 11, 13), None, ("z", "y", "x"), (0, 1, 2)),
    "3, zyx": (3, (9, 11, 13), None, ("z", "y", "x"), (0, 1, 2)),
    "3, named zyx": (3, (9, 11, 13), ("z", "y", "x"), ("z", "y", "x"), (0, 1, 2)),
    "3, other names": (3, (9, 11, 13), ("d", "h", "w"), ("z", "y", "x"), (0, 1, 2)),
    "3, 4-D": (3, (3, 7, 9, 11), None, ("c", "z", "y", "x"), (0, 1, 2, 3)),
    "3, zcyx": (
        3,
        (7, 3, 9, 11),
        ("z", "c", "y", "x"),
        ("c", "z", "y", "x"),
        (1, 0, 2, 3),
    ),
    "3, yxzc": (
        3,
        (9, 11, 7, 3),
        ("y", "x", "z", "c"),
        ("c", "z", "y", "x"),
        (3, 2, 0, 1),
    ),
    "2, tzyx": (
        2,
        (2, 7, 9, 11),
        ("t", "z", "y", "x"),
        ("t", "z", "y", "x"),
        (0, 1, 2, 3),
    ),
    "2, 5-D": (2, (2, 3, 5, 7, 9), None, ("t", "c", "z", "y", "x"), (0, 1, 2, 3, 4)),
    "3, XYZCT": (
        3,
        (9, 7, 5, 3, 2),
        ("X", "Y", "Z", "C", "T"),
        ("t", "c", "z", "y", "x"),
        (4, 3, 2, 1, 0),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_reads_equal_the_array(tmp_path, case) -> None:
    """Every window reads as the array's voxels, its axes in t, c, z, y, x order."""
    zarr_format, shape, names, axes, order = CASES[case]
    data = random_volume(shape, seed=len(shape))
    path = write_array(tmp_path / "array.zarr", data, zarr_format, names)
    source = open_source(path)
    assert isinstance(source, ZarrArray)
    expected = data.transpose(order)
    assert source.axes == axes
    assert source.shape == expected.shape
    assert source.dtype == data.dtype
    assert source.info() == ImageInfo()
    for region in windows(expected.shape, seed=3):
        assert np.array_equal(read(source, region), expected[region]), region


@pytest.mark.parametrize(
    ("case", "note"),
    [
        ("3, zyx", None),
        ("3, other names", "its dimension names d, h, w are not t, c, z, y, x"),
        ("3, 4-D", "read its 4 dimensions as c, z, y, x"),
        ("3, zcyx", None),
    ],
)
def test_notes_say_how_axes_were_guessed(tmp_path, case, note) -> None:
    zarr_format, shape, names, *_ = CASES[case]
    path = write_array(tmp_path / "a.zarr", np.zeros(shape, "uint8"), 3, names)
    notes = open_source(path).notes()
    assert notes == () if note is None else note in notes[0]


def test_level_of_an_image(odd_output) -> None:
    """The image is migrated as before; its level 0 alone is a plain array."""
    assert isinstance(open_source(odd_output), OmeZarrImage)
    level = open_source(odd_output / "0")
    assert isinstance(level, ZarrArray)
    expected = levels_of(odd_output)[0]
    region = (slice(3, 30), slice(1, 46), slice(17, 18))
    assert np.array_equal(read(level, region), expected[region])


def test_over_http(tmp_path) -> None:
    data = random_volume((5, 6, 7), seed=4)
    write_array(tmp_path / "served" / "array.zarr", data, 3)
    with DataServer(tmp_path / "served") as server:
        source = open_source(f"{server.url}array.zarr")
        assert isinstance(source, ZarrArray)
        region = (slice(1, 4), slice(2, 6), slice(0, 5))
        assert np.array_equal(read(source, region), data[region])


def test_fingerprint(tmp_path) -> None:
    """Shape, dtype and chunks, and a hash of the metadata that any change moves."""
    path = write_array(tmp_path / "a.zarr", np.zeros((4, 5, 6), "uint16"), 3)
    first = open_source(path).fingerprint()["zarr_array"]
    assert first["shape"] == [4, 5, 6]
    assert first["dtype"] == "uint16"
    assert first["chunks"] == [1, 1, 2]
    assert open_source(path).fingerprint()["zarr_array"] == first
    zarr.open_array(path, mode="r+").attrs["note"] = "changed"
    assert (
        open_source(path).fingerprint()["zarr_array"]["metadata_sha256"]
        != (first["metadata_sha256"])
    )


def test_read_holds_little_more_than_the_window(tmp_path) -> None:
    """A window of an 8 MiB array costs its own voxels and the few chunks
    (128 KiB each) it overlaps, not the whole array."""
    data = random_volume((64, 256, 256), seed=6)
    path = write_array(tmp_path / "big.zarr", data, 3, chunks=(16, 64, 64))
    source = open_source(path)
    region = (slice(10, 30), slice(50, 90), slice(100, 140))  # 8 chunks
    out = np.empty((20, 40, 40), "uint16")
    peak = traced_peak(lambda: source.read(region, out))
    assert np.array_equal(out, data[region])
    # 8 chunks overlapped, each held encoded and decoded: under 20; the array is 64
    assert peak < 20 * 16 * 64 * 64 * 2, peak


def group_holding_an_array(tmp_path: Path) -> Path:
    group = zarr.open_group(tmp_path / "group.zarr", mode="w", zarr_format=3)
    group.create_array("0", shape=(4, 4, 4), dtype="uint8")
    return tmp_path / "group.zarr"


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("2-D", ["is a 2-D Zarr array (shape (8, 9))", "give a 3-D (z, y, x)"]),
        ("6-D", ["is a 6-D Zarr array", "5-D (t, c, z, y, x)"]),
        ("bool", ["is a Zarr array of bool, not of numbers", "integers"]),
        ("text", ["is a Zarr array of <U3, not of numbers"]),
        ("no z", ["has dimensions c, y, x, without z"]),
        ("group", ["is not an OME-Zarr image", "the Zarr array inside it, e.g."]),
    ],
)
def test_bad_input_is_refused(tmp_path, capsys, case, fragments) -> None:
    """One line, exit 2, nothing written."""
    path = tmp_path / "in.zarr"
    if case == "2-D":
        write_array(path, np.zeros((8, 9), "uint8"))
    elif case == "6-D":
        write_array(path, np.zeros((2,) * 6, "uint8"), 2)
    elif case == "bool":
        write_array(path, np.zeros((2, 3, 4), bool))
    elif case == "text":
        write_array(path, np.full((2, 3, 4), "abc"), 2)
    elif case == "no z":
        write_array(path, np.zeros((2, 3, 4), "uint8"), 3, ("c", "y", "x"))
    else:
        path = group_holding_an_array(tmp_path)
        fragments = [*fragments, repr(str(path / "0"))]
    output = tmp_path / "out" / "new.ome.zarr"
    output.parent.mkdir()
    assert_refused(capsys, output, [path, output], *fragments)
    with pytest.raises(ConversionError):
        open_source(path)


def test_conversion_of_a_zyx_array(tmp_path) -> None:
    """Converted like slices: level 0 is the array."""
    data = random_volume((33, 47, 65), seed=8)
    path = write_array(tmp_path / "array.zarr", data, 2, chunks=(10, 20, 30))
    result = convert_stack(path, tmp_path / "out.ome.zarr", chunks=16, progress=False)
    assert result.finished
    levels = levels_of(tmp_path / "out.ome.zarr")
    assert np.array_equal(levels[0], data)
    assert levels[1].shape == (17, 24, 33)
