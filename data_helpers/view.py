"""Show an OME-Zarr image in the book's viewer: ``python -m data_helpers.view IMAGE``.

Serves the image folder and the book's Neuroglancer build (``viewer/``, built
on first use, ``--build-only`` builds just that) from one local server
(``data_helpers.serve.FolderServer``: byte ranges for shards, CORS), prints
``Viewer: URL`` and ``Data: URL``, opens the viewer in the browser unless
``--no-browser``, and runs until Ctrl-C. The image's label images (those its
``labels`` group lists) are shown over it as segmentation layers. The viewer
link gives the image relative to the page (``image=data/``), so it works from
whatever name another machine reaches this one by; with ``--host 0.0.0.0`` (or
``::``, all interfaces) the links name this machine by its host name.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import textwrap
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import zarr

from data_helpers.ome import ome_attributes, written_version
from data_helpers.serve import FolderServer, family, url_host
from data_helpers.viewer_app import PACKAGES_MB, ViewerBuildError, build_viewer

DATA_PREFIX = "data"
#: The OME-Zarr versions the book's viewer reads. Neuroglancer 2.41.2 (the
#: version viewer/package.json pins) knows "0.4", "0.5-dev" and "0.5" only
#: (SUPPORTED_OME_MULTISCALE_VERSIONS) and refuses others with "OME multiscale
#: metadata version ... is not supported"; 0.6 came to its main branch after
#: that release. Checked in
#: https://github.com/google/neuroglancer/blob/v2.41.2/src/datasource/zarr/ome.ts#L54
VIEWER_VERSIONS = ("0.4", "0.5")
ALL_INTERFACES = ("0.0.0.0", "::", "")
EPILOG = (
    "The first run builds the viewer once into viewer/dist of the clone: npm ci "
    f"needs the network and about {PACKAGES_MB} MB (--build-only builds it, e.g. "
    "before going offline). To publish an image for colleagues without this "
    "command, copy its folder to any static web server or bucket that answers "
    "Range requests and sends the CORS headers (the book's chapter 'Chunked data "
    "over the network' has the rules), and open it in the book's viewer page "
    "(viewer/index.html?image=URL) or in Neuroglancer (zarr://URL)."
)


class ViewError(ValueError):
    """Bad input for the viewer; the message says what is wrong and the fix."""


@dataclass(frozen=True)
class ImageInfo:
    """What the viewer needs to know about an OME-Zarr image before showing it."""

    zarr_format: int
    levels: list[str]
    grey_range: tuple[int, int]
    labels: list[str]  # the label images listed in IMAGE/labels, by name
    #: One grey range per channel of an image with a channel axis, else none.
    channel_ranges: list[tuple[int, int]] = field(default_factory=list)


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
    the smallest read; an image with a channel axis (type ``channel``) has
    one per channel too.
    """
    zarr_format, attrs = read_ome_metadata(path)
    multiscales = attrs.get("multiscales") if isinstance(attrs, dict) else None
    if not multiscales:
        raise ViewError(
            f"{str(path)!r} is not an OME-Zarr image (no 'multiscales' in its "
            "metadata): give the image's top folder, e.g. heart.ome.zarr."
        )
    version = written_version(attrs)
    if version is not None and version not in VIEWER_VERSIONS:
        raise ViewError(
            f"{str(path)!r} is OME-Zarr {version}, which the book's viewer "
            f"(Neuroglancer 2.41.2) cannot read: it reads "
            f"{' and '.join(VIEWER_VERSIONS)}; convert it again with "
            f"--ome-zarr-version {VIEWER_VERSIONS[-1]} to view it."
        )
    levels = [dataset["path"] for dataset in multiscales[0].get("datasets", [])]
    try:
        coarsest = zarr.open_array(path / levels[-1], mode="r")
        values = np.asarray(coarsest[...])
    except Exception as error:  # any reason the level cannot be read
        raise ViewError(
            f"Cannot read level {levels[-1:]} of {str(path)!r}: {error}"
        ) from None
    axis = channel_axis(multiscales[0])
    channels = [] if axis is None else list(np.moveaxis(values, axis, 0))
    return ImageInfo(
        zarr_format,
        levels,
        grey_range(values),
        label_names(path),
        [grey_range(channel) for channel in channels],
    )


def grey_range(values: np.ndarray) -> tuple[int, int]:
    """The 0.5th to the 99.5th percentile of ``values``, at least 1 apart."""
    low, high = np.percentile(values, [0.5, 99.5])
    return int(low), max(int(high), int(low) + 1)


def channel_axis(multiscale: dict) -> int | None:
    """The index of the channel axis (type ``channel``, as Neuroglancer has
    it), or None."""
    axes = multiscale.get("axes") or []
    kinds = [axis.get("type") if isinstance(axis, dict) else None for axis in axes]
    return kinds.index("channel") if "channel" in kinds else None


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
    """The viewer page's query string that shows the image at ``image_url``:
    one grey ``range`` per channel if it has channels (the page uses a
    channel's omero window before it)."""
    ranges = info.channel_ranges or [info.grey_range]
    return urlencode(
        [
            ("image", image_url),
            ("zarr", info.zarr_format),
            *(("range", f"{low},{high}") for low, high in ranges),
            *(("labels", n) for n in info.labels),
        ],
        safe="/:,",
    )


def machine_name() -> str:
    """This machine's name as others on its network know it, at best.

    The fully qualified name, unless it is only ``localhost`` (as on a machine
    whose ``/etc/hosts`` maps its name there): then the host name.
    """
    fqdn = socket.getfqdn()
    return socket.gethostname() if fqdn.startswith("localhost") else fqdn


def shown_host(host: str) -> str:
    """The name others reach a server listening on ``host`` by: this machine's
    name for all interfaces (``0.0.0.0``, ``::``), else ``host`` itself."""
    return machine_name() if host in ALL_INTERFACES else host


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
  over it. An image with a channel axis (c) is one layer per channel, in its
  omero colours and windows (else red, green, blue, white and the
  percentiles), added together; a time axis (t) is the position bar's t, with
  a slider and playback in its menu. It prints "Viewer: URL" (the page) and
  "Data: URL" (the image, for other viewers), then serves both until Ctrl-C.

units:
  Neuroglancer draws nothing for an image whose axes have a unit that is not
  one of OME-Zarr's names (micrometer, nanometer, ...; um or microns are not):
  run python -m data_helpers.check IMAGE first to find such problems.

exit status: 0 stopped with Ctrl-C, 2 bad input (not an image, port taken,
viewer build failed).

first run and publishing:
"""
        + textwrap.indent(textwrap.fill(EPILOG, 76), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "image",
        type=Path,
        nargs="?",
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
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; "
        "0.0.0.0: all interfaces, so colleagues can open the printed link)",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="only print the viewer's URL (default: off, open it in a browser)",
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="only build the viewer (once, with the network), then exit",
    )
    args = parser.parse_args(argv)
    if args.image is None and not args.build_only:
        parser.error("give the IMAGE folder to show (or --build-only)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code (2 for bad input)."""
    args = parse_args(argv)
    if not 0 <= args.port <= 65535:
        return fail(f"--port {args.port} is not a port: give 0 to 65535 (0: any free).")
    try:
        if args.build_only:
            print(f"Viewer: built in {build_viewer(log=print_err)}", flush=True)
            return 0
        info = image_info(args.image)
        check_can_listen(args.host, args.port)  # before a first, slow viewer build
        dist = build_viewer(log=print_err)
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
    name = shown_host(args.host)
    base = f"http://{url_host(name)}:{server.port}/"
    # The image relative to the page: right for any name the page is opened by.
    query = viewer_query(info, f"{DATA_PREFIX}/")
    viewer_url = f"{base}index.html?{query}"
    print(f"Viewer: {viewer_url}", flush=True)
    print(f"Data: {base}{DATA_PREFIX}/", flush=True)
    if args.host in ALL_INTERFACES:
        print(
            f"Listening on all interfaces ({args.host or '0.0.0.0'}), port "
            f"{server.port}: a colleague whose machine does not know {name} uses this "
            "machine's IP address in its place.",
            flush=True,
        )
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
    with socket.socket(family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server
        probe.bind((host, port))


def print_err(line: str) -> None:
    """Print a progress line to stderr."""
    print(line, file=sys.stderr, flush=True)


def fail(message: str) -> int:
    """Print one line for bad input and return exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
