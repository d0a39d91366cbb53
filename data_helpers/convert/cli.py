"""The command line: ``python -m data_helpers.convert SLICES OUTPUT [options]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.run import convert_stack
from data_helpers.ome import RGBA


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
    parser.add_argument(
        "--labels",
        metavar="NAME",
        default=None,
        help="the slices are labels of the image OUTPUT: write OUTPUT/labels/NAME",
    )
    parser.add_argument(
        "--color",
        type=int,
        nargs=5,
        action="append",
        metavar=("VALUE", "R", "G", "B", "A"),
        help="with --labels: the colour of one label value (0-255 each; repeat)",
    )
    return parser


def colors(given: list[list[int]] | None) -> dict[int, RGBA] | None:
    """``--color VALUE R G B A`` options as label value -> RGBA."""
    if not given:
        return None
    found = {}
    for value, *rgba in given:
        if not all(0 <= c <= 255 for c in rgba):
            raise ConversionError(
                f"--color {value} {' '.join(map(str, rgba))}: R, G, B and A must be "
                "0 to 255."
            )
        found[value] = (rgba[0], rgba[1], rgba[2], rgba[3])
    return found


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
            labels=args.labels,
            label_colors=colors(args.color),
        )
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C
        # Stop at once, as a kill would: the tasks still running would
        # otherwise go on writing while the interpreter shuts zarr down under
        # them. Every write is whole or absent, and done tasks are marked.
        print(
            "\ninterrupted: run the same command again to resume.",
            file=sys.stderr,
            flush=True,
        )
        os._exit(130)
    print(result.summary())
    return 0
