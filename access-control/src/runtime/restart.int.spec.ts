/**
 * Restarts on the real SQLite event store: the credential sync resumes from
 * its stored checkpoint, catches up with what happened while it was down
 * (a cancellation revokes the code, a new booking gets one), and issues
 * nothing twice; allow-list versions keep increasing across the restart.
 */
import { join } from 'node:path';
import { openStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlattenedJws } from '../crypto/jws.js';
import { DOORS, HOUR, SITE, T0 } from '../testing/fixtures.js';
import { UNITS, openHarness, type Harness } from '../testing/harness.js';
import { SYNC_CHECKPOINT_STREAM } from './credential-sync.js';

let dir: TempDir | undefined;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  await dir?.remove();
});

const versions: number[] = [];
const outbound = {
  allowList(_s: string, doorId: string, jws: FlattenedJws | null) {
    if (doorId === DOORS.sauna && jws !== null) versions.push((JSON.parse(Buffer.from(jws.payload, 'base64url').toString()) as { version: number }).version);
  },
  doorCommand() {},
};

describe('restarting access control on SQLite', () => {
  it('resumes the credential sync from its checkpoint and catches up with what happened meanwhile', async () => {
    dir = await tempDir('vuoro-access-restart-');
    const store = await openStore({ kind: 'sqlite', file: join(dir.path, 'vuoro.sqlite') });
    h = await openHarness({ now: T0, store, checkpointEvery: 1 });
    h.access.attach(outbound);
    await h.registerDoors();
    await h.book('res_1', UNITS.sauna, T0 + 2 * HOUR, T0 + 3 * HOUR);
    await h.settle();
    const first = h.access.credentialOf(SITE, 'res:res_1');
    expect(first).toBeDefined();
    await h.access.close();
    const checkpoint = await store.loadSnapshot(SYNC_CHECKPOINT_STREAM);
    expect(checkpoint?.version).toBeGreaterThan(0);

    // While access control is down: one booking is cancelled, another made.
    await h.cancel('res_1');
    await h.book('res_2', UNITS.sauna, T0 + 4 * HOUR, T0 + 5 * HOUR);
    const before = versions.at(-1) ?? 0;

    const access = await h.reopenAccess();
    access.useMailer(h.mailer);
    access.attach(outbound);
    await h.settle();
    expect(access.sync?.checkpointPosition).toBeGreaterThanOrEqual(checkpoint?.version ?? 0);
    expect(access.credentialOf(SITE, 'res:res_1')).toBeUndefined();
    expect(access.state(SITE)?.credentials.get(first?.credentialId ?? '')?.revoked).toBe(true);
    const second = access.credentialOf(SITE, 'res:res_2');
    expect(second?.handedOver).toBe(true);
    expect([...(access.state(SITE)?.credentials.values() ?? [])]).toHaveLength(2);
    expect(h.mailer.messages.map((m) => m.reservationIds[0])).toEqual(['res_1', 'res_2']);
    expect(Math.min(...versions.slice(versions.indexOf(before) + 1))).toBeGreaterThan(before);
  });
});
