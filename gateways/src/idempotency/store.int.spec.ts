/** Idempotency records in a real SQLite file: claims, replays, mismatches, waiting twins, takeover after a crash. */
import { join } from 'node:path';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../storage/db.js';
import { canonicalJson } from './hooks.js';
import { IdempotencyStore } from './store.js';

let dir: TempDir;
let db: Db;
beforeEach(async () => {
  dir = await tempDir('vuoro-idem-');
  db = openDb(join(dir.path, 'gateway.sqlite'));
});
afterEach(async () => {
  db.close();
  await dir.remove();
});

describe('idempotency records', () => {
  it('claims a key once, replays the stored answer, and refuses a different request', () => {
    const store = new IdempotencyStore(db);
    expect(store.begin('chn', 'k', 'fp1')).toEqual({ kind: 'proceed' });
    store.complete('chn', 'k', { status: 201, headers: { location: '/x' }, body: '{"ok":true}' });
    expect(store.begin('chn', 'k', 'fp1')).toEqual({ kind: 'replay', response: { status: 201, headers: { location: '/x' }, body: '{"ok":true}' } });
    store.flush();
    // Written: a new process over the same file gives the same answer.
    expect(new IdempotencyStore(db).begin('chn', 'k', 'fp1')).toEqual({ kind: 'replay', response: { status: 201, headers: { location: '/x' }, body: '{"ok":true}' } });
    expect(store.begin('chn', 'k', 'fp2')).toEqual({ kind: 'mismatch' });
    expect(store.begin('other', 'k', 'fp2')).toEqual({ kind: 'proceed' });
  });

  it('makes a twin wait for the first request, then replays its answer', async () => {
    const store = new IdempotencyStore(db);
    store.begin('chn', 'k', 'fp');
    const twin = store.begin('chn', 'k', 'fp');
    expect(twin.kind).toBe('wait');
    setTimeout(() => store.complete('chn', 'k', { status: 200, headers: {}, body: 'done' }), 5);
    if (twin.kind === 'wait') await twin.done;
    expect(store.begin('chn', 'k', 'fp')).toMatchObject({ kind: 'replay', response: { body: 'done' } });
  });

  it('releases a key whose request failed, and lets a new process run a request a dead one never answered', () => {
    const store = new IdempotencyStore(db);
    store.begin('chn', 'k', 'fp');
    expect(store.begin('chn', 'k', 'other')).toEqual({ kind: 'mismatch' });
    store.abandon('chn', 'k');
    expect(store.begin('chn', 'k', 'fp')).toEqual({ kind: 'proceed' });
    // A new process (a new store over the same file) knows nothing of the unanswered claim: the request runs
    // again, and the engine's own idempotency key gives back whatever the first attempt committed.
    const restarted = new IdempotencyStore(db);
    expect(restarted.begin('chn', 'k', 'fp')).toEqual({ kind: 'proceed' });
  });

  it('purges answered records older than the retention', () => {
    let now = 1_000;
    const store = new IdempotencyStore(db, () => now);
    store.begin('chn', 'old', 'fp');
    store.complete('chn', 'old', { status: 200, headers: {}, body: '' });
    now = 10_000;
    store.begin('chn', 'new', 'fp');
    store.complete('chn', 'new', { status: 200, headers: {}, body: '' });
    expect(store.purge(5_000)).toBe(1);
    expect(store.begin('chn', 'old', 'fp2')).toEqual({ kind: 'proceed' });
  });

  it('fingerprints JSON by meaning, not by key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });
});
