"""Benchmark: convert a synthetic TIFF stack into a 3-level OME-Zarr pyramid.

Run with ``nox -s bench`` (``-- --size 2GiB`` for one size, ``--repeats N``).
Methods, all writing 3 levels of 128^3 chunks with Blosc zstd 3:

- ``floor``: read every slice and write level 0 once, no pyramid (the book's
  converter with ``levels=1``: same reading, same workers);
- ``book``: ``data_helpers.convert.convert_stack`` (Zarr 2, OME-Zarr 0.4);
- ``book-sharded``: the same with Zarr 3 / OME-Zarr 0.5, shards of 256^3;
- ``ome-zarr-py``: ``write_image`` on a dask array, ``local_mean``, z too;
- ``ngff-zarr``: ``to_multiscales`` (dask bin shrink) + ``to_ngff_zarr``.

Every method runs on the same kind of scheduler, worker threads of one
process: the book's converter and ome-zarr-py on ``data_helpers.cluster``'s
``local_cluster`` (a distributed ``LocalCluster`` of worker threads), ngff-zarr
on dask's threaded scheduler with as many threads (its graph does not
serialise to distributed workers). Reports before 2026-12 ran ome-zarr-py on
worker processes.

Each run is a subprocess; the peak memory of its whole process tree is
sampled with psutil. Repetitions are interleaved (method by method, then
again). Results go to ``_build/bench/``: results.json, results.md, results.png.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from report import OUT, markdown_table, write_report  # benchmarks/report.py

from data_helpers.files import folder_bytes

SIZES = {
    "64MiB": (128, 512, 512),
    "256MiB": (128, 1024, 1024),
    "2GiB": (1024, 1024, 1024),
    "8GiB": (1024, 2048, 2048),
}
DEFAULT_SIZES = ("2GiB", "8GiB")
METHODS = ("floor", "book", "book-sharded", "ome-zarr-py", "ngff-zarr")
CHUNKS, LEVELS, SHARDS = 128, 3, 256


# --------------------------------------------------------------------------
# One run of one method (in a subprocess)
# --------------------------------------------------------------------------


def quiet_cluster(workers: int):
    """The converter's own kind of cluster: worker threads of this process."""
    from distributed import Client

    from data_helpers.cluster import local_cluster

    cluster = local_cluster(workers)
    return cluster, Client(cluster)


def stack_as_dask(folder: Path):
    """The slices as a (z, y, x) dask array of 128^3 chunks, read in row strips."""
    from data_helpers.convert.slices import stack_as_dask

    return stack_as_dask(folder, CHUNKS)


def run_method(method: str, folder: Path, output: Path, workers: int) -> None:
    from data_helpers.codec_names import DEFAULT_CODEC, make_codec
    from data_helpers.convert import convert_stack

    start = time.perf_counter()
    if method in ("floor", "book", "book-sharded"):
        options = {"levels": 1} if method == "floor" else {"levels": LEVELS}
        if method == "book-sharded":
            options.update(zarr_format=3, shards=SHARDS)
        convert_stack(
            folder, output, chunks=CHUNKS, workers=workers, progress=False, **options
        )
    elif method == "ome-zarr-py":
        import zarr
        from ome_zarr.format import FormatV04
        from ome_zarr.scale import Methods
        from ome_zarr.writer import write_image

        cluster, client = quiet_cluster(workers)
        with cluster, client:
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

        # ngff-zarr 0.50's writer graph cannot be sent to distributed worker
        # processes ("Could not serialize object of type _HLGExprSequence"):
        # it runs on dask's threaded scheduler with as many threads as workers.
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
    print(json.dumps({"wall_s": time.perf_counter() - start}))


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


def measure(method: str, folder: Path, output: Path, workers: int) -> dict:
    """Run one method in a subprocess; its time, peak tree memory, output size."""
    shutil.rmtree(output, ignore_errors=True)
    command = [
        sys.executable,
        __file__,
        "run",
        method,
        str(folder),
        str(output),
        "--workers",
        str(workers),
    ]
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
    wall = json.loads(out.strip().splitlines()[-1])["wall_s"]
    size = folder_bytes(output)
    return {
        "method": method,
        "wall_s": wall,
        "peak_rss_bytes": peak,
        "output_bytes": size,
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
            total += np.abs(got.astype(np.float64) - exact).sum()
    return total / math.prod(level1.shape)


def make_input(size: str) -> Path:
    from data_helpers.synthetic import write_tiff_stack

    shape = SIZES[size]
    folder = OUT / f"input-{size}"
    if len(list(folder.glob("*.tif"))) != shape[0]:
        print(f"writing the {size} input stack {shape} to {folder} ...", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        write_tiff_stack(folder, shape, seed=0, rows_per_strip=16)
    return folder


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def summarise(results: list[dict]) -> list[dict]:
    rows = []
    for size in dict.fromkeys(r["size"] for r in results):
        for method in dict.fromkeys(r["method"] for r in results):
            runs = [r for r in results if r["size"] == size and r["method"] == method]
            if not runs:
                continue
            walls = [r["wall_s"] for r in runs]
            rows.append(
                {
                    "size": size,
                    "method": method,
                    "runs": len(runs),
                    "best_s": min(walls),
                    "median_s": statistics.median(walls),
                    "gb_per_s": runs[0]["input_bytes"] / 1e9 / min(walls),
                    "peak_rss_gib": max(r["peak_rss_bytes"] for r in runs) / 2**30,
                    "output_gb": runs[0]["output_bytes"] / 1e9,
                    "level1_mad": runs[0].get("level1_mad"),
                }
            )
    return rows


def report(results: list[dict], workers: int) -> None:
    """Write results.json, results.md (printed too) and results.png."""
    rows = summarise(results)
    header = ["size", "method", "runs", "best s", "median s", "GB/s (best)"]
    header += ["peak RSS GiB", "output GB", "level-1 mean abs. diff."]
    lines = [
        f"Benchmark of {time.strftime('%Y-%m-%d %H:%M')}, {workers} workers, "
        f"{psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB "
        "RAM.",
        "",
        *markdown_table(
            header,
            (
                [
                    r["size"],
                    r["method"],
                    r["runs"],
                    f"{r['best_s']:.1f}",
                    f"{r['median_s']:.1f}",
                    f"{r['gb_per_s']:.3f}",
                    f"{r['peak_rss_gib']:.2f}",
                    f"{r['output_gb']:.3f}",
                    "" if r["level1_mad"] is None else f"{r['level1_mad']:.3f}",
                ]
                for r in rows
            ),
        ),
    ]
    write_report("results", results, lines)
    plot(rows)
    print("\n".join(lines))


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys(r["size"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        for ax, key in zip(axes, ("best_s", "peak_rss_gib"), strict=True):
            values = [
                next(
                    (r[key] for r in rows if r["size"] == s and r["method"] == method),
                    0,
                )
                for s in sizes
            ]
            ax.bar(np.arange(len(sizes)) + i * width, values, width, label=method)
    for ax, title, label in zip(
        axes,
        ("Best wall time", "Peak memory of the process tree"),
        ("wall time (s)", "peak RSS (GiB)"),
        strict=True,
    ):
        ax.set_xticks(np.arange(len(sizes)) + 0.4 - width / 2, sizes)
        ax.set(title=title, xlabel="input size (uint16 stack)", ylabel=label)
    axes[0].legend()
    fig.suptitle("Converting a TIFF stack to a 3-level OME-Zarr pyramid")
    fig.tight_layout()
    fig.savefig(OUT / "results.png", dpi=120)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "run":
        parser = argparse.ArgumentParser()
        parser.add_argument("method")
        parser.add_argument("folder", type=Path)
        parser.add_argument("output", type=Path)
        parser.add_argument("--workers", type=int, default=2)
        args = parser.parse_args(argv[1:])
        run_method(args.method, args.folder, args.output, args.workers)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.size or DEFAULT_SIZES:
        folder = make_input(size)
        input_bytes = math.prod(SIZES[size]) * 2
        for repeat in range(args.repeats):
            for method in args.methods:  # interleaved repetitions
                output = OUT / f"out-{size}-{method}.ome.zarr"
                result = measure(method, folder, output, args.workers)
                result.update(size=size, input_bytes=input_bytes, repeat=repeat)
                if repeat == 0 and method != "floor":
                    result["level1_mad"] = level1_error(output)
                print(json.dumps(result), flush=True)
                results.append(result)
                shutil.rmtree(output, ignore_errors=True)
            report(results, args.workers)
    report(results, args.workers)


if __name__ == "__main__":
    main()
