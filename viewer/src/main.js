// The book's viewer: Neuroglancer showing one OME-Zarr image, given as
// ?image=URL (relative to this page, or absolute), with optional
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
  const layer = { type: "image", source: `zarr://${url}`, name: "image" };
  const range = params.get("range");
  if (range !== null) {
    layer.shaderControls = { normalized: { range: range.split(",").map(Number) } };
  }
  const state = {
    layers: [layer],
    layout: params.get("layout") ?? "xy",
    selectedLayer: { visible: false },
  };
  const zoom = params.get("zoom");
  if (zoom !== null) {
    // Neuroglancer's crossSectionScale is level-0 voxels per screen pixel.
    state.crossSectionScale = 1 / Number(zoom);
  }
  viewer.state.restoreState(state);
}
