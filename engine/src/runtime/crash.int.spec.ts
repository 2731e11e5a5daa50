/**
 * A crash: a child process under booking load is killed with SIGKILL. After a
 * restart (which retries every command with the same idempotency keys), every
 * reservation acknowledged before the crash is in the log exactly once, and
 * nothing is double-booked.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteStream } from '../directory/directory.js';
import { siteDecider } from '../site/decider.js';
import { SITE } from '../site/fixtures.js';
import { SqliteEventStore } from '../store/sqlite.js';
import { expectEachOnce, expectNoDoubleBooking } from '../testing/invariants.js';
import { tempDir, type TempDir } from '../testing/tmp.js';
import { siteCodec } from './codecs.js';
import { PartitionActor } from './partition.js';

const child = fileURLToPath(new URL('../testing/crash-child.ts', import.meta.url));
const COUNT = 2_000;

function run(file: string, killAfterAcks?: number): Promise<{ acks: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, file, String(COUNT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acks: string[] = [];
    let killed = false;
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (!line.startsWith('ACK ')) return;
      acks.push(line.slice(4));
      if (killAfterAcks !== undefined && acks.length >= killAfterAcks && !killed) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (killed || code === 0) resolve({ acks, killed: signal === 'SIGKILL' });
      else reject(new Error(`child exited with ${code ?? signal}`));
    });
  });
}

describe('a crash under load', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => dir.remove());

  it('loses no acknowledged reservation and books none twice', async () => {
    const file = dir.file('crash.sqlite');
    const first = await run(file, 150 + Math.floor(Math.random() * 200));
    expect(first.killed).toBe(true);
    expect(first.acks.length).toBeGreaterThan(100);

    // Right after the crash: everything acknowledged is there.
    const store = await SqliteEventStore.open({ file });
    const stream = siteStream(SITE);
    const afterCrash = await store.readStream(stream);
    expectEachOnce(afterCrash, first.acks);
    await store.close();

    // The restart retries the whole workload with the same keys: the first outcomes come back.
    const second = await run(file);
    expect(second.acks.length).toBeGreaterThanOrEqual(first.acks.length);
    for (const id of first.acks) expect(second.acks).toContain(id);

    const reopened = await SqliteEventStore.open({ file });
    const events = await reopened.readStream(stream);
    expectEachOnce(events, [...first.acks, ...second.acks]);
    const rebuilt = await PartitionActor.load(stream, reopened, siteDecider, { ...siteCodec, snapshot: undefined });
    expect(rebuilt.read(expectNoDoubleBooking)).toBe(new Set([...first.acks, ...second.acks]).size);
    await reopened.close();
  });
});
