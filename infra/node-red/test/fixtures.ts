/**
 * For the tests that run the nodes: node-red-node-test-helper, a plain MQTT
 * broker standing in for a vendor's (aedes on a free loopback port), Vuoro's
 * HTTP API on a free loopback port, and a booked sauna on the real MQTT
 * gateway (startTestGateway: engine, access control, embedded broker).
 */
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SITE } from '@vuoro/access-control/testing/fixtures.js';
import { CUSTOMER, UNITS, testCatalogue } from '@vuoro/access-control/testing/harness.js';
import { Engine, loadCatalogue, openStore, type EventStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { buildApp, openDb, type Db } from '@vuoro/gateways';
import { startTestGateway, type TestGateway } from '@vuoro/gateways/mqtt/testing.js';
import { Aedes } from 'aedes';
import type { FastifyInstance } from 'fastify';
import { requireCjs } from './cjs.js';

export const MIN = 60_000;

export interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [key: string]: unknown;
}

export interface TestNode {
  id: string;
  on(event: 'input', listener: (msg: Record<string, unknown>) => void): void;
  on(event: `call:${'error' | 'warn' | 'status' | 'send'}`, listener: (call: { args: unknown[] }) => void): void;
  receive(msg: Record<string, unknown>): void;
}

export interface Helper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  load(nodes: unknown[], flow: FlowNode[], credentials?: Record<string, Record<string, string>>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
}

export const helper = requireCjs('node-red-node-test-helper') as Helper;
helper.init(requireCjs.resolve('node-red'));

export const nodes = {
  config: requireCjs('../vuoro-config.js') as unknown,
  occupancy: requireCjs('../vuoro-occupancy.js') as unknown,
  door: requireCjs('../vuoro-door.js') as unknown,
  cabinet: requireCjs('../vuoro-key-cabinet.js') as unknown,
  booking: requireCjs('../vuoro-booking.js') as unknown,
};

/** Messages a helper node receives, and a way to wait for the next ones. */
export function collect(node: TestNode): { msgs: Record<string, unknown>[]; next(n?: number): Promise<Record<string, unknown>> } {
  const msgs: Record<string, unknown>[] = [];
  const waiters: { count: number; resolve: (m: Record<string, unknown>) => void }[] = [];
  node.on('input', (msg) => {
    msgs.push(msg);
    for (const w of waiters.splice(0)) if (msgs.length >= w.count) w.resolve(msgs[w.count - 1] as Record<string, unknown>);
    else waiters.push(w);
  });
  let taken = 0;
  return {
    msgs,
    next(n = 1) {
      taken += n;
      const count = taken;
      if (msgs.length >= count) return Promise.resolve(msgs[count - 1] as Record<string, unknown>);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** The `node.error` texts of a node, as they happen. */
export function errorsOf(node: TestNode): string[] {
  const out: string[] = [];
  node.on('call:error', (call) => out.push(String(call.args[0])));
  return out;
}

/** A plain MQTT broker for vendor devices (anyone may connect), on a free loopback port. */
export async function vendorBroker(): Promise<{ url: string; port: number; aedes: Aedes; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    aedes,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The next quarter hour at least `ahead` ms from now (the test catalogue books in 15-minute steps). */
export const nextSlot = (ahead: number): number => Math.ceil((Date.now() + ahead) / (15 * MIN)) * 15 * MIN;

/** The gateway with its clock at the wall clock (nodes check command times against Date.now()) and a sauna booked an hour or more ahead, with its PIN. */
export async function bookedSauna(): Promise<{ g: TestGateway; code: string; credentialId: string; start: number; end: number }> {
  const g = await startTestGateway({ now: Date.now() });
  await g.h.registerDoors();
  const start = nextSlot(60 * MIN);
  const end = start + 2 * 60 * MIN;
  await g.h.book('res_1', UNITS.sauna, start, end);
  await g.h.settle();
  const c = g.h.access.credentialOf(SITE, 'res:res_1');
  const code = g.h.mailer.codeFor(c?.credentialId ?? '');
  if (c === undefined || code === undefined) throw new Error('no credential issued');
  return { g, code, credentialId: c.credentialId, start, end };
}

/** A PIN that is valid in form but not the booked one. */
export const wrongPinFor = (code: string): string => (code === '620471' ? '620472' : '620471');

export interface RunningApi {
  url: string;
  staffKey: string;
  engine: Engine;
  book(reservationId: string, start: number, end: number): Promise<void>;
  close(): Promise<void>;
}

/** Vuoro's HTTP API (buildApp, memory store) on a free loopback port, with a staff key; the engine's clock is the wall clock. */
export async function startApi(): Promise<RunningApi> {
  const dir: TempDir = await tempDir('vuoro-node-red-api-');
  const store: EventStore = await openStore({ kind: 'memory' });
  const engine = await Engine.open({ store, clock: () => Date.now() });
  await loadCatalogue(engine, testCatalogue);
  const db: Db = openDb(join(dir.path, 'gateway.sqlite'));
  const app: FastifyInstance = await buildApp({ engine, db, clock: () => Date.now(), settings: { logLevel: 'silent', expiryIntervalMs: 0, rateLimitMax: 100_000, outbox: { pollMs: 0 } } });
  app.vuoro.keys.createChannel({ channelId: 'chn_ops', name: 'Facility management' });
  const staffKey = app.vuoro.keys.createKey({ channelId: 'chn_ops', name: 'Node-RED', scopes: ['staff'], staffId: 'stf_nodered' }).secret;
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    staffKey,
    engine,
    async book(reservationId, start, end) {
      const r = await engine.execute({
        type: 'RequestReservation',
        data: { reservationId, unitId: UNITS.sauna, customer: { ...CUSTOMER }, start, end, kind: 'behalf', confirm: true },
        meta: { actor: { kind: 'staff', staffId: 'stf_desk' } },
      });
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    },
    async close() {
      await app.close();
      await engine.close();
      await store.close();
      db.close();
      await dir.remove();
    },
  };
}
