"""Running a conversion: check, plan, build the dask graph, run it, write metadata."""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import dask
import numpy as np
from dask.delayed import Delayed

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.labels import (
    check_label_slices,
    claim_label_name,
    open_label_target,
    unlist_label,
    write_label_metadata,
)
from data_helpers.convert.object_state import ObjectState, prepare_remote_output
from data_helpers.convert.plan import Plan, TaskKey, ZarrFormat, default_levels
from data_helpers.convert.progress import Bar, TaskProgress, progress_bar
from data_helpers.convert.slices import Slice, inspect_slices
from data_helpers.convert.state import (
    STATE_FOLDER,
    ConversionState,
    FolderState,
    Output,
    create_arrays,
    manifest_hash,
    manifest_of,
    output_bytes,
    output_name,
    prepare_output,
    remove_partial_writes,
    write_metadata,
)
from data_helpers.convert.tasks import (
    convert_block,
    convert_unit,
    decode_slice,
    free_scratch,
)
from data_helpers.ome import RGBA
from data_helpers.remote import is_remote

if TYPE_CHECKING:
    from distributed import Client


@dataclass
class Conversion:
    """What a call of ``convert_stack`` did."""

    output: Output
    shape: tuple[int, int, int]
    dtype: str
    level_shapes: list[tuple[int, ...]]
    tasks_total: int
    tasks_run: int
    tasks_skipped: int
    finished: bool
    bytes_written: int
    seconds: float
    nothing_to_do: bool = False
    #: What the summary calls the output (its folder name by default).
    name: str | None = None

    @property
    def input_bytes(self) -> int:
        """Bytes of the slices' voxels."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def summary(self) -> str:
        """One line: levels, shapes, bytes, seconds and speed."""
        name = self.name or output_name(self.output)
        if self.nothing_to_do:
            return (
                f"{name} is already a finished conversion of these slices: "
                "nothing to do."
            )
        shapes = ", ".join(str(s) for s in self.level_shapes)
        state = "converted" if self.finished else "stopped early, rerun to resume"
        speed = self.input_bytes / 1e9 / max(self.seconds, 1e-9)
        where = "stored" if isinstance(self.output, str) else "on disk"
        return (
            f"{name}: {state}; {len(self.level_shapes)} levels {shapes} "
            f"{self.dtype}; {self.tasks_run} tasks run, {self.tasks_skipped} already "
            f"done; {self.bytes_written / 1e6:.1f} MB {where}; {self.seconds:.1f} s; "
            f"{speed:.2g} GB/s of input"
        )


def _check_options(
    chunks: int,
    levels: int | None,
    workers: int,
    voxel_size: Sequence[float],
    zarr_format: int,
    shards: int | None,
) -> None:
    """Reject options that cannot work, with the fix in the message."""
    if chunks < 2 or chunks % 2:
        raise ConversionError(
            f"--chunks {chunks} must be an even number of voxels, 2 or more (e.g. 128)."
        )
    if levels is not None and levels < 1:
        raise ConversionError(f"--levels {levels} must be 1 or more.")
    if workers < 1:
        raise ConversionError(f"--workers {workers} must be 1 or more.")
    if len(voxel_size) != 3 or not all(v > 0 for v in voxel_size):
        raise ConversionError(
            f"--voxel-size {list(voxel_size)} needs three positive numbers (z, y, x)."
        )
    if zarr_format not in (2, 3):
        raise ConversionError(f"--zarr-format {zarr_format} must be 2 or 3.")
    if shards is not None:
        if zarr_format != 3:
            raise ConversionError(
                "--shards needs --zarr-format 3: Zarr format 2 has no shards."
            )
        if shards < chunks or shards % chunks:
            raise ConversionError(
                f"--shards {shards} is not a multiple of --chunks {chunks}: a shard "
                f"holds whole chunks, so use e.g. --shards {chunks * 4}."
            )


def scratch_slices(output: Path, plan: Plan) -> list[Slice]:
    """Where decode tasks put the decoded slices: raw voxels, read by rows.

    In the output's state folder, removed with it when the conversion ends.
    """
    folder = output / STATE_FOLDER / "decoded"
    folder.mkdir(parents=True, exist_ok=True)
    return [
        Slice(
            str(folder / f"{z}.raw"), 0, 0, 0, "<" if sys.byteorder == "little" else ">"
        )
        for z in range(plan.shape[0])
    ]


def build_graph(
    output: Output, plan: Plan, slices: list[Slice], state: ConversionState
) -> dict[TaskKey, Delayed]:
    """The tasks not yet done, as dask work keyed by task, dependencies first.

    Block tasks get all the slices and take theirs by their region (their
    coordinates); with JPEG 2000 slices, the decode tasks' scratch copies.
    """
    done, work = state.done(), dict[TaskKey, Delayed]()
    sources = slices
    if plan.decode and isinstance(output, Path):
        sources = scratch_slices(output, plan)
    # One node for the list of slices, given to every block task: dask does
    # not look through it once per task (for the full heart, 31,500 x 256).
    shared = dask.delayed(sources, name=f"slices-{uuid.uuid4().hex}", traverse=False)
    for task in plan.tasks():
        if task.name in done:
            continue
        pending = [work[d] for d in task.deps if d in work]
        if task.level == -2:
            paths = [source.path for source in sources[task.region[0]]]
            work[task.key] = dask.delayed(free_scratch, pure=False)(
                paths, task, state, *pending, dask_key_name=task.key
            )
        elif task.level == -1:
            z = task.index[0]
            work[task.key] = dask.delayed(decode_slice, pure=False)(
                slices[z],
                sources[z].path,
                plan,
                task,
                state,
                *pending,
                dask_key_name=task.key,
            )
        elif task.level == 0:
            work[task.key] = dask.delayed(convert_block, pure=False)(
                str(output), plan, shared, task, state, *pending, dask_key_name=task.key
            )
        else:
            work[task.key] = dask.delayed(convert_unit, pure=False)(
                str(output), plan, task, state, *pending, dask_key_name=task.key
            )
    return work


def run_tasks(
    targets: dict[TaskKey, Delayed], client: Client | None, workers: int, bar: Bar
) -> None:
    """Compute the ``targets`` on ``client``, or here on ``workers`` threads.

    Without a client, dask's threaded scheduler (one thread: its synchronous
    one) runs them in this process: no cluster to start, and none of a
    cluster's bookkeeping beside the work (a 2 GiB stack on 2 cores, 3 runs
    each, interleaved: median 19.3 s, against 20.6 s on a ``LocalCluster`` of
    2 worker threads).
    """
    if not targets:
        return None
    if client is None:
        scheduler = "threads" if workers > 1 else "synchronous"
        with TaskProgress(targets.keys(), bar):
            dask.compute(*targets.values(), scheduler=scheduler, num_workers=workers)
        return None
    from distributed import as_completed

    for future in as_completed(client.compute(list(targets.values()))):
        future.result()  # raises a task's error here
        bar.update(1)
    return None


def convert_stack(
    slices_folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    chunks: int = 128,
    levels: int | None = None,
    workers: int = 1,
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
    unit: str = "micrometer",
    overwrite: bool = False,
    zarr_format: ZarrFormat = 2,
    shards: int | None = None,
    client: Client | None = None,
    progress: bool = True,
    max_tasks: int | None = None,
    labels: str | None = None,
    label_colors: Mapping[int, RGBA] | None = None,
) -> Conversion:
    """Convert a folder of TIFF or JPEG 2000 slices into a multiscale OME-Zarr image.

    Slices are ``*.tif``/``*.tiff`` files, or JPEG 2000 files (``*.jp2``,
    ``*.jpx``, ``*.j2k``, ``*.j2c``), in natural order of their names;
    slice number ``z`` becomes plane ``z`` of level 0. Each level halves the
    one above (2x2x2 block mean, as ``downsample_mean``); ``levels`` defaults
    to as many as it takes for the smallest to fit in one chunk. Chunks are
    ``chunks`` voxels along each axis. ``zarr_format=3`` writes OME-Zarr 0.5,
    with shards of ``shards`` voxels along each axis when given.

    Tasks run on dask: on ``client`` if given, else in this process on
    ``workers`` threads (dask's threaded scheduler). ``progress`` is True (a
    bar on stderr, or in a Jupyter notebook a line of text updated in place)
    or False. ``max_tasks`` stops after that many tasks, as an
    interruption would. JPEG 2000 slices cannot be read by rows: each is
    decoded once, by a task of its own, into a scratch copy in the output's
    state folder that the other tasks read by rows.
    Rerunning the same call resumes; on a finished output it does nothing.
    Raises ConversionError, with nothing written, for bad input.

    With ``labels="NAME"`` the slices are a segmentation (integers) of the
    image ``output``, and become its label image ``output/labels/NAME``: the
    image's levels, voxel size and unit (``levels``, ``voxel_size`` and
    ``unit`` are not used), lower levels by ``downsample_mode``, and
    ``image-label`` metadata with ``label_colors`` (label value -> RGBA, 0 to
    255) if given. Its name joins the image's list of label images last.
    """
    start = time.perf_counter()
    remote = isinstance(output, str) and is_remote(output)  # never made a local Path
    folder = Path(slices_folder)
    output = output.rstrip("/") if remote else Path(output)  # type: ignore[union-attr]
    if remote and urlsplit(str(output)).scheme != "s3":
        raise ConversionError(
            f"{output} is a web address, which is read-only: write to a folder "
            "or to s3://BUCKET/NAME.ome.zarr."
        )
    _check_options(chunks, levels, workers, voxel_size, zarr_format, shards)
    target = None
    if labels is not None:
        if isinstance(output, str):
            raise ConversionError(
                f"--labels writes into an image on disk, not into {output}: convert "
                "the labels beside a local copy of the image, then upload it."
            )
        target = open_label_target(output, labels, zarr_format, levels)
    shape, dtype, slices = inspect_slices(folder)
    if slices[0].jpeg2k and isinstance(output, str):
        raise ConversionError(
            f"JPEG 2000 slices convert to a folder, not to {output}: convert to a "
            "local folder first, then upload it."
        )
    if target is not None:
        check_label_slices(target, shape, dtype, folder)
        levels, voxel_size, unit = (
            len(target.level_shapes),
            target.voxel_size,
            target.unit,
        )
        output = target.path
    name = f"{target.image.name}/labels/{target.name}" if target else None
    levels = levels or default_levels(shape, chunks)
    plan = Plan(
        shape,
        np.dtype(dtype).name,
        chunks,
        levels,
        zarr_format,
        shards,
        target is not None,
        slices[0].jpeg2k,
    )
    manifest = manifest_of(slices, plan, voxel_size, unit)
    if target is not None:
        claim_label_name(target, manifest, overwrite)
    state: ConversionState
    if isinstance(output, str):
        resume = prepare_remote_output(output, manifest, folder, overwrite)
        state = ObjectState(output)
    else:
        resume = prepare_output(output, manifest, folder, overwrite)
        state = FolderState(output)
    if target is not None and overwrite:
        unlist_label(target)  # listed again when rewritten, with its metadata
    if resume == "finished":
        state.clear()  # if killed after the metadata was written
        return _outcome(output, plan, {}, {}, start, name, nothing_to_do=True)
    state.begin(manifest)
    arrays = create_arrays(output, plan)
    if resume == "resume" and isinstance(output, Path):
        remove_partial_writes(output)
    work = build_graph(output, plan, slices, state)
    to_run = dict(list(work.items())[:max_tasks])
    with progress_bar(len(to_run), progress) as bar:
        run_tasks(to_run, client, workers, bar)
    if len(to_run) == len(work):  # the metadata last: now it is a valid image
        fingerprint = manifest_hash(manifest)
        if target is not None:
            write_label_metadata(target, arrays, fingerprint, label_colors)
        else:
            write_metadata(output, arrays, voxel_size, unit, fingerprint)
        state.clear()
    return _outcome(output, plan, work, to_run, start, name)


def _outcome(
    output: Output,
    plan: Plan,
    work: dict[TaskKey, Delayed],
    run: dict[TaskKey, Delayed],
    start: float,
    name: str | None,
    nothing_to_do: bool = False,
) -> Conversion:
    """What a call did: ``work`` the tasks that were left, ``run`` those it ran."""
    total = len(plan.tasks())
    return Conversion(
        output,
        plan.shape,
        plan.dtype,
        plan.level_shapes(),
        tasks_total=total,
        tasks_run=len(run),
        tasks_skipped=total - len(work),
        finished=len(run) == len(work),
        bytes_written=output_bytes(output),
        seconds=time.perf_counter() - start,
        nothing_to_do=nothing_to_do,
        name=name,
    )
