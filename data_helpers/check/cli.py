"""The command line: ``python -m data_helpers.check IMAGE [--deep] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from data_helpers.check.image import check_image
from data_helpers.check.result import CheckError

EPILOG = """\
what it checks:
  Without --deep: the metadata against the OME-Zarr 0.4, 0.5 or 0.6
  specification (with ome-zarr-models; another version is a problem), the
  Zarr format each version needs, the units of the axes (the specification's
  names, such as micrometer: Neuroglancer refuses um), and each level's array
  header against the metadata and the level above (dtype, dimensions,
  dimension names, shape against scale, t and c never downsampled). With
  --deep it also reads every chunk of every level and compares each level
  with the block mean of the level above (block mode for a label image) over
  the factors their scales say (e.g. 1 x 2 x 2, and 1 along t and c).

output:
  A summary of the image (axes in their order, e.g. Z Y X, and one line per
  level), then one line per problem (PROBLEM where: what is wrong and what it
  means) and per piece of information (INFO ...), then a verdict. --json
  prints the same as one JSON object.

exit status: 0 no problems, 1 problems, 2 it could not check at all (no such
path, not a Zarr group, no multiscales metadata).
"""


def parser() -> argparse.ArgumentParser:
    """The command line's arguments and their help."""
    parser = argparse.ArgumentParser(
        prog="python -m data_helpers.check",
        description="Check an OME-Zarr image (0.4, 0.5 or 0.6) on disk, over HTTP or "
        "on S3.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "image",
        metavar="IMAGE",
        help="the image's top folder: a path, an http(s):// URL (read with range "
        "requests) or an s3:// URL (endpoint and credentials from the AWS "
        "environment variables)",
    )
    parser.add_argument(
        "--deep",
        action="store_true",
        help="read every chunk too (default: off, metadata and array headers only)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (default: off, lines of text)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="threads that read chunks with --deep (default: one per CPU core)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: check, print the report (or JSON), exit 0, 1 or 2."""
    args = parser().parse_args(argv)
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
