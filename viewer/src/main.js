// The book's viewer: Neuroglancer showing one OME-Zarr image, given as
// ?image=URL (relative to this page, or absolute), with optional
// &zarr=2|3 (the Zarr format: without it Neuroglancer asks for the metadata
// files of both, and the browser logs the 404 of the missing ones),
// &labels=NAME (the image's label image IMAGE/labels/NAME, shown as a
// segmentation layer over it in the colours of its `image-label` metadata;
// repeat it for more), &layout=xy|xz|yz|4panel, &range=LOW,HIGH (grey levels
// shown black to white) and &zoom=N (screen pixels per level-0 voxel).
// Without ?image= it shows the state in the URL fragment, as Neuroglancer does.
import "neuroglancer/unstable/main_module.js";
import { setupDefaultViewer } from "neuroglancer/unstable/ui/default_viewer_setup.js";

const params = new URLSearchParams(window.location.search);
const image = params.get("image");
const viewer = setupDefaultViewer({ showLayerDialog: false });

if (image !== null && window.location.hash === "") {
  showImage(new URL(image, window.location.href).href.replace(/\/+$/, ""));
}

async function showImage(url) {
  const zarrFormat = { 2: 2, 3: 3 }[params.get("zarr")];
  const scheme = { 2: "zarr2", 3: "zarr3" }[zarrFormat] ?? "zarr";
  const labels = params.getAll("labels").map((name) => ({
    name,
    url: `${url}/labels/${encodeURIComponent(name)}`,
  }));
  if (zarrFormat === 2) {
    const groups = [url, ...labels.map((label) => label.url)];
    answerArrayProbes(groups.map((group) => `${group}/.zarray`));
  }
  const layer = { type: "image", source: `${scheme}://${url}`, name: "image" };
  const range = params.get("range");
  if (range !== null) {
    layer.shaderControls = { normalized: { range: range.split(",").map(Number) } };
  }
  const labelLayers = await Promise.all(
    labels.map(async (label) => ({
      type: "segmentation",
      source: `${scheme}://${label.url}`,
      name: label.name,
      segmentColors: await labelColors(label.url, zarrFormat),
    })),
  );
  viewer.state.restoreState({
    layers: [layer, ...labelLayers],
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

// A label image's `image-label` colours as Neuroglancer's segment colours
// ({"VALUE": "#rrggbb"}; Neuroglancer has no per-label opacity, so the alpha
// is left out). Labels without a colour get Neuroglancer's own.
async function labelColors(labelUrl, zarrFormat) {
  const files = { 2: [".zattrs"], 3: ["zarr.json"] }[zarrFormat] ?? [
    "zarr.json",
    ".zattrs",
  ];
  for (const file of files) {
    try {
      const response = await fetch(`${labelUrl}/${file}`);
      if (!response.ok) continue;
      const metadata = await response.json();
      const ome = file === "zarr.json" ? metadata.attributes?.ome : metadata;
      const colors = {};
      for (const { "label-value": value, rgba } of ome?.["image-label"]?.colors ?? []) {
        const hex = rgba.slice(0, 3).map((c) => c.toString(16).padStart(2, "0"));
        colors[String(value)] = `#${hex.join("")}`;
      }
      return colors;
    } catch {
      break; // Neuroglancer reports an unreadable source itself
    }
  }
  return {};
}

// For Zarr format 2, Neuroglancer reads `.zarray` and `.zattrs` at the top of
// a data source's URL together (`getMetadata` in its datasource/zarr/frontend.js)
// and takes a group when `.zarray` is missing. An OME-Zarr 0.4 image's top, and
// a label image's, is a group, so that request can only fail, and the browser
// logs every failed request as a console error. The page answers it here, as
// the server would (404), without asking the server.
function answerArrayProbes(probes) {
  const fetchFromServer = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const target = typeof input === "string" ? input : (input.url ?? String(input));
    if (probes.includes(target)) {
      return Promise.resolve(new Response(null, { status: 404 }));
    }
    return fetchFromServer(input, init);
  };
}
