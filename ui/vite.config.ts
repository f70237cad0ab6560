import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Relative asset URLs ("./assets/...") so the bundle works at "/" and when mounted under a prefix;
// the server injects <base href> at the marker in index.html.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../burr/tracking/server/build",
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { "/api": "http://127.0.0.1:7241", "/ready": "http://127.0.0.1:7241" } },
});
