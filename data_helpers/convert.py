"""Convert a folder of 2-D TIFF slices into a multiscale OME-Zarr image.

Works for stacks far larger than memory, in parallel on dask, and resumes
after an interruption. Use it from Python (``convert_stack``) or the shell::

    python -m data_helpers.convert SLICES_FOLDER OUTPUT.ome.zarr [--chunks N]
        [--levels N] [--workers N] [--voxel-size Z Y X] [--unit micrometer]
        [--overwrite] [--zarr-format {2,3}] [--shards N]

How the work is split (``U`` is the chunk length, or the shard length with
``--shards``; every task writes whole chunks, or whole shards, only):

- a *block task* owns ``2U`` slices x ``2U`` rows x the full width of level 0.
  It reads its rows of each slice in four pieces of ``U x U x width``, writes
  each piece as level-0 chunks and keeps only its 2x2x2 block mean, which
  makes the block's ``U x U x width/2`` of level 1 (written at the end of the
  task). Level 1 costs no second pass over level 0.
- a *unit task* makes one chunk (or shard) of level ``k + 1 >= 2`` from the
  2x2x2 chunks (shards) of level ``k`` under it.

A task holds about ``1.5 U**2 x width`` (block task) or ``2 U**3`` (unit task)
voxels: memory grows with the chunk size and the number of workers, never with
the number of slices or rows. After writing, a task leaves an empty marker
file in the output's hidden ``.conversion/done`` folder; a rerun skips the
tasks with markers and redoes the others whole, so a chunk cut short by a kill
is rewritten. The OME-Zarr metadata goes into the group last: until then the
output is not a valid-looking image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import tifffile
import zarr
from dask.callbacks import Callback
from tqdm import tqdm

from data_helpers.ome import image_attributes, image_model
from data_helpers.pyramid import downsample_mean, level_shape

SLICE_SUFFIXES = (".tif", ".tiff")
STATE_FOLDER = ".conversion"  # in the output: manifest.json and done/ markers
#: Group attribute of a finished output: a fingerprint of what it was made from.
FINGERPRINT_KEY = "data_helpers_conversion"
MANIFEST_VERSION = 1
#: Seconds to sleep after each level-0 piece; only for tests that kill a run.
SLOWDOWN_VARIABLE = "DATA_HELPERS_CONVERT_SLOWDOWN"


class ConversionError(ValueError):
    """Bad input; the message says what is wrong, with which file, and the fix."""


# --------------------------------------------------------------------------
# The input: a folder of slices
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    """One slice file, with what it takes to read rows of it quickly."""

    path: str
    size: int
    mtime_ns: int
    #: Byte offset of the pixels when stored uncompressed in one contiguous
    #: run (rows can then be read directly); None when tifffile must decode.
    offset: int | None
    byteorder: str


def natural_key(name: str) -> list[Any]:
    """Sort key putting ``slice_2`` before ``slice_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def find_slices(folder: str | os.PathLike[str]) -> list[Path]:
    """The ``*.tif``/``*.tiff`` files in ``folder``, in natural order of names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConversionError(
            f"The slices folder {str(folder)!r} does not exist: give the folder "
            "that holds the *.tif slices."
        )
    paths = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in SLICE_SUFFIXES and p.is_file()
    ]
    if not paths:
        raise ConversionError(
            f"The slices folder {str(folder)!r} holds no *.tif or *.tiff files: "
            "give the folder that holds the slices."
        )
    return sorted(paths, key=lambda p: natural_key(p.name))


def inspect_slice(path: Path) -> tuple[tuple[int, int], np.dtype, Slice]:
    """Shape, dtype and read layout of one slice file (reads its header only)."""
    stat = path.stat()
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            shape, dtype = tuple(page.shape), np.dtype(page.dtype)
            contiguous = page.is_contiguous and page.compression == 1
            offset = int(page.dataoffsets[0]) if contiguous else None
            byteorder = tif.byteorder
            pages = len(tif.pages)
    except Exception as error:  # tifffile raises many kinds of errors
        raise ConversionError(
            f"{str(path)!r} is not a readable TIFF file ({error}): remove it from "
            "the folder or replace it with the right slice."
        ) from None
    if len(shape) != 2 or pages != 1:
        raise ConversionError(
            f"{str(path)!r} is not a single 2-D greyscale image (shape {shape}, "
            f"{pages} pages): every file must hold one slice."
        )
    return (
        shape,
        dtype,
        Slice(str(path), stat.st_size, stat.st_mtime_ns, offset, byteorder),
    )


def inspect_slices(
    folder: str | os.PathLike[str],
) -> tuple[tuple[int, int, int], np.dtype, list[Slice]]:
    """Check every slice in ``folder``; return the (z, y, x) shape and dtype."""
    paths = find_slices(folder)
    shape, dtype, first = inspect_slice(paths[0])
    slices = [first]
    for path in paths[1:]:
        other_shape, other_dtype, info = inspect_slice(path)
        if (other_shape, other_dtype) != (shape, dtype):
            raise ConversionError(
                f"{str(path)!r} is {other_shape} {other_dtype}, but the first slice "
                f"{paths[0].name!r} is {shape} {dtype}: every slice must have the "
                "same shape and dtype."
            )
        slices.append(info)
    return (len(slices), *shape), dtype, slices


def read_rows(piece: np.ndarray, source: Slice, y0: int) -> None:
    """Fill ``piece`` (rows x width) with rows ``y0:`` of one slice file."""
    rows, width = piece.shape
    if source.offset is not None:  # uncompressed: read just these bytes
        dtype = piece.dtype.newbyteorder(source.byteorder)
        start = source.offset + y0 * width * dtype.itemsize
        data = np.fromfile(source.path, dtype=dtype, count=rows * width, offset=start)
        piece[:] = data.reshape(rows, width)
    else:  # compressed or tiled: tifffile decodes only the strips/tiles needed
        piece[:] = tifffile.imread(source.path, selection=(slice(y0, y0 + rows), ...))


# --------------------------------------------------------------------------
# The plan: levels, tasks and the rule that every task owns whole chunks
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Shapes, chunking and the list of tasks of one conversion."""

    shape: tuple[int, int, int]
    dtype: str
    chunks: int
    levels: int
    zarr_format: int = 2
    shards: int | None = None

    @property
    def unit(self) -> int:
        """Edge of what one task writes whole: a shard, or else a chunk."""
        return self.shards or self.chunks

    def level_shapes(self) -> list[tuple[int, ...]]:
        return [level_shape(self.shape, k) for k in range(self.levels)]

    def block_tasks(self) -> list[str]:
        """Names of the tasks that write level 0 (and level 1)."""
        z, y, _ = (math.ceil(n / (2 * self.unit)) for n in self.shape)
        return [f"block-{i}-{j}" for i in range(z) for j in range(y)]

    def unit_tasks(self, level: int) -> dict[str, list[str]]:
        """Tasks writing level ``level >= 2``, each with the tasks it reads from."""
        grid = [math.ceil(n / self.unit) for n in level_shape(self.shape, level)]
        source = level_shape(self.shape, level - 1)
        source_grid = [math.ceil(n / self.unit) for n in source]
        tasks = {}
        for i, j, k in np.ndindex(*grid):
            under = [
                (a, b, c)
                for a in (2 * i, 2 * i + 1)
                for b in (2 * j, 2 * j + 1)
                for c in (2 * k, 2 * k + 1)
                if a < source_grid[0] and b < source_grid[1] and c < source_grid[2]
            ]
            if level == 2:  # level 1 comes from block tasks (full width)
                deps = sorted({f"block-{a}-{b}" for a, b, _ in under})
            else:
                deps = [f"level{level - 1}-{a}-{b}-{c}" for a, b, c in under]
            tasks[f"level{level}-{i}-{j}-{k}"] = deps
        return tasks

    def tasks(self) -> dict[str, list[str]]:
        """Every task, in an order where dependencies come first."""
        tasks: dict[str, list[str]] = {name: [] for name in self.block_tasks()}
        for level in range(2, self.levels):
            tasks.update(self.unit_tasks(level))
        return tasks


def check_whole_units(region: Sequence[slice], shape: Sequence[int], unit: int) -> None:
    """Refuse a write that does not cover whole chunks (shards) of edge ``unit``.

    Two tasks writing parts of one shard would each rewrite the whole shard
    and one would lose the other's data; with whole units they never meet.
    """
    for s, n in zip(region, shape, strict=True):
        if s.start % unit or (s.stop % unit and s.stop != n):
            raise RuntimeError(
                f"Write {region} does not cover whole {unit}-voxel units of an "
                f"array of shape {tuple(shape)}: tasks must own whole chunks/shards."
            )


def write_region(
    array: zarr.Array, region: tuple[slice, ...], data: np.ndarray, unit: int
) -> None:
    """Write ``data`` at ``region`` after checking it covers whole units."""
    check_whole_units(region, array.shape, unit)
    array[region] = data


# --------------------------------------------------------------------------
# The tasks
# --------------------------------------------------------------------------


def mark_done(output: str, name: str) -> str:
    """Record that task ``name`` wrote all its chunks (after they are written)."""
    Path(output, STATE_FOLDER, "done", name).touch()
    return name


def convert_block(output: str, plan: Plan, slices: list[Slice], name: str) -> str:
    """Block task: level 0 of ``2U`` slices x ``2U`` rows, and level 1 below it."""
    _, i, j = name.split("-")
    unit, (n_z, n_y, n_x) = plan.unit, plan.shape
    z0, y0 = 2 * unit * int(i), 2 * unit * int(j)
    z1, y1 = min(z0 + 2 * unit, n_z), min(y0 + 2 * unit, n_y)
    level0 = zarr.open_array(Path(output, "0"), mode="r+")
    lower = None
    if plan.levels > 1:
        lower = np.empty(level_shape((z1 - z0, y1 - y0, n_x), 1), plan.dtype)
    delay = float(os.environ.get(SLOWDOWN_VARIABLE, 0))
    for zq in range(z0, z1, unit):
        for yq in range(y0, y1, unit):
            zq1, yq1 = min(zq + unit, z1), min(yq + unit, y1)
            piece = np.empty((zq1 - zq, yq1 - yq, n_x), plan.dtype)
            for z in range(zq, zq1):
                read_rows(piece[z - zq], slices[z - z0], yq)
            write_region(
                level0, (slice(zq, zq1), slice(yq, yq1), slice(0, n_x)), piece, unit
            )
            if lower is not None:  # pieces start at even offsets: exact block means
                mean = downsample_mean(piece)
                a, b = (zq - z0) // 2, (yq - y0) // 2
                lower[a : a + mean.shape[0], b : b + mean.shape[1]] = mean
            del piece
            time.sleep(delay)
    if lower is not None:
        level1 = zarr.open_array(Path(output, "1"), mode="r+")
        starts = (z0 // 2, y0 // 2, 0)
        region = tuple(
            slice(s, s + n) for s, n in zip(starts, lower.shape, strict=True)
        )
        write_region(level1, region, lower, unit)
    return mark_done(output, name)


def convert_unit(output: str, plan: Plan, name: str, *deps: str) -> str:
    """Unit task: one chunk (shard) of level ``k`` from the 2x2x2 of level ``k - 1``."""
    label, *index = name.split("-")
    level, unit = int(label.removeprefix("level")), plan.unit
    source = zarr.open_array(Path(output, str(level - 1)), mode="r")
    target = zarr.open_array(Path(output, str(level)), mode="r+")
    region = tuple(
        slice(int(i) * unit, min((int(i) + 1) * unit, n))
        for i, n in zip(index, target.shape, strict=True)
    )
    out = np.empty([s.stop - s.start for s in region], plan.dtype)
    for a, b, c in np.ndindex(2, 2, 2):  # the source units under this one
        start = [2 * s.start + o * unit for s, o in zip(region, (a, b, c), strict=True)]
        if any(st >= n for st, n in zip(start, source.shape, strict=True)):
            continue
        part = source[tuple(slice(st, st + unit) for st in start)]
        mean = downsample_mean(part)
        offset = [st // 2 - s.start for st, s in zip(start, region, strict=True)]
        place = zip(offset, mean.shape, strict=True)
        out[tuple(slice(o, o + m) for o, m in place)] = mean
    write_region(target, region, out, unit)
    return mark_done(output, name)


# --------------------------------------------------------------------------
# The output: manifest, arrays, metadata
# --------------------------------------------------------------------------


def default_levels(shape: Sequence[int], chunks: int) -> int:
    """Levels needed for the smallest one to fit in one chunk."""
    level = 0
    while any(n > chunks for n in level_shape(shape, level)):
        level += 1
    return level + 1


def manifest_of(
    slices: list[Slice], plan: Plan, voxel_size: Sequence[float], unit: str
) -> dict:
    """What a conversion was made from: files, sizes, times, shape and options."""
    return {
        "version": MANIFEST_VERSION,
        "slices": [[Path(s.path).name, s.size, s.mtime_ns] for s in slices],
        "shape": list(plan.shape),
        "dtype": plan.dtype,
        "chunks": plan.chunks,
        "levels": plan.levels,
        "zarr_format": plan.zarr_format,
        "shards": plan.shards,
        "voxel_size": [float(v) for v in voxel_size],
        "unit": unit,
    }


def explain_mismatch(old: dict, new: dict, output: Path, folder: Path) -> str:
    """Why an existing output cannot be resumed with this input."""
    old_files = {name: (size, t) for name, size, t in old.get("slices", [])}
    new_files = {name: (size, t) for name, size, t in new["slices"]}
    same_options = all(
        old.get(k) == new[k] for k in new if k not in ("slices", "shape")
    )
    if same_options and old_files.keys() >= new_files.keys():
        for name in old_files:
            if name not in new_files:
                return (
                    f"Slice {str(folder / name)!r} is missing, but the conversion into "
                    f"{str(output)!r} started with it: put it back, or pass "
                    "--overwrite to start again."
                )
    if same_options and old_files.keys() == new_files.keys():
        for name, value in new_files.items():
            if old_files[name] != value:
                return (
                    f"Slice {str(folder / name)!r} changed (size or modification time) "
                    f"since the conversion into {str(output)!r} started: pass "
                    "--overwrite to start again from the current slices."
                )
    return (
        f"{str(output)!r} already holds a conversion of other slices or with other "
        "options: choose another output, or pass --overwrite to replace it."
    )


def manifest_hash(manifest: dict) -> str:
    """A short fingerprint of a manifest, kept in a finished output's attributes."""
    text = json.dumps(manifest, sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()


def finished_from(output: Path) -> str | None:
    """The manifest fingerprint a finished output records, if any."""
    for name, key in ((".zattrs", None), ("zarr.json", "attributes")):
        if (output / name).is_file():
            attrs = json.loads((output / name).read_text())
            attrs = attrs.get(key, {}) if key else attrs
            return attrs.get(FINGERPRINT_KEY, {}).get("manifest_sha256")
    return None


def removable(output: Path) -> bool:
    """Whether ``--overwrite`` may delete ``output`` (only Zarr data or nothing)."""
    names = {p.name for p in output.iterdir()}
    return not names or bool(names & {".zgroup", ".zarray", "zarr.json", STATE_FOLDER})


def prepare_output(output: Path, manifest: dict, folder: Path, overwrite: bool) -> str:
    """Check ``output``; return ``"new"``, ``"resume"`` or ``"finished"``.

    Raises ConversionError, having written nothing, when the output cannot be
    used. Deletes an old output only when ``overwrite`` is set.
    """
    state = output / STATE_FOLDER
    if output.exists() and not output.is_dir():
        raise ConversionError(
            f"The output {str(output)!r} exists and is a file: choose a folder name "
            "such as image.ome.zarr."
        )
    if output.is_dir():
        if not os.access(output, os.W_OK):
            raise ConversionError(
                f"The output {str(output)!r} cannot be written: check its permissions."
            )
        old = None
        if (state / "manifest.json").is_file():
            old = json.loads((state / "manifest.json").read_text())
        made_from = finished_from(output)
        if made_from == manifest_hash(manifest) and not overwrite:
            return "finished"
        if old == manifest and not overwrite:
            return "resume"
        if overwrite:
            if not removable(output):
                raise ConversionError(
                    f"Refusing to delete {str(output)!r} for --overwrite: it holds "
                    "files that are not Zarr data. Choose another output."
                )
            shutil.rmtree(output)
        elif old is not None:
            raise ConversionError(explain_mismatch(old, manifest, output, folder))
        elif made_from is not None:
            raise ConversionError(explain_mismatch({}, manifest, output, folder))
        elif any(output.iterdir()):
            raise ConversionError(
                f"The output {str(output)!r} exists and is not a conversion of these "
                "slices: choose another output, or pass --overwrite to replace it."
            )
    parent = output.absolute().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ConversionError(
            f"The output {str(output)!r} cannot be written: its folder {str(parent)!r} "
            "does not exist or is not writable."
        )
    return "new"


def compressor(zarr_format: int) -> Any:
    """Blosc with zstd level 3 and byte shuffle, in each format's spelling."""
    if zarr_format == 2:
        from numcodecs import Blosc

        return Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE)
    return zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")


def create_arrays(output: Path, plan: Plan) -> list[zarr.Array]:
    """Create the group and its empty level arrays (or open them on resume)."""
    group = zarr.open_group(output, mode="a", zarr_format=plan.zarr_format)
    arrays = []
    for level, shape in enumerate(plan.level_shapes()):
        if str(level) in group:
            arrays.append(group[str(level)])
            continue
        options: dict[str, Any] = {
            "chunk_key_encoding": {"name": "v2", "separator": "/"}
        }
        if plan.zarr_format == 3:
            options = {
                "dimension_names": ("z", "y", "x"),
                "shards": plan.shards and (plan.shards,) * 3,
            }
        arrays.append(
            group.create_array(
                str(level),
                shape=shape,
                dtype=plan.dtype,
                chunks=(plan.chunks,) * 3,
                compressors=compressor(plan.zarr_format),
                fill_value=0,
                **options,
            )
        )
    return arrays


def write_metadata(
    output: Path,
    arrays: list[zarr.Array],
    voxel_size: Sequence[float],
    unit: str,
    fingerprint: str,
) -> None:
    """Write the OME-Zarr multiscales metadata: the last step of a conversion.

    Beside it goes the fingerprint of the input and options, so that a rerun
    of the same conversion knows there is nothing left to do.
    """
    if arrays[0].metadata.zarr_format == 3:
        from pydantic_zarr.v3 import ArraySpec
    else:
        from pydantic_zarr.v2 import ArraySpec
    specs = [ArraySpec.from_zarr(a) for a in arrays]
    name = output.name.removesuffix(".zarr").removesuffix(".ome")
    image = image_model(specs, voxel_size=voxel_size, unit=unit, name=name)
    attributes = image_attributes(image)
    attributes[FINGERPRINT_KEY] = {"manifest_sha256": fingerprint}
    zarr.open_group(output, mode="r+").attrs.update(attributes)


def folder_bytes(folder: Path) -> int:
    """Bytes in all files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------


@dataclass
class Conversion:
    """What a call of ``convert_stack`` did."""

    output: Path
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

    @property
    def input_bytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def summary(self) -> str:
        """One line: levels, shapes, bytes, seconds and speed."""
        if self.nothing_to_do:
            return (
                f"{self.output.name} is already a finished conversion of these slices: "
                "nothing to do."
            )
        shapes = ", ".join(str(s) for s in self.level_shapes)
        state = "converted" if self.finished else "stopped early, rerun to resume"
        speed = self.input_bytes / 1e9 / max(self.seconds, 1e-9)
        return (
            f"{self.output.name}: {state}; {len(self.level_shapes)} levels {shapes} "
            f"{self.dtype}; {self.tasks_run} tasks run, {self.tasks_skipped} already "
            f"done; {self.bytes_written / 1e6:.1f} MB on disk; {self.seconds:.1f} s; "
            f"{speed:.2g} GB/s of input"
        )


class NotebookBar:
    """A text progress bar for Jupyter, updated in place (no stderr).

    The saved notebook keeps only its last state, so a built book shows one
    finished bar.
    """

    def __init__(self, total: int) -> None:
        from IPython.display import display

        self.total, self.n, self.start, self.shown = total, 0, time.perf_counter(), 0.0
        self.handle = display({"text/plain": self.text()}, raw=True, display_id=True)

    def text(self) -> str:
        elapsed = time.perf_counter() - self.start
        return tqdm.format_meter(
            self.n, self.total, elapsed, prefix="Converting", unit="task", ncols=80
        )

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.perf_counter() - self.shown > 0.2 or self.n == self.total:
            self.shown = time.perf_counter()
            self.handle.update({"text/plain": self.text()}, raw=True)

    def __enter__(self) -> NotebookBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.update({"text/plain": self.text()}, raw=True)


def progress_bar(total: int, progress: bool) -> Any:
    """A tqdm bar on stderr, a NotebookBar inside Jupyter, or a silent one."""
    try:
        from IPython import get_ipython

        in_notebook = "IPKernelApp" in get_ipython().config
    except (ImportError, AttributeError):
        in_notebook = False
    if progress and in_notebook:
        return NotebookBar(total)
    return tqdm(total=total, desc="Converting", unit="task", disable=not progress)


class _TaskProgress(Callback):
    """Advance a progress bar when one of the named tasks finishes (local dask)."""

    def __init__(self, names: set[str], bar: Any) -> None:
        super().__init__()
        self.names, self.bar = names, bar

    def _posttask(self, key, result, dsk, state, worker_id) -> None:  # noqa: ANN001
        if key in self.names:
            self.bar.update(1)


def run_tasks(
    targets: list[Any], names: list[str], client: Any, workers: int, bar: Any
) -> None:
    """Compute the delayed ``targets`` on ``client``, a new local cluster, or here."""
    if client is None and workers > 1:
        import logging

        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                # Workers as threads of this process: they start at once, and
                # the work (reading, block means, Blosc) runs in NumPy and C
                # code that releases the GIL. Measured on a 512 MiB stack on
                # 2 cores: 8.9 s, against 14.1 s plus 5.6 s of start-up for
                # worker processes.
                processes=False,
                dashboard_address=":0",  # any free port: no clash with others
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as new_client,
        ):
            return run_tasks(targets, names, new_client, workers, bar)
    if client is None:
        with _TaskProgress(set(names), bar):
            dask.compute(*targets, scheduler="synchronous")
        return None
    from distributed import as_completed

    for future in as_completed(client.compute(targets)):
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
    zarr_format: int = 2,
    shards: int | None = None,
    client: Any = None,
    progress: bool = True,
    max_tasks: int | None = None,
) -> Conversion:
    """Convert a folder of TIFF slices into a multiscale OME-Zarr image.

    Slices are ``*.tif``/``*.tiff`` files in natural order of their names;
    slice number ``z`` becomes plane ``z`` of level 0. Each level halves the
    one above (2x2x2 block mean, as ``downsample_mean``); ``levels`` defaults
    to as many as it takes for the smallest to fit in one chunk. Chunks are
    ``chunks`` voxels along each axis. ``zarr_format=3`` writes OME-Zarr 0.5,
    with shards of ``shards`` voxels along each axis when given.

    Tasks run on dask: on ``client`` if given, else on a new local cluster of
    ``workers`` worker threads in this process, else (one worker) here. ``progress`` is
    True (a bar on stderr, or in a Jupyter notebook a line of text updated
    in place) or False. ``max_tasks`` stops after that many tasks, as an
    interruption would.
    Rerunning the same call resumes; on a finished output it does nothing.
    Raises ConversionError, with nothing written, for bad input.
    """
    start = time.perf_counter()
    folder, output = Path(slices_folder), Path(output)
    check_options(chunks, levels, workers, voxel_size, zarr_format, shards)
    shape, dtype, slices = inspect_slices(folder)
    levels = levels or default_levels(shape, chunks)
    plan = Plan(shape, np.dtype(dtype).name, chunks, levels, zarr_format, shards)
    manifest = manifest_of(slices, plan, voxel_size, unit)
    state = prepare_output(output, manifest, folder, overwrite)
    tasks = plan.tasks()
    done_folder = output / STATE_FOLDER / "done"
    if state == "finished":
        shutil.rmtree(output / STATE_FOLDER, ignore_errors=True)  # if killed after
        return Conversion(
            output,
            shape,
            plan.dtype,
            plan.level_shapes(),
            len(tasks),
            0,
            len(tasks),
            True,
            folder_bytes(output),
            time.perf_counter() - start,
            nothing_to_do=True,
        )
    done_folder.mkdir(parents=True, exist_ok=True)
    (output / STATE_FOLDER / "manifest.json").write_text(json.dumps(manifest))
    arrays = create_arrays(output, plan)
    if state == "resume":  # zarr writes a chunk to NAME.<id>.partial, then renames
        for leftover in output.rglob("*.partial"):  # it: a kill can leave these
            leftover.unlink()
    done = {p.name for p in done_folder.iterdir()}
    delayed: dict[str, Any] = {}
    for name, deps in tasks.items():
        if name in done:
            continue
        if name.startswith("block"):
            i = int(name.split("-")[1]) * 2 * plan.unit
            work = dask.delayed(convert_block, pure=False)(
                str(output),
                plan,
                slices[i : i + 2 * plan.unit],
                name,
                dask_key_name=name,
            )
        else:
            pending = [delayed[d] for d in deps if d in delayed]
            work = dask.delayed(convert_unit, pure=False)(
                str(output), plan, name, *pending, dask_key_name=name
            )
        delayed[name] = work
    names = list(delayed)[:max_tasks] if max_tasks is not None else list(delayed)
    with progress_bar(len(names), progress) as bar:
        if names:
            run_tasks([delayed[n] for n in names], names, client, workers, bar)
    finished = len(names) == len(delayed)
    if finished:  # the metadata last: only now is it a valid-looking image
        write_metadata(output, arrays, voxel_size, unit, manifest_hash(manifest))
        shutil.rmtree(output / STATE_FOLDER)
    return Conversion(
        output,
        shape,
        plan.dtype,
        plan.level_shapes(),
        len(tasks),
        len(names),
        len(tasks) - len(delayed),
        finished,
        folder_bytes(output),
        time.perf_counter() - start,
    )


def check_options(
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


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse arguments, convert, print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m data_helpers.convert",
        description="Convert a folder of TIFF slices into a multiscale OME-Zarr image.",
    )
    parser.add_argument("slices_folder", metavar="SLICES_FOLDER")
    parser.add_argument("output", metavar="OUTPUT.ome.zarr")
    parser.add_argument("--chunks", type=int, default=128, help="chunk length (voxels)")
    parser.add_argument("--levels", type=int, default=None, help="pyramid levels")
    parser.add_argument("--workers", type=int, default=1, help="parallel workers")
    parser.add_argument(
        "--voxel-size",
        type=float,
        nargs=3,
        default=(1.0, 1.0, 1.0),
        metavar=("Z", "Y", "X"),
    )
    parser.add_argument("--unit", default="micrometer", help="unit of the voxel size")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output"
    )
    parser.add_argument("--zarr-format", type=int, choices=(2, 3), default=2)
    parser.add_argument(
        "--shards", type=int, default=None, help="shard length (voxels), format 3"
    )
    args = parser.parse_args(argv)
    try:
        result = convert_stack(
            args.slices_folder,
            args.output,
            chunks=args.chunks,
            levels=args.levels,
            workers=args.workers,
            voxel_size=args.voxel_size,
            unit=args.unit,
            overwrite=args.overwrite,
            zarr_format=args.zarr_format,
            shards=args.shards,
        )
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
