"""Show an OME-Zarr image in the book's viewer: ``python -m data_helpers.view IMAGE``.

Serves the image folder and the book's Neuroglancer build (``viewer/``, built
on first use) from one local server (``data_helpers.serve.FolderServer``:
byte ranges for shards, CORS), prints ``Viewer: URL`` and ``Data: URL``, opens
the viewer in the browser unless ``--no-browser``, and runs until Ctrl-C. The
image's label images (those its ``labels`` group lists) are shown over it as
segmentation layers.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import zarr

from data_helpers.ome import ome_attributes
from data_helpers.serve import FolderServer
from data_helpers.viewer_app import ViewerBuildError, build_viewer

DATA_PREFIX = "data"


class ViewError(ValueError):
    """Bad input for the viewer; the message says what is wrong and the fix."""


@dataclass(frozen=True)
class ImageInfo:
    """What the viewer needs to know about an OME-Zarr image before showing it."""

    zarr_format: int
    levels: list[str]
    grey_range: tuple[int, int]
    labels: list[str]  # the label images listed in IMAGE/labels, by name


def read_ome_metadata(path: Path) -> tuple[int, dict]:
    """The Zarr format and OME-Zarr metadata of the group at ``path`` (0, {}: none)."""
    if not path.exists():
        raise ViewError(f"{str(path)!r} does not exist: give the folder of an image.")
    if not path.is_dir():
        raise ViewError(f"{str(path)!r} is a file: give an OME-Zarr image's folder.")
    zattrs, zarr_json = path / ".zattrs", path / "zarr.json"
    try:
        if zarr_json.is_file():
            meta = json.loads(zarr_json.read_text(encoding="utf-8"))
            zarr_format, attributes = 3, meta.get("attributes", {})
        elif zattrs.is_file():
            zarr_format, attributes = 2, json.loads(zattrs.read_text(encoding="utf-8"))
        else:
            return 0, {}
    except (OSError, ValueError, AttributeError) as error:
        raise ViewError(
            f"Cannot read the Zarr metadata in {str(path)!r}: {error}"
        ) from None
    if not isinstance(attributes, dict):
        return zarr_format, {}
    return zarr_format, ome_attributes(attributes)


def image_info(path: Path) -> ImageInfo:
    """Check that ``path`` is an OME-Zarr image; find its levels and grey range.

    The grey range (0.5th to 99.5th percentile) comes from the coarsest level,
    the smallest read.
    """
    zarr_format, attrs = read_ome_metadata(path)
    multiscales = attrs.get("multiscales") if isinstance(attrs, dict) else None
    if not multiscales:
        raise ViewError(
            f"{str(path)!r} is not an OME-Zarr image (no 'multiscales' in its "
            "metadata): give the image's top folder, e.g. heart.ome.zarr."
        )
    levels = [dataset["path"] for dataset in multiscales[0].get("datasets", [])]
    try:
        coarsest = zarr.open_array(path / levels[-1], mode="r")
        values = np.asarray(coarsest[...])
    except Exception as error:  # any reason the level cannot be read
        raise ViewError(
            f"Cannot read level {levels[-1:]} of {str(path)!r}: {error}"
        ) from None
    low, high = np.percentile(values, [0.5, 99.5])
    grey_range = (int(low), max(int(high), int(low) + 1))
    return ImageInfo(zarr_format, levels, grey_range, label_names(path))


def label_names(path: Path) -> list[str]:
    """The label images the ``labels`` group of the image at ``path`` lists.

    Only those whose folder is there: a name listed without one is left out.
    """
    if not (path / "labels").is_dir():
        return []
    _, attrs = read_ome_metadata(path / "labels")
    names = attrs.get("labels", []) if isinstance(attrs, dict) else []
    return [n for n in names if isinstance(n, str) and (path / "labels" / n).is_dir()]


def viewer_query(info: ImageInfo, image_url: str) -> str:
    """The viewer page's query string that shows the image at ``image_url``."""
    low, high = info.grey_range
    query = {"image": image_url, "zarr": info.zarr_format, "range": f"{low},{high}"}
    return urlencode(
        [*query.items(), *(("labels", n) for n in info.labels)], safe="/:,"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m data_helpers.view",
        description="Serve an OME-Zarr image (0.4 or 0.5, sharded or not)\n"
        "with the book's viewer, until Ctrl-C.",
        epilog="""\
what it shows:
  The image's levels, in the order of its axes (Z Y X for the book's images),
  with a grey range from the 0.5th to the 99.5th percentile of the coarsest
  level, and the label images its labels group lists as segmentation layers
  over it. It prints "Viewer: URL" (the page) and "Data: URL" (the image, for
  other viewers), then serves both until Ctrl-C. The viewer (Neuroglancer) is
  built on first use, which takes a while once.

units:
  Neuroglancer draws nothing for an image whose axes have a unit that is not
  one of OME-Zarr's names (micrometer, nanometer, ...; um or microns are not):
  run python -m data_helpers.check IMAGE first to find such problems.

exit status: 0 stopped with Ctrl-C, 2 bad input (not an image, port taken,
viewer build failed).
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "image",
        type=Path,
        help="the image's top folder (the one whose metadata lists its levels), "
        "e.g. heart.ome.zarr",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to listen on, 0 to 65535 (default: 0, any free port)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="only print the viewer's URL (default: off, open it in a browser)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code (2 for bad input)."""
    args = parse_args(argv)
    if not 0 <= args.port <= 65535:
        return fail(f"--port {args.port} is not a port: give 0 to 65535 (0: any free).")
    try:
        info = image_info(args.image)
        check_can_listen(args.host, args.port)  # before a first, slow viewer build
        dist = build_viewer(log=lambda line: print(line, file=sys.stderr))
        server = FolderServer(
            dist, host=args.host, port=args.port, mounts={DATA_PREFIX: args.image}
        )
    except (ViewError, ViewerBuildError) as error:
        return fail(str(error))
    except OSError as error:
        return fail(
            f"Cannot listen on {args.host}:{args.port} ({error.strerror or error}): "
            "choose another --port, or leave it out for any free one."
        )
    data_url = f"{server.url}{DATA_PREFIX}/"
    viewer_url = f"{server.url}index.html?{viewer_query(info, data_url)}"
    print(f"Viewer: {viewer_url}", flush=True)
    print(f"Data: {data_url}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    if not args.no_browser:
        webbrowser.open(viewer_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    return 0


def check_can_listen(host: str, port: int) -> None:
    """Raise ``OSError`` if a server could not listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server
        probe.bind((host, port))


def fail(message: str) -> int:
    """Print one line for bad input and return exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
