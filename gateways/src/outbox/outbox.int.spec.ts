/**
 * In a cluster every node derives the same messages from the replicated
 * feed; only the node the `delivers` gate names sends them, and one that
 * stops delivering leaves them pending for its successor.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { silentLogger } from '@vuoro/access-control';
import type { FastifyBaseLogger } from 'fastify';
import { KeyStore } from '../auth/keys.js';
import { Metrics } from '../ops/metrics.js';
import { openDb } from '../storage/db.js';
import { Outbox } from './outbox.js';

const NOW = Date.parse('2027-01-04T10:00:00Z');
const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
};
let dir: TempDir;
let server: Server;
let url: string;
const received: string[] = [];

beforeAll(async () => {
  dir = await tempDir('vuoro-outbox-gate-');
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  url = `http://127.0.0.1:${address.port}/hook`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await dir.remove();
});

/** One node's gateway database and outbox, following the shared feed. */
function node(name: string, store: MemoryEventStore, delivers: () => boolean): { outbox: Outbox; close(): Promise<void> } {
  const db = openDb(dir.file(`${name}.sqlite`));
  const keys = new KeyStore(db, () => NOW);
  keys.createChannel({ channelId: 'chn_shop', name: 'Shop', webhookUrl: url });
  const outbox = new Outbox(
    db,
    keys,
    { maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 10_000, timeoutMs: 5000, pollMs: 0, reminderHour: 10, concurrency: 2 },
    { clock: () => NOW, metrics: new Metrics(), log: silentLogger as unknown as FastifyBaseLogger, delivers },
  );
  outbox.start(store);
  return {
    outbox,
    close: async () => {
      await outbox.stop();
      db.close();
    },
  };
}

describe('outbox delivery in a cluster', () => {
  it('is done by the delivering node only, and by its successor for what was left pending', async () => {
    const store = new MemoryEventStore();
    const meta = { decidedAt: new Date(NOW).toISOString(), channel: 'chn_shop' };
    const appended = await store.append(
      'site-sit_park',
      [
        {
          type: 'ReservationRequested',
          data: { reservationId: 'res_1', unitId: 'unt_court', customerId: 'cus_ann', start: '2027-01-20T16:00:00Z', end: '2027-01-20T17:00:00Z', price: { amountCents: 2000 } },
          metadata: meta,
        },
        { type: 'ReservationConfirmed', data: { reservationId: 'res_1' }, metadata: meta },
      ],
      { expectedVersion: 'any' },
    );
    let leader = 'a';
    const a = node('a', store, () => leader === 'a');
    const b = node('b', store, () => leader === 'b');
    try {
      await a.outbox.caughtUp(appended.lastPosition);
      await b.outbox.caughtUp(appended.lastPosition);

      // Both consumed the events and asked for a delivery round; only a's gate is open.
      await until(() => received.length >= 1);
      expect((await b.outbox.dispatch(NOW)).delivered).toBe(0);
      expect(received.map((r) => (JSON.parse(r) as { type: string }).type)).toEqual(['reservation.confirmed']);

      // The leader moves; b still holds the message as pending and delivers it (at least once, same message id).
      leader = 'b';
      expect((await a.outbox.dispatch(NOW)).delivered).toBe(0);
      b.outbox.wake();
      await until(() => received.length >= 2);
      expect(JSON.parse(received[1] as string)).toEqual(JSON.parse(received[0] as string));
      expect(await b.outbox.dispatch(NOW)).toMatchObject({ delivered: 0 });
      expect(received).toHaveLength(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
