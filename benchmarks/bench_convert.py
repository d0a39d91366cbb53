"""Benchmark: convert a synthetic TIFF stack into a 3-level OME-Zarr pyramid.

Run with ``nox -s bench`` (``-- --size 2GiB`` for one size, ``--repeats N``,
``--format jp2`` for JPEG 2000 slices, ``--size 8GiB-wide`` for 4096-wide
slices). Methods, all writing 3 levels of 128^3 chunks with Blosc zstd 3:

- ``limit``: the unavoidable work, measured on the same input in the same run
  (``benchmarks/limit.py``): reading every slice once, the means of levels 0
  and 1, compressing every chunk (numcodecs, in memory) over the workers, plus
  writing those bytes as as many files; every other row gives its ratio to it;
- ``floor``: read every slice and write level 0 once, no pyramid (the book's
  converter with ``levels=1``: same reading, same workers);
- ``book``: ``data_helpers.convert.convert_stack`` (Zarr 2, OME-Zarr 0.4);
- ``book-sharded``: the same with Zarr 3 / OME-Zarr 0.5, shards of 256^3;
- ``ome-zarr-py``: ``write_image`` on a dask array, ``local_mean``, z too;
- ``ngff-zarr``: ``to_multiscales`` (dask bin shrink) + ``to_ngff_zarr``.

Every method runs on the same scheduler: dask's threaded scheduler, with as
many threads of the run's process as workers (the book's converter's own
choice without a client). Reports before the one of 2026-12-02 17:45 ran the
book's converter and ome-zarr-py on a distributed ``LocalCluster`` of worker
threads (and before 2026-12, ome-zarr-py on worker processes).

On JPEG 2000 slices only the book's converter runs (and ``limit``): the other
libraries read through ``stack_as_dask``, which would decode each slice once
per row of chunks. Each run counts the JPEG 2000 decodes of each slice: the
converter's workers are threads of the run's process, so a wrapper around
``imagecodecs.jpeg2k_decode`` sees every decode, whichever task makes it.

``--codec-pipeline`` (zarr's ``batched``, its opt-in ``fused``, or the
``zarrs`` package's Rust pipeline), ``--zarr-threads`` (zarr's
``threading.max_workers``) and ``--blosc-threads`` (numcodecs' Blosc threads,
off under zarr by default) change how every method's run encodes, to compare
them; the report names the settings and a digest of each output, to check that
they write the same bytes.

Each run is a subprocess; the peak memory of its whole process tree is
sampled with psutil. Repetitions are interleaved (method by method, then
again). Results go to ``_build/bench/``: results.json, results.md, results.png
(``--report NAME`` for other names, so that separate runs keep their reports).
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
from report import OUT, markdown_table, write_report  # benchmarks/report.py

from data_helpers.files import data_files, folder_bytes

SIZES = {
    "64MiB": (128, 512, 512),
    "256MiB": (128, 1024, 1024),
    "512MiB": (256, 1024, 1024),
    "2GiB": (1024, 1024, 1024),
    "8GiB": (1024, 2048, 2048),
    "8GiB-wide": (256, 4096, 4096),
}
DEFAULT_SIZES = ("2GiB", "8GiB")
METHODS = ("limit", "floor", "book", "book-sharded", "ome-zarr-py", "ngff-zarr")
#: The methods that read JPEG 2000 slices as they should: each slice once.
JPEG2K_METHODS = ("limit", "floor", "book", "book-sharded")
FORMATS = {"tiff": "*.tif", "jp2": "*.jp2"}
PIPELINES = {
    "batched": "zarr.core.codec_pipeline.BatchedCodecPipeline",
    "fused": "zarr.core.codec_pipeline.FusedCodecPipeline",
    "zarrs": "zarrs.ZarrsCodecPipeline",
}
CHUNKS, LEVELS, SHARDS = 128, 3, 256


# --------------------------------------------------------------------------
# One run of one method (in a subprocess)
# --------------------------------------------------------------------------


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
    paths = sorted(folder.glob(FORMATS["jp2"]))
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


def run_method(method: str, folder: Path, output: Path, workers: int) -> dict:
    """Run one method; its wall time, and for JPEG 2000 the decodes it made."""
    from data_helpers.codec_names import DEFAULT_CODEC, make_codec
    from data_helpers.convert import convert_stack

    jpeg2k = any(folder.glob(FORMATS["jp2"]))
    counts = count_jpeg2k_decodes() if jpeg2k else None
    extra: dict[str, Any] = {}
    start = time.perf_counter()
    if method == "limit":
        from limit import measure_limit  # benchmarks/limit.py

        measured = measure_limit(
            folder, output, chunks=CHUNKS, levels=LEVELS, workers=workers
        )
        extra["limit"] = measured.as_dict()
        extra["limit_summary"] = measured.summary()
    elif method in ("floor", "book", "book-sharded"):
        options: dict[str, Any] = {"levels": 1 if method == "floor" else LEVELS}
        if method == "book-sharded":
            options.update(zarr_format=3, shards=SHARDS)
        else:  # OME-Zarr 0.4 as documented above, not the converter's default
            options.update(ome_zarr_version="0.4")
        convert_stack(
            folder, output, chunks=CHUNKS, workers=workers, progress=False, **options
        )
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
                stack_as_dask(folder),
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
            image = ngff_zarr.to_ngff_image(stack_as_dask(folder), dims=["z", "y", "x"])
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
    wall = time.perf_counter() - start
    if method == "limit":
        wall = extra["limit"]["seconds"]  # the limit, not the time measuring it
    if counts is not None:
        if not counts:
            raise SystemExit(
                f"{method} decoded no JPEG 2000 slice in this process: the count "
                "cannot see where it decoded; fix count_jpeg2k_decodes."
            )
        extra["decodes"] = decodes_per_slice(folder, counts)
    return {"wall_s": wall, **extra}


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(
    method: str, folder: Path, output: Path, workers: int, settings: list[str]
) -> dict:
    """Run one method in a subprocess; its time, peak tree memory, output size.

    ``settings`` are the ``run`` command's encoding options (``settings_args``).
    """
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, __file__, "run", method, str(folder), str(output)]
    command += ["--workers", str(workers), *settings]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    parent = psutil.Process(child.pid)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, tree_rss(parent))
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
        "wall_s": outcome.pop("wall_s"),
        "peak_rss_bytes": peak,
        "output_bytes": folder_bytes(output),
        **outcome,
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


def make_input(size: str, kind: str) -> Path:
    """The synthetic input stack of ``size`` in format ``kind``, written once."""
    from data_helpers.synthetic import write_jp2_stack, write_tiff_stack

    shape = SIZES[size]
    folder = OUT / (f"input-{size}" if kind == "tiff" else f"input-{size}-{kind}")
    if len(list(folder.glob(FORMATS[kind]))) != shape[0]:
        print(f"writing the {size} {kind} input {shape} to {folder} ...", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        if kind == "tiff":
            write_tiff_stack(folder, shape, seed=0, rows_per_strip=16)
        else:
            write_jp2_stack(folder, shape, seed=0)
    return folder


def input_name(size: str, kind: str) -> str:
    """The report's name of an input: its size, and its format unless TIFF."""
    return size if kind == "tiff" else f"{size} JPEG 2000"


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def summarise(results: list[dict]) -> list[dict]:
    """Best, median, peak and ratio to the same input's ``limit``, per method."""
    rows = []
    for size in dict.fromkeys(r["size"] for r in results):
        limits = [
            r["wall_s"] for r in results if r["size"] == size and r["method"] == "limit"
        ]
        for method in dict.fromkeys(r["method"] for r in results):
            runs = [r for r in results if r["size"] == size and r["method"] == method]
            if not runs:
                continue
            walls = [r["wall_s"] for r in runs]
            best, median = min(walls), statistics.median(walls)
            rows.append(
                {
                    "size": size,
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
                    "output_gb": runs[0]["output_bytes"] / 1e9,
                    "level1_mad": runs[0].get("level1_mad"),
                    "decodes": runs[0].get("decodes"),
                    "digest": runs[0].get("digest"),
                }
            )
    return rows


def decodes_text(decodes: dict[str, int] | None) -> str:
    """``"1 (256 slices)"``: how many times how many slices were decoded."""
    if decodes is None:
        return ""
    return ", ".join(
        f"{times} ({n} slices)" if times != "unmatched" else f"{n} unmatched"
        for times, n in decodes.items()
    )


def limit_lines(results: list[dict]) -> list[str]:
    """Per input, what its best ``limit`` run was made of and what limits it."""
    best: dict[str, dict] = {}
    for r in results:
        if r["method"] != "limit":
            continue
        if r["size"] not in best or r["wall_s"] < best[r["size"]]["wall_s"]:
            best[r["size"]] = r
    return [f"- {size}: {r['limit_summary']}" for size, r in best.items()]


def report(
    results: list[dict], workers: int, settings: str, stem: str = "results"
) -> None:
    """Write ``stem``.json, ``stem``.md (printed too) and ``stem``.png in OUT."""
    rows = summarise(results)
    header = ["input", "method", "runs", "best s", "median s", "× limit (best)"]
    header += ["× limit (median)", "GB/s (best)", "peak RSS GiB", "output GB"]
    header += ["level-1 mean abs. diff.", "decodes per slice"]
    digests = any(r["digest"] for r in rows)

    def ratio(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    lines = [
        f"Benchmark of {time.strftime('%Y-%m-%d %H:%M')}, {workers} workers, "
        f"{psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB "
        f"RAM; {settings}.",
        "",
        *markdown_table(
            header + (["output digest"] if digests else []),
            (
                [
                    r["size"],
                    r["method"],
                    r["runs"],
                    f"{r['best_s']:.1f}",
                    f"{r['median_s']:.1f}",
                    ratio(r["best_to_limit"]),
                    ratio(r["median_to_limit"]),
                    f"{r['gb_per_s']:.3f}",
                    f"{r['peak_rss_gib']:.2f}",
                    f"{r['output_gb']:.3f}",
                    "" if r["level1_mad"] is None else f"{r['level1_mad']:.3f}",
                    decodes_text(r["decodes"]),
                ]
                + ([(r["digest"] or "")[:12]] if digests else [])
                for r in rows
            ),
        ),
    ]
    limits = limit_lines(results)
    if limits:
        lines += ["", "The limit of each input (its best run):", "", *limits]
    summary = {"settings": settings, "workers": workers, "summary": rows}
    write_report(stem, {**summary, "runs": results}, lines)
    plot(rows, OUT / f"{stem}.png")
    print("\n".join(lines))


def plot(rows: list[dict], path: Path) -> None:
    """Best wall time (with the ratio to ``limit`` on each bar) and peak memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys(r["size"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        found = [
            next((r for r in rows if r["size"] == s and r["method"] == method), None)
            for s in sizes
        ]
        x = np.arange(len(sizes)) + i * width
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
        ax.set_xticks(np.arange(len(sizes)) + 0.4 - width / 2, sizes)
        ax.set(title=title, xlabel="input (uint16 stack)", ylabel=label)
        ax.margins(y=0.15)
    axes[0].legend(fontsize=8)
    fig.suptitle("Converting a stack of slices to a 3-level OME-Zarr pyramid")
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


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "run":
        parser = argparse.ArgumentParser()
        parser.add_argument("method")
        parser.add_argument("folder", type=Path)
        parser.add_argument("output", type=Path)
        parser.add_argument("--workers", type=int, default=2)
        add_settings_options(parser)
        args = parser.parse_args(argv[1:])
        apply_settings(args.codec_pipeline, args.zarr_threads, args.blosc_threads)
        outcome = run_method(args.method, args.folder, args.output, args.workers)
        print(json.dumps(outcome))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=list(SIZES))
    parser.add_argument("--format", action="append", choices=list(FORMATS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument(
        "--digest", action="store_true", help="report a digest of each output's chunks"
    )
    parser.add_argument(
        "--report", default="results", help="the report's file names, without suffix"
    )
    add_settings_options(parser)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    settings, results = settings_text(args), []
    for kind in args.format or ["tiff"]:
        methods = args.methods
        if kind != "tiff":
            methods = [m for m in args.methods if m in JPEG2K_METHODS]
            skipped = sorted(set(args.methods) - set(methods))
            if skipped:
                print(
                    f"not run on {kind} slices (they decode each slice once per "
                    f"row of chunks): {', '.join(skipped)}",
                    flush=True,
                )
        for size in args.size or DEFAULT_SIZES:
            folder = make_input(size, kind)
            name = input_name(size, kind)
            input_bytes = math.prod(SIZES[size]) * 2
            for repeat in range(args.repeats):
                for method in methods:  # interleaved repetitions
                    output = OUT / f"out-{size}-{kind}-{method}.ome.zarr"
                    result = measure(
                        method, folder, output, args.workers, settings_args(args)
                    )
                    result.update(
                        size=name,
                        format=kind,
                        shape=SIZES[size],
                        input_bytes=input_bytes,
                        repeat=repeat,
                    )
                    if repeat == 0 and method not in ("floor", "limit"):
                        result["level1_mad"] = level1_error(output)
                    if repeat == 0 and args.digest:
                        result["digest"] = output_digest(output)
                    print(json.dumps(result), flush=True)
                    results.append(result)
                    shutil.rmtree(output, ignore_errors=True)
                report(results, args.workers, settings, args.report)
    report(results, args.workers, settings, args.report)


if __name__ == "__main__":
    main()
