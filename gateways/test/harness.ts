/**
 * A whole Vuoro gateway for end-to-end tests: a temp DATA_DIR with the real
 * SQLite event store and gateway database, the engine on a clock the test
 * moves, the fixture sports park (engine/src/site/fixtures.ts) loaded through
 * the catalogue loader, channels with keys, and a client over real HTTP.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Engine, loadCatalogue, openStore, type CatalogueFile, type EventStore, type Space } from '@vuoro/engine';
import { SITE, UNITS, siteCatalogue } from '@vuoro/engine/site/fixtures.js';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../src/app.js';
import { Metrics } from '../src/ops/metrics.js';
import { openDb, type Db } from '../src/storage/db.js';

/** Monday 4 January 2027, 10:00 in Helsinki. */
export const T0 = Date.parse('2027-01-04T08:00:00Z');
export const PAYMENT_SECRET = 'test-payment-secret-0123456789';

const spaces: Space[] = siteCatalogue.flatMap((e) => (e.type === 'SpaceDefined' ? [e.data.space] : []));
const resources = siteCatalogue.flatMap((e) => (e.type === 'ResourceDefined' ? [e.data.resource] : []));

/** The fixture park, a small library with a capacity, its customer groups and customers. */
export const CATALOGUE: CatalogueFile = {
  customerGroups: [
    { customerGroupId: 'grp_residents', name: 'Residents', freeOfCharge: false },
    { customerGroupId: 'grp_youth', name: 'Youth associations', freeOfCharge: true },
    { customerGroupId: 'grp_companies', name: 'Companies', freeOfCharge: false },
  ],
  customers: [
    { customerId: 'cus_alice', name: 'Alice', customerGroupId: 'grp_residents' },
    { customerId: 'cus_bob', name: 'Bob', customerGroupId: 'grp_residents' },
    { customerId: 'cus_youth', name: 'Youth club', customerGroupId: 'grp_youth' },
    { customerId: 'cus_firm', name: 'Firm Oy', customerGroupId: 'grp_companies' },
  ],
  sites: [
    { siteId: SITE, name: 'Sports park', spaces, resources, units: Object.values(UNITS) },
    {
      siteId: 'sit_library',
      name: 'Library',
      spaces: [{ spaceId: 'spc_lib_room', name: 'Group room', capacity: 12 }],
      resources: [],
      units: [{ ...UNITS.hallA, unitId: 'unt_lib_room', name: 'Group room', unitType: 'meeting_room', spaceIds: ['spc_lib_room'], capacity: 12 }],
    },
  ],
};

export interface Clock {
  (): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function testClock(start = T0): Clock {
  let now = start;
  const clock = (() => now) as Clock;
  clock.set = (ms) => {
    now = ms;
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

export interface Response<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  key?: string | null;
  customer?: string;
  body?: unknown;
  /** Raw body (sent as is). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** Idempotency-Key: a fresh one unless given; `null` sends none. */
  idem?: string | null;
}

export interface Keys {
  admin: string;
  /** The web shop (book), channel chn_web. */
  web: string;
  /** A partner portal (book), channel chn_partner. */
  partner: string;
  /** The staff desk (staff), channel chn_desk. */
  desk: string;
  /** An analyst (analyst only). */
  analyst: string;
}

export interface Gateway {
  app: FastifyInstance;
  url: string;
  engine: Engine;
  store: EventStore;
  db: Db;
  clock: Clock;
  dir: TempDir;
  keys: Keys;
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<Response<T>>;
  /** Closes everything but the data directory. */
  stop(): Promise<void>;
  /** Stops and deletes the data directory. */
  close(): Promise<void>;
}

export interface StartOptions {
  settings?: AppDeps['settings'];
  clock?: Clock;
  fetch?: typeof fetch;
  /** Reuse a data directory (restart) and its keys. */
  dir?: TempDir;
  keys?: Keys;
}

export async function startGateway(options: StartOptions = {}): Promise<Gateway> {
  const dir = options.dir ?? (await tempDir('vuoro-gw-'));
  const clock = options.clock ?? testClock();
  const metrics = new Metrics({ defaultMetrics: false });
  const store = await openStore({ kind: 'sqlite', file: join(dir.path, 'vuoro.sqlite') });
  const engine = await Engine.open({ store, clock, onCommit: metrics.onCommit });
  const db = openDb(join(dir.path, 'gateway.sqlite'));
  const app = await buildApp({
    engine,
    db,
    clock,
    metrics,
    settings: {
      logLevel: 'silent',
      paymentWebhookSecret: PAYMENT_SECRET,
      expiryIntervalMs: 0,
      rateLimitMax: 100_000,
      ...options.settings,
      outbox: { pollMs: 0, backoffMs: 1000, ...options.settings?.outbox },
    },
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  let keys = options.keys;
  if (keys === undefined) {
    const report = await loadCatalogue(engine, CATALOGUE);
    if (report.refused.length > 0) throw new Error(`catalogue refused: ${JSON.stringify(report.refused)}`);
    const k = app.vuoro.keys;
    const channel = (channelId: string) => k.createChannel({ channelId, name: channelId });
    channel('chn_admin');
    channel('chn_web');
    channel('chn_partner');
    channel('chn_desk');
    channel('chn_analytics');
    keys = {
      admin: k.createKey({ channelId: 'chn_admin', name: 'admin', scopes: ['admin'] }).secret,
      web: k.createKey({ channelId: 'chn_web', name: 'web shop', scopes: ['book'] }).secret,
      partner: k.createKey({ channelId: 'chn_partner', name: 'partner', scopes: ['book'] }).secret,
      desk: k.createKey({ channelId: 'chn_desk', name: 'desk', scopes: ['staff'], staffId: 'stf_anna' }).secret,
      analyst: k.createKey({ channelId: 'chn_analytics', name: 'analyst', scopes: ['analyst'] }).secret,
    };
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;

  const call = async <T>(method: string, path: string, o: CallOptions = {}): Promise<Response<T>> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key !== null) headers.authorization = `Bearer ${o.key ?? (keys as Keys).desk}`;
    if (o.customer !== undefined) headers['vuoro-customer'] = o.customer;
    const mutating = method !== 'GET' && method !== 'HEAD';
    if (mutating && o.idem !== null && headers['idempotency-key'] === undefined) headers['idempotency-key'] = o.idem ?? randomUUID();
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    // A Buffer is a valid fetch body at run time; @types/node 20's BodyInit does not list it.
    const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) } as RequestInit);
    const text = await res.text();
    let parsed: unknown = text;
    if (text.length > 0 && (res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };

  const stop = async (): Promise<void> => {
    await app.close();
    await engine.close();
    await store.close();
    db.close();
  };
  return {
    app,
    url,
    engine,
    store,
    db,
    clock,
    dir,
    keys,
    call,
    stop,
    close: async () => {
      await stop();
      await dir.remove();
    },
  };
}

/** All events in the store (for "nothing else was stored"). */
export async function allEvents(store: EventStore): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const out: { type: string; data: Record<string, unknown> }[] = [];
  for (let after = 0; ; ) {
    const page = await store.readAll({ after, limit: 1000 });
    for (const e of page) out.push({ type: e.type, data: e.data as Record<string, unknown> });
    if (page.length < 1000) return out;
    after = page[page.length - 1]?.position ?? after;
  }
}

export const FIXTURE_UNITS = UNITS;
export { SITE };
