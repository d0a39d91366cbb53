"""Shared by the converter's tests: inputs (seeded volumes as TIFF or JPEG 2000
slices), what an output holds, the command line in a subprocess, and an
in-memory ``ConversionState``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import tifffile
import zarr

from data_helpers.convert import STATE_FOLDER, main
from tests.ome_readers import reader_problems

REPO = Path(__file__).resolve().parents[2]
ODD_SHAPE = (33, 47, 65)


def random_volume(shape, seed: int = 0, dtype="uint16") -> np.ndarray:
    """Seeded voxels over the dtype's whole range (they barely compress)."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)


def write_slices(folder: Path, volume: np.ndarray, **options) -> list[Path]:
    """One TIFF per z-slice, named so that plain sorting would get them wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for z, plane in enumerate(volume):
        path = folder / f"slice_{z}.tif"
        tifffile.imwrite(path, plane, photometric="minisblack", **options)
        paths.append(path)
    return paths


def write_jp2_slices(folder: Path, volume: np.ndarray, codec: str = "jp2") -> None:
    """One lossless JPEG 2000 file per z-slice, named as ``write_slices`` does."""
    folder.mkdir(parents=True, exist_ok=True)
    for z, plane in enumerate(volume):
        data = imagecodecs.jpeg2k_encode(plane, level=0, codecformat=codec)
        (folder / f"slice_{z}.{codec}").write_bytes(data)


def levels_of(path: Path) -> list[np.ndarray]:
    group = zarr.open_group(path, mode="r")
    return [group[str(k)][:] for k in range(len(list(group.array_keys())))]


def chunk_files(path: Path) -> dict[str, bytes]:
    """Every file of the image (not the converter's state), by relative path."""
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and STATE_FOLDER not in p.parts
    }


def open_in_readers(path: Path) -> None:
    """ome-zarr-models, ome-zarr-py and ngff-zarr (validated) read every level,
    with nothing logged, and the axes are z, y, x in micrometer."""
    assert reader_problems(path) == {}


# The command line, slowed down (0.05 s after each write of a task) so that a
# test can kill it part-way: the test patches the converter, which has no
# slow-down of its own.
SLOW_COMMAND = """
import sys, time
from data_helpers.convert import cli, tasks

write_region = tasks.write_region


def slow_write_region(*args, **kwargs):
    write_region(*args, **kwargs)
    time.sleep(0.05)


tasks.write_region = slow_write_region
sys.exit(cli.main(sys.argv[1:]))
"""


def kill_once(
    process: subprocess.Popen, finished: Callable[[], int], count: int
) -> None:
    """SIGKILL ``process`` as soon as ``finished()`` counts ``count`` done tasks."""
    deadline = time.monotonic() + 60
    while finished() < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL


def cli(
    *args: str,
    slow: bool = False,
    script: str | None = None,
    extra_env: dict[str, str] | None = None,
    **kwargs,
) -> subprocess.Popen:
    """The command line in a subprocess with this environment (the AWS variables
    too): as is, ``slow`` (0.05 s after each write), or run by ``script``."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(extra_env or {})}
    script = SLOW_COMMAND if slow else script
    command = ["-c", script] if script else ["-m", "data_helpers.convert"]
    return subprocess.Popen(
        [sys.executable, *command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        **kwargs,
    )


def run_main(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(capsys, output: Path, args, *fragments: str) -> None:
    before = sorted(output.parent.rglob("*")) if output.parent.exists() else []
    code, out, err = run_main(capsys, *args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    after = sorted(output.parent.rglob("*")) if output.parent.exists() else []
    assert after == before, "something was written"


class MemoryState:
    """The converter's state kept in memory: another ConversionState."""

    def __init__(self) -> None:
        self.saved: dict | None = None
        self.names: set[str] = set()

    def manifest(self) -> dict | None:
        return self.saved

    def begin(self, manifest: dict) -> None:
        self.saved = manifest

    def done(self) -> set[str]:
        return set(self.names)

    def mark_done(self, name: str) -> None:
        self.names.add(name)

    def clear(self) -> None:
        self.saved, self.names = None, set()
