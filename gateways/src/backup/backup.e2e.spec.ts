/**
 * Backup and restore of a running Vuoro: the real service (`tsx
 * gateways/src/main.ts`) on a temp DATA_DIR takes reservations over HTTP
 * while `npm run backup` copies it; the backup is restored into a fresh
 * directory, and a second service started on it has every reservation
 * acknowledged before the backup began, with the event store ending exactly
 * where the backup recorded. Bad input: a non-empty target and a damaged
 * backup are refused with their codes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { sleep } from '@vuoro/engine/testing/wait.js';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@vuoro/engine/testing/ports.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');


interface Service {
  base: string;
  key: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const running: Service[] = [];
const dirs: TempDir[] = [];

async function startService(dataDir: string): Promise<Service> {
  const port = await freePort();
  const child = spawn(TSX, ['gateways/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), MQTT_MODE: 'off', LOG_LEVEL: 'warn', EXPIRY_INTERVAL_MS: '0', DEMO_KEYS: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const key = await new Promise<string>((done, fail) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /Demo key:\s+(\S+)/.exec(err);
      if (m !== null) done(m[1] as string);
    });
    child.once('exit', (code) => fail(new Error(`service exited with ${code}:\n${err}`)));
  });
  const service: Service = {
    base: `http://127.0.0.1:${port}`,
    key,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
  running.push(service);
  while ((await fetch(`${service.base}/ready`).then((r) => r.status, () => 0)) !== 200) await sleep(100);
  return service;
}

const call = async (s: Service, method: string, path: string, body?: unknown, customer?: string): Promise<{ status: number; body: Record<string, unknown>; position: number | undefined }> => {
  const res = await fetch(`${s.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${s.key}`,
      ...(customer === undefined ? {} : { 'vuoro-customer': customer }),
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random().toString(36).slice(2)}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const position = res.headers.get('vuoro-position');
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, position: position === null ? undefined : Number(position) };
};

/** Runs a CLI script; resolves with its exit code and output. */
const cli = (script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    const child = spawn(TSX, [script, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => done({ code: code ?? -1, stdout, stderr }));
  });

afterAll(async () => {
  for (const s of running) await s.stop();
  for (const d of dirs) await d.remove();
});

/** Helsinki wall time `days` from today at `hour`:00 (tennis courts are open 07-22 on weekdays, 09-20 at weekends). */
const wall = (days: number, hour: number): string => `${new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)}T${String(hour).padStart(2, '0')}:00`;

describe('backup while the service takes reservations, and restore', () => {
  it('restores every reservation acknowledged before the backup, and the event store position', async () => {
    const [data, backupDir, fresh] = await Promise.all([tempDir('vuoro-data-'), tempDir('vuoro-backup-'), tempDir('vuoro-restored-')]);
    dirs.push(data, backupDir, fresh);
    const out = join(backupDir.path, 'b1');
    const first = await startService(data.path);

    const CUSTOMERS = 30;
    for (let c = 0; c < CUSTOMERS; c++) {
      const r = await call(first, 'POST', '/v1/customers', { customerId: `cus_backup_${c}`, name: `Backup test ${c}`, customerGroupId: 'grp_residents' });
      expect(r.status).toBe(201);
    }
    // 90 bookings (3 per customer, the courts' limit), 6 at a time; the backup starts once 30 are acknowledged.
    const jobs = Array.from({ length: CUSTOMERS * 3 }, (_, k) => ({
      customer: `cus_backup_${k % CUSTOMERS}`,
      body: { unitId: `unt_kontula_tennis_${String((k % 18) + 1).padStart(2, '0')}`, start: wall(3 + Math.floor(k / 18), 10), end: wall(3 + Math.floor(k / 18), 11) },
    }));
    const acknowledged: { id: string; customer: string; position: number; at: number }[] = [];
    let backupStartedAt = Number.POSITIVE_INFINITY;
    let backupRun: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
    const worker = async (): Promise<void> => {
      for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
        const r = await call(first, 'POST', '/v1/reservations', job.body, job.customer);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        acknowledged.push({ id: r.body.reservationId as string, customer: job.customer, position: r.position ?? -1, at: performance.now() });
        if (acknowledged.length === 30 && backupRun === undefined) {
          backupStartedAt = performance.now();
          backupRun = cli('gateways/src/backup/backup.ts', ['--out', out], { DATA_DIR: data.path });
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const backedUp = await (backupRun as Promise<{ code: number; stdout: string; stderr: string }>);
    expect(backedUp.code, backedUp.stderr).toBe(0);
    const summary = JSON.parse(backedUp.stdout) as { ms: number; eventStore: { head: number; events: number }; files: { name: string }[] };
    expect(summary.files.map((f) => f.name)).toEqual(['projections.sqlite', 'gateway.sqlite', 'vuoro.sqlite', 'access-pepper', 'access-signing-key.pem'].filter((n) => summary.files.some((f) => f.name === n)));
    expect(summary.files.map((f) => f.name)).toEqual(expect.arrayContaining(['gateway.sqlite', 'vuoro.sqlite']));
    const before = acknowledged.filter((a) => a.at < backupStartedAt);
    expect(before.length).toBeGreaterThanOrEqual(30);
    console.info(`backup: ${summary.ms} ms for ${summary.eventStore.events} events (${acknowledged.length - before.length} bookings acknowledged during or after it)`);
    await first.stop();

    // Bad input first: the live data directory is not empty; a damaged copy is not restored.
    const refused = await cli('gateways/src/backup/restore.ts', ['--from', out, '--data-dir', data.path]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error RESTORE_TARGET_NOT_EMPTY: /);
    const damaged = join(backupDir.path, 'damaged');
    await cp(out, damaged, { recursive: true });
    const bytes = await readFile(join(damaged, 'vuoro.sqlite'));
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    await writeFile(join(damaged, 'vuoro.sqlite'), bytes);
    const corrupt = await cli('gateways/src/backup/restore.ts', ['--from', damaged, '--data-dir', join(fresh.path, 'never')]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/^error RESTORE_CORRUPT_BACKUP: /);
    const notABackup = await cli('gateways/src/backup/restore.ts', ['--from', fresh.path, '--data-dir', join(fresh.path, 'never')]);
    expect(notABackup.stderr).toMatch(/^error RESTORE_NOT_A_BACKUP: /);

    const restoredDir = join(fresh.path, 'data');
    const restored = await cli('gateways/src/backup/restore.ts', ['--from', out, '--data-dir', restoredDir]);
    expect(restored.code, restored.stderr).toBe(0);
    const head = (JSON.parse(restored.stdout) as { head: number }).head;
    expect(head).toBe(summary.eventStore.head);
    // Every command acknowledged before the backup began is at or below the backed-up position.
    for (const a of before) expect(a.position).toBeLessThanOrEqual(head);

    const second = await startService(restoredDir);
    for (const a of before) {
      const r = await call(second, 'GET', `/v1/reservations/${a.id}`, undefined, a.customer);
      expect(r.status, `${a.id}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.reservationId).toBe(a.id);
    }
    // And nothing past the backup: a booking acknowledged at a later position is absent.
    const after = acknowledged.filter((a) => a.position > head);
    for (const a of after) expect((await call(second, 'GET', `/v1/reservations/${a.id}`, undefined, a.customer)).status).toBe(404);
    await second.stop();
  });
});
