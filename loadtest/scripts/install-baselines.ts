// Installs the Emmett baselines' own dependencies (run by @vuoro/loadtest's
// postinstall, so a root `npm ci` or `npm install` covers them).
//
// Why they are separate npm projects with their own lockfiles, not workspaces:
// the two baselines need different versions of @event-driven-io/emmett
// (0.38.5 for emmett-sqlite, 0.42.0 for emmett-postgresql), so at least one must
// be nested in its own node_modules. npm 11 never installs the node_modules of
// a workspace that lies inside another workspace's folder (arborist diffs only
// one level of fsChildren), and every folder under loadtest/ is inside the
// @vuoro/loadtest workspace. A standalone project there installs normally.
//
// Skips a baseline whose node_modules already matches its lockfile, so a
// routine root `npm install` costs nothing here; `--force` reinstalls.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BASELINES = ['emmett-sqlite', 'emmett-postgres'];
const root = fileURLToPath(new URL('../baselines/', import.meta.url));
const force = process.argv.includes('--force');

for (const name of BASELINES) {
  const dir = join(root, name);
  const fingerprint = createHash('sha256')
    .update(readFileSync(join(dir, 'package.json')))
    .update(readFileSync(join(dir, 'package-lock.json')))
    .digest('hex');
  const marker = join(dir, 'node_modules', '.vuoro-installed');
  if (!force && existsSync(marker) && readFileSync(marker, 'utf8') === fingerprint) {
    console.log(`baselines/${name}: dependencies up to date`);
    continue;
  }
  console.log(`baselines/${name}: npm ci${name === 'emmett-sqlite' ? ' (sqlite3 builds from source: about a minute)' : ''}`);
  // The parent npm's local prefix must not leak into the child: it would install into the root.
  const env = { ...process.env };
  delete env['npm_config_local_prefix'];
  const result = spawnSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`baselines/${name}: npm ci failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  writeFileSync(marker, fingerprint);
}
