// Build the book's viewer: Neuroglancer as a static app with relative paths.
import { defaultClientConditions, defineConfig } from "vite";

// Neuroglancer chooses its data sources and key-value stores by package
// conditions: enable only Zarr over HTTP (which also reads shards by range).
const NEUROGLANCER_CONDITIONS = [
  "neuroglancer/datasource:none_by_default",
  "neuroglancer/datasource/zarr:enabled",
  "neuroglancer/kvstore:none_by_default",
  "neuroglancer/kvstore/http:enabled",
];

// Neuroglancer writes `new Worker(/* webpackChunkName: ... */ new URL(...))`;
// Vite recognises a worker only when `new URL` follows `new Worker(` directly.
function stripWebpackChunkNames() {
  return {
    name: "strip-webpack-chunk-names",
    transform(code, id) {
      if (!id.includes("neuroglancer") || !code.includes("webpackChunkName")) {
        return null;
      }
      return code.replace(/\/\*\s*webpackChunkName:[^*]*\*\/\s*/g, "");
    },
  };
}

// npm's ikonate 1.1.1 (Neuroglancer pins a GitHub commit, which we cannot
// fetch) lacks three icons Neuroglancer uses: show close relatives instead.
const MISSING_ICONS = {
  "code-alt": "file",
  "controls-alt": "controls",
  layers: "stack",
};

export default defineConfig({
  base: "./",
  resolve: {
    conditions: [...NEUROGLANCER_CONDITIONS, ...defaultClientConditions],
    alias: Object.entries(MISSING_ICONS).map(([missing, present]) => ({
      find: new RegExp(`^ikonate/icons/${missing}\\.svg`),
      replacement: `ikonate/icons/${present}.svg`,
    })),
  },
  plugins: [stripWebpackChunkNames()],
  worker: { format: "es", plugins: () => [stripWebpackChunkNames()] },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  logLevel: "warn",
});
