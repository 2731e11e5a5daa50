/**
 * The analyst dashboard's files at /dashboard: the page and its hashed assets,
 * as Vite built them (`npm run build -w @vuoro/projections`). The files hold
 * no data; the page asks the analytics API for it with the analyst's key.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DASHBOARD_DIST } from '@vuoro/projections';
import { ApiError } from '../http/problems.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export async function dashboardRoutes(app: FastifyInstance, opts: { dir?: string }): Promise<void> {
  const dir = opts.dir ?? DASHBOARD_DIST;
  const page = { public: true, rateLimit: false } as const;
  const notBuilt = () =>
    new ApiError('NOT_FOUND', `The dashboard has not been built: run "npm run build -w @vuoro/projections" (looked in ${dir}).`);

  const index = async () => {
    try {
      return await readFile(join(dir, 'index.html'), 'utf8');
    } catch {
      throw notBuilt();
    }
  };

  app.get('/dashboard', { schema: { hide: true }, config: page }, async (_req, reply) => {
    // The page itself may change with every build; its assets are named by their content.
    reply.type(TYPES['.html'] as string).header('cache-control', 'no-cache');
    return index();
  });

  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', { schema: { hide: true }, config: page }, async (req, reply) => {
    // Only plain file names inside assets/: no path can leave the folder.
    const name = basename(req.params.file);
    if (name !== req.params.file || name.startsWith('.')) throw new ApiError('NOT_FOUND', 'No such file.');
    const path = join(dir, 'assets', name);
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a file');
    } catch {
      throw new ApiError('NOT_FOUND', `No dashboard file named ${name}.`);
    }
    reply
      .type(TYPES[extname(name)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable');
    return readFile(path);
  });
}
