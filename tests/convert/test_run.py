"""Whole conversions (run.py): the numbers, readers, workers, Ctrl-C, the Python API."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import zarr

from data_helpers.convert import (
    STATE_FOLDER,
    ConversionError,
    convert_stack,
    default_levels,
)
from data_helpers.pyramid import downsample_mean, level_shape
from tests.convert.helpers import (
    ODD_SHAPE,
    chunk_files,
    cli,
    levels_of,
    open_in_readers,
    random_volume,
    write_slices,
)


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


def test_output_opens_in_ome_zarr_py_and_ngff_zarr(odd_output) -> None:
    open_in_readers(odd_output)
    # the default, OME-Zarr 0.5: the metadata under "ome" in zarr.json
    attrs = zarr.open_group(odd_output, mode="r").attrs.asdict()
    datasets = attrs["ome"]["multiscales"][0]["datasets"]
    assert datasets[1]["coordinateTransformations"] == [
        {"type": "scale", "scale": [2.0, 2.0, 2.0]},
        {"type": "translation", "translation": [0.5, 0.5, 0.5]},
    ]
    assert "null" not in (odd_output / "zarr.json").read_text()


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
    # unsharded: the default's shards of 32^3 make one block task of this
    # small stack, and the barrier needs two
    result = convert_stack(odd_stack[0], output, chunks=16, shards=0, workers=2)
    assert len(set(threads[:2])) == 2
    assert threading.get_ident() not in threads
    err, total = capsys.readouterr().err, result.tasks_total
    assert "Converting: 100%|" in err and f"{total}/{total}" in err
    for mine, reference in zip(levels_of(output), levels_of(odd_output), strict=True):
        assert np.array_equal(mine, reference)


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
    # Ctrl-C as in a terminal: a job started in the background by a shell
    # without job control inherits SIGINT ignored, and Python then installs
    # no KeyboardInterrupt handler; the command's own handling is under test.
    process = cli(
        *args,
        script=HANGING_COMMAND,
        extra_env={"HANG_GATE": str(gate)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
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


def test_convert_stack_raises_conversion_error(tmp_path) -> None:
    with pytest.raises(ConversionError, match="does not exist"):
        convert_stack(tmp_path / "missing", tmp_path / "out.zarr", progress=False)
