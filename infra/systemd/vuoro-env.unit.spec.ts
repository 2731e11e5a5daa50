/**
 * The systemd recipe cannot drift from the code: every variable vuoro.env
 * sets or shows (commented) is one the service reads, with a value it
 * accepts, and every variable it reads is there. The unit keeps the promises
 * infra/README.md makes (state directory = DATA_DIR, hardening, stop timeout,
 * descriptors for 10,000 MQTT connections); `systemd-analyze verify` checks it
 * where systemd is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@vuoro/engine/testing/tmp.js';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../gateways/src/config.js';
import { readMqttConfig } from '../../gateways/src/mqtt/config.js';

const dir = import.meta.dirname;
const ROOT = join(dir, '../..');
/** Read by startAnalytics from its own schema (not exported): checked by name in that source. */
const ANALYTICS_SOURCE = readFileSync(join(ROOT, 'gateways/src/analytics/index.ts'), 'utf8');

/** Every `NAME=value` line, commented out or not. */
function documented(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'vuoro.env'), 'utf8').split('\n')) {
    const m = /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m === null) continue;
    expect(out.has(m[1] as string), `${m[1]} appears twice`).toBe(false);
    out.set(m[1] as string, m[2] as string);
  }
  return out;
}

const unit = readFileSync(join(dir, 'vuoro.service'), 'utf8');
const directives = (name: string): string[] => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1] as string);

describe('infra/systemd/vuoro.env', () => {
  const env = documented();

  it('names only variables the service reads, with values it accepts', () => {
    const values = Object.fromEntries(env);
    // Both schemas parse the whole file (commented examples included) without an error.
    const read = new Set([...Object.keys(readConfig(values)), ...Object.keys(readMqttConfig(values))]);
    const unknown = [...env.keys()].filter((name) => !read.has(name) && !new RegExp(`\\b${name}\\b`).test(ANALYTICS_SOURCE));
    expect(unknown).toEqual([]);
  });

  it('documents every variable the service reads', () => {
    const read = [...Object.keys(readConfig({})), ...Object.keys(readMqttConfig({}))];
    const analytics = [...ANALYTICS_SOURCE.matchAll(/^\s+([A-Z][A-Z0-9_]+): z\./gm)].map((m) => m[1] as string);
    expect(analytics.length).toBeGreaterThan(3);
    expect([...read, ...analytics, 'EVENTSTORE_URL', 'PAYMENT_WEBHOOK_SECRET', 'MQTT_USERNAME', 'MQTT_PASSWORD'].filter((name) => !env.has(name))).toEqual([]);
  });

  it('shows the code defaults for what it sets, except the production choices it names', () => {
    const defaults = { ...readConfig({}), ...readMqttConfig({}) } as Record<string, unknown>;
    const differs = [...env].filter(([name, value]) => !value.startsWith('/') && name in defaults && String(defaults[name]) !== value && !['DATA_DIR', 'CATALOGUE_FILE'].includes(name)).map(([name]) => name);
    expect(differs.sort()).toEqual(['DEMO_KEYS', 'LOAD_CATALOGUE']);
  });
});

describe('infra/systemd/vuoro.service', () => {
  it('runs hardened, keeps its data in the state directory, drains on stop', () => {
    expect(directives('StateDirectory')).toEqual(['vuoro']);
    expect(directives('Environment').join(' ')).toContain('DATA_DIR=/var/lib/vuoro');
    expect(directives('DynamicUser')).toEqual(['yes']);
    expect(directives('ProtectSystem')).toEqual(['strict']);
    expect(directives('NoNewPrivileges')).toEqual(['yes']);
    expect(directives('Restart')).toEqual(['on-failure']);
    expect(directives('KillSignal')).toEqual(['SIGTERM']);
    // Longer than the slowest thing the drain waits for: a webhook delivery in flight.
    expect(Number(directives('TimeoutStopSec')[0]) * 1000).toBeGreaterThan(readConfig({}).WEBHOOK_TIMEOUT_MS);
    expect(Number(directives('LimitNOFILE')[0])).toBeGreaterThanOrEqual(20_000);
    expect(directives('EnvironmentFile')).toEqual(['/etc/vuoro/vuoro.env']);
  });

  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  it.skipIf(analyze === undefined)('passes systemd-analyze verify', async () => {
    const tmp = await tempDir('vuoro-systemd-');
    try {
      // Verify checks that ExecStart's binary exists: point it at this node.
      writeFileSync(tmp.file('vuoro.service'), unit.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
      // Unknown or misspelt keys are only warnings (exit 0): any output is a failure here.
      const run = spawnSync(analyze as string, ['verify', tmp.file('vuoro.service')], { encoding: 'utf8' });
      expect({ status: run.status, output: `${run.stdout}${run.stderr}`.trim() }).toEqual({ status: 0, output: '' });
    } finally {
      await tmp.remove();
    }
  });
});
