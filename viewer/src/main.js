// The book's viewer: Neuroglancer showing one OME-Zarr image, given as
// ?image=URL (relative to this page, or absolute), with optional
// &zarr=2|3 (the Zarr format: without it Neuroglancer asks for the metadata
// files of both, and the browser logs the 404 of the missing ones),
// &layout=xy|xz|yz|4panel, &range=LOW,HIGH (grey levels shown black to white)
// and &zoom=N (screen pixels per level-0 voxel). Without ?image= it shows the
// state in the URL fragment, as Neuroglancer does.
import "neuroglancer/unstable/main_module.js";
import { setupDefaultViewer } from "neuroglancer/unstable/ui/default_viewer_setup.js";

const params = new URLSearchParams(window.location.search);
const image = params.get("image");
const viewer = setupDefaultViewer({ showLayerDialog: false });

if (image !== null && window.location.hash === "") {
  const url = new URL(image, window.location.href).href.replace(/\/+$/, "");
  const scheme = { 2: "zarr2", 3: "zarr3" }[params.get("zarr")] ?? "zarr";
  if (scheme === "zarr2") answerTopArrayProbe(`${url}/.zarray`);
  const layer = { type: "image", source: `${scheme}://${url}`, name: "image" };
  const range = params.get("range");
  if (range !== null) {
    layer.shaderControls = { normalized: { range: range.split(",").map(Number) } };
  }
  viewer.state.restoreState({
    layers: [layer],
    layout: params.get("layout") ?? "xy",
    selectedLayer: { visible: false },
  });
  const zoom = params.get("zoom");
  // Settings that need the image's coordinate space (axis names, voxel size).
  const space = viewer.coordinateSpace;
  const configure = () => {
    if (!space.value.valid) return false;
    // OME-Zarr orders the axes z, y, x; show x across the screen and y down.
    viewer.displayDimensions.restoreState(["x", "y", "z"]);
    if (zoom !== null) {
      // Neuroglancer's zoom factor: level-0 voxels per screen pixel.
      viewer.navigationState.zoomFactor.value = 1 / Number(zoom);
    }
    return true;
  };
  if (!configure()) {
    const remove = space.changed.add(() => {
      if (configure()) remove();
    });
  }
}

// For Zarr format 2, Neuroglancer reads `.zarray` and `.zattrs` at the top of
// the URL together (`getMetadata` in its datasource/zarr/frontend.js) and
// takes a group when `.zarray` is missing. An OME-Zarr 0.4 image's top is a
// group, so that request can only fail, and the browser logs every failed
// request as a console error. The page answers it here, as the server would
// (404), without asking the server.
function answerTopArrayProbe(probe) {
  const fetchFromServer = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const target = typeof input === "string" ? input : (input.url ?? String(input));
    if (target === probe) return Promise.resolve(new Response(null, { status: 404 }));
    return fetchFromServer(input, init);
  };
}
