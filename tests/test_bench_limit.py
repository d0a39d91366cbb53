"""The benchmark's ``limit`` (benchmarks/limit.py): the same bytes as the converter."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

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
    convert_stack(tmp_path / "slices", tmp_path / "book", chunks=16, levels=3)
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
