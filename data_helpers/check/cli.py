"""The command line: ``python -m data_helpers.check IMAGE [--deep] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from data_helpers.check.image import check_image
from data_helpers.check.result import CheckError


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
