"""The book's viewer in headless Chromium (WebGL on SwiftShader), on the built site.

The site is served by ``FolderServer``, whose log shows every request that
reached it, from the page and from Neuroglancer's workers. For the converted
heart (OME-Zarr 0.4) and its sharded 0.5 copy, the viewer must fetch only from
the site, draw a picture that is not uniform, fetch a finer level when zoomed
in, log no console error, and fetch exactly the chunks per level that
``data_helpers.screen_chunks`` counts for its screen and zoom. The labels
chapter's viewer, and the page its link opens, must show the heart's label
image as a segmentation layer over it, fetched and drawn.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zarr
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from data_helpers.screen_chunks import screen_chunks
from data_helpers.serve import FolderServer, ServedRequest
from tests.browser.book import REPO
from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, CHROMIUM_ARGS

WEBGL_ARGS = [
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
IMAGES = {"heart.ome.zarr": 2, "heart-sharded.ome.zarr": 3}
ZOOMS = (1 / 4, 16)  # screen pixels per level-0 voxel: zoomed out, then in
SETTLE_SECONDS = 2.0

PANEL_SCRIPT = """
const panel = document.querySelector('.neuroglancer-rendered-data-panel');
if (panel === null || !window.viewer) return null;
const box = panel.getBoundingClientRect();
return {left: box.left, top: box.top, width: box.width, height: box.height,
        position: Array.from(viewer.navigationState.position.value),
        zoom: viewer.navigationState.zoomFactor.value,
        ratio: window.devicePixelRatio};
"""


@pytest.fixture(scope="module")
def gl_driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with WebGL2 (SwiftShader), logging console and network."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + WEBGL_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-gl')}")
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    chrome = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[FolderServer]:
    if not (site / "viewer" / "index.html").is_file():
        pytest.fail(f"No viewer in {site}: build the book with `nox -s book`.")
    with FolderServer(site) as served:
        yield served


def data_requests(server: FolderServer, image: str) -> list[ServedRequest]:
    return [r for r in server.requests if r.key.startswith(f"data/{image}/")]


def wait_until_settled(server: FolderServer, image: str, timeout: float = 90) -> None:
    """Wait until chunks came and no new request of the image for a while."""
    start, seen, since = time.monotonic(), -1, time.monotonic()
    while time.monotonic() - start < timeout:
        count = len(data_requests(server, image))
        if count != seen:
            seen, since = count, time.monotonic()
        elif count and time.monotonic() - since > SETTLE_SECONDS:
            return
        time.sleep(0.2)
    pytest.fail(f"The viewer kept fetching {image} for {timeout} s")


def chunks_per_level(
    requests: list[ServedRequest], image: Path, prefix: str
) -> dict[int, set[str]]:
    """The distinct chunks fetched, by level (for shards: their byte ranges)."""
    fetched: dict[int, set[str]] = {}
    for request in requests:
        key = request.key.removeprefix(prefix)
        level, _, rest = key.partition("/")
        if request.method != "GET" or not rest or rest.startswith("."):
            continue  # metadata (.zarray, .zattrs, zarr.json) and HEAD
        if rest == "zarr.json":
            continue
        array = zarr.open_array(image / level, mode="r")
        if array.shards is not None:
            per_shard = np.prod(np.array(array.shards) // np.array(array.chunks))
            index_bytes = 16 * int(per_shard) + 4
            size = (image / key).stat().st_size
            first, last = (int(n) for n in request.byte_range.split("-"))
            if last == size - 1 and last - first + 1 == index_bytes:
                continue  # the shard's index
            rest = f"{rest}@{request.byte_range}"
        fetched.setdefault(int(level), set()).add(rest)
    return fetched


def picture(driver: webdriver.Chrome, panel: dict) -> np.ndarray:
    """The grey levels of the viewer's panel in a screenshot."""
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("L")
    r = panel["ratio"]
    box = (
        panel["left"] * r,
        panel["top"] * r,
        (panel["left"] + panel["width"]) * r,
        (panel["top"] + panel["height"]) * r,
    )
    return np.asarray(shot.crop(tuple(int(v) for v in box)))


def other_origin_requests(driver: webdriver.Chrome, base: str) -> list[str]:
    """Every URL the page (and its frames) asked for that is not on the site."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    # chrome:// pages are the browser's own (its start page), not the network.
    local = (base, "data:", "blob:", "chrome://", "about:")
    return [u for u in urls if not u.startswith(local)]


@pytest.mark.parametrize("image", list(IMAGES))
def test_viewer_shows_the_heart(
    gl_driver: webdriver.Chrome, server: FolderServer, site: Path, image: str
) -> None:
    driver = gl_driver
    driver.get_log("browser")
    driver.get_log("performance")
    server.requests.clear()
    zarr_format = IMAGES[image]
    url = (
        f"{server.url}viewer/index.html?image=../data/{image}&zarr={zarr_format}"
        f"&range=1973,26578&zoom={ZOOMS[0]}"
    )
    driver.get(url)
    wait_until_settled(server, image)
    folder = site / "data" / image
    group = zarr.open_group(folder, mode="r")
    shapes = [group[k].shape for k in sorted(group.array_keys(), key=int)]
    chunk_shape = group["0"].chunks
    report: dict[str, dict[int, int]] = {}
    seen_levels: set[int] = set()
    finest = []
    for step, zoom in enumerate(ZOOMS):
        if step:
            before = len(server.requests)
            script = f"viewer.navigationState.zoomFactor.value = {1 / zoom}"
            driver.execute_script(script)
            time.sleep(0.5)
            wait_until_settled(server, image)
            requests = data_requests_since(server, image, before)
        else:
            requests = data_requests(server, image)
        panel = driver.execute_script(PANEL_SCRIPT)
        assert panel is not None and abs(panel["zoom"] - 1 / zoom) < 1e-9
        fetched = chunks_per_level(requests, folder, f"data/{image}/")
        report[f"zoom {zoom:g}"] = {k: len(v) for k, v in sorted(fetched.items())}
        screen = (round(panel["width"]), round(panel["height"]))
        # Neuroglancer's position is a voxel's corner; its centre is + 0.5.
        center = [p + 0.5 for p in panel["position"]]
        levels = screen_chunks(shapes, chunk_shape, screen, zoom, center=center)
        expected = {
            level.level: level.chunks
            for level in levels
            if level.level not in seen_levels
        }
        assert {k: len(v) for k, v in fetched.items()} == expected
        seen_levels |= set(expected)
        finest.append(min(fetched))
        grey = picture(driver, panel)
        assert grey.std() > 10, "the viewer drew a uniform picture"
        name = f"viewer-{image.removesuffix('.ome.zarr')}-zoom-{zoom:g}.png"
        shots = Path(os.environ.get("VIEWER_SCREENSHOTS", site.parent / "screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shots / name))
    assert finest[1] < finest[0], "zooming in fetched no finer level"
    (shots / f"viewer-{image}.json").write_text(json.dumps(report, indent=2))
    # Nothing fails: not even the .zarray that Neuroglancer asks for at a Zarr
    # format 2 image's top, which the page answers itself (viewer/src/main.js).
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert other_origin_requests(driver, server.url) == []
    failed = [(r.key, r.status) for r in server.requests if r.status not in (200, 206)]
    assert failed == []


def data_requests_since(
    server: FolderServer, image: str, start: int
) -> list[ServedRequest]:
    """The image's requests from number ``start`` of the server's log on."""
    return [r for r in server.requests[start:] if r.key.startswith(f"data/{image}/")]


LABELS_PAGE = "book/labels-and-segmentations.html"
LAYERS_SCRIPT = "return viewer.state.toJSON().layers"
SEGMENTATION_SCRIPT = """
const managed = viewer.layerManager.getLayerByName(arguments[0]);
return {hideSegmentZero: managed.layer.displayState.hideSegmentZero.value,
        ready: managed.isReady()};
"""
HIDE_SCRIPT = "viewer.layerManager.getLayerByName(arguments[0]).setVisible(false)"


def shown_segmentation(
    driver: webdriver.Chrome,
    server: FolderServer,
    label: str,
    scheme: str,
    frame: WebElement | None = None,
) -> None:
    """Check the viewer draws the label image ``label`` over the image.

    ``label`` is the label image's folder in the site, e.g.
    ``heart.ome.zarr/labels/heart``; the viewer is the page, or in ``frame``.
    Its second layer must be a segmentation layer of that source, in the
    ``image-label`` colours, ready; chunks of the label image must have been
    fetched, and drawn: hiding the layer changes the picture.
    """
    from data_helpers.heart_labels import LABEL_COLORS

    def run(script: str, *args: object) -> object:
        if frame is not None:
            driver.switch_to.frame(frame)
        try:
            return driver.execute_script(script, *args)
        finally:
            driver.switch_to.default_content()

    def shot() -> np.ndarray:
        png = (
            driver.get_screenshot_as_png() if frame is None else frame.screenshot_as_png
        )
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)

    wait_until_settled(server, label)
    layers = run(LAYERS_SCRIPT)
    assert isinstance(layers, list)
    name = label.rsplit("/", 1)[1]
    assert [(layer["type"], layer["name"]) for layer in layers] == [
        ("image", "image"),
        ("segmentation", name),
    ]
    assert layers[1]["source"] == f"{scheme}://{server.url}data/{label}"
    colours = {
        str(value): "#{:02x}{:02x}{:02x}".format(*rgba[:3])
        for value, rgba in LABEL_COLORS.items()
    }
    assert layers[1]["segmentColors"] == colours
    assert run(SEGMENTATION_SCRIPT, name) == {"hideSegmentZero": True, "ready": True}
    chunks = [
        r.key
        for r in data_requests(server, label)
        if r.method == "GET" and not r.key.rsplit("/", 1)[1].startswith((".", "z"))
    ]
    assert chunks, "the viewer fetched no chunk of the label image"
    with_labels = shot()
    run(HIDE_SCRIPT, name)
    time.sleep(SETTLE_SECONDS)
    without = shot()
    shots = Path(os.environ.get("VIEWER_SCREENSHOTS", REPO / "_build" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    for what, picture in (("labels", with_labels), ("no-labels", without)):
        path = shots / f"viewer-{label.replace('/', '-')}-{what}.png"
        Image.fromarray(picture.astype(np.uint8)).save(path)
    changed = np.abs(with_labels - without).max(axis=-1) > 20
    print(f"{label}: hiding the labels changed {changed.mean():.1%} of the pixels")
    assert changed.mean() > 0.02, "hiding the labels changed (almost) nothing"


def test_labels_chapter_shows_the_segmentation(
    gl_driver: webdriver.Chrome, server: FolderServer
) -> None:
    """The labels chapter's viewer shows the heart's labels over it (the
    sharded OME-Zarr 0.5 copy, the book's default), and its link opens the 0.4
    copy with its labels."""
    driver = gl_driver
    driver.get_log("browser")
    driver.get_log("performance")
    server.requests.clear()
    driver.get(f"{server.url}{LABELS_PAGE}")
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.book-viewer")
    driver.execute_script("arguments[0].scrollIntoView()", frame)
    label = "heart-sharded.ome.zarr/labels/heart"
    shown_segmentation(driver, server, label, "zarr3", frame)
    link = driver.find_element(By.LINK_TEXT, "OME-Zarr 0.4").get_attribute("href")
    assert link is not None
    driver.get(link)
    shown_segmentation(driver, server, "heart.ome.zarr/labels/heart", "zarr2")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert other_origin_requests(driver, server.url) == []
    failed = [(r.key, r.status) for r in server.requests if r.status not in (200, 206)]
    assert failed == []
