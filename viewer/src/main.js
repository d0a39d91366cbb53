// The book's viewer: Neuroglancer showing one OME-Zarr image, given as
// ?image=URL (relative to this page, or absolute), with optional
// &zarr=2|3 (the Zarr format: without it Neuroglancer asks for the metadata
// files of both, and the browser logs the 404 of the missing ones),
// &labels=NAME (the image's label image IMAGE/labels/NAME, shown as a
// segmentation layer over it in the colours of its `image-label` metadata;
// repeat it for more), &layout=xy|xz|yz|4panel, &range=LOW,HIGH (grey levels
// shown black to white; repeated, one per channel) and &zoom=N (screen pixels
// per level-0 voxel). An image with a channel axis is one layer per channel in
// its omero colours and windows, and a time axis is the position bar's t
// (layers.js). Without ?image= it shows the state in the URL fragment, as
// Neuroglancer does.
import "neuroglancer/unstable/main_module.js";
import { setupDefaultViewer } from "neuroglancer/unstable/ui/default_viewer_setup.js";
import { axesOf, channelAxis, imageLayers, omeOf, parseRanges } from "./layers.js";

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
  const ome = await readOme(url, zarrFormat);
  const axis = channelAxis(ome);
  const shape = axis < 0 ? [] : await levelShape(url, ome, zarrFormat);
  const layers = imageLayers({
    source: `${scheme}://${url}`,
    ome,
    channels: shape[axis] ?? 0,
    ranges: parseRanges(params),
  });
  const labelLayers = await Promise.all(
    labels.map(async (label) => ({
      type: "segmentation",
      source: `${scheme}://${label.url}`,
      name: label.name,
      segmentColors: await labelColors(label.url, zarrFormat),
    })),
  );
  viewer.state.restoreState({
    layers: [...layers, ...labelLayers],
    layout: params.get("layout") ?? "xy",
    selectedLayer: { visible: false },
  });
  const zoom = params.get("zoom");
  // Settings that need the image's coordinate space (axis names, voxel size).
  const space = viewer.coordinateSpace;
  const configure = () => {
    if (!space.value.valid) return false;
    // OME-Zarr orders the axes (t,) z, y, x; show x across the screen and y
    // down; t stays in the position bar.
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
  const ome = await readOme(labelUrl, zarrFormat);
  const colors = {};
  for (const { "label-value": value, rgba } of ome?.["image-label"]?.colors ?? []) {
    const hex = rgba.slice(0, 3).map((c) => c.toString(16).padStart(2, "0"));
    colors[String(value)] = `#${hex.join("")}`;
  }
  return colors;
}

// The metadata document `name` of the Zarr format `zarrFormat` (2: the first
// of `names2`, 3: of `names3`, unknown: both in turn) at `url`, or undefined.
async function readMetadata(url, zarrFormat, names3, names2) {
  const files = { 2: names2, 3: names3 }[zarrFormat] ?? [...names3, ...names2];
  for (const file of files) {
    try {
      const response = await fetch(`${url}/${file}`);
      if (response.ok) return { file, document: await response.json() };
    } catch {
      break; // Neuroglancer reports an unreadable source itself
    }
  }
  return undefined;
}

// The OME-Zarr metadata of the group at `url` ({} if it cannot be read).
async function readOme(url, zarrFormat) {
  const found = await readMetadata(url, zarrFormat, ["zarr.json"], [".zattrs"]);
  return found === undefined ? {} : omeOf(found.document, found.file);
}

// The shape of the image's level 0 (from its array metadata), or [].
async function levelShape(url, ome, zarrFormat) {
  const path = ome?.multiscales?.[0]?.datasets?.[0]?.path;
  if (path === undefined) return [];
  const level = `${url}/${path}`;
  const found = await readMetadata(level, zarrFormat, ["zarr.json"], [".zarray"]);
  const shape = found?.document?.shape ?? [];
  return shape.length === axesOf(ome).length ? shape : [];
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
