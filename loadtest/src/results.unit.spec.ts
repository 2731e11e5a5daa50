import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatResult, writeResult } from './results.js';

describe('writeResult', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('writes <bench>.json in the agreed shape', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vuoro-results-'));
    const at = new Date('2027-01-04T10:00:00Z');
    const path = await writeResult(
      {
        bench: 'engine',
        command: 'npm run bench:engine',
        metrics: { reservationsPerSec: 900 },
        baselines: { 'emmett-postgres': { reservationsPerSec: 300 } },
      },
      { dir, at, print: null },
    );
    expect(path).toBe(join(dir, 'engine.json'));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      bench: 'engine',
      command: 'npm run bench:engine',
      at: '2027-01-04T10:00:00.000Z',
      metrics: { reservationsPerSec: 900 },
      baselines: { 'emmett-postgres': { reservationsPerSec: 300 } },
    });
  });

  it('refuses a metric that is not a finite number', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vuoro-results-'));
    await expect(
      writeResult({ bench: 'engine', command: 'x', metrics: { p99Ms: Number.NaN } }, { dir, print: null }),
    ).rejects.toThrow(/metrics\.p99Ms/);
  });
});

describe('formatResult', () => {
  it('prints each system side by side and the ratio to each baseline', () => {
    const text = formatResult({
      bench: 'engine',
      command: 'npm run bench:engine',
      at: '2027-01-04T10:00:00.000Z',
      metrics: { reservationsPerSec: 900, p99Ms: 5 },
      baselines: { 'emmett-sqlite': { reservationsPerSec: 450 }, 'emmett-postgres': { reservationsPerSec: 300, p99Ms: 50 } },
    });
    expect(text).toMatch(/reservationsPerSec\s+900\s+450\s+300/);
    expect(text).toContain('reservationsPerSec: 2.00x emmett-sqlite, 3.00x emmett-postgres');
    expect(text).toContain('p99Ms: 0.10x emmett-postgres');
  });
});
