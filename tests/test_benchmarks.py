"""The benchmark code (benchmarks/): the limit does the converter's work, decodes are
counted in the workers, and each method gets its ratio to the limit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from data_helpers.convert import convert_stack
from data_helpers.files import data_files
from data_helpers.synthetic import write_jp2_stack, write_tiff_stack

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def load_limit():
    """benchmarks/limit.py as a module (benchmarks/ is a folder of scripts)."""
    name = "benchmarks_limit"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / "limit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


limit = load_limit()


def chunk_files(folder: Path) -> dict[str, bytes]:
    """Every chunk file under ``folder``, by its path inside it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in data_files(folder)}


@pytest.mark.parametrize("writer", [write_tiff_stack, write_jp2_stack])
@pytest.mark.parametrize("shape", [(40, 72, 56), (64, 64, 64)])
def test_limit_compresses_and_writes_the_chunks_the_converter_writes(
    tmp_path: Path, writer, shape: tuple[int, int, int]
) -> None:
    # Odd level shapes and edge chunks included: the limit does the same work.
    writer(tmp_path / "slices", shape, seed=3)
    # the limit writes Zarr format 2's file a chunk: OME-Zarr 0.4, not the default
    convert_stack(
        tmp_path / "slices",
        tmp_path / "book",
        chunks=16,
        levels=3,
        ome_zarr_version="0.4",
    )
    measured = limit.measure_limit(
        tmp_path / "slices", tmp_path / "limit", chunks=16, levels=3, workers=2
    )
    book = chunk_files(tmp_path / "book")
    assert chunk_files(tmp_path / "limit") == book
    assert measured.files == len(book)
    assert measured.compressed_bytes == sum(map(len, book.values()))
    assert all(measured.seconds_by_step[s] > 0 for s in limit.STEPS)


def test_limit_shares_the_work_among_the_workers_and_adds_the_writes() -> None:
    steps = {"read": 1.0, "means": 2.0, "compress": 5.0, "write": 3.0}
    measured = limit.Limit(workers=2, seconds_by_step=steps, compressed_bytes=10**9)
    assert measured.seconds == pytest.approx(8.0 / 2 + 3.0)
    # Writing (3 s) is slower than two workers compress (2.5 s): the disk limits.
    assert measured.disk_bound
    assert "the disk is the limit" in measured.summary()
    fast_disk = limit.Limit(workers=2, seconds_by_step={**steps, "write": 2.0})
    assert not fast_disk.disk_bound
    assert "the disk is the limit" not in fast_disk.summary()


def load_bench():
    """benchmarks/bench_convert.py, which imports its neighbours by name."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "benchmarks_bench_convert", BENCHMARKS / "bench_convert.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def load_inputs():
    """benchmarks/inputs.py, as bench_convert.py imports it."""
    load_bench()
    return sys.modules["inputs"]


def test_the_decode_count_sees_the_decodes_of_the_converters_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imagecodecs

    bench = load_bench()
    write_jp2_stack(tmp_path / "slices", (12, 32, 24), seed=1)
    monkeypatch.setattr(imagecodecs, "jpeg2k_decode", imagecodecs.jpeg2k_decode)
    counts = bench.count_jpeg2k_decodes()
    convert_stack(
        tmp_path / "slices", tmp_path / "out", chunks=8, workers=2, progress=False
    )
    assert bench.decodes_per_slice(tmp_path / "slices", counts) == {"1": 12}
    imagecodecs.jpeg2k_decode((tmp_path / "slices" / "slice_00003.jp2").read_bytes())
    imagecodecs.jpeg2k_decode(imagecodecs.jpeg2k_encode(np.zeros((4, 4), "u2")))
    assert bench.decodes_per_slice(tmp_path / "slices", counts) == {
        "1": 11,
        "2": 1,
        "unmatched": 1,
    }


def test_every_method_is_given_its_ratio_to_the_limit_of_its_input() -> None:
    bench = load_bench()
    runs = [
        {"size": size, "method": method, "wall_s": wall, "input_bytes": 10**9}
        | {"workers": workers, "shape": (1000, 1000, 500)}
        | {"peak_rss_bytes": 2**30, "peak_child_bytes": child, "output_bytes": 10**9}
        for size, workers, method, wall, child in [
            ("2GiB", 2, "limit", 4.0, None),
            ("2GiB", 2, "limit", 6.0, None),
            ("2GiB", 2, "book", 6.0, None),
            ("2GiB", 2, "book", 9.0, None),
            ("2GiB", 1, "limit", 8.0, None),
            ("2GiB", 1, "book-sharded-processes", 10.0, 2**29),
            ("8GiB", 2, "book", 30.0, None),
        ]
    ]
    rows = {(r["size"], r["workers"], r["method"]): r for r in bench.summarise(runs)}
    book = rows["2GiB", 2, "book"]
    assert book["best_to_limit"] == pytest.approx(6.0 / 4.0)
    assert book["median_to_limit"] == pytest.approx(7.5 / 5.0)
    assert book["peak_child_gib"] is None  # threads of one process: no worker
    # Against the limit with as many workers, and its worker process's peak.
    processes = rows["2GiB", 1, "book-sharded-processes"]
    assert processes["best_to_limit"] == pytest.approx(10.0 / 8.0)
    assert processes["peak_child_gib"] == pytest.approx(0.5)
    assert rows["8GiB", 2, "book"]["best_to_limit"] is None  # no limit there


def test_the_file_inputs_hold_the_voxels_of_the_slices(tmp_path: Path) -> None:
    import h5py
    import tifffile

    from data_helpers.synthetic import ct_like_volume

    inputs = load_inputs()
    shape = (6, 40, 24)
    inputs.write_multipage_tiff(tmp_path / "volume.tif", shape)
    inputs.write_hdf5(tmp_path / "volume.h5", shape)
    expected = ct_like_volume(shape, seed=0)
    with tifffile.TiffFile(tmp_path / "volume.tif") as tiff:
        assert [s.axes for s in tiff.series] == ["ZYX"]
        assert len(tiff.pages) == shape[0]  # a page per slice
        assert np.array_equal(tiff.series[0].asarray(), expected)
    with h5py.File(tmp_path / "volume.h5") as file:
        arrays: list[str] = []
        file.visititems(
            lambda name, node: (
                arrays.append(name) if isinstance(node, h5py.Dataset) else None
            )
        )
        assert arrays == [inputs.HDF5_DATASET]  # the only array: no --dataset
        assert np.array_equal(file[inputs.HDF5_DATASET][...], expected)


def test_the_rehearsal_takes_the_largest_input_that_fits_the_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = load_inputs()
    monkeypatch.setattr(inputs, "is_written", lambda size, kind: False)
    gib = 2**30
    # An input, an output as big and 2 GiB spare: 10 GiB needs 22 GiB.
    for free, size in [(22 * gib, "10GiB"), (34 * gib, "16GiB"), (66 * gib, "32GiB")]:
        monkeypatch.setattr(inputs, "disk_free", lambda free=free: free)
        assert inputs.rehearsal_size()[0] == size
    monkeypatch.setattr(inputs, "disk_free", lambda: 22 * gib - 1)
    with pytest.raises(SystemExit, match="not even the 10GiB rehearsal fits"):
        inputs.rehearsal_size()
