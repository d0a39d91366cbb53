"""The command line: ``python -m data_helpers.convert SLICES OUTPUT [options]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.run import convert_stack


def parser() -> argparse.ArgumentParser:
    """The command line's arguments and their help."""
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse arguments, convert, print a one-line summary."""
    args = parser().parse_args(argv)
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
