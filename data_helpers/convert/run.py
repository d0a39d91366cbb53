"""Running a conversion: open input and output, plan, build the dask graph, run it."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import dask
import numpy as np
from dask.delayed import Delayed
from numcodecs.blosc import MAX_BUFFERSIZE

from data_helpers.codec_names import DEFAULT_CODEC, make_codec
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.labels import open_label_target
from data_helpers.convert.output import Output
from data_helpers.convert.plan import (
    Plan,
    TaskKey,
    TaskKind,
    ZarrFormat,
)
from data_helpers.convert.progress import Bar, TaskProgress, progress_bar
from data_helpers.convert.sources import (
    ImageInfo,
    Source,
    SourceOptions,
    open_sources,
)
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
from data_helpers.factors import SPACE_AXES, pyramid_factors
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


def usable_cores() -> int:
    """The cores this process may run on: the default number of workers."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


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
    codec: str = DEFAULT_CODEC,
) -> None:
    """Reject options that cannot work, with the fix in the message."""
    try:
        make_codec(codec, ZARR_FORMATS[version])
    except ValueError as error:
        raise ConversionError(f"--codec {codec}: {error}") from None
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
    space = [a for a, name in enumerate(plan.axes) if name in SPACE_AXES]
    shapes = plan.level_shapes()
    most = next(
        (k + 1 for k, shape in enumerate(shapes) if all(shape[a] == 1 for a in space)),
        plan.levels,
    )
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
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    try:
        for future in as_completed(client.compute(list(targets.values()))):
            future.result()  # raises a task's error here
            bar.update(1)
    except (KilledWorker, CommClosedError) as error:
        raise ConversionError(
            f"the dask cluster lost the work ({type(error).__name__}: a worker "
            "died too often, or the scheduler went away): the tasks done are "
            "kept; run the same command again to resume."
        ) from None
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
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    chunks: int = 128,
    levels: int | None = None,
    workers: int | None = None,
    voxel_size: Sequence[float] | None = None,
    unit: str | None = None,
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
    dataset: str | None = None,
    codec: str = DEFAULT_CODEC,
) -> Conversion:
    """Convert an image into a multiscale OME-Zarr image.

    ``source`` is a folder of 2-D TIFF or JPEG 2000 slices (``*.tif``,
    ``*.tiff``, ``*.jp2``, ... in natural order of their names: slice ``z``
    becomes plane ``z``), one TIFF file (multi-page, BigTIFF or OME-TIFF), an
    HDF5 file (``dataset``: the array's path in it, if it holds more than
    one), a Zarr array, or an OME-Zarr image (migrated: see below); or a list
    of such inputs, one per channel. Axes are ``t, c, z, y, x`` as the input
    has them. Each level downsamples the one above by the block mean
    (``downsample_mean``), halving each space axis whose voxel size is less
    than twice the smallest (``factors.next_factors``; ``t`` and ``c`` never);
    ``levels`` defaults to as many as it takes for the smallest to fit in one
    chunk, and may not go past the level of one voxel. ``voxel_size`` (z, y,
    x, in ``unit``) defaults to the input's metadata, else ``VOXEL_SIZE``
    (the summary says which). Chunks are ``chunks`` voxels along each space
    axis (1 along ``t`` and ``c``), at most ``CHUNK_BYTES`` (the codec's
    limit), compressed with ``codec`` (``data_helpers.codec_names``).
    ``ome_zarr_version`` is the OME-Zarr version written (``"0.4"``,
    ``"0.5"`` or ``"0.6"``; default ``DEFAULT_OME_ZARR_VERSION``);
    ``zarr_format`` says it too, 2 for 0.4 and 3 for 0.5 (pass one, or both
    agreeing). With 0.5 or 0.6, shards of ``shards`` voxels along each space
    axis when given. ``output`` is a folder or an ``s3://BUCKET/NAME.ome.zarr``
    URL; one missing folder above it is made (the summary says so). An
    OME-Zarr image as input is migrated (``migrate``): its levels copied as
    they are into the new container.

    Tasks run on dask: on ``client`` if given, else in this process on
    ``workers`` threads (dask's threaded scheduler; default: the cores this
    process may use). ``progress`` is True (a bar on stderr, or in a Jupyter
    notebook a line of text updated in place) or False. ``max_tasks`` stops
    after that many tasks, as an interruption would. JPEG 2000 slices cannot
    be read by rows: each is decoded once, by a task of its own, into a
    scratch copy in the output's state folder that the other tasks read by
    rows. Rerunning the same call resumes; on a finished output it does
    nothing. Raises ConversionError, with nothing written, for bad input.

    With ``labels="NAME"`` the input is a segmentation (integers) of the
    image ``output``, and becomes its label image ``output/labels/NAME``: the
    image's levels, voxel size and unit (``levels``, ``voxel_size`` and
    ``unit`` are not used), lower levels by ``downsample_mode``, and
    ``image-label`` metadata with ``label_colors`` (label value -> RGBA, 0 to
    255) and ``label_names`` (label value -> name, written as ``properties``)
    if given. Its name joins the image's list of label images last.
    """
    start = time.perf_counter()
    out = Output.of(output)
    requested = requested_version(zarr_format, ome_zarr_version)
    workers = usable_cores() if workers is None else workers
    try:
        given_unit = None if unit is None else space_unit(unit)  # um -> micrometer
    except ValueError as error:
        raise ConversionError(f"--unit {error}") from None
    opened = open_sources(_paths(source), SourceOptions(dataset=dataset))
    if isinstance(opened, OmeZarrImage):  # an image: migrate it
        from data_helpers.convert import migrate  # it builds on this module

        migrate.refuse_conversion_options(
            levels, voxel_size, given_unit, labels, label_colors, label_names
        )
        version = requested or DEFAULT_OME_ZARR_VERSION
        return migrate.migrate_image(
            opened,
            out,
            version=version,
            chunks=chunks,
            shards=shard_edge(version, chunks, shards),
            workers=workers,
            overwrite=overwrite,
            client=client,
            progress=progress,
            max_tasks=max_tasks,
            codec=codec,
        )
    info = opened.info()
    chosen = voxel_size_of(info, voxel_size, given_unit, labels)
    size, unit, notes = chosen.size, chosen.unit, chosen.notes
    _check_label_options(labels, label_colors, label_names)
    target = open_target(
        out, labels, requested, levels, size, unit, label_colors, label_names
    )
    if isinstance(target, ImageTarget):
        target = replace(target, channels=info.channels)
    version = target.version
    shards = shard_edge(version, chunks, shards)
    _check_options(chunks, levels, workers, size, version, shards, codec)
    if opened.staged and out.remote:
        raise ConversionError(
            f"JPEG 2000 slices convert to a folder, not to {out}: convert to a "
            "local folder first, then upload it."
        )
    target.check_source(opened)
    plan = plan_for(opened, target, chunks, shards, ZARR_FORMATS[version], codec)
    check_plan(plan)
    manifest = manifest_of(
        opened.fingerprint(), plan, target.voxel_size, target.unit, version
    )
    resume = target.prepare(manifest, opened.location, overwrite)
    state = target.output.state()
    notes = opened.notes() + notes
    default_voxel_size = chosen.default
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
    work = build_graph(target.output, plan, opened, state)
    to_run = run_some(work, max_tasks, client, workers, progress)
    if len(to_run) == len(work):  # the metadata last: now it is a valid image
        target.finish(arrays, plan, manifest_hash(manifest))
        state.clear()
    return _outcome(
        target, plan, work, to_run, start, notes, default_voxel_size=default_voxel_size
    )


def _paths(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[str | os.PathLike[str]]:
    """One input, or several (one per channel), as a list."""
    if isinstance(source, (str, os.PathLike)):
        return [source]
    return list(source)


class VoxelSize(NamedTuple):
    """Level 0's voxel size and unit as chosen, and where they came from."""

    size: Sequence[float]
    unit: str
    #: What the summary says of the choice.
    notes: tuple[str, ...]
    #: Neither given nor in the input's metadata: ``VOXEL_SIZE``.
    default: bool


def voxel_size_of(
    info: ImageInfo,
    voxel_size: Sequence[float] | None,
    unit: str | None,
    labels: str | None,
) -> VoxelSize:
    """Level 0's voxel size and unit, and a note saying where they came from.

    ``--voxel-size`` (and ``--unit``) if given; else the input's metadata
    (``info``: an OME-TIFF's physical sizes); else ``VOXEL_SIZE`` in
    micrometres. A ``--voxel-size`` that differs from the metadata's is used,
    with a note. Labels take the image's (``labels`` given: the options are
    ignored).
    """
    if labels is not None:
        return VoxelSize(VOXEL_SIZE, unit or UNIT, (), False)
    if voxel_size is not None:
        notes: tuple[str, ...] = ()
        if info.voxel_size is not None and (
            tuple(info.voxel_size) != tuple(voxel_size) or (unit or UNIT) != info.unit
        ):
            said = " x ".join(number(v) for v in info.voxel_size)
            notes = (
                f"--voxel-size used, not the input's own {said} {info.unit or UNIT}",
            )
        return VoxelSize(voxel_size, unit or UNIT, notes, False)
    if info.voxel_size is not None:
        note = "voxel size from the input's metadata"
        return VoxelSize(info.voxel_size, info.unit or unit or UNIT, (note,), False)
    return VoxelSize(VOXEL_SIZE, unit or UNIT, (), True)


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
    codec: str = DEFAULT_CODEC,
) -> Plan:
    """The plan of converting ``source`` into ``target``: cubes of ``chunks``
    along space axes (one time point, one channel), and the target's factors
    or those of its voxel size (``pyramid_factors``)."""
    edges = axis_edges(source.axes, chunks)
    factors = target.factors
    if factors is None:
        factors = pyramid_factors(
            source.shape,
            source.axes,
            target.voxel_size,
            levels=target.levels,
            chunks=edges,
        )
    return Plan(
        shape=source.shape,
        dtype=np.dtype(source.dtype).name,
        chunks=edges,
        levels=len(factors) + 1,
        axes=source.axes,
        zarr_format=zarr_format,
        shards=axis_edges(source.axes, shards) if shards else None,
        factors=factors,
        method=target.method,
        staged=source.staged,
        codec=codec,
    )


def axis_edges(axes: Sequence[str], edge: int) -> tuple[int, ...]:
    """``edge`` along each space axis, 1 along ``t`` and ``c``."""
    return tuple(edge if axis in SPACE_AXES else 1 for axis in axes)


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
