"""Tests for data_helpers.convert: TIFF slices to a multiscale OME-Zarr image."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from data_helpers.convert import (
    PIECE_VOXELS,
    STATE_FOLDER,
    ConversionError,
    Output,
    Plan,
    Task,
    TaskKind,
    check_whole_units,
    convert_stack,
    default_levels,
    main,
    natural_key,
    open_source,
)
from data_helpers.pyramid import downsample_mean, level_shape
from tests.convert.helpers import random_volume, write_slices
from tests.ome_readers import reader_problems

REPO = Path(__file__).resolve().parents[1]
ODD_SHAPE = (33, 47, 65)
C128 = (128,) * 3  # chunks of 128^3


@pytest.fixture(scope="module")
def odd_stack(tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("odd") / "slices"
    volume = random_volume(ODD_SHAPE, seed=1)
    write_slices(folder, volume, rowsperstrip=4)
    return folder, volume


@pytest.fixture(scope="module")
def odd_output(odd_stack, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("odd-out") / "odd.ome.zarr"
    convert_stack(odd_stack[0], output, chunks=16, progress=False)
    return output


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


# --------------------------------------------------------------------------
# The numbers
# --------------------------------------------------------------------------


def test_natural_order() -> None:
    names = ["slice_10.tif", "slice_2.tif", "slice_1.tif"]
    assert sorted(names, key=natural_key) == [
        "slice_1.tif",
        "slice_2.tif",
        "slice_10.tif",
    ]


def test_level_0_is_the_slices_bit_for_bit(odd_stack, odd_output) -> None:
    """Plane z of level 0 is slice file number z (natural order: 2 before 10)."""
    assert np.array_equal(levels_of(odd_output)[0], odd_stack[1])
    assert zarr.open_array(odd_output / "0").dtype == np.uint16


def test_lower_levels_are_block_means_on_odd_shapes(odd_output) -> None:
    levels = levels_of(odd_output)
    assert len(levels) == default_levels(ODD_SHAPE, 16) == 4  # 65, 33, 17, 9
    for k in range(1, len(levels)):
        assert levels[k].shape == level_shape(ODD_SHAPE, k)
        assert np.array_equal(levels[k], downsample_mean(levels[k - 1])), k
    assert zarr.open_array(odd_output / "1").chunks == (16, 16, 16)


def test_compressed_tiled_slices_read_the_same(tmp_path, odd_stack) -> None:
    """Slices tifffile must decode (compressed, tiled) give the same level 0."""
    volume = odd_stack[1]
    write_slices(tmp_path / "in", volume, tile=(16, 16), compression="zlib")
    convert_stack(tmp_path / "in", tmp_path / "out.zarr", chunks=16, progress=False)
    assert np.array_equal(levels_of(tmp_path / "out.zarr")[0], volume)


def test_many_levels_from_unit_tasks(tmp_path) -> None:
    """Levels 2+ are made chunk by chunk from the level above (8-voxel chunks)."""
    volume = random_volume((24, 19, 40), seed=3, dtype="uint8")
    write_slices(tmp_path / "in", volume)
    result = convert_stack(
        tmp_path / "in", tmp_path / "o.zarr", chunks=4, levels=5, progress=False
    )
    levels = levels_of(tmp_path / "o.zarr")
    assert len(levels) == 5 and result.finished
    assert np.array_equal(levels[0], volume)
    for k in range(1, 5):
        assert np.array_equal(levels[k], downsample_mean(levels[k - 1])), k


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------


def open_in_readers(path: Path) -> None:
    """ome-zarr-models, ome-zarr-py and ngff-zarr (validated) read every level,
    with nothing logged, and the axes are z, y, x in micrometer."""
    assert reader_problems(path) == {}


def test_output_opens_in_ome_zarr_py_and_ngff_zarr(odd_output) -> None:
    open_in_readers(odd_output)
    attrs = zarr.open_group(odd_output, mode="r").attrs.asdict()
    datasets = attrs["multiscales"][0]["datasets"]
    assert datasets[1]["coordinateTransformations"] == [
        {"type": "scale", "scale": [2.0, 2.0, 2.0]},
        {"type": "translation", "translation": [0.5, 0.5, 0.5]},
    ]
    assert "null" not in (odd_output / ".zattrs").read_text()


def test_workers_run_tasks_at_once_in_threads_of_this_process(
    odd_stack, odd_output, tmp_path, monkeypatch, capsys
):
    """``workers=2`` without a client: the first two block tasks meet at a
    barrier that one thread alone never passes, each in a thread of this
    process that is not the caller's; the bar counts every task, and the
    levels are those of one worker."""
    import threading

    from data_helpers.convert import run

    barrier, lock = threading.Barrier(2, timeout=20), threading.Lock()
    threads: list[int] = []
    block = run.convert_block

    def meeting(*args, **kwargs):
        with lock:
            threads.append(threading.get_ident())
            first_two = len(threads) <= 2
        if first_two:
            barrier.wait()  # BrokenBarrierError after 20 s if tasks run one by one
        return block(*args, **kwargs)

    monkeypatch.setattr(run, "convert_block", meeting)
    output = tmp_path / "threads.ome.zarr"
    result = convert_stack(odd_stack[0], output, chunks=16, workers=2)
    assert len(set(threads[:2])) == 2
    assert threading.get_ident() not in threads
    err, total = capsys.readouterr().err, result.tasks_total
    assert "Converting: 100%|" in err and f"{total}/{total}" in err
    for mine, reference in zip(levels_of(output), levels_of(odd_output), strict=True):
        assert np.array_equal(mine, reference)


# --------------------------------------------------------------------------
# Sharding: parallel tasks own whole shards
# --------------------------------------------------------------------------


def test_parallel_sharded_output_equals_unsharded(odd_stack, odd_output, tmp_path):
    """Two worker threads, 8^3 chunks in 16^3 shards: 3 x 3 x 5 = 45 shards at
    level 0. Every voxel of every level equals the unsharded output."""
    output = tmp_path / "sharded.ome.zarr"
    result = convert_stack(
        odd_stack[0],
        output,
        chunks=8,
        shards=16,
        zarr_format=3,
        levels=3,
        workers=2,
        progress=False,
    )
    array = zarr.open_array(output / "0", mode="r")
    assert array.shards == (16, 16, 16) and array.chunks == (8, 8, 8)
    shard_files = [p for p in (output / "0").rglob("*") if p.is_file()]
    assert len(shard_files) == 3 * 3 * 5 + 1  # shards, and zarr.json
    assert result.tasks_total > 2
    for sharded, plain in zip(
        levels_of(output), levels_of(odd_output)[:3], strict=True
    ):
        assert np.array_equal(sharded, plain)
    open_in_readers(output)


def test_no_shard_file_is_written_twice(odd_stack, odd_output, tmp_path, monkeypatch):
    """Two workers (threads, so the store can be watched): each shard file is
    written exactly once. A task writing part of a shard would make zarr read
    and rewrite the whole shard, so a shard shared by tasks is written twice,
    and by two tasks at once, one's data is lost."""
    from distributed import Client

    from data_helpers.cluster import local_cluster

    writes: list[str] = []
    original = zarr.storage.LocalStore.set

    async def recording_set(self, key, value):
        writes.append(f"{self.root}/{key}")
        return await original(self, key, value)

    monkeypatch.setattr(zarr.storage.LocalStore, "set", recording_set)
    output = tmp_path / "sharded.ome.zarr"
    with (
        local_cluster(2) as cluster,
        Client(cluster) as client,
    ):
        convert_stack(
            odd_stack[0],
            output,
            chunks=8,
            shards=16,
            zarr_format=3,
            levels=4,
            client=client,
            progress=False,
        )
    shard_writes = [k for k in writes if "/c/" in k]  # not metadata
    assert len(shard_writes) > 45
    assert sorted(shard_writes) == sorted(set(shard_writes))
    for sharded, plain in zip(levels_of(output), levels_of(odd_output), strict=True):
        assert np.array_equal(sharded, plain)


def test_every_task_writes_whole_shards_and_no_shard_twice() -> None:
    """The plan gives each unit (chunk or shard) of each level to one task."""
    plan = Plan(
        shape=(70, 100, 90),
        dtype="uint16",
        chunks=(8,) * 3,
        levels=4,
        zarr_format=3,
        shards=(16,) * 3,
    )
    owners: dict[tuple, Task] = {}
    for task in plan.tasks():
        for unit in units_written(plan, task):
            assert unit not in owners, f"{unit} written by {owners[unit]} and {task}"
            owners[unit] = task
    for level, shape in enumerate(plan.level_shapes()):
        grid = [-(-n // 16) for n in shape]
        assert sum(1 for u in owners if u[0] == level) == np.prod(grid)


def units_written(plan: Plan, task: Task) -> list[tuple[int, ...]]:
    """(level, i, j, k) of every shard a task writes, from its region.

    A block task writes its region of level 0 and the half of it in level 1.
    """
    if task.kind is TaskKind.UNIT:
        return [(task.level, *task.index)]
    written = []
    for level in (0, 1):
        ranges = [
            range(s.start // 2**level // unit, -(-s.stop // 2**level // unit))
            for s, unit in zip(task.region, plan.unit, strict=True)
        ]
        written += [(level, *u) for u in itertools.product(*ranges)]
    return written


def test_write_outside_whole_units_is_refused() -> None:
    check_whole_units((slice(0, 16), slice(16, 20)), (32, 20), 16)  # edge: fine
    with pytest.raises(RuntimeError, match="whole 16-voxel units"):
        check_whole_units((slice(0, 16), slice(8, 16)), (32, 32), 16)
    with pytest.raises(RuntimeError, match="whole 16-voxel units"):
        check_whole_units((slice(0, 8), slice(0, 16)), (32, 32), 16)


# --------------------------------------------------------------------------
# Interrupted and resumed
# --------------------------------------------------------------------------


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
    """The command line in a subprocess: as is, ``slow``, or run by ``script``."""
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


def test_resume_after_sigkill_gives_identical_output(tmp_path) -> None:
    volume = random_volume((64, 64, 48), seed=5)
    write_slices(tmp_path / "in", volume, rowsperstrip=8)
    reference = tmp_path / "reference" / "image.ome.zarr"
    reference.parent.mkdir()
    convert_stack(tmp_path / "in", reference, chunks=8, progress=False)

    output = tmp_path / "image.ome.zarr"
    done = output / STATE_FOLDER / "done"
    process = cli(
        str(tmp_path / "in"),
        str(output),
        "--chunks",
        "8",
        slow=True,
    )
    kill_once(process, lambda: len(list(done.iterdir())) if done.is_dir() else 0, 3)
    finished_before = {p.name: p.stat().st_mtime_ns for p in done.iterdir()}
    total = len(
        Plan(
            shape=(64, 64, 48),
            dtype="uint16",
            chunks=(8,) * 3,
            levels=default_levels((64, 64, 48), 8),
        ).tasks()
    )
    assert 3 <= len(finished_before) < total
    # Killed: not a valid-looking image yet (no multiscales metadata).
    assert "multiscales" not in zarr.open_group(output, mode="r").attrs

    # Level-0 chunk files of finished block tasks (block-i-j-k: chunk 2i+a, ...).
    blocks = [
        tuple(int(n) for n in name.split("-")[1:])
        for name in finished_before
        if name.startswith("block")
    ]
    untouched = {
        path: path.stat().st_mtime_ns
        for i, j, k in blocks
        for a, b, c in np.ndindex(2, 2, 2)
        if (
            path := output / "0" / str(2 * i + a) / str(2 * j + b) / str(2 * k + c)
        ).is_file()
    }
    assert untouched
    result = convert_stack(tmp_path / "in", output, chunks=8, progress=False)
    assert result.finished
    assert result.tasks_skipped == len(finished_before)
    assert result.tasks_run == total - len(finished_before)
    for path, mtime in untouched.items():  # finished tasks were not redone
        assert path.stat().st_mtime_ns == mtime, path
    assert chunk_files(output) == chunk_files(reference)
    assert not (output / STATE_FOLDER).exists()

    again = cli(str(tmp_path / "in"), str(output), "--chunks", "8")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0
    assert "nothing to do" in out and out.count("\n") == 1


# The command line, whose writes hang (30 s) once the file $HANG_GATE exists,
# each hanging write first leaving a file beside it: a test can interrupt it
# while a task is surely part-way.
HANGING_COMMAND = """
import os, sys, threading, time
from pathlib import Path
from data_helpers.convert import cli, tasks

write_region, gate = tasks.write_region, Path(os.environ["HANG_GATE"])


def hanging_write_region(*args, **kwargs):
    if gate.exists():
        (gate.parent / f"hanging-{threading.get_ident()}").touch()
        time.sleep(30)
    write_region(*args, **kwargs)
    time.sleep(0.05)


tasks.write_region = hanging_write_region
sys.exit(cli.main(sys.argv[1:]))
"""


def test_ctrl_c_stops_at_once_with_one_line_and_resumes(tmp_path) -> None:
    """SIGINT (Ctrl-C) while a task is part-way, two workers: exit 130 at once
    (not after the running tasks), one line on stderr besides the progress
    bar (no traceback, nothing from zarr's threads), no metadata; the same
    command resumes into the chunks of an uninterrupted conversion."""
    volume = random_volume((64, 64, 48), seed=6)
    write_slices(tmp_path / "in", volume, rowsperstrip=8)
    reference = tmp_path / "reference" / "image.ome.zarr"
    reference.parent.mkdir()
    convert_stack(tmp_path / "in", reference, chunks=8, progress=False)

    output, gate = tmp_path / "image.ome.zarr", tmp_path / "gate" / "hang"
    gate.parent.mkdir()
    done = output / STATE_FOLDER / "done"
    args = (str(tmp_path / "in"), str(output), "--chunks", "8", "--workers", "2")
    process = cli(*args, script=HANGING_COMMAND, extra_env={"HANG_GATE": str(gate)})
    deadline = time.monotonic() + 60
    while not (done.is_dir() and len(list(done.iterdir())) >= 3):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    gate.touch()
    while not list(gate.parent.glob("hanging-*")):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    start = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - start < 10  # not after the hanging task's 30 s
    assert process.returncode == 130
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert [line for line in lines if not line.startswith("Converting")] == [
        "interrupted: run the same command again to resume."
    ], err
    assert out == ""
    assert "multiscales" not in zarr.open_group(output, mode="r").attrs
    again = cli(*args)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "converted" in out and "already done" in out
    assert chunk_files(output) == chunk_files(reference)


def test_stopping_after_some_tasks_then_resuming(odd_stack, odd_output, tmp_path):
    output = tmp_path / odd_output.name
    first = convert_stack(odd_stack[0], output, chunks=16, max_tasks=2, progress=False)
    assert not first.finished and first.tasks_run == 2
    assert "rerun to resume" in first.summary()
    second = convert_stack(odd_stack[0], output, chunks=16, progress=False)
    assert second.finished and second.tasks_skipped == 2
    assert second.tasks_run == second.tasks_total - 2
    assert chunk_files(output) == chunk_files(odd_output)


# --------------------------------------------------------------------------
# Bad input: one-line error naming the problem and the file, exit 2, nothing
# written
# --------------------------------------------------------------------------


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


def test_missing_and_empty_folders(tmp_path, capsys) -> None:
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys, out, [tmp_path / "nowhere", out], "nowhere", "does not exist"
    )
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no slices here")
    assert_refused(capsys, out, [tmp_path / "empty", out], "empty", "no *.tif")


def test_unreadable_tiff(tmp_path, capsys) -> None:
    write_slices(tmp_path / "in", random_volume((3, 8, 8)))
    (tmp_path / "in" / "slice_1.tif").write_bytes(b"not a tiff at all")
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys, out, [tmp_path / "in", out], "slice_1.tif", "not a readable TIFF"
    )


@pytest.mark.parametrize(
    ("odd_one", "fragment"),
    [
        (np.zeros((8, 9), "uint16"), "(8, 9) uint16"),
        (np.zeros((8, 8), "uint8"), "uint8"),
        (np.zeros((8, 8), "int16"), "int16"),  # the same size: only a tag differs
    ],
)
def test_slices_that_differ_from_the_first(tmp_path, capsys, odd_one, fragment) -> None:
    write_slices(tmp_path / "in", random_volume((3, 8, 8)))
    tifffile.imwrite(tmp_path / "in" / "slice_2.tif", odd_one, photometric="minisblack")
    if odd_one.dtype == np.int16:
        sizes = {p.stat().st_size for p in (tmp_path / "in").iterdir()}
        assert len(sizes) == 1  # so the header bytes, not the size, tell it apart
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys,
        out,
        [tmp_path / "in", out],
        "slice_2.tif",
        fragment,
        "first slice 'slice_0.tif'",
    )


def test_slices_of_the_first_ones_layout_are_not_parsed_again(
    tmp_path, monkeypatch
) -> None:
    """Slices with the first one's size and header bytes get its layout without
    tifffile (0.5 ms a slice); one with other header bytes is parsed."""
    from data_helpers.convert.sources import slices as module

    volume = random_volume((6, 40, 30), seed=6)
    write_slices(tmp_path / "in", volume)
    tifffile.imwrite(  # the same pixels and size, another description
        tmp_path / "in" / "slice_4.tif", volume[4], description="other"
    )
    parsed = [module.inspect_slice(p)[2] for p in module.find_slices(tmp_path / "in")]
    opened: list[str] = []
    tiff_file = tifffile.TiffFile

    def counting(path, *args, **kwargs):
        opened.append(Path(path).name)
        return tiff_file(path, *args, **kwargs)

    monkeypatch.setattr(module.tifffile, "TiffFile", counting)
    shape, dtype, slices = module.inspect_slices(tmp_path / "in")
    assert (shape, dtype) == ((6, 40, 30), np.uint16)
    assert opened == ["slice_0.tif", "slice_4.tif"]
    assert slices == parsed
    assert parsed[4].offset != parsed[0].offset  # its own layout, not the first's
    for plane, info in zip(volume, slices, strict=True):
        window = np.empty((40, 30), "uint16")
        module.read_window(window, info, 0, 0, 30)
        assert np.array_equal(window, plane)


def test_output_that_is_something_else(tmp_path, capsys, odd_stack) -> None:
    out = tmp_path / "out.ome.zarr"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out],
        "out.ome.zarr",
        "is not a conversion",
        "--overwrite",
    )
    # --overwrite never deletes a folder that is not Zarr data
    assert_refused(
        capsys, out, [odd_stack[0], out, "--overwrite"], "Refusing to delete"
    )


def test_output_of_other_input_needs_overwrite(tmp_path, capsys, odd_stack, odd_output):
    import shutil

    out = tmp_path / "copy.ome.zarr"
    shutil.copytree(odd_output, out)
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out, "--chunks", "8"],
        "copy.ome.zarr",
        "other slices or with other options",
    )
    code, stdout, _ = run_main(
        capsys, odd_stack[0], out, "--chunks", "8", "--overwrite"
    )
    assert code == 0 and "converted" in stdout


def test_resume_of_other_blocks_is_refused(tmp_path, capsys, odd_stack) -> None:
    """A done marker names a block task; an interrupted output whose blocks
    were cut otherwise (an older converter) is refused, not resumed wrongly."""
    import json

    out = tmp_path / "out.ome.zarr"
    convert_stack(odd_stack[0], out, chunks=8, max_tasks=2, progress=False)
    path = out / STATE_FOLDER / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["block"] == [16, 16, 80]  # what Plan.block_shape() says
    manifest["block"] = [16, 16, 16]
    path.write_text(json.dumps(manifest))
    assert_refused(capsys, out, [odd_stack[0], out, "--chunks", "8"], "other options")


def test_output_that_cannot_be_written(tmp_path, capsys, odd_stack) -> None:
    out = tmp_path / "no" / "such" / "folder" / "out.ome.zarr"
    assert_refused(
        capsys, out, [odd_stack[0], out], "cannot be written", str(out.parent)
    )
    # A parent that is a file cannot hold the output, whoever runs the test
    # (a read-only folder would not stop root, who runs CI).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out.ome.zarr"
    assert_refused(capsys, out, [odd_stack[0], out], "cannot be written")
    assert blocker.read_text() == "not a folder"


def test_slice_changed_or_missing_before_resume(tmp_path, capsys) -> None:
    volume = random_volume((12, 16, 16), seed=2)
    paths = write_slices(tmp_path / "in", volume)
    out = tmp_path / "out.ome.zarr"
    convert_stack(tmp_path / "in", out, chunks=4, max_tasks=1, progress=False)
    tifffile.imwrite(paths[5], volume[5] + 1)
    os.utime(paths[5], ns=(0, 10**9))
    assert_refused(
        capsys,
        out,
        [tmp_path / "in", out, "--chunks", "4"],
        "slice_5.tif",
        "changed",
        "--overwrite",
    )
    paths[5].unlink()
    assert_refused(
        capsys, out, [tmp_path / "in", out, "--chunks", "4"], "slice_5.tif", "missing"
    )


def test_chunks_and_shards_that_do_not_divide(tmp_path, capsys, odd_stack) -> None:
    out = tmp_path / "out.ome.zarr"
    args = [odd_stack[0], out, "--zarr-format", "3", "--chunks", "32"]
    assert_refused(
        capsys,
        out,
        [*args, "--shards", "48"],
        "--shards 48",
        "not a multiple of --chunks 32",
    )
    assert_refused(
        capsys, out, [odd_stack[0], out, "--shards", "64"], "needs --zarr-format 3"
    )
    assert_refused(capsys, out, [odd_stack[0], out, "--chunks", "15"], "--chunks 15")


def test_command_line_errors_exit_2_without_traceback(tmp_path) -> None:
    process = cli(str(tmp_path / "missing"), str(tmp_path / "out.ome.zarr"))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.count("\n") == 1 and "Traceback" not in err and "missing" in err
    assert not (tmp_path / "out.ome.zarr").exists()


def test_convert_stack_raises_conversion_error(tmp_path) -> None:
    with pytest.raises(ConversionError, match="does not exist"):
        convert_stack(tmp_path / "missing", tmp_path / "out.zarr", progress=False)


def test_tasks_carry_their_key_region_and_dependencies() -> None:
    """Block tasks tile level 0 without overlap; every dependency comes first."""
    plan = Plan(shape=ODD_SHAPE, dtype="uint16", chunks=(8,) * 3, levels=4)
    tasks = plan.tasks()
    covered = np.zeros(ODD_SHAPE, int)
    for task in tasks:
        if task.kind is TaskKind.BLOCK:
            assert task.key == ("block", *task.index) and not task.deps
            covered[task.region] += 1
    assert (covered == 1).all()
    seen: set = set()
    for task in tasks:
        assert set(task.deps) <= seen, task.key
        seen.add(task.key)
    level2 = [task for task in tasks if task.kind is TaskKind.UNIT]
    assert level2[0].key == ("level2", 0, 0, 0)
    # a block is as wide as the slices here (65 columns, rounded up to 80):
    # the 2x2x2 units of level 1 under level2-0-0-0 come from 2x2 blocks
    assert plan.block_shape() == (16, 16, 80)
    assert level2[0].deps == tuple(("block", a, b, 0) for a, b in np.ndindex(2, 2))
    assert level2[0].region == (slice(0, 8), slice(0, 8), slice(0, 8))
    assert level2[0].name == "level2-0-0-0"
    # with pieces of 8 x 8 x 16 voxels at most, blocks are 2U = 16 columns wide
    narrow = Plan(
        shape=ODD_SHAPE,
        dtype="uint16",
        chunks=(8,) * 3,
        levels=4,
        piece_voxels=8 * 8 * 16,
    )
    assert narrow.block_shape() == (16, 16, 16)
    level2 = [t for t in narrow.tasks() if t.kind is TaskKind.UNIT and t.level == 2]
    assert level2[0].deps == tuple(("block", *u) for u in np.ndindex(2, 2, 2))


def test_block_width_comes_from_the_piece_budget_not_the_slices() -> None:
    """128^3 chunks: blocks up to 2048 columns wide (pieces of 128 x 128 x 2048);
    256^3 shards: 512 (2U, the least); wider slices change neither."""
    assert PIECE_VOXELS == 128 * 128 * 2048
    for width, columns in ((1024, 1024), (2048, 2048), (4096, 2048), (7641, 2048)):
        plan = Plan(shape=(1024, 1024, width), dtype="uint16", chunks=C128, levels=3)
        assert plan.block_shape() == (256, 256, columns)
        sharded = Plan(
            shape=(1024, 1024, width),
            dtype="uint16",
            chunks=C128,
            levels=3,
            zarr_format=3,
            shards=(256,) * 3,
        )
        assert sharded.block_shape() == (512, 512, 512)
    one_level = Plan(shape=(64, 64, 300), dtype="uint16", chunks=C128, levels=1)
    assert one_level.block_shape() == (256, 256, 512)
    blocks = Plan(
        shape=(1024, 1024, 7641), dtype="uint16", chunks=C128, levels=3
    ).block_tasks()
    assert [t.region[2] for t in blocks[:4]] == [
        *(slice(x, x + 2048) for x in range(0, 6144, 2048)),
        slice(6144, 7641),
    ]


def test_task_bytes_is_what_a_task_holds() -> None:
    """A block task: a U x U x columns piece, its U x U x columns/2 of level 1
    and a read buffer of one piece's slice plus a row; a unit task: two units."""
    plan = Plan(shape=(8839, 7641, 7641), dtype="uint16", chunks=C128, levels=2)
    memory = plan.task_bytes()
    piece, lower = 128 * 128 * 2048, 128 * 128 * 1024
    assert memory["block"] == (piece + lower + 128 * 2048 + 7641) * 2
    assert memory["unit"] == 2 * 128**3 * 2
    sharded = Plan(
        shape=(64, 64, 64),
        dtype="uint8",
        chunks=(8,) * 3,
        levels=1,
        zarr_format=3,
        shards=(16,) * 3,
    )
    assert sharded.task_bytes() == {
        "block": 16 * 16 * 64 + 16 * 64 + 64,  # blocks of 32 x 32 x 64
        "unit": 2 * 16**3,
    }
    # an odd width: the block's level 1 is ceil(65 / 2) = 33 columns wide
    odd = Plan(shape=(16, 16, 65), dtype="uint8", chunks=(8,) * 3, levels=2)
    assert odd.task_bytes()["block"] == 8 * 8 * 65 + 8 * 8 * 33 + 8 * 65 + 65


def test_block_task_bytes_do_not_grow_with_the_slice_width() -> None:
    """Four times wider slices: the same bytes per block task (but one row)."""
    sharded_256 = {"chunks": C128, "levels": 4, "zarr_format": 3, "shards": (256,) * 3}
    narrow = Plan(shape=(1024,) * 3, dtype="uint16", **sharded_256).task_bytes()
    wide = Plan(shape=(1024, 4096, 4096), dtype="uint16", **sharded_256).task_bytes()
    assert wide["block"] - narrow["block"] == (4096 - 1024) * 2
    assert narrow["block"] == (256 * 256 * 512 + 256**3 + 256 * 512 + 1024) * 2


def block_task_peak(tmp_path: Path, width: int, **options) -> tuple[int, int]:
    """Traced peak bytes of the first block task of a sharded conversion, and
    what ``Plan.task_bytes()`` says it holds (NumPy reports its buffers to
    tracemalloc, and zarr's encoded bytes are Python objects)."""
    import tracemalloc

    from data_helpers.convert.state import FolderState
    from data_helpers.convert.tasks import convert_block

    folder, output = tmp_path / f"in-{width}", tmp_path / f"out-{width}.ome.zarr"
    write_slices(folder, random_volume((128, 128, width), seed=width), **options)
    kind = {"chunks": 32, "zarr_format": 3, "shards": 64, "levels": 2}
    convert_stack(folder, output, **kind, max_tasks=0, progress=False)  # the arrays
    source = open_source(folder)
    # pieces of 64 x 64 x 128 at most: blocks of 2S = 128 columns, narrower
    # than both widths, as 512 columns are for a stack of 1024-wide slices
    plan = Plan(
        shape=source.shape,
        dtype="uint16",
        chunks=(32,) * 3,
        levels=2,
        zarr_format=3,
        shards=(64,) * 3,
        piece_voxels=64 * 64 * 128,
    )
    assert plan.block_shape() == (128, 128, 128)
    task = plan.block_tasks()[0]
    tracemalloc.start()
    try:
        convert_block(Output.of(output), plan, source, task, FolderState(output))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, plan.task_bytes()["block"]


@pytest.mark.parametrize("options", [{}, {"compression": "zlib", "rowsperstrip": 8}])
def test_block_task_memory_is_bounded_by_shards_not_width(tmp_path, options) -> None:
    """Measured: a block task's peak stays within 3x its voxels (zarr encodes a
    shard beside them) and the same when the slices are four times wider."""
    narrow, bound = block_task_peak(tmp_path, 256, **options)
    wide, wide_bound = block_task_peak(tmp_path, 1024, **options)
    assert narrow < 3 * bound and wide < 3 * wide_bound
    assert wide < 1.1 * narrow, (narrow, wide)


def test_sharded_writes_hold_one_shard_at_a_time(tmp_path, monkeypatch) -> None:
    """A block task four shards wide writes its level 0 and level 1 one shard
    per call (zarr encodes every shard of a call at once), and the output is
    the block means of the slices all the same."""
    volume = random_volume((64, 64, 512), seed=4)
    write_slices(tmp_path / "in", volume)
    widths: list[int] = []
    setitem = zarr.Array.__setitem__

    def recording(array, selection, value):
        widths.append(selection[2].stop - selection[2].start)
        setitem(array, selection, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", recording)
    output = tmp_path / "out.ome.zarr"
    kind = {"chunks": 16, "zarr_format": 3, "shards": 32, "levels": 3}
    convert_stack(tmp_path / "in", output, **kind, workers=1, progress=False)
    plan = Plan(
        shape=volume.shape,
        dtype="uint16",
        chunks=(16,) * 3,
        levels=3,
        zarr_format=3,
        shards=(32,) * 3,
    )
    assert plan.block_shape() == (64, 64, 512)  # one block, 16 shards wide
    assert widths and max(widths) == 32, widths
    levels = levels_of(output)
    assert np.array_equal(levels[0], volume)
    assert np.array_equal(levels[1], downsample_mean(volume))


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


def test_tasks_need_only_the_state_interface(odd_stack, odd_output, tmp_path):
    """With another ConversionState the same graph writes the same levels and
    records its progress there, leaving no state folder in the output."""
    from data_helpers.convert.progress import progress_bar
    from data_helpers.convert.run import build_graph, run_tasks
    from data_helpers.convert.writing import create_arrays

    source = open_source(odd_stack[0])
    shape = source.shape
    plan = Plan(
        shape=shape,
        dtype="uint16",
        chunks=(16,) * 3,
        levels=default_levels(shape, 16),
    )
    output = tmp_path / "memory.ome.zarr"
    create_arrays(Output.of(output), plan)
    state = MemoryState()
    state.begin({"made": "in memory"})
    run_tasks(
        build_graph(Output.of(output), plan, source, state),
        None,
        1,
        progress_bar(1, False),
    )
    assert state.done() == {task.name for task in plan.tasks()}
    assert not (output / STATE_FOLDER).exists()
    for mine, reference in zip(levels_of(output), levels_of(odd_output), strict=True):
        assert np.array_equal(mine, reference)
    state.names.discard("block-0-0-0")  # a resumed run does only what is not done
    assert list(build_graph(Output.of(output), plan, source, state)) == [
        ("block", 0, 0, 0)
    ]
