"""Ship the book's viewer and the pyramids it shows inside the built website.

When the HTML build starts, the viewer (``viewer/``, Neuroglancer) is built
unless it is up to date (``data_helpers.viewer_app.build_viewer``). When the
build has finished, the viewer goes to ``viewer/`` of the site and the heart
pyramids (``data_helpers.viewer_images``) to ``data/``: same origin, static
files, no CDN, so the site works offline and on any static host. A
``.nojekyll`` file keeps GitHub Pages from dropping the Zarr metadata files,
whose names start with a dot (Sphinx's ``html_static_path`` drops them too,
which is why they are copied here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

from data_helpers.viewer_app import build_viewer, dist_size
from data_helpers.viewer_images import write_viewer_images

logger = logging.getLogger(__name__)
VIEWER_FOLDER = "viewer"
DATA_FOLDER = "data"


def build(app: Sphinx) -> None:
    """Build the viewer if its sources changed since the last build."""
    if app.builder.format != "html":
        return
    dist = build_viewer(log=logger.info)
    logger.info(f"Viewer: {dist_size(dist) / 1e6:.1f} MB in {dist}")


def ship(app: Sphinx, exception: BaseException | None) -> None:
    """Copy the viewer and write the pyramids into the built site."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    dist = build_viewer(log=logger.info)
    target = out / VIEWER_FOLDER
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(dist, target, ignore=shutil.ignore_patterns(".book-build"))
    write_viewer_images(out / DATA_FOLDER)
    (out / ".nojekyll").write_text("")


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("builder-inited", build)
    app.connect("build-finished", ship)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
