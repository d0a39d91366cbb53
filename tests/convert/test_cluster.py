"""The converter on a real dask cluster (``--scheduler``) that loses a worker.

A scheduler and two single-threaded worker processes without nannies (a
killed worker stays dead) on 127.0.0.1, started in other folders than the
command line's, which names its input and output by relative paths. One
worker is killed with SIGKILL part-way: the conversion still finishes, with
the files (objects) and arrays of a conversion on threads of one process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.convert import Output, convert_stack
from data_helpers.convert import cluster as cluster_module
from data_helpers.remote import open_store
from tests.convert.helpers import (
    REPO,
    chunk_files,
    cli,
    random_volume,
    run_main,
    write_slices,
)
from tests.convert.test_s3 import objects

SHAPE = (128, 128, 128)
#: 16^3 chunks, no shards: 16 block tasks and 9 unit tasks.
OPTIONS = ("--chunks", "16", "--shards", "0")
TASKS = 25

# Imported by each worker (``dask worker --preload``, which may import it
# twice): 0.05 s after each write of a task, so that a worker can be killed
# part-way, and one line per write in a file named by the worker's process id.
SLOW_WORKER = """
import os, time
from pathlib import Path
from data_helpers.convert import tasks

write_region = getattr(tasks.write_region, "unslowed", tasks.write_region)
trace = Path(os.environ["TRACE_FOLDER"]) / str(os.getpid())


def slow_write_region(*args, **kwargs):
    write_region(*args, **kwargs)
    with trace.open("a") as file:
        file.write("write\\n")
    time.sleep(0.05)


slow_write_region.unslowed = write_region
tasks.write_region = slow_write_region
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-stack") / "slices"
    write_slices(folder, random_volume(SHAPE, seed=35), rowsperstrip=16)
    return folder


@pytest.fixture(scope="module")
def local(stack: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same conversion on threads of this process."""
    output = tmp_path_factory.mktemp("cluster-local") / "image.ome.zarr"
    result = convert_stack(stack, output, chunks=16, shards=0, progress=False)
    assert result.tasks_total == TASKS
    return output


def stop(processes: list[subprocess.Popen]) -> None:
    """Stop the processes this test started: SIGTERM to all, then SIGKILL to
    any that lingers."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start(
    args: list[str], folder: Path, log: str, **variables: str
) -> subprocess.Popen:
    """``python -m dask ARGS`` in ``folder`` with this environment (the AWS
    variables too) and ``variables``, its output in ``folder/log``."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "PYTHONPATH": str(REPO), **variables}
    with (folder / log).open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            cwd=folder,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def dask_cluster(folder: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and two slowed worker processes: the address and the workers.

    Every process is stopped on leaving, whatever happened.
    """
    from distributed import Client

    started: list[subprocess.Popen] = []
    scheduler_file = folder / "scheduler.json"
    try:
        started.append(
            start(
                [
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                folder / "scheduler",
                "scheduler.log",
            )
        )
        deadline = time.monotonic() + 30
        while not scheduler_file.exists():
            assert started[0].poll() is None, "the scheduler stopped"
            assert time.monotonic() < deadline, "no scheduler file"
            time.sleep(0.1)
        preload = folder / "slow_worker.py"
        preload.write_text(SLOW_WORKER)
        (folder / "trace").mkdir()
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            address = client.scheduler.address
            workers = [
                start(
                    [
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--local-directory",
                        str(folder / "workers" / str(n)),
                        "--preload",
                        str(preload),
                    ],
                    folder / "workers" / str(n),
                    "worker.log",
                    TRACE_FOLDER=str(folder / "trace"),
                )
                for n in (1, 2)
            ]
            started += workers
            client.wait_for_workers(2, timeout=30)
        yield address, workers
    finally:
        stop(started)


def writes_by(folder: Path, process: subprocess.Popen) -> int:
    """Writes the worker ``process`` made (its lines in the trace)."""
    trace = folder / "trace" / str(process.pid)
    return len(trace.read_text().splitlines()) if trace.exists() else 0


def convert_losing_a_worker(folder: Path, stack: Path, output: str) -> str:
    """Run the command line on the cluster with relative paths; SIGKILL one
    worker once it has written and some tasks are done; return its stderr."""
    workdir = folder / "client"
    workdir.mkdir()
    slices = os.path.relpath(stack, workdir)
    with dask_cluster(folder) as (address, workers):
        process = cli(slices, output, *OPTIONS, "--scheduler", address, cwd=workdir)
        state = Output.of(output if "://" in output else workdir / output).state()
        victim = workers[0]
        deadline = time.monotonic() + 40
        while writes_by(folder, victim) < 3 or len(state.done()) < 4:
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no work done"
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert len(state.done()) < TASKS and process.poll() is None  # part-way
        out, err = process.communicate(timeout=40)
        assert process.returncode == 0, err
        assert writes_by(folder, workers[1]) > 0
    assert "converted" in out and f"{TASKS} tasks run" in out, out
    assert f"{TASKS}/{TASKS}" in err  # the progress bar, on the client
    return err


def assert_same_arrays(group: zarr.Group, reference: Path) -> None:
    expected = zarr.open_group(reference, mode="r")
    keys = sorted(expected.array_keys())
    assert sorted(group.array_keys()) == keys and len(keys) == 4
    for key in keys:
        assert np.array_equal(group[key][:], expected[key][:]), key


def test_lost_worker_loses_nothing(stack, local, tmp_path) -> None:
    convert_losing_a_worker(tmp_path, stack, "image.ome.zarr")
    output = tmp_path / "client" / "image.ome.zarr"
    assert chunk_files(output) == chunk_files(local)  # same files, same bytes
    assert_same_arrays(zarr.open_group(output, mode="r"), local)
    assert not (output / ".conversion").exists()


def test_lost_worker_loses_nothing_on_s3(s3, stack, local, tmp_path) -> None:
    """The workers get the AWS variables of the local S3 server, as the
    command line does (``s3`` sets them in this process's environment)."""
    url = "s3://book/cluster/image.ome.zarr"
    convert_losing_a_worker(tmp_path, stack, url)
    assert objects(url) == chunk_files(local)  # same keys, same bytes
    assert_same_arrays(zarr.open_group(open_store(url), mode="r"), local)
    assert not Output.of(url).state().done()


def test_unreachable_scheduler_is_one_line(capsys, stack, tmp_path, monkeypatch):
    """No scheduler at the address: one line, exit 2, nothing written, quickly."""
    import socket

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    monkeypatch.setattr(cluster_module, "CONNECT_SECONDS", 1.0)
    output = tmp_path / "image.ome.zarr"
    began = time.monotonic()
    code, out, err = run_main(capsys, stack, output, "--scheduler", address)
    assert time.monotonic() - began < 10
    assert code == 2 and out == "", (out, err)
    assert err == (
        f"error: --scheduler {address}: no dask scheduler answered within 1 s: "
        "check the address, or start a scheduler (dask scheduler) and give the "
        "address it prints.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_scheduler_address_without_port_is_one_line(capsys, stack, tmp_path):
    output = tmp_path / "image.ome.zarr"
    code, out, err = run_main(capsys, stack, output, "--scheduler", "login1")
    assert code == 2 and out == "" and err.count("\n") == 1, (out, err)
    assert err.startswith("error: --scheduler login1 is not a scheduler address (")
    assert "such as tcp://10.0.0.5:8786." in err
    assert list(tmp_path.iterdir()) == []


def _lost() -> None:
    """A task whose worker dask gave up on (as after three killed workers)."""
    from types import SimpleNamespace

    from distributed.scheduler import KilledWorker

    worker = SimpleNamespace(address="tcp://127.0.0.1:1")  # the last to die
    raise KilledWorker("block-0-0-0", worker, 3)  # type: ignore[arg-type]


def test_a_cluster_that_loses_the_work_stops_with_one_line() -> None:
    import dask
    from distributed import Client, LocalCluster

    from data_helpers.convert.errors import ConversionError
    from data_helpers.convert.progress import progress_bar
    from data_helpers.convert.run import run_tasks

    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as local,
        Client(local) as client,
        progress_bar(1, False) as bar,
        pytest.raises(ConversionError, match="run the same command again to resume"),
    ):
        run_tasks({("block", 0): dask.delayed(_lost)()}, client, 1, bar)
