import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const webDirectory = fileURLToPath(new URL(".", import.meta.url));

// The server serves dist/web (src/http/static.ts); `npm run dev:web` proxies the API to it.
export default defineConfig({
  root: webDirectory,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    // The Markdown renderer (streamdown, web/src/chat/Markdown.tsx) is a chunk of its own of about
    // 530 kB (155 kB gzipped), loaded only once the chat shows; the app's main chunk is about as large.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": "http://localhost:3000",
      "/simulator": "http://localhost:3000",
    },
  },
});
