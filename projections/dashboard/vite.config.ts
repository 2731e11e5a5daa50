/**
 * Builds the analyst dashboard into projections/dist/dashboard, served by the
 * gateway at /dashboard (so every asset URL starts with /dashboard/).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dashboard:dev -w @vuoro/projections` against a running gateway.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
});
