/**
 * The server `npm run bench:api` drives (loadtest/src/bench-api.ts): the real
 * gateway on the real SQLite store (FULL sync) in a temp directory, with a
 * generated city (sites x units, open 06-24 every day, one-hour grid), rate
 * limits out of the way and logging off. Prints one JSON line with its URL,
 * keys and catalogue, then serves until SIGTERM.
 *
 * `--empty` starts instead the baseline: bare fastify with one route that
 * returns a constant, so the bench can show what Vuoro costs over the
 * framework's floor on the same machine in the same run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, loadCatalogue, openStore, type CatalogueFile } from '@vuoro/engine';
import Fastify from 'fastify';
import { buildApp } from '../app.js';
import { Metrics } from '../ops/metrics.js';
import { openDb } from '../storage/db.js';

const SITES = Number(process.env.BENCH_SITES ?? 4);
const UNITS_PER_SITE = Number(process.env.BENCH_UNITS_PER_SITE ?? 25);
const TYPES = ['sports_hall', 'tennis_court', 'sauna', 'meeting_room', 'youth_space'] as const;

function city(): CatalogueFile {
  const daily = [{ from: '06:00', to: '24:00' }];
  const rules = {
    openingHours: { weekly: { mon: daily, tue: daily, wed: daily, thu: daily, fri: daily, sat: daily, sun: daily }, holidays: 'open' as const },
    startIntervalMinutes: 60,
    minDurationMinutes: 60,
    maxDurationMinutes: 180,
    bufferBeforeMinutes: 0,
    bufferAfterMinutes: 0,
    bookingWindow: { minDaysAhead: 0, maxDaysAhead: 400 },
    maxActivePerCustomer: null,
    cancellationDeadlineHours: 24,
    requiresHandling: false,
    allowedCustomerGroups: null,
    holdMinutes: 15,
    paymentDeadlineMinutes: 60,
    accessType: 'access_code' as const,
  };
  return {
    customerGroups: [{ customerGroupId: 'grp_residents', name: 'Residents', freeOfCharge: false }],
    customers: [{ customerId: 'cus_bench', name: 'Bench customer', customerGroupId: 'grp_residents' }],
    sites: Array.from({ length: SITES }, (_, s) => ({
      siteId: `sit_b${s}`,
      name: `Bench site ${s}`,
      spaces: Array.from({ length: UNITS_PER_SITE }, (_, u) => ({ spaceId: `spc_b${s}_${u}`, name: `Space ${u}`, capacity: 10 + u })),
      resources: [],
      units: Array.from({ length: UNITS_PER_SITE }, (_, u) => ({
        unitId: `unt_b${s}_${u}`,
        name: `Unit ${u}`,
        unitType: TYPES[u % TYPES.length] as (typeof TYPES)[number],
        spaceIds: [`spc_b${s}_${u}`],
        resourceIds: [],
        rules,
        prices: [],
      })),
    })),
  };
}

async function serveEmpty(): Promise<void> {
  const app = Fastify({ logger: false });
  app.get('/', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }));
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

async function serveVuoro(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vuoro-bench-api-'));
  const metrics = new Metrics({ defaultMetrics: false });
  const synchronous = process.env.SQLITE_SYNCHRONOUS === 'NORMAL' ? 'NORMAL' : 'FULL';
  const store = await openStore({ kind: 'sqlite', file: join(dir, 'vuoro.sqlite'), synchronous });
  const engine = await Engine.open({ store, onCommit: metrics.onCommit, snapshotEvery: 0 });
  const db = openDb(join(dir, 'gateway.sqlite'));
  const app = await buildApp({
    engine,
    db,
    metrics,
    settings: { logLevel: 'silent', rateLimitMax: 1_000_000_000, expiryIntervalMs: 0, outbox: { pollMs: 0 } },
  });
  const catalogue = city();
  const report = await loadCatalogue(engine, catalogue);
  if (report.refused.length > 0) throw new Error(`catalogue refused: ${JSON.stringify(report.refused)}`);
  app.vuoro.keys.createChannel({ channelId: 'chn_bench', name: 'bench' });
  const { secret } = app.vuoro.keys.createKey({ channelId: 'chn_bench', name: 'bench', scopes: ['book', 'staff'] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  console.log(
    JSON.stringify({
      url: `http://127.0.0.1:${address.port}`,
      key: secret,
      customerId: 'cus_bench',
      sites: catalogue.sites.map((s) => ({ siteId: s.siteId, unitIds: s.units.map((u) => u.unitId) })),
      unitTypes: TYPES,
    }),
  );
  process.on('SIGTERM', () => {
    void (async () => {
      const scrape = await metrics.render();
      const commits = /vuoro_group_commit_commands_sum (\S+)\n.*vuoro_group_commit_commands_count (\S+)/s.exec(scrape);
      if (commits !== null) console.error(JSON.stringify({ groupCommit: { commands: Number(commits[1]), commits: Number(commits[2]) } }));
      await app.close();
      await engine.close();
      await store.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

(process.argv.includes('--empty') ? serveEmpty() : serveVuoro()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
