"""Codec and chunk-shape grid, larger than the chapter's: `nox -s bench_codecs`.

Writes ``_build/bench/codecs.json`` (every measurement) and
``_build/bench/codecs.md`` (tables and the Pareto front). It uses the same
functions as book/choosing-chunks-and-codecs.md, on a larger CT-like volume,
with more chunks in the codec sample, more Blosc compressors and every level.
Speeds are those of the machine it runs on; run it on a quiet machine.

Usage: python benchmarks/codecs.py [--shape Z Y X] [--sample-chunks N] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict

from report import markdown_table, write_report  # benchmarks/report.py

from data_helpers.codec_choice import (
    measure_chunk_shapes,
    measure_codecs,
    pareto_front,
)
from data_helpers.synthetic import ct_like_volume


def candidates(quick: bool) -> list[str]:
    """Every setting of the grid (a small one with ``quick``)."""
    levels = [1, 5] if quick else list(range(1, 10))
    cnames = ["lz4", "zstd"] if quick else ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]
    names = [
        f"blosc-{cname}-{level}-{shuffle}"
        for cname in cnames
        for shuffle in ["noshuffle", "shuffle", "bitshuffle"]
        for level in levels
    ]
    names += [f"zstd-{level}" for level in ([1, 5] if quick else [1, 3, 5, 9, 15, 19])]
    names += [f"gzip-{level}" for level in levels]
    return names + ["none"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[512, 768, 768])
    parser.add_argument("--codec-chunks", type=int, default=128)
    parser.add_argument("--sample-chunks", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a small grid, to test")
    args = parser.parse_args(argv)
    shape = tuple(args.shape)
    if min(shape) < 2 * args.codec_chunks:
        parser.error(f"--shape {shape} must be at least twice --codec-chunks per axis")

    start = time.perf_counter()
    volume = ct_like_volume(shape, seed=0)
    codec = args.codec_chunks
    codec_results = measure_codecs(
        volume,
        candidates(args.quick),
        chunks=(codec,) * 3,
        sample_chunks=args.sample_chunks,
        max_seconds=5.0,
    )
    sides = [s for s in (32, 64, 96, 128, 192, 256) if s <= min(shape)]
    chunk_shapes = [(s,) * 3 for s in sides] + [(1, *shape[1:])]
    region = min(256, min(shape) // 2)
    patterns = {
        "one z-slice": (shape[0] // 2, slice(None), slice(None)),
        f"{region}³ region": tuple(slice(n // 4, n // 4 + region) for n in shape),
        "whole volume": (slice(None),) * 3,
    }
    chunk_results = measure_chunk_shapes(
        volume, chunk_shapes, patterns, candidate="blosc-zstd-3-bitshuffle"
    )
    seconds = time.perf_counter() - start

    report = {
        "shape": shape,
        "codec_chunks": (codec,) * 3,
        "sample_chunks": args.sample_chunks,
        "seconds": seconds,
        "codecs": [
            asdict(r) | {"ratio": r.ratio, "write_mb_s": r.write_mb_s}
            for r in codec_results
        ],
        "pareto_front": [r.candidate for r in pareto_front(codec_results)],
        "chunk_shapes": [asdict(r) for r in chunk_results],
    }
    front = set(report["pareto_front"])
    lines = [
        f"# Codec and chunk benchmark, volume {shape} uint16",
        "",
        f"Codec sample: {args.sample_chunks} chunks of {codec}³; {seconds:.0f} s.",
        "",
        *markdown_table(
            ["setting", "ratio", "write MB/s", "read MB/s", "Pareto front"],
            (
                [
                    r.candidate,
                    f"{r.ratio:.3f}",
                    f"{r.write_mb_s:.1f}",
                    f"{r.read_mb_s:.1f}",
                    "yes" if r.candidate in front else "",
                ]
                for r in codec_results
            ),
            align="-rrr",
        ),
        "",
        *markdown_table(
            ["chunks", "files", "ratio", "write s", *patterns],
            (
                [
                    r.chunks,
                    r.n_chunks,
                    f"{r.ratio:.3f}",
                    f"{r.write_s:.2f}",
                    *(f"{1000 * r.read_s[name]:.1f} ms" for name in patterns),
                ]
                for r in chunk_results
            ),
        ),
    ]
    json_path, md_path = write_report("codecs", report, lines)
    print(f"Wrote {json_path} and {md_path} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
