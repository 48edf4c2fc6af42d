import { defineConfig } from "vite";

// served by the media graph at /explore/; `npm run dev` proxies the API to a local server
export default defineConfig({
  base: "/explore/",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      "/graphql": "http://127.0.0.1:8000",
      "/media": "http://127.0.0.1:8000",
    },
  },
});
