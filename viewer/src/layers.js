// The Neuroglancer layers that show an OME-Zarr image, from its metadata
// alone: no Neuroglancer import, so Node runs it too (tests/test_view.py).
//
// An image without a channel axis is one grey layer. An image with one (an
// axis of type "channel", which Neuroglancer names c' and makes a local
// dimension of each layer) is one layer per channel, each at its channel's
// local position, in its omero colour (else red, green, blue, white),
// named by its omero label (else c0, c1, ...), from black at its omero
// window's start to its colour at its end, added together on screen. A time
// axis (type "time") stays a global dimension: the position bar's t, with a
// slider and playback in its menu.

// Default channel colours, as Neuroglancer's own multi-channel setup.
const DEFAULT_COLORS = ["#ff0000", "#00ff00", "#0000ff", "#ffffff"];

// The OME-Zarr metadata in a group's metadata document: 0.5 and 0.6 keep it
// under attributes.ome of zarr.json, 0.4 at the top of .zattrs.
export function omeOf(document, file) {
  if (file === "zarr.json") return document?.attributes?.ome ?? {};
  return document ?? {};
}

// The axes of the image's first multiscale (0.4 and 0.5: `axes`).
export function axesOf(ome) {
  return ome?.multiscales?.[0]?.axes ?? [];
}

// The index of the channel axis (type "channel"), or -1.
export function channelAxis(ome) {
  return axesOf(ome).findIndex((axis) => axis?.type === "channel");
}

// "#rrggbb" from omero's "RRGGBB" (or undefined).
function hexColor(color) {
  return /^[0-9a-f]{6}$/i.test(color ?? "") ? `#${color.toLowerCase()}` : undefined;
}

// A channel's grey range: its omero window (start, end), else the page's.
function channelRange(channel, pageRange) {
  const start = channel?.window?.start;
  const end = channel?.window?.end;
  if (Number.isFinite(start) && Number.isFinite(end) && start < end) {
    return [start, end];
  }
  return pageRange;
}

// The shader of one channel: its colour, scaled by the grey range.
const CHANNEL_SHADER = `#uicontrol invlerp normalized
#uicontrol vec3 color color
void main() {
  emitRGB(color * normalized());
}
`;

// The layers: `source` the image's Neuroglancer URL (zarr3://...), `ome` its
// OME-Zarr metadata, `channels` the length of its channel axis (level 0's
// shape), `ranges` the page's grey ranges ([[low, high]], or one per channel).
export function imageLayers({ source, ome, channels = 0, ranges = [] }) {
  const axis = channelAxis(ome);
  if (axis < 0 || channels < 1) {
    const layer = { type: "image", source, name: "image" };
    if (ranges.length > 0) {
      layer.shaderControls = { normalized: { range: ranges[0] } };
    }
    return [layer];
  }
  const omero = ome?.omero?.channels ?? [];
  const layers = [];
  for (let index = 0; index < channels; index++) {
    const channel = omero[index];
    const range = channelRange(channel, ranges[index] ?? ranges[0]);
    const normalized = range === undefined ? {} : { range };
    layers.push({
      type: "image",
      source,
      name: channel?.label || `c${index}`,
      localPosition: [index + 0.5], // the middle of voxel `index` along c'
      shader: CHANNEL_SHADER,
      shaderControls: {
        normalized,
        color: hexColor(channel?.color) ?? DEFAULT_COLORS[index % 4],
      },
      blend: "additive",
      visible: channel?.active ?? true,
    });
  }
  return layers;
}

// The page's grey ranges, from its repeated &range=LOW,HIGH parameters.
export function parseRanges(params) {
  return params.getAll("range").map((range) => range.split(",").map(Number));
}
