"""The command line: ``python -m data_helpers.convert INPUT... OUTPUT [options]``."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence

from data_helpers.codec_names import DEFAULT_CODEC
from data_helpers.convert import cluster
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.run import VOXEL_SIZE, convert_stack, usable_cores
from data_helpers.convert.sources.jpeg2k import JPEG2K_SUFFIXES
from data_helpers.convert.sources.slices import TIFF_SUFFIXES
from data_helpers.ome import (
    DEFAULT_OME_ZARR_VERSION,
    OME_ZARR_VERSIONS,
    RGBA,
    SPACE_UNITS,
    UNIT,
    ZARR_FORMATS,
)


def _patterns(suffixes: Sequence[str]) -> str:
    return ", ".join(f"*{suffix}" for suffix in suffixes)


def _section(title: str, *paragraphs: str) -> str:
    """A titled section of the epilog, its paragraphs wrapped and indented."""
    filled = [
        textwrap.fill(
            text,
            width=78,
            initial_indent="  ",
            subsequent_indent="  ",
            break_on_hyphens=False,
        )
        for text in paragraphs
    ]
    return "\n".join([f"{title}:", *filled])


EPILOG = "\n\n".join(
    [
        _section(
            "input",
            "INPUT is one of: a folder of 2-D slices, one per z plane, all the "
            "same shape (rows x columns) and dtype: TIFF files "
            f"({_patterns(TIFF_SUFFIXES)}) or JPEG 2000 files "
            f"({_patterns(JPEG2K_SUFFIXES)}), not both, taken in natural order "
            "of their names (slice_2 before slice_10, not after slice_1): the "
            "first is plane 0 along Z; one TIFF file (multi-page, BigTIFF or "
            "OME-TIFF: its axes, voxel size and channel names are read from its "
            "metadata); an HDF5 file (--dataset PATH names the array in it, if "
            "it holds more than one of 3 or more dimensions); a Zarr array; an "
            "OME-Zarr image (migrated, below).",
            "Several INPUTs are the channels of one image, in order: each a "
            "folder (or file) of the same shape and dtype.",
        ),
        _section(
            "output",
            "An OME-Zarr image with the input's axes in T C Z Y X order (z: "
            "slice number, y: row, x: column; t and c if the input has time "
            "points or channels), in --unit units. Level 0 is the input, bit for "
            "bit; each further level is the block mean of the one above over Z, "
            "Y and X, halving each of them whose voxel size is less than twice "
            "the smallest (all three for equal voxels; T and C never). "
            "--ome-zarr-version 0.4 writes Zarr format 2, 0.5 and 0.6 Zarr format "
            "3, in shards of 2 x 2 x 2 chunks unless --shards says otherwise. "
            "--zarr-format says the same the other way round: 2 is OME-Zarr 0.4, "
            "3 is 0.5.",
            "With --labels the slices are a segmentation (integers) of the image "
            "OUTPUT, written as its label image OUTPUT/labels/NAME with the "
            "image's levels, voxel size and unit (each further level keeps the "
            "commonest label of 2 x 2 x 2 voxels).",
        ),
        _section(
            "migrating",
            "If INPUT is an OME-Zarr image (0.4, 0.5 or 0.6: a folder, an "
            "http(s):// or s3:// URL), it is rewritten into OUTPUT as OME-Zarr "
            "--ome-zarr-version (0.4, 0.5 or 0.6), with --chunks (and "
            "--shards) along every axis but time and channel axes: every level and "
            "label image is copied as it is (never recomputed), with the image's "
            "axes, units, scales and translations. The image is only read.",
        ),
        _section(
            "resuming",
            "Work is saved as it goes. If a run stops (Ctrl-C, a crash, a kill), "
            "run the same command again to resume where it stopped. On a finished "
            "output the same command does nothing and leaves it alone; "
            "--overwrite replaces it.",
        ),
        _section(
            "units (--unit)",
            "The units OME-Zarr allows on space axes (viewers refuse others): "
            + ", ".join(SPACE_UNITS)
            + ".",
            "Symbols and common spellings are written as these names: um, "
            "\u00b5m or micron as micrometer, nm as nanometer, mm, cm, m, km, "
            "\u00c5, in, ft, ... Symbols are case-sensitive (mm is millimeter, "
            "Mm megameter).",
        ),
        "exit status: 0 done, 2 bad input (nothing written), 130 interrupted.",
    ]
)


def parser() -> argparse.ArgumentParser:
    """The command line's arguments and their help."""
    parser = argparse.ArgumentParser(
        prog="python -m data_helpers.convert",
        description="Convert an image (a folder of 2-D TIFF or JPEG 2000 slices,\n"
        "a multi-page or OME-TIFF, an HDF5 dataset, a Zarr array) into a\n"
        "multiscale OME-Zarr image.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        metavar="INPUT",
        nargs="+",
        help="the image: a folder of slices (one 2-D TIFF or JPEG 2000 file per z "
        "plane), a TIFF, HDF5 or Zarr file; several: one per channel",
    )
    parser.add_argument(
        "output",
        metavar="OUTPUT.ome.zarr",
        help="the image folder to write (or s3://BUCKET/NAME.ome.zarr)",
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=128,
        help="chunk length in voxels along Z, Y and X; 1 along T and C "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--dataset",
        metavar="PATH",
        default=None,
        help="with an HDF5 file: the path of the array in it (default: its only "
        "array of 3 or more dimensions)",
    )
    parser.add_argument(
        "--codec",
        default=DEFAULT_CODEC,
        help="the chunks' compression: blosc-CNAME-LEVEL-SHUFFLE, zstd-LEVEL, "
        "gzip-LEVEL or none, e.g. blosc-lz4-5-bitshuffle (default: %(default)s)",
    )
    parser.add_argument(
        "--levels",
        type=int,
        default=None,
        help="pyramid levels, level 0 included (default: as many as it takes for "
        "the smallest level to fit in one chunk)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="tasks run at once, on threads of this process (default: the "
        f"cores it may use, {usable_cores()} here)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the tasks on the dask cluster whose scheduler is at ADDRESS "
        "(such as tcp://10.0.0.5:8786, as dask scheduler prints), not on threads "
        "of this process; --workers is then not used (default: none)",
    )
    parser.add_argument(
        "--voxel-size",
        type=float,
        nargs=3,
        default=None,
        metavar=("Z", "Y", "X"),
        help="level 0's voxel size along Z, Y and X, in --unit units (default: "
        "the input's metadata, such as an OME-TIFF's physical sizes, else "
        + " ".join(f"{size:g}" for size in VOXEL_SIZE)
        + ")",
    )
    parser.add_argument(
        "--unit",
        default=None,
        help="unit of the voxel size: an OME-Zarr unit name or symbol, e.g. "
        f"micrometer or um, nanometer or nm (see below; default: {UNIT}, or the "
        "input's)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an output that holds something else, and convert anew "
        "(default: off; an output of the same command is resumed or left alone)",
    )
    parser.add_argument(
        "--ome-zarr-version",
        choices=OME_ZARR_VERSIONS,
        default=None,
        help="OME-Zarr version to write: "
        + ", ".join(f"{v} in Zarr format {f}" for v, f in ZARR_FORMATS.items())
        + f" (default: {DEFAULT_OME_ZARR_VERSION}, or the one --zarr-format says; "
        "with --labels, the image's)",
    )
    parser.add_argument(
        "--zarr-format",
        type=int,
        choices=(2, 3),
        default=None,
        help="Zarr format, another way to say the version: 2 writes OME-Zarr 0.4, "
        "3 writes OME-Zarr 0.5 (default: that of --ome-zarr-version)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=None,
        help="shard length in voxels along Z, Y and X, a multiple of --chunks, "
        "0 for no shards; needs OME-Zarr 0.5 or 0.6 (default: 2 x --chunks with "
        "0.5 and 0.6, none with 0.4)",
    )
    parser.add_argument(
        "--labels",
        metavar="NAME",
        default=None,
        help="the slices are labels of the image OUTPUT: write OUTPUT/labels/NAME "
        "(default: none, the slices are the image)",
    )
    parser.add_argument(
        "--color",
        type=int,
        nargs=5,
        action="append",
        metavar=("VALUE", "R", "G", "B", "A"),
        help="with --labels: the colour of one label value, R G B A 0 to 255 "
        "each; repeat for more values (default: none, viewers choose)",
    )
    parser.add_argument(
        "--name",
        nargs=2,
        action="append",
        metavar=("VALUE", "NAME"),
        help="with --labels: the name of one label value, written in the label "
        "image's properties; repeat for more values, the same values as --color "
        "if both are given (default: none)",
    )
    return parser


def names(given: list[list[str]] | None) -> dict[int, str] | None:
    """``--name VALUE NAME`` options as label value -> name."""
    if not given:
        return None
    found = {}
    for value, name in given:
        try:
            found[int(value)] = name
        except ValueError:
            raise ConversionError(
                f"--name {value} {name}: VALUE must be a whole number, the label "
                "value the name is for (e.g. --name 1 heart)."
            ) from None
    return found


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
    client = None
    try:
        client = cluster.connect(args.scheduler)
        result = convert_stack(
            args.inputs,
            args.output,
            dataset=args.dataset,
            codec=args.codec,
            chunks=args.chunks,
            levels=args.levels,
            workers=args.workers,
            voxel_size=args.voxel_size,
            unit=args.unit,
            overwrite=args.overwrite,
            zarr_format=args.zarr_format,
            ome_zarr_version=args.ome_zarr_version,
            shards=args.shards,
            labels=args.labels,
            label_colors=colors(args.color),
            label_names=names(args.name),
            client=client,
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
    finally:
        cluster.disconnect(client)
    print(result.summary())
    return 0
