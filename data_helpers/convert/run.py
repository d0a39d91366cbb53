"""Running a conversion: open input and output, plan, build the dask graph, run it."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dask
import numpy as np
from dask.delayed import Delayed
from numcodecs.blosc import MAX_BUFFERSIZE

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.labels import open_label_target
from data_helpers.convert.output import Output
from data_helpers.convert.plan import (
    Plan,
    TaskKey,
    TaskKind,
    ZarrFormat,
    default_levels,
)
from data_helpers.convert.progress import Bar, TaskProgress, progress_bar
from data_helpers.convert.sources import Source, open_source
from data_helpers.convert.sources.ome_zarr import OmeZarrImage
from data_helpers.convert.state import (
    STATE_FOLDER,
    ConversionState,
    manifest_hash,
    manifest_of,
)
from data_helpers.convert.target import ImageTarget, Target
from data_helpers.convert.tasks import (
    convert_block,
    convert_unit,
    free_staged,
    stage_plane,
)
from data_helpers.convert.writing import create_arrays
from data_helpers.ome import (
    DEFAULT_OME_ZARR_VERSION,
    OME_ZARR_VERSIONS,
    RGBA,
    UNIT,
    ZARR_FORMATS,
    OmeZarrVersion,
    space_unit,
    version_of_format,
)
from data_helpers.ome import ome_zarr_version as ome_zarr_version_of
from data_helpers.wording import count, number

if TYPE_CHECKING:
    from distributed import Client


#: Level 0's voxel size along z, y and x when none is given.
VOXEL_SIZE = (1.0, 1.0, 1.0)
#: Chunks a shard holds along each axis by default with OME-Zarr 0.5 and 0.6
#: (``shard_edge``): 256^3 shards of 128^3 chunks. Measured on 2026-12-07 on
#: the book's 2 and 8 GiB benchmark inputs (1024^3 and 1024 x 2048^2 uint16),
#: 2 workers, 3 levels: 8 times fewer files than unsharded (77 and 296 against
#: 588 and 2,340), 1.09 and 1.01 times the time of OME-Zarr 0.4 chunks, peaks
#: of 0.52 and 0.66 GiB; with 512^3 shards 1.26 times and 1.37 GiB at 2 GiB.
SHARD_CHUNKS: int | None = 2
#: Bytes of the largest chunk the output's codec (Blosc) compresses: 2 GiB - 17
#: (numcodecs stops at 2 GiB - 1 with "Codec does not support buffers of >
#: 2147483647 bytes", Blosc at 2 GiB - 17). Only chunks are compressed: a
#: shard is its chunks' compressed bytes one after the other, with an index of
#: 64-bit offsets, so a shard may be larger (tried once: zarr wrote and read
#: back a shard of two 1 GiB chunks of noise, 2,147,483,716 bytes stored).
CHUNK_BYTES = MAX_BUFFERSIZE


@dataclass
class Conversion:
    """What a call of ``convert_stack`` did."""

    output: Path | str
    shape: tuple[int, ...]
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
    #: Level 0's voxel size (z, y, x) and its unit, as the metadata says.
    voxel_size: tuple[float, ...] = VOXEL_SIZE
    unit: str = UNIT
    #: Whether ``voxel_size`` is the default, not one the caller gave.
    default_voxel_size: bool = False
    #: What the converter did beside converting: files skipped, folders made.
    notes: tuple[str, ...] = ()
    #: A migration of an OME-Zarr image (``migrate``), not a conversion.
    migration: bool = False

    @property
    def input_bytes(self) -> int:
        """Bytes of the slices' voxels."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def summary(self) -> str:
        """One line: levels, shapes, voxel size, tasks, bytes, seconds and speed."""
        name = self.name or Output.of(self.output).name
        notes = "".join(f"; {note}" for note in self.notes)
        what, made = "conversion of these slices", "converted"
        if self.migration:
            what, made = "migration of this image", "migrated"
        if self.nothing_to_do:
            return f"{name} is already a finished {what}: nothing to do{notes}."
        shapes = ", ".join(str(s) for s in self.level_shapes)
        state = made if self.finished else "stopped early, rerun to resume"
        speed = self.input_bytes / 1e9 / max(self.seconds, 1e-9)
        where = "stored" if Output.of(self.output).remote else "on disk"
        size = " x ".join(number(v) for v in self.voxel_size)
        default = " (the default: pass --voxel-size Z Y X)" * self.default_voxel_size
        return (
            f"{name}: {state}; {count(len(self.level_shapes), 'level')} {shapes} "
            f"{self.dtype}; voxel size {size} {self.unit}{default}; "
            f"{count(self.tasks_run, 'task')} run, {self.tasks_skipped} already "
            f"done; {self.bytes_written / 1e6:.1f} MB {where}; {self.seconds:.1f} s; "
            f"{speed:.2g} GB/s of input{notes}"
        )


def _check_options(
    chunks: int,
    levels: int | None,
    workers: int,
    voxel_size: Sequence[float],
    version: OmeZarrVersion,
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
    if shards is not None:
        if ZARR_FORMATS[version] != 3:
            raise ConversionError(
                f"--shards needs OME-Zarr 0.5 or 0.6 (--ome-zarr-version 0.5, or "
                f"--zarr-format 3), not {version}: Zarr format 2 has no shards."
            )
        if shards < chunks or shards % chunks:
            raise ConversionError(
                f"--shards {shards} is not a multiple of --chunks {chunks}: a shard "
                f"holds whole chunks, so use e.g. --shards {chunks * 4}."
            )


def largest_chunks(itemsize: int) -> int:
    """The largest even ``--chunks`` whose cubes the codec compresses."""
    edge = round((CHUNK_BYTES / itemsize) ** (1 / 3))
    while edge**3 * itemsize > CHUNK_BYTES or edge % 2:
        edge -= 1
    return edge


def check_plan(plan: Plan) -> None:
    """Reject a plan the input's dtype and shape make impossible (before any
    write): chunks the codec cannot compress, levels past one voxel."""
    itemsize = np.dtype(plan.dtype).itemsize
    chunk_bytes = math.prod(plan.chunks) * itemsize
    if chunk_bytes > CHUNK_BYTES:
        edge = " ".join(map(str, sorted(set(plan.chunks))))
        raise ConversionError(
            f"--chunks {edge} makes chunks of {chunk_bytes:,} bytes of "
            f"{plan.dtype}, more than the codec compresses in one chunk "
            f"({CHUNK_BYTES:,} bytes): use --chunks {largest_chunks(itemsize)} "
            "or less (--shards groups chunks into larger files)."
        )
    most = default_levels(plan.shape, 1, plan.axes)  # the last is one voxel
    if plan.levels > most:
        shape = " x ".join(map(str, plan.shape))
        raise ConversionError(
            f"--levels {plan.levels} is more than a {shape} input has: its level "
            f"{most - 1} is one voxel, and further levels would repeat it; pass "
            f"--levels {most} or fewer, or leave --levels out."
        )


def requested_version(
    zarr_format: int | None, ome_zarr_version: str | None
) -> OmeZarrVersion | None:
    """The OME-Zarr version asked for by ``--ome-zarr-version`` or its alias
    ``--zarr-format`` (2 is 0.4, 3 is 0.5; 0.6 is Zarr format 3 too).

    Neither: None (``DEFAULT_OME_ZARR_VERSION`` for an image, the image's own
    for its labels). Both must agree, else ConversionError saying which to drop.
    """
    if zarr_format is not None and zarr_format not in (2, 3):
        raise ConversionError(f"--zarr-format {zarr_format} must be 2 or 3.")
    if ome_zarr_version is None:
        if zarr_format is None:
            return None
        return version_of_format(zarr_format)
    try:
        version = ome_zarr_version_of(ome_zarr_version)
    except ValueError:
        raise ConversionError(
            f"--ome-zarr-version {ome_zarr_version} must be one of "
            f"{', '.join(OME_ZARR_VERSIONS)}."
        ) from None
    if zarr_format is not None and zarr_format != ZARR_FORMATS[version]:
        raise ConversionError(
            f"--zarr-format {zarr_format} contradicts --ome-zarr-version {version} "
            f"(OME-Zarr {version} is Zarr format {ZARR_FORMATS[version]}): drop "
            "--zarr-format, the version says the format."
        )
    return version


def shard_edge(version: OmeZarrVersion, chunks: int, shards: int | None) -> int | None:
    """The shard edge to write: ``shards`` as given (0: no shards), or by
    default ``SHARD_CHUNKS`` chunks along each axis with OME-Zarr 0.5 and 0.6
    (Zarr format 2, OME-Zarr 0.4, has no shards).
    """
    if shards is None:
        if SHARD_CHUNKS is None or ZARR_FORMATS[version] != 3:
            return None
        return chunks * SHARD_CHUNKS
    return shards or None


def build_graph(
    output: Output, plan: Plan, source: Source, state: ConversionState
) -> dict[TaskKey, Delayed]:
    """The tasks not yet done, as dask work keyed by task, dependencies first.

    Block tasks get the source and read their region of it (coordinates, not
    file names); with a staged input (JPEG 2000), the staged planes.
    """
    done, work = state.done(), dict[TaskKey, Delayed]()
    readable = source
    if plan.staged:
        readable = source.staged_copy(output.path / STATE_FOLDER / "decoded")
    # One node for the source, given to every block task: dask does not look
    # through its list of slices once per task (for the full heart, 31,500 x 256).
    shared = dask.delayed(readable, name=f"source-{uuid.uuid4().hex}", traverse=False)
    for task in plan.tasks():
        if task.name in done:
            continue
        pending = [work[d] for d in task.deps if d in work]
        run = {
            TaskKind.FREE: (free_staged, readable),
            TaskKind.STAGE: (stage_plane, source, Path(readable.location)),
            TaskKind.BLOCK: (convert_block, output, plan, shared),
            TaskKind.UNIT: (convert_unit, output, plan),
        }[task.kind]
        work[task.key] = dask.delayed(run[0], pure=False)(
            *run[1:], task, state, *pending, dask_key_name=task.key
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


def run_some(
    work: dict[TaskKey, Delayed],
    max_tasks: int | None,
    client: Client | None,
    workers: int,
    progress: bool,
) -> dict[TaskKey, Delayed]:
    """Run the first ``max_tasks`` of ``work`` (all if None) with a progress
    bar (``run_tasks``); return those it ran."""
    to_run = dict(list(work.items())[:max_tasks])
    with progress_bar(len(to_run), progress) as bar:
        run_tasks(to_run, client, workers, bar)
    return to_run


def convert_stack(
    slices_folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    chunks: int = 128,
    levels: int | None = None,
    workers: int = 1,
    voxel_size: Sequence[float] | None = None,
    unit: str = UNIT,
    overwrite: bool = False,
    zarr_format: ZarrFormat | None = None,
    shards: int | None = None,
    client: Client | None = None,
    progress: bool = True,
    max_tasks: int | None = None,
    labels: str | None = None,
    label_colors: Mapping[int, RGBA] | None = None,
    label_names: Mapping[int, str] | None = None,
    ome_zarr_version: OmeZarrVersion | None = None,
) -> Conversion:
    """Convert a folder of TIFF or JPEG 2000 slices into a multiscale OME-Zarr image.

    Slices are ``*.tif``/``*.tiff`` files, or JPEG 2000 files (``*.jp2``,
    ``*.jpx``, ``*.j2k``, ``*.j2c``), in natural order of their names;
    slice number ``z`` becomes plane ``z`` of level 0. Each level halves the
    one above (2x2x2 block mean, as ``downsample_mean``); ``levels`` defaults
    to as many as it takes for the smallest to fit in one chunk, and may not
    go past the level of one voxel. ``voxel_size`` defaults to ``VOXEL_SIZE``
    (the summary says so). Chunks are ``chunks`` voxels along each axis, at
    most ``CHUNK_BYTES`` (the codec's limit). ``ome_zarr_version`` is the
    OME-Zarr version written (``"0.4"``, ``"0.5"`` or ``"0.6"``; default
    ``DEFAULT_OME_ZARR_VERSION``); ``zarr_format`` says it too, 2 for 0.4 and
    3 for 0.5 (pass one, or both agreeing). With 0.5 or 0.6, shards of
    ``shards`` voxels along each axis when given. ``output`` is a folder or
    an ``s3://BUCKET/NAME.ome.zarr`` URL; one missing folder above it is made
    (the summary says so). An OME-Zarr image as input is migrated
    (``migrate``): its levels copied as they are into the new container.

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
    255) and ``label_names`` (label value -> name, written as ``properties``)
    if given. Its name joins the image's list of label images last.
    """
    start = time.perf_counter()
    out = Output.of(output)
    requested = requested_version(zarr_format, ome_zarr_version)
    default_voxel_size = voxel_size is None and labels is None
    try:
        unit = space_unit(unit)  # the specification's name: um -> micrometer
    except ValueError as error:
        raise ConversionError(f"--unit {error}") from None
    source = open_source(slices_folder)
    if isinstance(source, OmeZarrImage):  # an image: migrate it
        from data_helpers.convert import migrate  # it builds on this module

        migrate.refuse_conversion_options(levels, voxel_size, unit, labels)
        version = requested or DEFAULT_OME_ZARR_VERSION
        return migrate.migrate_image(
            source,
            out,
            version=version,
            chunks=chunks,
            shards=shard_edge(version, chunks, shards),
            workers=workers,
            overwrite=overwrite,
            client=client,
            progress=progress,
            max_tasks=max_tasks,
        )
    voxel_size = VOXEL_SIZE if voxel_size is None else voxel_size
    _check_label_options(labels, label_colors, label_names)
    target = open_target(
        out, labels, requested, levels, voxel_size, unit, label_colors, label_names
    )
    version = target.version
    shards = shard_edge(version, chunks, shards)
    _check_options(chunks, levels, workers, voxel_size, version, shards)
    if source.staged and out.remote:
        raise ConversionError(
            f"JPEG 2000 slices convert to a folder, not to {out}: convert to a "
            "local folder first, then upload it."
        )
    target.check_source(source)
    plan = plan_for(source, target, chunks, shards, ZARR_FORMATS[version])
    check_plan(plan)
    manifest = manifest_of(
        source.fingerprint(), plan, target.voxel_size, target.unit, version
    )
    resume = target.prepare(manifest, source.location, overwrite)
    state = target.output.state()
    notes = source.notes()
    if resume == "finished":
        state.clear()  # if killed after the metadata was written
        return _outcome(target, plan, {}, {}, start, notes, nothing_to_do=True)
    made = target.output.make_parent()
    if made is not None:
        notes += (f"made the folder {str(made)!r}",)
    state.begin(manifest)
    arrays = create_arrays(target.output, plan)
    if resume == "resume":
        target.output.remove_partial_writes()
    work = build_graph(target.output, plan, source, state)
    to_run = run_some(work, max_tasks, client, workers, progress)
    if len(to_run) == len(work):  # the metadata last: now it is a valid image
        target.finish(arrays, manifest_hash(manifest))
        state.clear()
    return _outcome(
        target, plan, work, to_run, start, notes, default_voxel_size=default_voxel_size
    )


def _check_label_options(
    labels: str | None,
    colors: Mapping[int, RGBA] | None,
    names: Mapping[int, str] | None,
) -> None:
    """Colours and names describe label values: only with ``labels``, and for
    the same values when both are given (ome-zarr-models wants that)."""
    if (colors or names) and labels is None:
        raise ConversionError(
            "--color and --name describe label values: they go with --labels NAME."
        )
    if colors and names and set(colors) != set(names):
        raise ConversionError(
            f"--color is given for label values {sorted(colors)} but --name for "
            f"{sorted(names)}: give both for the same label values."
        )


def open_target(
    output: Output,
    labels: str | None,
    version: OmeZarrVersion | None,
    levels: int | None,
    voxel_size: Sequence[float],
    unit: str,
    colors: Mapping[int, RGBA] | None = None,
    names: Mapping[int, str] | None = None,
) -> Target:
    """The image ``output``, or its label image ``labels`` (checked first),
    with its ``colors`` and ``names``.

    ``version``: the one asked for, or None: ``DEFAULT_OME_ZARR_VERSION`` for
    an image, the image's own for its labels.
    """
    if labels is None:
        version = version or DEFAULT_OME_ZARR_VERSION
        return ImageTarget(output, levels, voxel_size, unit, version)
    if output.remote:
        raise ConversionError(
            f"--labels writes into an image on disk, not into {output}: convert "
            "the labels beside a local copy of the image, then upload it."
        )
    return open_label_target(output.path, labels, version, levels, colors, names)


def plan_for(
    source: Source,
    target: Target,
    chunks: int,
    shards: int | None,
    zarr_format: ZarrFormat,
) -> Plan:
    """The plan of converting ``source`` into ``target``: cubes of ``chunks``."""
    edges = (chunks,) * len(source.shape)
    return Plan(
        shape=source.shape,
        dtype=np.dtype(source.dtype).name,
        chunks=edges,
        levels=target.levels or default_levels(source.shape, edges, source.axes),
        axes=source.axes,
        zarr_format=zarr_format,
        shards=(shards,) * len(source.shape) if shards else None,
        method=target.method,
        staged=source.staged,
    )


def _outcome(
    target: Target,
    plan: Plan,
    work: dict[TaskKey, Delayed],
    run: dict[TaskKey, Delayed],
    start: float,
    notes: tuple[str, ...] = (),
    *,
    nothing_to_do: bool = False,
    default_voxel_size: bool = False,
) -> Conversion:
    """What a call did: ``work`` the tasks that were left, ``run`` those it ran."""
    total = len(plan.tasks())
    return Conversion(
        target.output.given,
        plan.shape,
        plan.dtype,
        plan.level_shapes(),
        tasks_total=total,
        tasks_run=len(run),
        tasks_skipped=total - len(work),
        finished=len(run) == len(work),
        bytes_written=target.output.bytes(),
        seconds=time.perf_counter() - start,
        nothing_to_do=nothing_to_do,
        name=target.title,
        voxel_size=tuple(target.voxel_size),
        unit=target.unit,
        default_voxel_size=default_voxel_size,
        notes=notes,
    )
