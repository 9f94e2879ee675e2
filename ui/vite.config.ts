import { defineConfig } from "vitest/config";

// The app loads the built files from inside the binary (src-tauri embeds ui/dist).
export default defineConfig({
  clearScreen: false,
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { environment: "jsdom" },
});
