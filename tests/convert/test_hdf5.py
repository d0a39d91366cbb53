"""An HDF5 file as the converter's input (sources/hdf5.py)."""

from __future__ import annotations

import io
import itertools
import json
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest

from data_helpers.convert import convert_stack
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources import SourceOptions, hdf5, open_source
from data_helpers.convert.sources.hdf5 import Hdf5Dataset
from data_helpers.synthetic import NABU_DATASET, seeded_volume, write_hdf5_volume
from tests.convert.helpers import REPO, assert_refused, levels_of

ODD = (13, 17, 19)

#: Blosc with zstd and bit shuffling compresses every chunk of these floats
#: (Blosc's filter is optional: a chunk it cannot shrink is stored raw).
BLOSC = hdf5plugin.Blosc(cname="zstd", shuffle=hdf5plugin.Blosc.BITSHUFFLE)
LAYOUTS = {
    "contiguous": {},
    "chunked": {"chunks": (4, 8, 8)},
    "gzip": {"chunks": (4, 8, 8), "compression": "gzip"},
    "blosc": {"chunks": (4, 8, 8), "compression": BLOSC},
}


def filtered_chunks(path: Path) -> set[bool]:
    """For the chunks of the nabu dataset: whether each went through every filter."""
    with h5py.File(path, "r") as file:
        dset = file[NABU_DATASET]
        chunks = range(dset.id.get_num_chunks())
        return {dset.id.get_chunk_info(i).filter_mask == 0 for i in chunks}


def regions(shape, step) -> list[tuple[slice, ...]]:
    """The blocks of ``step`` voxels along each axis that tile ``shape``."""
    starts = [range(0, n, s) for n, s in zip(shape, step, strict=True)]
    return [
        tuple(slice(a, min(a + s, n)) for a, s, n in zip(c, step, shape, strict=True))
        for c in itertools.product(*starts)
    ]


def read(source, region) -> np.ndarray:
    out = np.empty([s.stop - s.start for s in region], source.dtype)
    source.read(region, out)
    return out


def odd_windows(shape, seed=0, n=12) -> list[tuple[slice, ...]]:
    """Seeded windows of every size, one voxel wide to whole, anywhere."""
    rng = np.random.default_rng(seed)
    found = [tuple(slice(0, s) for s in shape), tuple(slice(s - 1, s) for s in shape)]
    for _ in range(n):
        window = []
        for length in shape:
            a, b = sorted(rng.integers(0, length + 1, 2))
            window.append(
                slice(int(a), int(max(b, a + 1))) if a < length else slice(0, 1)
            )
        found.append(tuple(window))
    return found


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reads_what_was_written(tmp_path, layout) -> None:
    path = write_hdf5_volume(tmp_path / "v.h5", ODD, seed=3, **LAYOUTS[layout])
    volume = seeded_volume(ODD, seed=3)
    if "compression" in LAYOUTS[layout]:
        assert filtered_chunks(path) == {True}
    source = open_source(path)
    assert (source.axes, source.shape, source.dtype) == (("z", "y", "x"), ODD, "f4")
    assert source.notes() == (f"read dataset /{NABU_DATASET}",)
    source = pickle.loads(pickle.dumps(source))  # what dask sends to tasks
    for window in odd_windows(ODD):
        assert np.array_equal(read(source, window), volume[window]), window


@pytest.mark.parametrize(
    ("shape", "axes", "dtype"),
    [
        ((3, 7, 9, 11), ("c", "z", "y", "x"), "uint16"),
        ((2, 3, 5, 9, 11), ("t", "c", "z", "y", "x"), "int8"),
    ],
)
def test_four_and_five_dimensions(tmp_path, shape, axes, dtype) -> None:
    path = write_hdf5_volume(
        tmp_path / "v.nxs",
        shape,
        dtype=dtype,
        chunks=(1,) * (len(shape) - 3) + (4, 5, 6),
        compression="gzip",
    )
    volume = seeded_volume(shape, dtype=dtype)
    source = open_source(path)
    assert (source.axes, source.shape, source.dtype) == (axes, shape, dtype)
    for window in odd_windows(shape, seed=len(shape)):
        assert np.array_equal(read(source, window), volume[window]), window


@pytest.mark.parametrize(
    ("labels", "axes"),
    [
        (("X", "z", "Y"), ("z", "y", "x")),
        (("y", "x", "z", "c"), ("c", "z", "y", "x")),
        (("z", "y", "x", "T"), ("t", "z", "y", "x")),
        (("x", "y", "z", "c", "t"), ("t", "c", "z", "y", "x")),
    ],
)
def test_dimension_labels_in_another_order(tmp_path, labels, axes) -> None:
    shape = (7, 5, 6, 3, 2)[: len(labels)]  # in the dataset's order
    path = write_hdf5_volume(
        tmp_path / "v.h5", shape, labels=labels, chunks=(2,) * len(labels)
    )
    order = [[label.lower() for label in labels].index(a) for a in axes]
    volume = seeded_volume(shape).transpose(order)  # in t, c, z, y, x order
    source = open_source(path)
    assert (source.axes, source.shape) == (axes, volume.shape)
    for window in odd_windows(volume.shape, seed=7):
        assert np.array_equal(read(source, window), volume[window]), window


def test_labels_that_are_not_axes_are_said_and_ignored(tmp_path) -> None:
    shape = (4, 5, 6)
    path = write_hdf5_volume(tmp_path / "v.h5", shape, labels=("angle", "y", "x"))
    source = open_source(path)
    assert source.axes == ("z", "y", "x") and source.shape == shape
    assert "are not t, c, z, y, x: read as z, y, x" in source.notes()[1]
    assert np.array_equal(
        read(source, (slice(1, 3),) * 3), seeded_volume(shape)[1:3, 1:3, 1:3]
    )


def test_accepted_by_suffix_or_signature(tmp_path) -> None:
    path = write_hdf5_volume(tmp_path / "volume.bin", (3, 4, 5))
    assert hdf5.accepts(path)  # the signature
    assert isinstance(open_source(path), Hdf5Dataset)
    for name in ("a.h5", "a.HDF5", "a.hdf", "a.nxs", "a.nx5"):
        assert hdf5.accepts(tmp_path / name)
    (tmp_path / "other.bin").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert not hdf5.accepts(tmp_path / "other.bin")
    assert not hdf5.accepts(tmp_path)  # a folder: slices


def test_dataset_option_picks_among_several(tmp_path) -> None:
    path = write_hdf5_volume(tmp_path / "v.h5", (4, 5, 6), seed=1)
    with h5py.File(path, "a") as file:
        file["other/volume"] = seeded_volume((3, 4, 5), seed=2)
    source = open_source(path, SourceOptions(dataset="other/volume"))
    assert source.shape == (3, 4, 5) and source.notes() == ()
    assert np.array_equal(
        read(source, (slice(0, 3), slice(0, 4), slice(0, 5))),
        seeded_volume((3, 4, 5), seed=2),
    )
    assert open_source(path, SourceOptions(dataset="/" + NABU_DATASET)).shape == (
        4,
        5,
        6,
    )


def test_fingerprint(tmp_path) -> None:
    path = write_hdf5_volume(tmp_path / "v.h5", (4, 5, 6))
    fingerprint = open_source(path).fingerprint()
    assert json.loads(json.dumps(fingerprint)) == fingerprint
    assert fingerprint == {
        "file": "v.h5",
        "size": path.stat().st_size,
        "mtime_ns": path.stat().st_mtime_ns,
        "dataset": "/" + NABU_DATASET,
        "shape": [4, 5, 6],
        "dtype": "float32",
    }


# --------------------------------------------------------------------------
# Voxel size (info)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "attributes", "expected"),
    [
        (
            "dataset",
            {"element_size_um": [2.0, 0.5, 0.25]},
            ((2.0, 0.5, 0.25), "micrometer"),
        ),
        ("entry0000", {"element_size_um": [3, 3, 3]}, ((3.0, 3.0, 3.0), "micrometer")),
        ("/", {"voxel_size": [1, 2, 3], "unit": "nm"}, ((1.0, 2.0, 3.0), "nanometer")),
        (
            "dataset",
            {"voxel_size": [1, 2, 3], "unit": b"mm"},
            ((1.0, 2.0, 3.0), "millimeter"),
        ),
        ("dataset", {"voxel_size": [1, 2, 3]}, (None, None)),  # no unit
        ("dataset", {"voxel_size": [1, 2, 3], "unit": "furlong"}, (None, None)),
        ("dataset", {"element_size_um": [1, 2]}, (None, None)),
        ("dataset", {"element_size_um": [1, 0, 2]}, (None, None)),
        ("dataset", {"element_size_um": "big"}, (None, None)),
    ],
)
def test_voxel_size_from_attributes(tmp_path, where, attributes, expected) -> None:
    path = write_hdf5_volume(tmp_path / "v.h5", (4, 5, 6))
    with h5py.File(path, "a") as file:
        obj = file[NABU_DATASET] if where == "dataset" else file[where]
        obj.attrs.update(attributes)
    info = open_source(path).info()
    assert (info.voxel_size, info.unit) == expected


def test_voxel_size_per_dimension_follows_the_labels(tmp_path) -> None:
    path = write_hdf5_volume(
        tmp_path / "v.h5", (4, 5, 6, 2), labels=("x", "z", "y", "c")
    )
    with h5py.File(path, "a") as file:
        file[NABU_DATASET].attrs["element_size_um"] = [0.3, 2.0, 0.5, 1.0]
    assert open_source(path).info().voxel_size == (2.0, 0.5, 0.3)


# --------------------------------------------------------------------------
# Bad input: one line, saying what to do
# --------------------------------------------------------------------------


def refused(path, dataset=None) -> str:
    with pytest.raises(ConversionError) as caught:
        open_source(path, SourceOptions(dataset=dataset))
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.fixture
def nabu_file(tmp_path) -> Path:
    path = write_hdf5_volume(tmp_path / "v.h5", (4, 5, 6))
    with h5py.File(path, "a") as file:
        file["entry0000/reconstruction/results/flat"] = np.zeros((5, 6), "f4")
        file["entry0000/reconstruction/results/names"] = np.array([b"a"] * 27).reshape(
            3, 3, 3
        )
        file["entry0000/reconstruction/results/many"] = np.zeros((1,) * 6, "u1")
        file["entry0000/reconstruction/results/pairs"] = np.zeros(
            (2, 2, 2), [("a", "i4"), ("b", "f4")]
        )
    return path


def test_missing_dataset_lists_what_is_near(nabu_file) -> None:
    message = refused(nabu_file, "entry0000/reconstruction/result/data")
    assert "--dataset /entry0000/reconstruction/result/data does not exist" in message
    assert "/entry0000/reconstruction holds: program (" in message
    assert "results (group)" in message
    message = refused(nabu_file, "/nothing/here")
    assert "/ holds: entry0000 (group)" in message
    message = refused(nabu_file, "entry0000/reconstruction/results/data/x")
    assert "/entry0000/reconstruction/results holds: data (3-D float32" in message


def test_group_dataset_lists_its_arrays(nabu_file) -> None:
    message = refused(nabu_file, "entry0000/reconstruction/results")
    assert "is a group of" in message
    assert "data (3-D float32 (4, 5, 6))" in message and "flat (2-D float32" in message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("flat", "is 2-D float32 (5, 6): the converter reads arrays of 3 to 5"),
        ("many", "is 6-D uint8 (1, 1, 1, 1, 1, 1)"),
        ("names", "holds |S1 values, not numbers"),
        ("pairs", "values, not numbers"),
    ],
)
def test_arrays_the_converter_cannot_read(nabu_file, name, fragment) -> None:
    assert fragment in refused(nabu_file, f"entry0000/reconstruction/results/{name}")


def test_several_or_no_volumes_without_dataset(tmp_path, nabu_file) -> None:
    message = refused(nabu_file)
    assert message.endswith(
        "holds 4 arrays of 3 or more dimensions: "
        "/entry0000/reconstruction/results/data (3-D float32 (4, 5, 6)), "
        "/entry0000/reconstruction/results/many (6-D uint8 (1, 1, 1, 1, 1, 1)), "
        "/entry0000/reconstruction/results/names (3-D |S1 (3, 3, 3)), "
        "/entry0000/reconstruction/results/pairs (3-D "
        "[('a', '<i4'), ('b', '<f4')] (2, 2, 2)); pick one with --dataset."
    )
    with h5py.File(tmp_path / "flat.h5", "w") as file:
        file["image"] = np.zeros((5, 6), "f4")
    assert "holds no array of 3 or more dimensions (it holds /image (2-D" in refused(
        tmp_path / "flat.h5"
    )


def test_not_hdf5_and_missing_file_on_the_command_line(tmp_path, capsys) -> None:
    out = tmp_path / "out.ome.zarr"
    (tmp_path / "scan.h5").write_bytes(b"not an HDF5 file at all")
    assert_refused(
        capsys,
        out,
        [tmp_path / "scan.h5", out],
        "scan.h5",
        "is not a readable HDF5 file",
    )
    assert_refused(
        capsys, out, [tmp_path / "gone.nxs", out], "gone.nxs", "does not exist"
    )
    write_hdf5_volume(tmp_path / "two.h5", (3, 4, 5), dataset="a")
    with h5py.File(tmp_path / "two.h5", "a") as file:
        file["b"] = np.zeros((3, 4, 5), "u2")
    assert_refused(
        capsys, out, [tmp_path / "two.h5", out], "holds 2 arrays", "--dataset"
    )


def test_filter_that_cannot_be_decoded(tmp_path) -> None:
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as file:
        data = np.arange(4 * 5 * 6, dtype="f4").reshape(4, 5, 6)
        file.create_dataset(
            NABU_DATASET, data=data, chunks=(2, 5, 6), compression=BLOSC
        )
    assert filtered_chunks(path) == {True}
    source = open_source(path)  # while Blosc is registered
    assert h5py.h5z.unregister_filter(hdf5plugin.BLOSC_ID)
    try:
        message = refused(path)
        assert "is compressed with HDF5 filter 32001 ('blosc')" in message
        with pytest.raises(ConversionError) as caught:
            read(source, (slice(0, 4), slice(0, 5), slice(0, 6)))
        message = str(caught.value)
        assert "\n" not in message and "filter" in message and "cannot read" in message
    finally:
        hdf5plugin.register("blosc")
    assert read(source, (slice(0, 1),) * 3).shape == (1, 1, 1)


def test_large_chunks_are_named_in_the_notes(tmp_path, monkeypatch) -> None:
    path = write_hdf5_volume(tmp_path / "v.h5", (4, 5, 6), chunks=(2, 5, 6))
    assert open_source(path).notes() == (f"read dataset /{NABU_DATASET}",)
    monkeypatch.setattr(hdf5, "LARGE_CHUNK_BYTES", 2 * 5 * 6 * 4 - 1)
    assert "its HDF5 chunks (2, 5, 6) are" in open_source(path).notes()[1]


# --------------------------------------------------------------------------
# What a read costs: memory, and the bytes it reads from the file
# --------------------------------------------------------------------------


class CountingFile(io.FileIO):
    """A file that records every read: where it starts, how many bytes."""

    def __init__(self, path) -> None:
        super().__init__(path, "r")
        self.reads: list[tuple[int, int]] = []

    def readinto(self, buffer) -> int:
        start = self.tell()
        n = super().readinto(buffer)
        self.reads.append((start, n))
        return n


def data_ranges(path: Path, dataset: str) -> list[tuple[slice, tuple[slice, ...]]]:
    """Byte range in the file and voxel region of each chunk of ``dataset``
    (one for a contiguous dataset)."""
    with h5py.File(path, "r") as file:
        dset = file[dataset]
        if dset.chunks is None:
            start = dset.id.get_offset()
            whole = tuple(slice(0, n) for n in dset.shape)
            return [(slice(start, start + dset.id.get_storage_size()), whole)]
        found = []
        for index in range(dset.id.get_num_chunks()):
            info = dset.id.get_chunk_info(index)
            region = tuple(
                slice(a, a + c)
                for a, c in zip(info.chunk_offset, dset.chunks, strict=True)
            )
            found.append(
                (slice(info.byte_offset, info.byte_offset + info.size), region)
            )
        return found


def overlaps(a: tuple[slice, ...], b: tuple[slice, ...]) -> bool:
    return all(x.start < y.stop and y.start < x.stop for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("layout", "block"),
    [
        ("contiguous", (4, 8, 19)),
        ("chunked", (4, 8, 8)),  # blocks are the chunks
        ("gzip", (8, 8, 16)),  # blocks of whole chunks
        ("blosc", (3, 7, 19)),  # blocks that split chunks
    ],
)
def test_each_chunk_is_read_once_per_read_that_needs_it(
    tmp_path, monkeypatch, layout, block
) -> None:
    """Reading the whole volume by blocks reads each chunk's bytes once for
    each block that overlaps it: once when the blocks are whole chunks, and
    no voxel is read twice from a contiguous dataset."""
    path = write_hdf5_volume(tmp_path / "v.h5", ODD, **LAYOUTS[layout])
    source = open_source(path)
    files: list[CountingFile] = []

    def counting(path):
        files.append(CountingFile(path))
        return h5py.File(files[-1], "r", rdcc_nbytes=hdf5.CHUNK_CACHE_BYTES)

    monkeypatch.setattr(hdf5, "open_file", counting)
    volume = np.empty(ODD, "f4")
    blocks = regions(ODD, block)
    for region in blocks:
        source.read(region, volume[region])
    for file in files:
        file.close()  # h5py leaves a file object it was given open
    assert len(files) == len(blocks)
    assert np.array_equal(volume, seeded_volume(ODD))
    chunks = data_ranges(path, source.dataset)
    data = np.zeros(path.stat().st_size, bool)
    for where, _ in chunks:
        data[where] = True
    # How many times each byte was read, by the reads of voxels: those that
    # start in a chunk (HDF5 reads metadata ahead, into the voxels after it).
    counts = np.zeros(path.stat().st_size, np.int64)
    for start, n in (r for f in files for r in f.reads):
        if n and data[start]:
            counts[start : start + n] += 1
    for where, chunk in chunks:
        expected = (
            1 if layout == "contiguous" else sum(overlaps(chunk, b) for b in blocks)
        )
        assert set(counts[where]) == {expected}, (chunk, set(counts[where]))
        if block[0] % 4 == 0 and block[1] % 8 == 0 and block[2] % 8 == 0:
            assert expected == 1


@pytest.mark.parametrize("layout", ["contiguous", "blosc"])
def test_read_holds_little_more_than_its_window(tmp_path, layout) -> None:
    """Python's allocations while reading a window do not grow with the width
    of the volume (tracemalloc: numpy's arrays, not HDF5's own buffers)."""
    window = (slice(1, 5), slice(3, 19), slice(40, 72))
    out = np.empty((4, 16, 32), "f4")
    peaks = []
    for width in (128, 4096):
        options = {"chunks": (2, 8, 16), "compression": BLOSC}
        path = write_hdf5_volume(
            tmp_path / f"{width}.h5",
            (6, 24, width),
            **(options if layout == "blosc" else {}),
        )
        source = open_source(path)
        tracemalloc.start()
        source.read(window, out)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert np.array_equal(out, seeded_volume((6, 24, width))[window])
    assert max(peaks) < 64 * 1024, peaks  # the window is 8 KiB; a row of 4096, 16 KiB


def test_reordered_read_holds_one_more_window(tmp_path) -> None:
    path = write_hdf5_volume(tmp_path / "v.h5", (2048, 8, 6), labels=("x", "y", "z"))
    source = open_source(path)
    region = (slice(0, 6), slice(0, 8), slice(100, 1100))
    out = np.empty((6, 8, 1000), "f4")
    tracemalloc.start()
    source.read(region, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.nbytes <= peak < out.nbytes + 64 * 1024
    assert np.array_equal(out, seeded_volume((2048, 8, 6)).transpose(2, 1, 0)[region])


RSS_SCRIPT = """
import resource, sys
import numpy as np
from data_helpers.convert.sources import open_source

source = open_source(sys.argv[1])
out = np.empty((8, 16, 32), source.dtype)
source.read((slice(0, 8), slice(0, 16), slice(0, 32)), out)  # HDF5's first buffers
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
source.read((slice(0, 8), slice(100, 116), slice(4000, 4032)), out)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)  # ru_maxrss is in KiB on Linux
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB: Linux")
@pytest.mark.parametrize("layout", ["contiguous", "blosc"])
def test_read_resident_memory_in_a_subprocess(tmp_path, layout) -> None:
    """What HDF5 allocates outside Python's allocator: the peak resident
    memory of a process reading a window of 16 KiB from a volume whose 8
    planes of 256 x 8192 are 64 MiB grows by far less than one plane."""
    shape = (8, 256, 8192)
    options = {"chunks": (8, 16, 32), "compression": BLOSC}
    path = write_hdf5_volume(
        tmp_path / "v.h5", shape, **(options if layout == "blosc" else {})
    )
    env = {"PYTHONPATH": str(REPO), "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    grew = int(result.stdout)
    assert grew < 4 << 20, grew  # one plane: 8 MiB


# --------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------


def test_converts_a_nabu_volume(tmp_path) -> None:
    shape = (33, 47, 65)
    path = write_hdf5_volume(
        tmp_path / "rec.hdf5", shape, seed=5, chunks=(8, 32, 32), compression="gzip"
    )
    out = tmp_path / "rec.ome.zarr"
    convert_stack(path, out, chunks=16, progress=False)
    level0 = levels_of(out)[0]
    assert level0.dtype == np.float32
    assert np.array_equal(level0, seeded_volume(shape, seed=5))


def test_writer_lays_out_the_volume_as_nabu(tmp_path) -> None:
    """The groups and attributes nabu's NXProcessWriter gives its volume."""
    path = write_hdf5_volume(tmp_path / "rec.h5", (3, 4, 5), seed=2)
    with h5py.File(path, "r") as file:
        entry, process = file["entry0000"], file["entry0000/reconstruction"]
        results = process["results"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry.attrs["default"] == "/entry0000/reconstruction/results"
        assert process.attrs["NX_class"] == "NXprocess"
        assert process["program"][()] == b"nabu"
        assert results.attrs["NX_class"] == "NXdata"
        assert results.attrs["signal"] == "data"
        assert results["data"].attrs["interpretation"] == "image"
        assert results["data"].dtype == "float32"
        assert np.array_equal(results["data"][:], seeded_volume((3, 4, 5), seed=2))
    assert not np.array_equal(
        seeded_volume((3, 4, 5), seed=2), seeded_volume((3, 4, 5))
    )
