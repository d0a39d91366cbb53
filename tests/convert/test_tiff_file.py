"""One multi-page TIFF file as input (sources/tiff_file.py): plain, BigTIFF,
compressed, tiled, OME-TIFF and ImageJ hyperstacks read by region as t, c, z,
y, x; their voxel size and channels; bad files refused in one line; memory
and reads bounded by the region."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
import tifffile.zarr
import zarr

from data_helpers.convert import convert_stack
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources import ImageInfo, open_source, tiff_file
from data_helpers.convert.sources.source import Channel
from data_helpers.convert.sources.tiff_file import TiffStack, convert_length
from data_helpers.synthetic import (
    ct_like_hyperstack,
    write_multipage_tiff,
    write_ome_tiff,
)
from tests.convert.helpers import assert_refused, random_volume

SHAPE = (5, 40, 52)
#: Odd windows: (t, c, z, y, x) slices, cut down to a source's axes.
WINDOWS = [
    (slice(1, 2), slice(0, 2), slice(1, 4), slice(3, 22), slice(5, 37)),
    (slice(0, 1), slice(1, 2), slice(4, 5), slice(39, 40), slice(0, 52)),
    (slice(0, 2), slice(0, 1), slice(0, 2), slice(17, 40), slice(51, 52)),
]
RED, GREEN = -16776961, 16711935  # OME's signed RGBA of FF0000FF and 00FF00FF


@pytest.fixture(autouse=True)
def heart(book_data_env) -> None:
    """The synthetic volumes are made from the heart sample."""


def read(source, region: tuple[slice, ...] | None = None) -> np.ndarray:
    region = region or tuple(slice(0, n) for n in source.shape)
    out = np.full([r.stop - r.start for r in region], 7, source.dtype)
    source.read(region, out)
    return out


def assert_reads(source, expected: np.ndarray) -> None:
    """The whole source and odd windows of it are ``expected`` (same axes)."""
    assert source.shape == expected.shape and source.dtype == expected.dtype
    assert np.array_equal(read(source), expected)
    for window in WINDOWS:
        region = window[-len(source.shape) :]
        assert np.array_equal(read(source, region), expected[region]), region


LAYOUTS = {
    "plain": {},
    "bigtiff": {"bigtiff": True},
    "zlib-strips": {"compression": "zlib", "rows_per_strip": 8},
    "zlib-tiles": {"compression": "zlib", "tile": (16, 32)},
    "tiles": {"tile": (32, 16)},
}


@pytest.mark.parametrize("options", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_multipage_layouts_read_as_written(tmp_path, options) -> None:
    path = write_multipage_tiff(tmp_path / "stack.tif", SHAPE, seed=3, **options)
    source = open_source(path)
    assert isinstance(source, TiffStack) and source.axes == ("z", "y", "x")
    assert_reads(source, ct_like_hyperstack(SHAPE, seed=3))
    # uncompressed strips are read by rows at the pages' offset, the rest decoded
    raw = not options.get("compression") and not options.get("tile")
    assert (source.offset is not None) == raw
    assert source.info() == ImageInfo()
    assert "axes IYX as z, y, x" in source.notes()[0]
    stat = path.stat()
    assert source.fingerprint() == {
        "file": ["stack.tif", stat.st_size, stat.st_mtime_ns]
    }


def test_tifffile_shaped_and_big_endian_files(tmp_path) -> None:
    volume = ct_like_hyperstack(SHAPE, seed=4)
    tifffile.imwrite(tmp_path / "shaped.tiff", volume)  # axes QYX
    tifffile.imwrite(tmp_path / "big.btf", volume, byteorder=">", bigtiff=True)
    for name in ("shaped.tiff", "big.btf"):
        source = open_source(tmp_path / name)
        assert source.axes == ("z", "y", "x") and source.offset is not None
        assert_reads(source, volume)
    assert open_source(tmp_path / "big.btf").byteorder == ">"


def test_ome_tiff_with_two_channels(tmp_path) -> None:
    shape = (2, *SHAPE)
    path = write_ome_tiff(
        tmp_path / "cells.ome.tif",
        shape,
        seed=5,
        voxel_size=(2.0, 0.5, 0.25),
        unit="\u00b5m",
        channel_names=["nuclei", "membranes"],
        channel_colors=[RED, GREEN],
    )
    source = open_source(path)
    assert source.axes == ("c", "z", "y", "x")
    assert_reads(source, ct_like_hyperstack(shape, seed=5))
    assert source.info() == ImageInfo(
        (2.0, 0.5, 0.25),
        "micrometer",
        (Channel("nuclei", "FF0000"), Channel("membranes", "00FF00")),
    )
    assert "OME-TIFF series of axes CZYX as c, z, y, x" in source.notes()[0]


def test_ome_tiff_tczyx_tiled_and_compressed(tmp_path) -> None:
    shape = (2, 2, *SHAPE)
    path = write_ome_tiff(
        tmp_path / "time.ome.tiff",
        shape,
        seed=6,
        compression="zlib",
        tile=(16, 16),
        voxel_size=(3.0, 1.5, 1.5),
        unit="nm",
    )
    source = open_source(path)
    assert source.axes == ("t", "c", "z", "y", "x") and source.offset is None
    assert_reads(source, ct_like_hyperstack(shape, seed=6))
    info = source.info()
    assert info.voxel_size == (3.0, 1.5, 1.5) and info.unit == "nanometer"
    assert [c.color for c in info.channels] == [None, None]  # no names, no colours
    assert [c.name for c in info.channels] == ["channel 0", "channel 1"]


def test_ome_units_that_differ_become_x_s(tmp_path) -> None:
    """z in millimetres, y in micrometres, x in nanometres: all in nanometres."""
    volume = random_volume((2, 3, 4, 6), seed=1)
    metadata = {
        "axes": "CZYX",
        "PhysicalSizeZ": 0.002,
        "PhysicalSizeZUnit": "mm",
        "PhysicalSizeY": 0.3,
        "PhysicalSizeYUnit": "\u00b5m",
        "PhysicalSizeX": 70.0,
        "PhysicalSizeXUnit": "nm",
        "Channel": {"Name": ["dapi", "gfp"], "Color": [-1, 65535]},
    }
    tifffile.imwrite(tmp_path / "units.ome.tif", volume, ome=True, metadata=metadata)
    source = open_source(tmp_path / "units.ome.tif")
    assert source.info() == ImageInfo(
        (2000.0, 300.0, 70.0),
        "nanometer",
        (Channel("dapi", "FFFFFF"), Channel("gfp", "0000FF")),
    )
    # one channel: tifffile leaves out the c axis, and so do its channels
    tifffile.imwrite(tmp_path / "one.ome.tif", volume[:1], ome=True, metadata=metadata)
    one = open_source(tmp_path / "one.ome.tif")
    assert one.axes == ("z", "y", "x") and one.info().channels == ()
    assert one.info().voxel_size == (2000.0, 300.0, 70.0)
    assert convert_length(1.0, "inch", "millimeter") == 25.4
    assert convert_length(5.0, "angstrom", "nanometer") == 0.5


def test_imagej_zcyx_hyperstack(tmp_path) -> None:
    """ImageJ stores channels inside each z (ZCYX): read as c, z, y, x."""
    czyx = ct_like_hyperstack((3, *SHAPE), seed=7)
    tifffile.imwrite(
        tmp_path / "hyper.tif",
        czyx.transpose(1, 0, 2, 3),
        imagej=True,
        metadata={"axes": "ZCYX", "spacing": 2.5, "unit": "micron"},
        resolution=(4.0, 2.0),  # pixels per micron along x and y
    )
    source = open_source(tmp_path / "hyper.tif")
    assert source.axes == ("c", "z", "y", "x") and source.offset is not None
    assert_reads(source, czyx)
    assert source.info() == ImageInfo((2.5, 0.5, 0.25), "micrometer")
    assert "ImageJ series of axes ZCYX as c, z, y, x" in source.notes()[0]


def test_other_series_are_left_out_with_a_note(tmp_path) -> None:
    volume = random_volume(SHAPE, seed=2)
    with tifffile.TiffWriter(tmp_path / "two.tif") as tif:
        tif.write(volume, photometric="minisblack")
        tif.write(np.zeros((4, 4), "uint8"))  # a thumbnail
    source = open_source(tmp_path / "two.tif")
    assert_reads(source, volume)
    assert "left out its 1 other series" in source.notes()


def write_pages(path: Path, *pages: np.ndarray, **options) -> Path:
    """Pages written one by one, as a plain TIFF (no shape description)."""
    with tifffile.TiffWriter(path) as tif:
        for page in pages:
            tif.write(page, metadata=None, **options)
    return path


def bad_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each bad file, and what the refusal says."""
    plane = np.zeros((8, 8), "uint16")
    cyx = folder / "cyx.ome.tif"
    tifffile.imwrite(cyx, np.zeros((2, 8, 8)), ome=True, metadata={"axes": "CYX"})
    garbage = folder / "garbage.tif"
    garbage.write_bytes(b"not a TIFF at all")
    # tifffile's own metadata, every page written by a call of its own: each
    # page is a series (an image) of its own, not one stack
    apart = folder / "apart.tif"
    for _ in range(3):
        tifffile.imwrite(apart, plane, append=True)
    return {
        "pages apart": (apart, "holds 3 pages that are each a 2-D image"),
        "shapes": (
            write_pages(
                folder / "shapes.tif", plane, plane, np.zeros((9, 8), "uint16")
            ),
            "page 2 is (9, 8) uint16, page 0 (8, 8) uint16",
        ),
        "dtypes": (
            write_pages(folder / "dtypes.tif", plane, plane.astype("float32")),
            "page 1 is (8, 8) float32",
        ),
        "one page": (
            write_pages(folder / "page.tif", plane),
            "is a file of one 2-D image (shape (8, 8)): give the folder that holds "
            f"the slices, such as {str(folder)!r}, or a multi-page TIFF.",
        ),
        "rgb": (
            write_pages(
                folder / "rgb.tif", *np.zeros((2, 8, 8, 3), "uint8"), photometric="rgb"
            ),
            "3 samples per pixel (RGB",
        ),
        "no z": (cyx, "axes CYX without Z"),
        "garbage": (garbage, "is not a readable TIFF file ("),
        "missing": (folder / "missing.tif", "does not exist"),
    }


def test_bad_files_are_refused_in_one_line(tmp_path, capsys) -> None:
    for name, (path, fragment) in bad_inputs(tmp_path).items():
        with pytest.raises(ConversionError) as refusal:
            open_source(path)
        message = str(refusal.value)
        assert fragment in message and "\n" not in message, (name, message)
    path, fragment = bad_inputs(tmp_path)["one page"]
    output = tmp_path / "out" / "image.ome.zarr"
    assert_refused(capsys, output, [path, output], fragment)


def test_folders_stay_slice_folders(tmp_path) -> None:
    (tmp_path / "odd.tif").mkdir()
    assert not tiff_file.accepts(tmp_path / "odd.tif")
    assert tiff_file.accepts(tmp_path / "x.OME.TIFF")
    assert tiff_file.accepts(tmp_path / "x.tf8")
    assert not tiff_file.accepts(tmp_path / "x.zarr")


# --------------------------------------------------------------------------
# What a read holds, and how often each byte is read
# --------------------------------------------------------------------------


def traced_peak(call: Callable[[], object]) -> int:
    """Peak bytes allocated during ``call()`` above those held before it (a
    warm-up call first: imports and caches are not the read's)."""
    call()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def read_peak(path: Path) -> tuple[int, int, int]:
    """Peak of reading a 3 x 64 x 100 window of the file's pages, the window's
    bytes, and the bytes of the decoded strips or tiles it covers in a page."""
    source = open_source(path)
    region = (slice(0, 3), slice(900, 964), slice(700, 800))
    out = np.empty((3, 64, 100), source.dtype)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        rows, columns = (
            (page.tilelength, page.tilewidth)
            if page.is_tiled
            else (
                page.rowsperstrip,
                page.imagewidth,
            )
        )
    across = (964 - 1) // rows - 900 // rows + 1
    along = (800 - 1) // columns - 700 // columns + 1
    covered = across * along * rows * columns * out.itemsize
    return traced_peak(lambda: source.read(region, out)), out.nbytes, covered


MEMORY_LAYOUTS = {
    "rows": {},
    "zlib-tiles": {"compression": "zlib", "tile": (128, 128)},
    "zlib-strips": {"compression": "zlib", "rowsperstrip": 8},
}


@pytest.mark.parametrize("options", MEMORY_LAYOUTS.values(), ids=MEMORY_LAYOUTS.keys())
def test_read_memory_does_not_grow_with_the_page(tmp_path, options) -> None:
    """A read holds its window, the strips or tiles of one page it covers (a
    strip is decoded whole), and tifffile's index of the pages' strips or
    tiles (their offsets and sizes: some 100 bytes each): with pages of 4096
    x 4096 as with pages of 1024 x 1024, no more voxels."""
    for side in (1024, 4096):
        pages = np.zeros((3, side, side), "uint16")
        path = tmp_path / f"{side}.tif"
        tifffile.imwrite(path, pages, photometric="minisblack", **options)
        del pages
        with tifffile.TiffFile(path) as tif:
            index = 3 * 100 * len(tif.pages.first.dataoffsets)
        peak, window, covered = read_peak(path)
        if options:
            assert peak < 2 * window + covered + index + 64 * 1024, (side, peak)
        else:  # by rows: one window's worth of whole rows at a time
            assert peak < 2 * window + 4 * side, (side, peak)


def counting_reads(monkeypatch) -> tuple[Counter, Counter]:
    """Count the segments tifffile's store reads (by offset), and the rows the
    raw reader reads (by page offset and row)."""
    segments: Counter = Counter()
    rows: Counter = Counter()
    read_segment = tifffile.zarr.FileCache.read
    read_rows = tiff_file.read_rows

    def counted_segment(self, filehandle, offset, bytecount):
        segments[offset, bytecount] += 1
        return read_segment(self, filehandle, offset, bytecount)

    def counted_rows(window, path, offset, byteorder, y0, x0, width):
        for y in range(y0, y0 + window.shape[0]):
            rows[offset, y] += 1
        return read_rows(window, path, offset, byteorder, y0, x0, width)

    monkeypatch.setattr(tifffile.zarr.FileCache, "read", counted_segment)
    monkeypatch.setattr(tiff_file, "read_rows", counted_rows)
    return segments, rows


CONVERTED = {
    "rows": {},
    "zlib-strips": {"compression": "zlib", "rows_per_strip": 8},
    "zlib-tiles": {"compression": "zlib", "tile": (16, 16)},
}


@pytest.mark.parametrize("options", CONVERTED.values(), ids=CONVERTED.keys())
def test_conversion_reads_each_byte_once(tmp_path, monkeypatch, options) -> None:
    """Converting a zyx file in chunks of 16 reads every strip or tile, or
    every row of every page, exactly once, and level 0 is the volume."""
    shape = (20, 40, 52)
    path = write_multipage_tiff(tmp_path / "stack.tif", shape, seed=8, **options)
    segments, rows = counting_reads(monkeypatch)
    output = tmp_path / "out.ome.zarr"
    convert_stack(path, output, chunks=16, progress=False)
    level0 = zarr.open_array(output / "0", mode="r")[:]
    assert np.array_equal(level0, ct_like_hyperstack(shape, seed=8))
    with tifffile.TiffFile(path) as tif:
        pages = [tif.pages[k] for k in range(shape[0])]
        if not options:
            offsets = [page.dataoffsets[0] for page in pages]
            assert rows == Counter({(o, y): 1 for o in offsets for y in range(40)})
            assert not segments
        else:
            everything = [
                (offset, count)
                for page in pages
                for offset, count in zip(
                    page.dataoffsets, page.databytecounts, strict=True
                )
            ]
            assert segments == Counter(dict.fromkeys(everything, 1))
            assert not rows
