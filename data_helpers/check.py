"""Check an OME-Zarr image: its metadata, its arrays, and (deep) every chunk.

Use it from Python (``check_image``) or the shell::

    python -m data_helpers.check IMAGE [--deep] [--json] [--workers N]

``IMAGE`` is a local path, an ``http(s)://`` URL (read with range requests)
or an ``s3://`` URL (endpoint and credentials from the AWS environment
variables, see ``data_helpers.remote``). It prints a summary of the image,
then one line per problem (``PROBLEM <where>: what is wrong, and what it
means``) and per piece of information (``INFO ...``). Without ``--deep`` it
reads metadata and array headers only; with ``--deep`` it also reads every
chunk of every level, in parallel on dask (a worker holds at most 2 x 2 x 2
chunks, or one shard, and the part of the next level under them), and
compares each level with the 2 x 2 x 2 block mean of the level above. Exit
status: 0 no problems, 1 problems, 2 it could not check at all (no such path,
not a Zarr group, no multiscales).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import RangeByteRequest
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync  # zarr's own way to run store calls from threads
from zarr.errors import GroupNotFoundError

from data_helpers.ome import multiscale_metadata  # first: see data_helpers.ome
from data_helpers.pyramid import downsample_mean
from data_helpers.remote import is_remote, open_store

#: Below this correlation with the block mean of the level above, a level is
#: not a downsampled copy of it.
MIN_CORRELATION = 0.9
#: A deep check shows a progress bar once it has run this many seconds.
PROGRESS_AFTER_SECONDS = 2.0


class CheckError(ValueError):
    """The image cannot be checked at all; the message says why and what to do."""


@dataclass(frozen=True)
class Finding:
    """One problem or piece of information: ``where`` (level, chunk key) and what."""

    where: str
    message: str


def vector(values: Sequence[float] | None) -> str:
    """A scale or translation for people: ``(4455.36, 0.5)``, not 4455.360000000001."""
    if values is None:
        return "none"
    return "(" + ", ".join(f"{v:.10g}" for v in values) + ")"


@dataclass(frozen=True)
class Level:
    """What the metadata and array header say about one pyramid level."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    codecs: tuple[str, ...]
    scale: tuple[float, ...] | None
    translation: tuple[float, ...] | None
    #: Stored objects (chunks, or shards if sharded) and objects in the grid;
    #: ``stored`` and ``bytes_stored`` are None where the store cannot list.
    stored: int | None
    in_grid: int
    bytes_stored: int | None

    def line(self) -> str:
        """One line of the summary."""
        unit = "shards" if self.shards else "chunks"
        stored = (
            f"{self.stored}/{self.in_grid} {unit} stored, {self.bytes_stored:,} bytes"
            if self.stored is not None and self.bytes_stored is not None
            else f"{self.in_grid} {unit} in the grid (the store cannot list)"
        )
        shards = f", shards {self.shards}" if self.shards else ""
        return (
            f"level {self.path}: {self.shape} {self.dtype}, chunks {self.chunks}"
            f"{shards}, codecs {' '.join(self.codecs) or 'none'}; "
            f"scale {vector(self.scale)}, translation {vector(self.translation)}; "
            f"{stored}"
        )


@dataclass(frozen=True)
class Summary:
    """The image in brief: versions, axes and levels."""

    location: str
    ome_version: str | None
    zarr_format: int
    axes: tuple[tuple[str, str | None, str | None], ...]  # name, type, unit
    levels: tuple[Level, ...]

    def lines(self) -> list[str]:
        axes = ", ".join(
            f"{name} ({', '.join(v for v in (kind, unit) if v) or 'no type'})"
            for name, kind, unit in self.axes
        )
        return [
            f"{self.location}: OME-Zarr {self.ome_version} on Zarr format "
            f"{self.zarr_format}, {len(self.levels)} levels",
            f"axes: {axes}",
            *(level.line() for level in self.levels),
        ]


@dataclass
class CheckResult:
    """What ``check_image`` found: a summary, problems and information."""

    summary: Summary
    problems: list[Finding] = field(default_factory=list)
    information: list[Finding] = field(default_factory=list)
    deep: bool = False

    @property
    def exit_code(self) -> int:
        """0 without problems, 1 with problems."""
        return 1 if self.problems else 0

    def lines(self) -> list[str]:
        """The report: summary, ``PROBLEM`` and ``INFO`` lines, and a verdict."""
        read = (
            "metadata, array headers and every chunk"
            if self.deep
            else ("metadata and array headers; --deep reads every chunk")
        )
        count = len(self.problems)
        verdict = f"{count} problem{'s' * (count != 1)}" if count else "no problems"
        return [
            *self.summary.lines(),
            *(f"PROBLEM {p.where}: {p.message}" for p in self.problems),
            *(f"INFO {i.where}: {i.message}" for i in self.information),
            f"{verdict} found ({read})",
        ]

    def text(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict[str, Any]:
        """The summary with ``problems`` and ``information`` lists, as JSON values."""
        return {
            **asdict(self.summary),
            "deep": self.deep,
            "problems": [asdict(p) for p in self.problems],
            "information": [asdict(i) for i in self.information],
        }


# --------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------


def one_line(error: BaseException) -> str:
    """The first line of an error's message, with its type if it says nothing."""
    text = (str(error).strip().splitlines() or [""])[0].rstrip(".")
    return text or type(error).__name__


def open_image(location: str | os.PathLike[str]) -> tuple[zarr.Group, dict]:
    """The image's group and its multiscales entry; CheckError if there is none."""
    if not is_remote(location) and not Path(location).exists():
        raise CheckError(
            f"{location}: no such file or folder: give the path (or the http(s):// "
            "or s3:// URL) of an OME-Zarr image's top folder."
        )
    try:
        group = zarr.open_group(open_store(location), mode="r")
    except (FileNotFoundError, GroupNotFoundError):
        raise CheckError(
            f"{location} is not a Zarr group (no zarr.json or .zgroup there): give "
            "the top folder of an OME-Zarr image, the one whose .zattrs or zarr.json "
            "lists its levels."
        ) from None
    except Exception as error:  # an array, a refused connection, bad settings, ...
        raise CheckError(
            f"{location} is not a Zarr group ({one_line(error)}): give the top "
            "folder of an OME-Zarr image, the one whose .zattrs or zarr.json lists "
            "its levels."
        ) from None
    try:
        metadata = multiscale_metadata(group)
        if not isinstance(metadata, dict) or not isinstance(
            metadata.get("datasets"), list
        ):
            raise ValueError("no list of datasets")
    except (ValueError, AttributeError, TypeError):
        raise CheckError(
            f"{location} is a Zarr group without OME-Zarr multiscales metadata: "
            "give the folder of an image (a plate or a bare array is not one)."
        ) from None
    return group, metadata


def ome_version(group: zarr.Group, metadata: dict) -> str | None:
    """The OME-Zarr version: 0.5 keeps it under "ome", 0.4 in the multiscales."""
    attributes = group.attrs.asdict()
    if "ome" in attributes:
        return attributes["ome"].get("version")
    return metadata.get("version")


# --------------------------------------------------------------------------
# Metadata and array headers
# --------------------------------------------------------------------------


def validation_problem(group: zarr.Group, version: str | None) -> str | None:
    """What ome-zarr-models says against the metadata, in one line (None: valid)."""
    from pydantic import ValidationError

    from data_helpers.ome import v04, v05

    model = {"0.4": v04, "0.5": v05}[version or ""]
    try:
        model.Image.from_zarr(group)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        said = " ".join(first["msg"].removeprefix("Value error, ").split())
        more = error.error_count() - 1
        extra = f" (and {more} more)" if more else ""
        return f"{where + ': ' if where else ''}{said.rstrip(' .')}{extra}"
    except Exception as error:  # the models raise more than ValidationError
        return one_line(error)
    return None


def transform(dataset: dict, kind: str) -> tuple[float, ...] | None:
    """A dataset's ``scale`` or ``translation`` vector, if it has one."""
    for item in dataset.get("coordinateTransformations") or []:
        if isinstance(item, dict) and item.get("type") == kind:
            values = item.get(kind)
            if isinstance(values, list):
                return tuple(float(v) for v in values)
    return None


def codec_name(codec: Any) -> str:
    """A codec's name, with its compressor for Blosc: ``blosc(zstd)``, ``bytes``."""
    if hasattr(codec, "to_dict"):  # format 3 codecs
        config = codec.to_dict()
        name, options = config["name"], config.get("configuration", {})
    else:  # numcodecs codecs of format 2
        options = codec.get_config()
        name = options["id"]
    cname = options.get("cname")
    return f"{name}({getattr(cname, 'value', cname)})" if cname else str(name)


def can_list(store: Any) -> bool:
    """Whether listing ``store`` finds its objects (a web server lists none)."""
    protocol = getattr(getattr(store, "fs", None), "protocol", ())
    protocols = {protocol} if isinstance(protocol, str) else set(protocol)
    return bool(store.supports_listing) and not protocols & {"http", "https"}


def level_of(path: str, array: zarr.Array, dataset: dict) -> Level:
    """The summary of one level; lists the store where it can."""
    codecs = [*array.filters, *([array.serializer] if array.serializer else [])]
    codecs += list(array.compressors)
    shards = array.shards
    per_object = (
        math.prod(s // c for s, c in zip(shards, array.chunks, strict=True))
        if shards
        else 1
    )
    grid = array.shards or array.chunks
    in_grid = math.prod(
        math.ceil(n / g) for n, g in zip(array.shape, grid, strict=True)
    )
    stored: int | None = None
    nbytes: int | None = None
    if can_list(array.store_path.store):
        stored = array.nchunks_initialized // per_object
        nbytes = array.nbytes_stored()
    return Level(
        path=path,
        shape=tuple(array.shape),
        dtype=str(array.dtype),
        chunks=tuple(array.chunks),
        shards=tuple(shards) if shards else None,
        codecs=tuple(codec_name(c) for c in codecs),
        scale=transform(dataset, "scale"),
        translation=transform(dataset, "translation"),
        stored=stored,
        in_grid=in_grid,
        bytes_stored=nbytes,
    )


def header_problems(
    arrays: dict[str, zarr.Array],
    levels: list[Level],
    axes: list[dict],
    version: str | None,
) -> list[Finding]:
    """Levels against each other, against the axes and against their scales."""
    problems: list[Finding] = []
    if not levels:
        return problems
    first = levels[0]
    names = tuple(str(axis.get("name")) for axis in axes)
    for level in levels:
        where, array = f"level {level.path}", arrays[level.path]
        said = []
        if level is not first and level.dtype != first.dtype:
            said.append(
                f"dtype {level.dtype}, but level {first.path} is {first.dtype}: "
                "every level must hold the same kind of values"
            )
        if len(level.shape) != len(names):
            said.append(
                f"{len(level.shape)} dimensions, but {len(names)} axes {names}: "
                "readers cannot tell which dimension is which"
            )
        elif level is not first and len(level.shape) != len(first.shape):
            said.append(
                f"{len(level.shape)} dimensions, but level {first.path} has "
                f"{len(first.shape)}: every level must have the same dimensions"
            )
        if version == "0.5" and array.metadata.zarr_format == 3:
            dimension_names = array.metadata.dimension_names
            if dimension_names is None:
                said.append(
                    "no dimension_names: OME-Zarr 0.5 asks each array to name its "
                    f"dimensions like the axes, {names}"
                )
            elif tuple(dimension_names) != names:
                said.append(
                    f"dimension_names {tuple(dimension_names)} differ from the "
                    f"axis names {names}: readers that go by either disagree"
                )
        problems += [Finding(where, f"{text}.") for text in said]
    problems += scale_problems(levels)
    return problems


def scale_problems(levels: list[Level]) -> list[Finding]:
    """Scales must grow, and each shape must match level 0's times the scale ratio."""
    problems: list[Finding] = []
    first = levels[0]
    for above, level in zip(levels, levels[1:], strict=False):
        where = f"level {level.path}"
        if level.scale is None or above.scale is None or first.scale is None:
            continue  # ome-zarr-models reports a missing scale
        if not len(level.scale) == len(level.shape) == len(first.shape):
            continue  # a dimension problem, reported already
        pairs = list(zip(level.scale, above.scale, strict=False))
        if not (all(s >= a for s, a in pairs) and any(s > a for s, a in pairs)):
            message = (
                f"scale {level.scale} does not grow from level {above.path}'s "
                f"{above.scale}: each level must be coarser than the one above."
            )
            problems.append(Finding(where, message))
        expected = tuple(
            round(n * s0 / s, 2)
            for n, s0, s in zip(first.shape, first.scale, level.scale, strict=True)
        )
        if any(abs(n - e) > 1 for n, e in zip(level.shape, expected, strict=True)):
            message = (
                f"shape {level.shape} disagrees with its scale: level {first.path}'s "
                f"shape {first.shape} times the scale ratio is {expected}; readers "
                "would place this level's voxels where the image is not."
            )
            problems.append(Finding(where, message))
    return problems


# --------------------------------------------------------------------------
# Deep: every chunk, and each level against the level above
# --------------------------------------------------------------------------


@dataclass
class Stats:
    """Sums over voxels of a level (y) and the block mean of the level above (x)."""

    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0
    equal: int = 0
    max_difference: float = 0.0

    def add(self, other: Stats) -> None:
        for name in ("n", "sx", "sy", "sxx", "syy", "sxy", "equal"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_difference = max(self.max_difference, other.max_difference)

    @classmethod
    def of(cls, mean: np.ndarray, level: np.ndarray) -> Stats:
        x, y = mean.astype(np.float64).ravel(), level.astype(np.float64).ravel()
        return cls(
            n=x.size,
            sx=float(x.sum()),
            sy=float(y.sum()),
            sxx=float(x @ x),
            syy=float(y @ y),
            sxy=float(x @ y),
            equal=int(np.count_nonzero(x == y)),
            max_difference=float(np.abs(x - y).max(initial=0.0)),
        )

    def correlation(self) -> float | None:
        """Pearson correlation of the level with the block mean (None: constant)."""
        if self.n == 0:
            return None
        cov = self.sxy - self.sx * self.sy / self.n
        vx = self.sxx - self.sx**2 / self.n
        vy = self.syy - self.sy**2 / self.n
        if vx <= 1e-12 * max(self.sxx, 1.0) or vy <= 1e-12 * max(self.syy, 1.0):
            return None
        return cov / math.sqrt(vx * vy)


#: A task of a deep check reads a block of up to this many chunks along each
#: axis (zarr fetches and decodes them together), or a single shard.
BLOCK = 2


def objects_per_task(array: zarr.Array) -> int:
    """Stored objects a deep-check task reads along each axis: shards are big."""
    return 1 if array.shards else BLOCK


@dataclass
class BlockResult:
    """What one task found in a block of stored objects of a level."""

    level: int
    errors: list[tuple[str, str]] = field(default_factory=list)  # key, what
    not_fill: int = 0
    below: Stats | None = None  # the level below against this block's mean


def block_mean(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Block mean by ``factors`` (powers of 2) with ``downsample_mean``.

    ``downsample_mean`` halves every axis; an axis with nothing left to halve
    is first repeated twice, which its mean then undoes.
    """
    left = list(factors)
    while any(f > 1 for f in left):
        for axis, f in enumerate(left):
            if f == 1:
                block = np.repeat(block, 2, axis=axis)
        block = downsample_mean(block)
        left = [max(f // 2, 1) for f in left]
    return block


def scale_factors(above: Level, level: Level) -> tuple[int, ...] | None:
    """Whole power-of-2 factors between two levels' scales, or None."""
    if (
        above.scale is None
        or level.scale is None
        or len(above.scale) != len(level.scale)
    ):
        return None
    factors = []
    for a, s in zip(above.scale, level.scale, strict=True):
        ratio = s / a if a else 0.0
        f = round(ratio)
        if f < 1 or abs(ratio - f) > 0.25 * f or f & (f - 1):
            return None
        factors.append(f)
    return tuple(factors)


def blosc_size_problems(array: zarr.Array, keys: Sequence[str]) -> dict[str, str]:
    """The stored objects among ``keys`` that are shorter (or longer) than their
    Blosc header says.

    Blosc can decode a chunk cut short without an error (into partly wrong
    voxels), so each chunk's length is checked against the compressed size,
    ``cbytes``, that bytes 12-15 of every Blosc frame hold (c-blosc's
    README_HEADER.rst). Only for unsharded arrays whose outermost codec is
    Blosc; a shard's index says where each of its chunks ends.
    """
    compressors = array.compressors
    if (
        array.shards
        or not compressors
        or not codec_name(compressors[-1]).startswith("blosc")
    ):
        return {}
    store = array.store_path.store

    async def head_and_size(key: str) -> tuple[bytes | None, int]:
        head = await store.get(key, default_buffer_prototype(), RangeByteRequest(0, 16))
        if head is None:
            return None, 0  # not stored: read as the fill value
        return head.to_bytes(), await store.getsize(key)

    async def all_keys() -> list[tuple[bytes | None, int]]:
        return await asyncio.gather(*(head_and_size(key) for key in keys))

    found = {}
    for key, (head, size) in zip(keys, sync(all_keys()), strict=True):
        if head is None:
            continue
        if len(head) < 16:
            found[key] = f"{size} bytes stored, shorter than a Blosc header"
        elif (cbytes := int.from_bytes(head[12:16], "little")) != size:
            found[key] = f"its Blosc header says {cbytes} bytes, but {size} are stored"
    return found


def region_of(
    array: zarr.Array, start: Sequence[int], count: int = 1
) -> tuple[slice, ...]:
    """The voxels of ``count``**ndim stored objects from object ``start``."""
    grid = array.shards or array.chunks
    return tuple(
        slice(c * g, min((c + count) * g, n))
        for c, g, n in zip(start, grid, array.shape, strict=True)
    )


def read_block(
    index: int,
    array: zarr.Array,
    block: tuple[int, ...],
    below: zarr.Array | None,
    factors: tuple[int, ...] | None,
) -> BlockResult:
    """Read a block of stored objects; compare ``below`` with its block mean."""
    grid = array.shards or array.chunks
    counts = [math.ceil(n / g) for n, g in zip(array.shape, grid, strict=True)]
    per_task = objects_per_task(array)
    first = [b * per_task for b in block]
    objects = itertools.product(
        *(range(f, min(f + per_task, c)) for f, c in zip(first, counts, strict=True))
    )
    prefix = f"{array.path}/" if array.path else ""
    keys = {c: prefix + array.metadata.encode_chunk_key(c) for c in objects}
    result = BlockResult(index)
    region = region_of(array, first, per_task)
    cut = blosc_size_problems(array, list(keys.values()))
    data, failed = None, ""
    if not cut:
        try:
            data = array[region]
        except Exception as error:  # a codec's error on a cut or corrupt object
            failed = one_line(error)
    if data is None:  # name the objects at fault, one by one
        for coords, key in keys.items():
            if key in cut:
                result.errors.append((key, cut[key]))
                continue
            try:
                array[region_of(array, coords)]
            except Exception as error:
                result.errors.append((key, one_line(error)))
        if not result.errors:
            result.errors.append((next(iter(keys.values())), failed))
        return result
    fill = array.fill_value if array.fill_value is not None else 0
    result.not_fill = int(np.count_nonzero(data != fill))
    if below is None or factors is None:
        return result
    # The voxels of `below` whose whole block starts inside this region.
    starts = [math.ceil(s.start / f) for s, f in zip(region, factors, strict=True)]
    stops = [
        min(math.ceil(s.stop / f), n)
        for s, f, n in zip(region, factors, below.shape, strict=True)
    ]
    if any(a >= b for a, b in zip(starts, stops, strict=True)):
        return result
    offset = tuple(
        slice(a * f - s.start, None)
        for a, f, s in zip(starts, factors, region, strict=True)
    )
    mean = block_mean(data[offset], factors)
    try:
        lower = below[tuple(slice(a, b) for a, b in zip(starts, stops, strict=True))]
    except Exception:  # its own task reports the object that cannot be read
        return result
    common = tuple(
        slice(0, min(m, n)) for m, n in zip(mean.shape, lower.shape, strict=True)
    )
    result.below = Stats.of(mean[common], lower[common])
    return result


def deep_findings(
    arrays: list[zarr.Array],
    levels: list[Level],
    workers: int,
    progress: bool,
) -> tuple[list[Finding], list[Finding]]:
    """Read every stored object of every level on dask; problems and information."""
    import dask.bag
    from dask.diagnostics import ProgressBar

    factors = [scale_factors(a, b) for a, b in zip(levels, levels[1:], strict=False)]
    blocks = []  # (level, block coordinates): small, cheap for dask to hash
    for index, array in enumerate(arrays):
        grid = array.shards or array.chunks
        counts = [
            math.ceil(n / (g * objects_per_task(array)))
            for n, g in zip(array.shape, grid, strict=True)
        ]
        blocks += [(index, tuple(map(int, c))) for c in np.ndindex(*counts)]

    def read(task: tuple[int, tuple[int, ...]]) -> BlockResult:
        index, block = task
        below = arrays[index + 1] if index + 1 < len(arrays) else None
        scale = factors[index] if below is not None else None
        return read_block(index, arrays[index], block, below, scale)

    # One task per block: a worker holds one block of stored objects and the
    # part of the level below it at a time.
    bag = dask.bag.from_sequence(blocks, partition_size=1).map(read)
    bar = ProgressBar(minimum=PROGRESS_AFTER_SECONDS, out=sys.stderr)
    with bar if progress else contextlib.nullcontext():
        results = bag.compute(scheduler="threads", num_workers=workers)
    return pyramid_findings(levels, results)


def pyramid_findings(
    levels: list[Level], results: Sequence[BlockResult]
) -> tuple[list[Finding], list[Finding]]:
    """Problems and information from what the tasks of a deep check found."""
    problems, information = [], []
    not_fill = [0] * len(levels)
    stats = [Stats() for _ in levels]
    broken = [0] * len(levels)
    for result in results:
        for key, error in result.errors:
            message = (
                f"cannot be decoded ({error}): the stored object is cut "
                "short or corrupt, so readers fail on it or show wrong voxels."
            )
            problems.append(Finding(f"chunk {key}", message))
        if result.errors:
            broken[result.level] += 1
            continue
        not_fill[result.level] += result.not_fill
        if result.below is not None:
            stats[result.level + 1].add(result.below)
    for k in range(1, len(levels)):
        where, above = f"level {levels[k].path}", f"level {levels[k - 1].path}"
        factors = scale_factors(levels[k - 1], levels[k])
        found, correlation = stats[k], stats[k].correlation()
        if factors is None:
            message = (
                f"not compared with {above}: the ratio of their scales is not a "
                "whole power of 2 on every axis."
            )
            information.append(Finding(where, message))
        elif not_fill[k] == 0 and not_fill[k - 1] > 0 and not broken[k]:
            message = (
                f"every voxel is the fill value, but {above} holds data: the level "
                "was never written, or its writes were lost."
            )
            problems.append(Finding(where, message))
        elif broken[k] or broken[k - 1] or (found.n and found.equal == found.n):
            pass  # cut short (the chunks say enough), or the exact block mean
        elif correlation is None or correlation < MIN_CORRELATION:
            said = "undefined" if correlation is None else f"{correlation:.3f}"
            message = (
                f"not a downsampled copy of {above}: its correlation with the "
                f"{'x'.join(map(str, factors))} block mean of {above} is {said} "
                f"(below {MIN_CORRELATION}); zoomed out, viewers show another image."
            )
            problems.append(Finding(where, message))
        else:
            message = (
                f"a downsampled copy of {above} (correlation {correlation:.3f} with "
                f"its {'x'.join(map(str, factors))} block mean), but not the exact "
                f"block mean ({found.equal / found.n:.1%} of voxels equal it): made "
                "with another method, e.g. Gaussian smoothing."
            )
            information.append(Finding(where, message))
    return problems, information


# --------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------


def metadata_findings(
    group: zarr.Group, version: str | None
) -> tuple[list[Finding], list[Finding]]:
    """The Zarr format for the version, and ome-zarr-models' verdict."""
    zarr_format = group.metadata.zarr_format
    expected = {"0.4": 2, "0.5": 3}.get(version or "")
    if expected is None:
        message = (
            f"OME-Zarr version {version!r} is not checked against the "
            "specification (this checks 0.4 and 0.5)."
        )
        return [], [Finding("metadata", message)]
    if expected != zarr_format:
        message = (
            f"OME-Zarr {version} metadata in a Zarr format {zarr_format} group: "
            f"OME-Zarr {version} needs Zarr format {expected}, so readers of "
            f"{version} cannot open it."
        )
        return [Finding("metadata", message)], []
    rejected = validation_problem(group, version)
    if rejected:
        message = f"the OME-Zarr {version} specification rejects it: {rejected}."
        return [Finding("metadata", message)], []
    return [], []


def check_image(
    url_or_path: str | os.PathLike[str],
    deep: bool = False,
    *,
    workers: int | None = None,
    progress: bool = False,
) -> CheckResult:
    """Check the OME-Zarr image at a local path or an http(s):// or s3:// URL.

    Returns a ``CheckResult`` (its ``problems`` empty when the image is
    right). ``deep`` also reads every chunk on ``workers`` dask threads (all
    cores by default), with a progress bar on stderr after
    ``PROGRESS_AFTER_SECONDS`` if ``progress``. Raises ``CheckError`` when
    there is no image to check.
    """
    location = os.fspath(url_or_path)
    group, metadata = open_image(location)
    version = ome_version(group, metadata)
    problems, information = metadata_findings(group, version)
    axes = [
        a if isinstance(a, dict) else {"name": str(a)}
        for a in metadata.get("axes") or []
    ]
    arrays: dict[str, zarr.Array] = {}
    levels: list[Level] = []
    for dataset in metadata["datasets"]:
        path = str(dataset.get("path")) if isinstance(dataset, dict) else "?"
        try:
            node = group[path]
        except KeyError:
            node = None
        except Exception as error:  # metadata zarr refuses, e.g. uneven shards
            message = (
                f"cannot be opened as an array ({one_line(error)}): readers fail "
                "on this level."
            )
            problems.append(Finding(f"level {path}", message))
            continue
        if not isinstance(node, zarr.Array):
            what = "a group" if isinstance(node, zarr.Group) else "missing"
            message = (
                f"the metadata lists it as a level, but it is {what}, not an "
                "array: readers fail to open the image."
            )
            problems.append(Finding(f"level {path}", message))
            continue
        arrays[path] = node
        levels.append(level_of(path, node, dataset))
    problems += header_problems(arrays, levels, axes, version)
    if deep and levels:
        found, info = deep_findings(
            list(arrays.values()), levels, workers or os.cpu_count() or 1, progress
        )
        problems += found
        information += info
    summary = Summary(
        location=location,
        ome_version=version,
        zarr_format=group.metadata.zarr_format,
        axes=tuple((str(a.get("name")), a.get("type"), a.get("unit")) for a in axes),
        levels=tuple(levels),
    )
    return CheckResult(summary, problems, information, deep)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: check, print the report (or JSON), exit 0, 1 or 2."""
    parser = argparse.ArgumentParser(
        prog="python -m data_helpers.check",
        description="Check an OME-Zarr image on disk, over HTTP or on S3.",
    )
    parser.add_argument("image", metavar="IMAGE", help="path, http(s):// or s3:// URL")
    parser.add_argument("--deep", action="store_true", help="read every chunk too")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workers", type=int, default=None, help="dask threads")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print(f"error: --workers {args.workers} must be 1 or more.", file=sys.stderr)
        return 2
    try:
        result = check_image(
            args.image, deep=args.deep, workers=args.workers, progress=True
        )
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(result.text())
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
