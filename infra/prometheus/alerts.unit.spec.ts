/**
 * The Prometheus recipe cannot drift from the code: every `vuoro_*` metric an
 * alert uses is registered by the service's real metric modules, every rule
 * is complete, and the scrape config reads the rules file. With promtool
 * installed, `promtool check rules` / `check config` must pass as well.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessControl } from '@vuoro/access-control';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerProjectionMetrics } from '../../gateways/src/analytics/metrics.js';
import { MQTT_METRIC_NAMES, MqttMetrics } from '../../gateways/src/mqtt/metrics.js';
import type { MqttTransport } from '../../gateways/src/mqtt/transport.js';
import { Metrics } from '../../gateways/src/ops/metrics.js';

const dir = import.meta.dirname;
const alerts = parse(readFileSync(join(dir, 'alerts.yml'), 'utf8')) as {
  groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
};
const config = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as {
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
};
const rules = alerts.groups.flatMap((g) => g.rules);

/** What the service registers: the real modules on one registry, as main.ts wires them. */
function exported(): Set<string> {
  const metrics = new Metrics();
  registerProjectionMetrics(metrics.registry, { lag: async () => [], status: () => [] }, { handlingBacklog: () => ({ pending: 0, overdue: 0 }) });
  const mqtt = new Registry();
  const gatewayMetrics = new MqttMetrics(mqtt, { siteIds: () => [] } as unknown as AccessControl);
  gatewayMetrics.watchGateway(mqtt, { stats: { received: 0, rejected: 0 }, transport: { kind: 'embedded' } as MqttTransport });
  const mqttNames = mqtt.getMetricsAsArray().map((m) => m.name);
  // The broker gauge exists only in external mode (the Mosquitto test sees it); the rest must be the declared list.
  expect(new Set(mqttNames)).toEqual(new Set(MQTT_METRIC_NAMES.filter((n) => n !== 'vuoro_mqtt_broker_connected')));
  const names = new Set<string>([...metrics.registry.getMetricsAsArray().map((m) => m.name), ...MQTT_METRIC_NAMES]);
  const histograms = [...metrics.registry.getMetricsAsArray(), ...mqtt.getMetricsAsArray()].filter((m) => (m as unknown as { type: string }).type === 'histogram');
  for (const h of histograms) for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${h.name}${suffix}`);
  return names;
}

const which = (binary: string): string | undefined => {
  try {
    return execFileSync('which', [binary], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
};

describe('infra/prometheus', () => {
  it('uses only metrics the service exports', () => {
    const names = exported();
    const used = new Set(rules.flatMap((r) => r.expr.match(/\bvuoro_[a-z0-9_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((n) => !names.has(n))).toEqual([]);
  });

  it('covers what operators must hear about, each rule complete', () => {
    const byName = new Set(rules.map((r) => r.alert));
    for (const a of ['VuoroDown', 'VuoroHttp5xx', 'VuoroProjectionLag', 'VuoroDeviceOffline', 'VuoroDoorForced', 'VuoroFailedPinBurst', 'VuoroDoorCommandSlaBreached']) expect(byName).toContain(a);
    expect(byName.size).toBe(rules.length);
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.for === undefined || /^\d+[smh]$/.test(r.for), r.alert).toBe(true);
    }
  });

  it('scrapes /metrics and loads alerts.yml', () => {
    expect(config.rule_files).toContain('alerts.yml');
    const job = config.scrape_configs.find((j) => j.job_name === 'vuoro');
    expect(job?.metrics_path).toBe('/metrics');
    // `up{job="vuoro"}` in VuoroDown must name this job.
    expect(rules.find((r) => r.alert === 'VuoroDown')?.expr).toContain(`job="${job?.job_name}"`);
  });

  const promtool = which('promtool');
  it.skipIf(promtool === undefined)('passes promtool check config and check rules', () => {
    execFileSync(promtool as string, ['check', 'config', join(dir, 'prometheus.yml')], { stdio: 'pipe' });
    execFileSync(promtool as string, ['check', 'rules', join(dir, 'alerts.yml')], { stdio: 'pipe' });
  });
});
