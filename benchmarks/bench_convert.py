"""Benchmark: convert a synthetic volume into a 3-level OME-Zarr pyramid.

Run with ``nox -s bench`` (``-- --size 2GiB`` for one size, ``--repeats N``,
``--format jp2`` for JPEG 2000 slices, ``--size 8GiB-wide`` for 4096-wide
slices, ``--workers 1 2`` for each number of workers in turn, ``--check`` to
run ``check --deep`` on each method's first output, ``--rehearsal`` for the
full-size rehearsal). The methods, all writing 3 levels of 128^3 chunks with
Blosc zstd 3 shuffle, are described in ``METHOD_NOTES`` (the report prints
those of its rows); the inputs (``benchmarks/inputs.py``) are one synthetic
volume per size as a folder of slices, one multi-page TIFF or one HDF5 file.

Every method but ``book-sharded-processes`` and ``stack-to-chunk`` runs on
dask's threaded scheduler, with as many threads of the run's process as
workers (the book's converter's own choice without a client);
``book-sharded-processes`` runs the converter on a ``distributed``
``LocalCluster`` of worker processes (one thread each) and ``stack-to-chunk``
on its own joblib (loky) worker processes. Reports before the one of
2026-12-02 17:45 ran the book's converter and ome-zarr-py on a distributed
``LocalCluster`` of worker threads (and before 2026-12, ome-zarr-py on worker
processes).

On JPEG 2000 slices only the book's converter runs in this process's threads
(and ``limit``): the other libraries read through ``stack_as_dask``, which
would decode each slice once per row of chunks. Each run counts the JPEG 2000
decodes of each slice: the converter's workers are threads of the run's
process, so a wrapper around ``imagecodecs.jpeg2k_decode`` sees every decode,
whichever task makes it.

``--codec-pipeline`` (zarr's ``batched``, its opt-in ``fused``, or the
``zarrs`` package's Rust pipeline), ``--zarr-threads`` (zarr's
``threading.max_workers``) and ``--blosc-threads`` (numcodecs' Blosc threads,
off under zarr by default) change how every method's run encodes, to compare
them; the report names the settings and a digest of each output, to check that
they write the same bytes.

Each run is a subprocess; the memory of each process of its tree is sampled
with psutil: the report gives the peak of the sum (the whole run) and the
largest peak of one child process (a worker process, for the methods that
have them). Repetitions are interleaved (method by method, then again).
Results go to ``_build/bench/``: results.json, results.md, results.png
(``--report NAME`` for other names, so that separate runs keep their reports).

``--rehearsal`` converts the largest of ``inputs.REHEARSAL`` (32 GiB down to
10 GiB) whose input and output fit the free disk, once, with ``limit`` and
``book-sharded-processes`` on 2 worker processes, runs ``check --deep`` on the
output, and deletes its input and outputs afterwards (report ``rehearsal``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import logging
import math
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import psutil  # type: ignore[import-untyped]
from inputs import (  # benchmarks/inputs.py
    FILE_KINDS,
    SIZES,
    SLICE_KINDS,
    input_bytes,
    make_input,
    rehearsal_size,
    remove_input,
)
from report import OUT, markdown_table, write_report  # benchmarks/report.py

from data_helpers.files import data_files, folder_bytes

DEFAULT_SIZES = ("2GiB", "8GiB")
METHODS = (
    "limit",
    "floor",
    "book",
    "book-sharded",
    "book-sharded-processes",
    "stack-to-chunk",
    "ome-zarr-py",
    "ngff-zarr",
    "book-multipage-tiff",
    "book-hdf5",
)
#: The methods that read JPEG 2000 slices as they should (each slice once),
#: in this process's threads, where the decodes are counted.
JPEG2K_METHODS = ("limit", "floor", "book", "book-sharded")
#: The methods that read another input than the slice folder, and its kind.
METHOD_KINDS = {"book-multipage-tiff": "multipage-tiff", "book-hdf5": "hdf5"}
#: What each method is, for the report (and this module's readers).
METHOD_NOTES = {
    "limit": "the unavoidable work, measured on the same slices with the same "
    "number of workers in the same run (`benchmarks/limit.py`): reading every "
    "slice once, the block means of levels 0 and 1, compressing every chunk "
    "(numcodecs, in memory) over the workers, plus writing those bytes as as "
    "many files.",
    "floor": "read every slice and write level 0 once, no pyramid (the book's "
    "converter with `levels=1`: same reading, same workers).",
    "book": "`data_helpers.convert.convert_stack` (Zarr 2, OME-Zarr 0.4), on "
    "as many threads of its process as workers.",
    "book-sharded": "the book's converter with Zarr 3 / OME-Zarr 0.5, shards "
    "of 256^3, on as many threads of its process as workers.",
    "book-sharded-processes": "book-sharded on a `distributed` `LocalCluster` "
    "of as many worker processes as workers, one thread each, passed as "
    "`client=`: how it runs on a cluster of machines, here on one. The "
    "cluster's start-up and the workers' import of the converter are not timed "
    "(`cluster_start_s` in the JSON).",
    "stack-to-chunk": "stack-to-chunk 2.3.1, the Human Organ Atlas's converter "
    "(tensorstore, joblib processes), as its tutorial runs it: the slices as a "
    "dask array of one chunk per slice (`dask.array.image.imread`, transposed "
    "to x, y, z), a `MultiScaleGroup` (OME-Zarr 0.5) of 128^3 chunks with the "
    "same Blosc codec, `add_full_res_data` and `add_downsample_level(1)`, "
    "`(2)` with `n_processes` = workers. Its shards are its own: one slab of "
    "128 whole slices per shard (memory grows with the slices' area), and its "
    "block means are truncated to integers, not rounded.",
    "ome-zarr-py": "`write_image` on a dask array, `local_mean`, z too.",
    "ngff-zarr": "`to_multiscales` (dask bin shrink) + `to_ngff_zarr`.",
    "book-multipage-tiff": "book-sharded's options on the same voxels as one "
    "multi-page BigTIFF (a page per slice, uncompressed, strips of 16 rows); "
    "its `limit` is the slices'.",
    "book-hdf5": "book-sharded's options on the same voxels as one HDF5 file "
    "(one contiguous uint16 dataset, the file's only array); its `limit` is "
    "the slices'.",
}
#: The full heart of the Human Organ Atlas (bytes of uint16 voxels), for the
#: report's prediction.
FULL_HEART_BYTES = 1.03e12
PIPELINES = {
    "batched": "zarr.core.codec_pipeline.BatchedCodecPipeline",
    "fused": "zarr.core.codec_pipeline.FusedCodecPipeline",
    "zarrs": "zarrs.ZarrsCodecPipeline",
}
CHUNKS, LEVELS, SHARDS = 128, 3, 256


# --------------------------------------------------------------------------
# One run of one method (in a subprocess)
# --------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """``seconds`` in hours (``1.4 h``), under an hour in minutes (``12 min``),
    under a minute in seconds (``22 s``)."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def stack_as_dask(folder: Path):
    """The slices as a (z, y, x) dask array of 128^3 chunks, read in row strips.

    Each dask block reads ``CHUNKS`` rows of ``CHUNKS`` slices, full width,
    through the converter's ``Source.read`` (only the strips it needs), then
    the array is cut along x too.
    """
    import dask
    import dask.array as da

    from data_helpers.convert import open_source

    source = open_source(folder)
    (n_z, n_y, n_x), dtype = source.shape, source.dtype

    def read(z0: int, y0: int) -> np.ndarray:
        region = (
            slice(z0, min(z0 + CHUNKS, n_z)),
            slice(y0, min(y0 + CHUNKS, n_y)),
            slice(0, n_x),
        )
        block = np.empty([s.stop - s.start for s in region], dtype)
        source.read(region, block)
        return block

    rows = [
        [
            da.from_delayed(
                dask.delayed(read)(z0, y0),
                (min(CHUNKS, n_z - z0), min(CHUNKS, n_y - y0), n_x),
                dtype,
            )
            for y0 in range(0, n_y, CHUNKS)
        ]
        for z0 in range(0, n_z, CHUNKS)
    ]
    array = da.block([[[block] for block in row] for row in rows])
    return array.rechunk((CHUNKS, CHUNKS, CHUNKS))


def apply_settings(
    pipeline: str, zarr_threads: int | None, blosc_threads: int | None
) -> None:
    """Set how zarr encodes in this process (the workers are threads of it)."""
    import numcodecs.blosc
    import zarr
    import zarr.codecs  # noqa: F401  (importing it turns Blosc's threads off)

    zarr.config.set({"codec_pipeline.path": PIPELINES[pipeline]})
    if zarr_threads is not None:
        zarr.config.set({"threading.max_workers": zarr_threads})
    if blosc_threads is not None:
        numcodecs.blosc.use_threads = True
        numcodecs.blosc.set_nthreads(blosc_threads)


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def count_jpeg2k_decodes() -> Counter[str]:
    """From now on, count each JPEG 2000 decode in this process by its input's digest.

    Every decode goes through ``imagecodecs.jpeg2k_decode``; the converter's
    workers are threads of this process, so the count covers every task.
    """
    import imagecodecs

    counts: Counter[str] = Counter()
    lock, decode = threading.Lock(), imagecodecs.jpeg2k_decode

    def counting(data: Any, *args: Any, **kwargs: Any) -> Any:
        key = digest(bytes(data))
        with lock:
            counts[key] += 1
        return decode(data, *args, **kwargs)

    imagecodecs.jpeg2k_decode = counting
    return counts


def decodes_per_slice(folder: Path, counts: Counter[str]) -> dict[str, int]:
    """How many slices were decoded how many times (``{"1": 256}``), and the rest.

    ``"unmatched"`` counts decodes of bytes that are no slice file.
    """
    paths = sorted(folder.glob(SLICE_KINDS["jp2"]))
    per_slice = [counts[digest(path.read_bytes())] for path in paths]
    unmatched = sum(counts.values()) - sum(per_slice)
    histogram = {str(n): k for n, k in sorted(Counter(per_slice).items())}
    return histogram | ({"unmatched": unmatched} if unmatched else {})


def output_digest(output: Path) -> str:
    """A digest of the paths and bytes of the chunk (shard) files under ``output``.

    Metadata is left out (it names the input's fingerprint): the same digest
    means the same chunks, whether from TIFF or JPEG 2000 slices, or ``limit``.
    """
    hasher = hashlib.blake2b(digest_size=16)
    for path in sorted(data_files(output)):
        hasher.update(str(path.relative_to(output)).encode() + b"\0")
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def run_method(method: str, path: Path, output: Path, workers: int) -> dict:
    """Run one method on the input at ``path``; its wall time, and for JPEG
    2000 the decodes it made."""
    from data_helpers.codec_names import DEFAULT_CODEC, make_codec
    from data_helpers.convert import convert_stack

    jpeg2k = path.is_dir() and any(path.glob(SLICE_KINDS["jp2"]))
    counts = count_jpeg2k_decodes() if jpeg2k else None
    extra: dict[str, Any] = {}
    sharded: dict[str, Any] = {"ome_zarr_version": "0.5", "shards": SHARDS}
    wall: float | None = None  # set by a method that times only part of its run
    start = time.perf_counter()
    if method == "limit":
        from limit import measure_limit  # benchmarks/limit.py

        measured = measure_limit(
            path, output, chunks=CHUNKS, levels=LEVELS, workers=workers
        )
        extra["limit"] = measured.as_dict()
        extra["limit_summary"] = measured.summary()
    elif method in ("floor", "book", "book-sharded", *METHOD_KINDS):
        options: dict[str, Any] = {"levels": 1 if method == "floor" else LEVELS}
        options["ome_zarr_version"] = "0.4"  # Zarr format 2 chunks, as reported
        if method == "book-sharded" or method in METHOD_KINDS:
            options.update(sharded)
        convert_stack(
            path, output, chunks=CHUNKS, workers=workers, progress=False, **options
        )
    elif method == "book-sharded-processes":
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            # Started, with the converter imported: a cluster's workers start
            # once for many conversions.
            client.run(importlib.import_module, "data_helpers.convert")
            extra["cluster_start_s"] = time.perf_counter() - start
            start = time.perf_counter()  # the conversion only
            convert_stack(
                path,
                output,
                chunks=CHUNKS,
                levels=LEVELS,
                client=client,
                progress=False,
                **sharded,
            )
            wall = time.perf_counter() - start
    elif method == "stack-to-chunk":
        run_stack_to_chunk(path, output, workers)
    elif method == "ome-zarr-py":
        import dask
        import zarr
        from ome_zarr.format import FormatV04
        from ome_zarr.scale import Methods
        from ome_zarr.writer import write_image

        with dask.config.set(scheduler="threads", num_workers=workers):
            group = zarr.open_group(output, mode="w", zarr_format=2)
            factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, LEVELS)]
            write_image(
                stack_as_dask(path),
                group,
                scale_factors=factors,
                method=Methods.LOCAL_MEAN,
                fmt=FormatV04(),
                axes="zyx",
                storage_options={
                    "chunks": (CHUNKS,) * 3,
                    "compressor": make_codec(DEFAULT_CODEC),
                },
            )
    elif method == "ngff-zarr":
        import dask
        import ngff_zarr

        with dask.config.set(scheduler="threads", num_workers=workers):
            image = ngff_zarr.to_ngff_image(stack_as_dask(path), dims=["z", "y", "x"])
            multiscales = ngff_zarr.to_multiscales(
                image,
                scale_factors=[2**k for k in range(1, LEVELS)],
                method=ngff_zarr.Methods.DASK_BIN_SHRINK,
                chunks=CHUNKS,
            )
            ngff_zarr.to_ngff_zarr(
                str(output),
                multiscales,
                version="0.4",
                compressor=make_codec(DEFAULT_CODEC),
            )
    else:
        raise SystemExit(f"unknown method {method!r}; choose from {METHODS}")
    if wall is None:
        wall = time.perf_counter() - start
    if method == "limit":
        wall = extra["limit"]["seconds"]  # the limit, not the time measuring it
    if counts is not None:
        if not counts:
            raise SystemExit(
                f"{method} decoded no JPEG 2000 slice in this process: the count "
                "cannot see where it decoded; fix count_jpeg2k_decodes."
            )
        extra["decodes"] = decodes_per_slice(path, counts)
    return {"wall_s": wall, **extra}


def run_stack_to_chunk(folder: Path, output: Path, workers: int) -> None:
    """Convert the TIFF slices in ``folder`` with stack-to-chunk, as its
    tutorial does (docs/tutorial/tutorial.py of stack-to-chunk 2.3.1), with
    the bench's chunks, codec and levels on ``workers`` joblib processes."""
    import stack_to_chunk  # type: ignore[import-not-found, import-untyped]
    import zarr
    import zarr.codecs
    from dask.array.image import imread
    from pydantic_zarr.v3 import ArraySpec

    from data_helpers.codec_names import DEFAULT_CODEC, make_codec

    # (x, y, z), one chunk per slice: the layout add_full_res_data requires.
    images = imread(str(folder / SLICE_KINDS["tiff"])).T
    spec = zarr.empty(  # in memory: only its metadata is used
        images.shape,
        chunks=(CHUNKS,) * 3,
        dtype=images.dtype,
        codecs=[zarr.codecs.BytesCodec(), make_codec(DEFAULT_CODEC, zarr_format=3)],
        dimension_names=("x", "y", "z"),
    )
    group = stack_to_chunk.MultiScaleGroup(
        output,
        name="bench",
        voxel_size=(1.0, 1.0, 1.0),
        spatial_unit="micrometer",
        array_spec=ArraySpec.from_zarr(spec),
    )
    group.add_full_res_data(images, n_processes=workers)
    for level in range(1, LEVELS):
        group.add_downsample_level(level, n_processes=workers)


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def tree_rss(process: psutil.Process, peaks: dict[int, int]) -> int:
    """The summed RSS of ``process`` and its descendants; ``peaks`` keeps the
    peak of each descendant (by pid)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        if p.pid != process.pid:
            peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
    return total


def measure(
    method: str, path: Path, output: Path, workers: int, settings: list[str]
) -> dict:
    """Run one method in a subprocess; its time, output size and memory: the
    peak of the whole process tree and the largest peak of one child process
    (a worker process; None when the run has no children).

    ``settings`` are the ``run`` command's encoding options (``settings_args``).
    """
    shutil.rmtree(output, ignore_errors=True)
    # Absolute paths: worker processes need not share the run's folder.
    command = [sys.executable, __file__, "run", method, str(path.resolve())]
    command.append(str(output.resolve()))
    command += ["--workers", str(workers), *settings]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    parent = psutil.Process(child.pid)
    peak, children, done = 0, dict[int, int](), threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, tree_rss(parent, children))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"{method} failed with exit status {child.returncode}")
    outcome = json.loads(out.strip().splitlines()[-1])
    return {
        "method": method,
        "workers": workers,
        "wall_s": outcome.pop("wall_s"),
        "peak_rss_bytes": peak,
        "peak_child_bytes": max(children.values(), default=None),
        "output_bytes": folder_bytes(output),
        **outcome,
    }


def deep_check(output: Path) -> dict:
    """``python -m data_helpers.check --deep output``: its time, exit status
    (0 no problems, 1 problems) and its last line, the verdict."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "data_helpers.check", "--deep", str(output)],
        capture_output=True,
        text=True,
    )
    lines = done.stdout.strip().splitlines() or done.stderr.strip().splitlines()
    return {
        "check_s": time.perf_counter() - start,
        "check_status": done.returncode,
        "check_verdict": lines[-1] if lines else "",
    }


def level_paths(output: Path) -> list[str]:
    """The paths of an image's levels, from its multiscales metadata."""
    import zarr

    from data_helpers.ome import multiscale_metadata

    group = zarr.open_group(output, mode="r")
    return [d["path"] for d in multiscale_metadata(group)["datasets"]]


def level1_error(output: Path) -> float:
    """Mean absolute difference of level 1 from the exact, correctly rounded
    2x2x2 block mean of level 0, block by block."""
    import zarr

    from data_helpers.pyramid import downsample_mean

    paths = level_paths(output)
    level0 = zarr.open_array(output / paths[0], mode="r")
    level1 = zarr.open_array(output / paths[1], mode="r")
    total, step = 0.0, 2 * CHUNKS
    for z in range(0, level0.shape[0], step):
        for y in range(0, level0.shape[1], step):
            exact = downsample_mean(level0[z : z + step, y : y + step])
            got = level1[
                z // 2 : z // 2 + exact.shape[0], y // 2 : y // 2 + exact.shape[1]
            ]
            total += np.abs(np.asarray(got, np.float64) - exact).sum()
    return total / math.prod(level1.shape)


def input_name(size: str, kind: str) -> str:
    """The report's name of an input: its size, and its format unless TIFF."""
    return size if kind == "tiff" else f"{size} JPEG 2000"


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def summarise(results: list[dict]) -> list[dict]:
    """Best, median, peaks and ratio to the ``limit`` of the same input and
    number of workers, per method."""
    rows = []
    for size, workers in dict.fromkeys((r["size"], r["workers"]) for r in results):
        same = [r for r in results if r["size"] == size and r["workers"] == workers]
        limits = [r["wall_s"] for r in same if r["method"] == "limit"]
        for method in dict.fromkeys(r["method"] for r in same):
            runs = [r for r in same if r["method"] == method]
            walls = [r["wall_s"] for r in runs]
            best, median = min(walls), statistics.median(walls)
            children = [r["peak_child_bytes"] or 0 for r in runs]
            rows.append(
                {
                    "size": size,
                    "shape": tuple(runs[0]["shape"]),
                    "workers": workers,
                    "method": method,
                    "runs": len(runs),
                    "best_s": best,
                    "median_s": median,
                    "best_to_limit": best / min(limits) if limits else None,
                    "median_to_limit": (
                        median / statistics.median(limits) if limits else None
                    ),
                    "gb_per_s": runs[0]["input_bytes"] / 1e9 / best,
                    "peak_rss_gib": max(r["peak_rss_bytes"] for r in runs) / 2**30,
                    "peak_child_gib": max(children) / 2**30 if any(children) else None,
                    "output_gb": runs[0]["output_bytes"] / 1e9,
                    "level1_mad": runs[0].get("level1_mad"),
                    "decodes": runs[0].get("decodes"),
                    "digest": runs[0].get("digest"),
                    "check": check_text(runs[0]),
                }
            )
    return rows


def check_text(run: dict) -> str:
    """``check --deep``'s verdict on a run's output and its time, if it ran."""
    if "check_s" not in run:
        return ""
    status, seconds = run["check_status"], run["check_s"]
    return f"{run['check_verdict']} (exit {status}, {seconds:.0f} s)"


def decodes_text(decodes: dict[str, int] | None) -> str:
    """``"1 (256 slices)"``: how many times how many slices were decoded."""
    if decodes is None:
        return ""
    return ", ".join(
        f"{times} ({n} slices)" if times != "unmatched" else f"{n} unmatched"
        for times, n in decodes.items()
    )


def limit_lines(results: list[dict]) -> list[str]:
    """Per input and number of workers, what its best ``limit`` run was made
    of and what limits it."""
    best: dict[tuple[str, int], dict] = {}
    for r in results:
        key = (r["size"], r["workers"])
        if r["method"] == "limit" and (
            key not in best or r["wall_s"] < best[key]["wall_s"]
        ):
            best[key] = r
    return [f"- {size}: {r['limit_summary']}" for (size, _), r in best.items()]


def method_lines(rows: list[dict]) -> list[str]:
    """What each method of the report is, and how to read its columns."""
    methods = dict.fromkeys(r["method"] for r in rows)
    return [
        "The methods (all 3 levels of 128^3 chunks, Blosc zstd 3 shuffle):",
        "",
        *(f"- `{m}`: {METHOD_NOTES[m]}" for m in methods),
        "",
        "× limit is a row's wall time over the `limit`'s on the same input with "
        "the same number of workers: 1.00 is the unavoidable work, 1.25 a quarter "
        "more. GB/s is the input's bytes over the best wall time. Peak RSS is the "
        "peak of the sum of the run's process tree (shared pages counted in each "
        "process: an upper bound); peak per worker is the largest peak of one "
        "child process, a worker process of `book-sharded-processes` or of "
        "`stack-to-chunk` (blank: the run's workers are threads of one process).",
    ]


def scaling_lines(rows: list[dict]) -> list[str]:
    """Per input and method run on several numbers of workers, the speed-up
    from the fewest to the most; then what the fastest per-worker rate of the
    book's converter predicts for the full heart, and where that could break."""
    lines = []
    for size in dict.fromkeys(r["size"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            runs = sorted(
                (r for r in rows if r["size"] == size and r["method"] == method),
                key=lambda r: r["workers"],
            )
            if len(runs) < 2 or method == "limit":
                continue
            first, last = runs[0], runs[-1]
            speedup = first["best_s"] / last["best_s"]
            linear = last["workers"] / first["workers"]
            lines.append(
                f"- {size}, {method}: {first['workers']} → {last['workers']} workers, "
                f"speed-up ×{speedup:.2f} ({speedup / linear:.0%} of linear)"
            )
    if lines:
        lines = ["Scaling (best times):", "", *lines, ""]
    book = [
        r
        for r in rows
        if r["method"] in ("book-sharded", "book-sharded-processes")
        and "JPEG" not in r["size"]
    ]
    if not book:
        return lines
    largest = max(math.prod(r["shape"]) for r in book)  # the largest input's rate
    best = max(
        (r for r in book if math.prod(r["shape"]) == largest),
        key=lambda r: r["gb_per_s"] / r["workers"],
    )
    rate = best["gb_per_s"] / best["workers"]
    hours = ", ".join(
        f"{n} cores {duration(FULL_HEART_BYTES / 1e9 / (rate * n))}"
        for n in (2, 16, 64, 256)
    )
    return lines + [
        f"Prediction: at {rate:.3f} GB/s per worker ({best['method']}, "
        f"{best['workers']} workers, {best['size']}), the full heart "
        f"({FULL_HEART_BYTES / 1e12:.2f} TB of uint16 voxels) converts in "
        f"{hours}, if the rate per worker holds. It breaks where the workers "
        "share something that does not grow with them: the decode rate of the "
        "input (JPEG 2000 slices decode at a fixed rate per core, before any "
        "of this work), the disk or network file system's bandwidth (the "
        "limit's write rate below is this machine's disk), and on object "
        "storage the request rate (one PUT per shard and one GET per slice "
        "strip read, against a bucket's per-prefix request limits).",
    ]


def report(
    results: list[dict],
    settings: str,
    stem: str = "results",
    notes: list[str] | None = None,
) -> None:
    """Write ``stem``.json, ``stem``.md (printed too) and ``stem``.png in OUT;
    ``notes`` are lines put after the first (the rehearsal's choice of size)."""
    rows = summarise(results)
    header = ["input", "workers", "method", "runs", "best s", "median s"]
    header += ["× limit (best)", "× limit (median)", "GB/s (best)", "peak RSS GiB"]
    header += ["peak per worker GiB", "output GB", "level-1 mean abs. diff."]
    header += ["decodes per slice"]
    digests = any(r["digest"] for r in rows)
    checks = any(r["check"] for r in rows)
    workers = sorted({r["workers"] for r in rows})

    def ratio(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    lines = [
        f"Benchmark of {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{' and '.join(map(str, workers))} workers, "
        f"{psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB "
        f"RAM; {settings}.",
        *(["", *notes] if notes else []),
        "",
        *markdown_table(
            header
            + (["check --deep"] if checks else [])
            + (["output digest"] if digests else []),
            (
                [
                    r["size"],
                    r["workers"],
                    r["method"],
                    r["runs"],
                    f"{r['best_s']:.1f}",
                    f"{r['median_s']:.1f}",
                    ratio(r["best_to_limit"]),
                    ratio(r["median_to_limit"]),
                    f"{r['gb_per_s']:.3f}",
                    f"{r['peak_rss_gib']:.2f}",
                    ratio(r["peak_child_gib"]),
                    f"{r['output_gb']:.3f}",
                    "" if r["level1_mad"] is None else f"{r['level1_mad']:.3f}",
                    decodes_text(r["decodes"]),
                ]
                + ([r["check"]] if checks else [])
                + ([(r["digest"] or "")[:12]] if digests else [])
                for r in rows
            ),
        ),
        "",
        *method_lines(rows),
        "",
        *scaling_lines(rows),
    ]
    limits = limit_lines(results)
    if limits:
        lines += ["", "The limit of each input (its best run):", "", *limits]
    summary = {"settings": settings, "workers": workers, "summary": rows}
    write_report(stem, {**summary, "notes": notes or [], "runs": results}, lines)
    plot(rows, OUT / f"{stem}.png")
    print("\n".join(lines))


def plot(rows: list[dict], path: Path) -> None:
    """Best wall time (with the ratio to ``limit`` on each bar) and peak memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inputs = list(dict.fromkeys((r["size"], r["workers"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        found = [
            next(
                (
                    r
                    for r in rows
                    if (r["size"], r["workers"]) == key and r["method"] == method
                ),
                None,
            )
            for key in inputs
        ]
        x = np.arange(len(inputs)) + i * width
        for ax, key in zip(axes, ("best_s", "peak_rss_gib"), strict=True):
            values = [r[key] if r else 0 for r in found]
            bars = ax.bar(x, values, width, label=method)
            if key == "best_s":
                labels = [
                    f"×{r['best_to_limit']:.2f}"
                    if r and r["best_to_limit"] is not None
                    else ""
                    for r in found
                ]
                ax.bar_label(bars, labels, fontsize=7, rotation=90, padding=2)
    for ax, title, label in zip(
        axes,
        (
            "Best wall time (× the limit of its input)",
            "Peak memory of the process tree",
        ),
        ("wall time (s)", "peak RSS (GiB)"),
        strict=True,
    ):
        ticks = [f"{size}\n{workers} workers" for size, workers in inputs]
        ax.set_xticks(np.arange(len(inputs)) + 0.4 - width / 2, ticks)
        ax.set(title=title, xlabel="input (uint16 volume)", ylabel=label)
        ax.margins(y=0.15)
    axes[0].legend(fontsize=8)
    fig.suptitle("Converting a synthetic volume to a 3-level OME-Zarr pyramid")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """The options that change how every run encodes (see the module docstring)."""
    parser.add_argument("--codec-pipeline", choices=list(PIPELINES), default="batched")
    parser.add_argument("--zarr-threads", type=int, help="zarr's threading.max_workers")
    parser.add_argument("--blosc-threads", type=int, help="Blosc threads (default off)")


def settings_args(args: argparse.Namespace) -> list[str]:
    """The ``run`` command's options for the settings in ``args``."""
    options = ["--codec-pipeline", args.codec_pipeline]
    for name in ("zarr_threads", "blosc_threads"):
        if getattr(args, name) is not None:
            options += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return options


def settings_text(args: argparse.Namespace) -> str:
    """The settings in words, for the report."""
    threads = "default" if args.zarr_threads is None else args.zarr_threads
    blosc = "off" if args.blosc_threads is None else args.blosc_threads
    return (
        f"zarr codec pipeline {args.codec_pipeline}, zarr threads {threads}, "
        f"Blosc threads {blosc}"
    )


def run_input(
    path: Path, size: str, kind: str, methods: list[str], args: argparse.Namespace
) -> list[dict]:
    """Every repetition of ``methods`` on the input at ``path`` (of ``size``
    and in ``kind``), for each number of workers in turn, interleaved; each
    output is measured (and checked with ``--check``), then deleted."""
    results = []
    slices = kind if kind in SLICE_KINDS else "tiff"  # whose limit it is set against
    for workers in args.workers:
        for repeat in range(args.repeats):
            for method in methods:  # interleaved repetitions
                output = OUT / f"out-{size}-{kind}-{method}-{workers}.ome.zarr"
                result = measure(method, path, output, workers, settings_args(args))
                result.update(
                    size=input_name(size, slices),
                    format=kind,
                    shape=SIZES[size],
                    input_bytes=input_bytes(size),
                    repeat=repeat,
                )
                if repeat == 0 and method not in ("floor", "limit"):
                    result["level1_mad"] = level1_error(output)
                if repeat == 0 and args.digest:
                    result["digest"] = output_digest(output)
                if repeat == 0 and args.check and method != "limit":
                    result.update(deep_check(output))
                print(json.dumps(result), flush=True)
                results.append(result)
                shutil.rmtree(output, ignore_errors=True)
    return results


def inputs_of(methods: list[str], kind: str) -> dict[str, list[str]]:
    """The methods by the kind of input they read: the slices in ``kind``
    first, then each file kind (``METHOD_KINDS``)."""
    groups: dict[str, list[str]] = {}
    for method in methods:
        groups.setdefault(METHOD_KINDS.get(method, kind), []).append(method)
    return dict(sorted(groups.items(), key=lambda item: item[0] in FILE_KINDS))


def usable_methods(methods: list[str], kind: str) -> list[str]:
    """``methods`` that run on slices in ``kind``; says which are left out."""
    if kind == "tiff":
        return methods
    usable = [m for m in methods if m in JPEG2K_METHODS]
    skipped = sorted(set(methods) - set(usable))
    if skipped:
        print(
            f"not run on {kind} slices (they decode each slice once per row of "
            "chunks, decode in other processes, or read another input): "
            f"{', '.join(skipped)}",
            flush=True,
        )
    return usable


def parse(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options; ``--rehearsal`` sets its own."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=list(SIZES))
    parser.add_argument("--format", action="append", choices=list(SLICE_KINDS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[2],
        help="workers of each run; several (1 2) run everything for each in turn",
    )
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument(
        "--digest", action="store_true", help="report a digest of each output's chunks"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="run check --deep on each method's first output (timed, its verdict)",
    )
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help="the full-size rehearsal: the largest input that fits the disk, "
        "limit and book-sharded-processes on 2 worker processes, check --deep",
    )
    parser.add_argument(
        "--keep-inputs",
        action="store_true",
        help="keep the multi-page TIFF and HDF5 inputs (default: deleted after "
        "their runs; the slice folders are always kept, except the rehearsal's)",
    )
    parser.add_argument(
        "--report", default="results", help="the report's file names, without suffix"
    )
    add_settings_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "run":
        parser = argparse.ArgumentParser()
        parser.add_argument("method")
        parser.add_argument("input", type=Path)
        parser.add_argument("output", type=Path)
        parser.add_argument("--workers", type=int, default=2)
        add_settings_options(parser)
        args = parser.parse_args(argv[1:])
        apply_settings(args.codec_pipeline, args.zarr_threads, args.blosc_threads)
        outcome = run_method(args.method, args.input, args.output, args.workers)
        print(json.dumps(outcome))
        return
    args = parse(argv)
    notes: list[str] = []
    if args.rehearsal:
        size, why = rehearsal_size()
        args.size, args.format, args.repeats, args.check = [size], ["tiff"], 1, True
        args.methods, args.workers = ["limit", "book-sharded-processes"], [2]
        notes = [f"Rehearsal on {why}. Its input and outputs are deleted after it."]
        args.report = "rehearsal" if args.report == "results" else args.report
    settings, results = settings_text(args), []
    try:
        for kind in args.format or ["tiff"]:
            methods = usable_methods(args.methods, kind)
            for size in args.size or DEFAULT_SIZES:
                for input_kind, group in inputs_of(methods, kind).items():
                    path = make_input(size, input_kind)
                    try:
                        results += run_input(path, size, input_kind, group, args)
                    finally:
                        if input_kind in FILE_KINDS and not args.keep_inputs:
                            remove_input(size, input_kind)
                    report(results, settings, args.report, notes)
    finally:
        if args.rehearsal:
            remove_input(args.size[0], "tiff")
    report(results, settings, args.report, notes)


if __name__ == "__main__":
    main()
