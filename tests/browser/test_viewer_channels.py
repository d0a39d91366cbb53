"""The book's viewer on an image with time and channel axes, in Chromium.

Unlike ``test_viewer.py`` this needs no built site, only the viewer
(``build_viewer``, as ``python -m data_helpers.view`` builds it): it serves
the viewer and a seeded t, c, z, y, x image the way the view command does,
opens the link ``view`` makes and reads Neuroglancer's own state: a layer per
channel, in its omero colour and window, t a global dimension, and a picture
in both channels' colours.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from selenium import webdriver

from data_helpers.serve import FolderServer
from data_helpers.view import DATA_PREFIX, image_info, viewer_query
from data_helpers.viewer_app import build_viewer
from tests.browser.test_viewer import gl_driver  # noqa: F401  (a fixture)
from tests.channel_images import CHANNELS, write_channel_image

STATE_SCRIPT = """
if (!window.viewer) return null;
const layers = viewer.layerManager.managedLayers;
return {
  layers: viewer.state.toJSON().layers,
  ready: layers.length > 0 && layers.every((layer) => layer.isReady()),
  dimensions: viewer.coordinateSpace.value.names,
  local: layers.map((layer) => layer.localCoordinateSpace.value.names),
};
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    """The viewer's link to a sharded OME-Zarr 0.5 t, c, z, y, x image."""
    image = write_channel_image(
        tmp_path_factory.mktemp("channels") / "image.ome.zarr", "tczyx", "0.5"
    )
    with FolderServer(build_viewer(), mounts={DATA_PREFIX: image}) as server:
        query = viewer_query(image_info(image), f"{DATA_PREFIX}/")
        yield f"{server.url}index.html?{query}&zoom=20"  # 27 x 23 voxels


def test_a_layer_per_channel_and_time_as_a_dimension(
    gl_driver: webdriver.Chrome,  # noqa: F811
    served: str,
) -> None:
    gl_driver.get(served)
    state = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = gl_driver.execute_script(STATE_SCRIPT)
        if state and state["ready"]:
            break
        time.sleep(0.5)
    assert state and state["ready"], state
    layers = state["layers"]
    assert [layer["name"] for layer in layers] == [c["label"] for c in CHANNELS]
    assert [layer["localPosition"] for layer in layers] == [[0.5], [1.5]]
    colours = [layer["shaderControls"]["color"] for layer in layers]
    assert colours == [f"#{c['color'].lower()}" for c in CHANNELS]
    assert state["local"] == [["c'"], ["c'"]]  # the channel: a local dimension
    assert state["dimensions"] == ["t", "z", "y", "x"]  # t: in the position bar
    time.sleep(3)  # let the chunks arrive and draw
    shot = Image.open(io.BytesIO(gl_driver.get_screenshot_as_png())).convert("RGB")
    pixels = np.asarray(shot).reshape(-1, 3).astype(int)
    # DAPI blue and GFP green, added: no red anywhere in the image
    blue = (pixels[:, 2] > 60) & (pixels[:, 0] < 40)
    green = (pixels[:, 1] > 60) & (pixels[:, 0] < 40)
    assert blue.mean() > 0.05 and green.mean() > 0.05, (blue.mean(), green.mean())
