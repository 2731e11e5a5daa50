/**
 * The analyst dashboard's build: `npm run build -w @vuoro/projections` (or
 * `buildDashboard()`) runs Vite on `dashboard/` into `dist/dashboard`, which
 * the gateway serves at /dashboard.
 */
import { fileURLToPath } from 'node:url';

export const DASHBOARD_DIST = fileURLToPath(new URL('../dist/dashboard/', import.meta.url));
const CONFIG = fileURLToPath(new URL('../dashboard/vite.config.ts', import.meta.url));

/** Builds the dashboard with this package's Vite (into `outDir`, default DASHBOARD_DIST). */
export async function buildDashboard(outDir: string = DASHBOARD_DIST): Promise<string> {
  const { build } = await import('vite');
  await build({ configFile: CONFIG, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}
