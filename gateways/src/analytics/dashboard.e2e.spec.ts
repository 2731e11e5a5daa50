/// <reference lib="dom" />
/**
 * The analyst dashboard in a real browser (Debian's chromium through
 * playwright-core) against the running service: three weeks of the demo
 * catalogue's season, played through the engine. Filters are clicked, and
 * every chart and key figure must show what the API answers for the same
 * filters; screenshots on a laptop and a phone are kept in test-artifacts/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue, openStore, readCatalogueFile, type EventStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { buildDashboard } from '@vuoro/projections';
import { EngineTransport } from '@vuoro/projections/simulation/engine-transport.js';
import { generateSeason, playSeason } from '@vuoro/projections/simulation/season.js';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { openDb, type Db } from '../storage/db.js';
import { analyticsPlugin, startAnalytics, type Analytics } from './index.js';

declare global {
  interface Window {
    vuoro: { charts: Record<string, { data: { labels?: unknown[]; datasets: { data: unknown[] }[] } }>; loads(): number; ready: boolean };
  }
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SEASON = { from: '2026-09-07', to: '2026-09-27' };

let dir: TempDir;
let store: EventStore;
let transport: EngineTransport;
let db: Db;
let app: FastifyInstance;
let analytics: Analytics;
let browser: Browser;
let base = '';
let key = '';

type Row = Record<string, string | number | null>;
interface Report {
  rows: Row[];
  totals: Row;
}

async function api<T = Report>(path: string, params: Record<string, string | undefined>): Promise<T> {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const res = await app.inject({ method: 'GET', url: `${path}?${q.toString()}`, headers: { authorization: `Bearer ${key}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as T;
}

/** The same number formats the page uses, spaces normalised (browsers and Node may differ in which space they print). */
const norm = (s: string | null) => (s ?? '').replace(/[\s\u00a0\u202f]+/g, ' ').trim();
const percentFi = (x: unknown) =>
  typeof x === 'number' ? new Intl.NumberFormat('fi-FI', { style: 'percent', maximumFractionDigits: 1 }).format(x) : '–';
const eurosFi = (cents: unknown) =>
  typeof cents === 'number' ? new Intl.NumberFormat('fi-FI', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).format(cents / 100) : '–';

async function filtersOf(page: Page): Promise<Record<string, string | undefined>> {
  return page.evaluate(() => {
    const v = (id: string) => (document.getElementById(id) as HTMLInputElement).value || undefined;
    return { from: v('f-from'), to: v('f-to'), siteId: v('f-site'), unitId: v('f-unit'), customerGroupId: v('f-group') };
  });
}

/** Waits for the page to finish the load a change started. */
async function settled(page: Page, loadsBefore: number): Promise<void> {
  await page.waitForFunction((n) => window.vuoro.loads() > n && document.body.dataset.loading === 'false', loadsBefore);
}

async function loads(page: Page): Promise<number> {
  return page.evaluate(() => window.vuoro.loads());
}

/** Every chart and key figure against the API's answer for the page's current filters. */
async function expectPageMatchesApi(page: Page): Promise<void> {
  const f = await filtersOf(page);
  const noGroup = { ...f, customerGroupId: undefined };
  const [totals, heat, trend, cost, byUnit, sla, slaByUnit] = await Promise.all([
    api('/v1/analytics/utilization', f),
    api('/v1/analytics/utilization', { ...f, groupBy: 'weekday,hour' }),
    api('/v1/analytics/utilization', { ...f, groupBy: 'week' }),
    api('/v1/analytics/cost-of-vacancy', { ...noGroup, groupBy: 'space' }),
    api('/v1/analytics/utilization', { ...f, groupBy: 'unit' }),
    api<{ handling: Report }>('/v1/analytics/sla', f),
    api<{ handling: Report }>('/v1/analytics/sla', { ...f, groupBy: 'unit' }),
  ]);
  const charts = await page.evaluate(() => {
    const out: Record<string, { labels: unknown[]; data: unknown[][] }> = {};
    for (const [id, c] of Object.entries(window.vuoro.charts)) out[id] = { labels: [...(c.data.labels ?? [])], data: c.data.datasets.map((d) => [...d.data]) };
    return out;
  });
  const text = async (id: string) => norm(await page.textContent(`#${id}`));

  expect(await text('kpi-booked')).toBe(norm(percentFi(totals.totals.bookedRate)));
  expect(await text('kpi-used')).toBe(norm(percentFi(totals.totals.usedRate)));
  expect(await text('kpi-noshow')).toBe(norm(percentFi(totals.totals.noShowRate)));
  expect(await text('kpi-cost')).toBe(norm(eurosFi(cost.totals.costOfVacancyCents)));
  expect(await text('kpi-sla')).toBe(norm(percentFi(sla.handling.totals.withinPromiseShare)));

  expect(charts['chart-heatmap']?.data[0]).toEqual(heat.rows.map((r) => ({ x: r.hour, y: (r.weekday as number) - 1, v: r.bookedRate })));
  expect(charts['chart-trend']?.labels).toEqual(trend.rows.map((r) => r.week));
  expect(charts['chart-trend']?.data).toEqual([trend.rows.map((r) => r.bookedRate), trend.rows.map((r) => r.usedRate)]);
  const top = [...cost.rows].sort((a, b) => (b.costOfVacancyCents as number) - (a.costOfVacancyCents as number)).slice(0, 10);
  expect(charts['chart-cost']?.labels).toEqual(top.map((r) => r.spaceName));
  expect(charts['chart-cost']?.data).toEqual([top.map((r) => (r.vacancyCostCents as number) / 100), top.map((r) => (r.lostRevenueCents as number) / 100)]);
  const units = byUnit.rows.filter((r) => (r.openHours as number) > 0);
  expect(charts['chart-noshow']?.labels).toEqual(units.map((r) => r.unitName));
  expect(charts['chart-noshow']?.data).toEqual([units.map((r) => r.noShowHours), units.map((r) => r.unbookedUseHours)]);
  expect(charts['chart-sla']?.labels).toEqual(slaByUnit.handling.rows.map((r) => r.unitName));
  expect(charts['chart-sla']?.data[0]).toEqual(slaByUnit.handling.rows.map((r) => r.decidedWithinPromise));
}

beforeAll(async () => {
  dir = await tempDir('vuoro-dashboard-');
  const dashboardDir = join(dir.path, 'dashboard');
  await buildDashboard(dashboardDir);

  const storeFile = join(dir.path, 'vuoro.sqlite');
  store = await openStore({ kind: 'sqlite', file: storeFile });
  transport = await EngineTransport.open(store);
  const catalogue = await readCatalogueFile(join(ROOT, 'infra/demo-catalogue.json'));
  transport.at(Date.parse('2026-05-04T08:00:00Z'));
  const loaded = await loadCatalogue(transport.engine, catalogue);
  expect(loaded.refused).toEqual([]);
  const stats = await playSeason(transport, generateSeason({ catalogue, ...SEASON, seed: 11 }));
  expect(stats.booked).toBeGreaterThan(1000);

  analytics = await startAnalytics({ store, dataDir: dir.path, storeFile, env: {}, clock: () => Date.parse('2026-10-01T00:00:00Z') });
  await analytics.runner?.ready;
  db = openDb(join(dir.path, 'gateway.sqlite'));
  app = await buildApp({ engine: transport.engine, db, settings: { logLevel: 'silent', expiryIntervalMs: 0, rateLimitMax: 100_000, outbox: { pollMs: 0 } } });
  await app.register(analyticsPlugin, { ...analytics.plugin, dashboardDir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  app.vuoro.keys.createChannel({ channelId: 'chn_analysts', name: 'City analysts' });
  key = app.vuoro.keys.createKey({ channelId: 'chn_analysts', name: 'dashboard', scopes: ['analyst'] }).secret;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await analytics?.close();
  await transport?.close();
  await store?.close();
  db?.close();
  await dir?.remove();
});

describe('the analyst dashboard', () => {
  it('shows what the API answers, through every filter, in Finnish and English, on a laptop and a phone', { timeout: 0 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: 'fi-FI' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/dashboard#key=${encodeURIComponent(key)}`);
    await page.waitForFunction(() => window.vuoro?.ready === true && document.body.dataset.loading === 'false');
    // The key left the address bar once stored.
    expect(page.url()).toBe(`${base}/dashboard`);
    expect(await page.inputValue('#f-from')).toBe('2026-09-07');
    expect(await page.inputValue('#f-to')).toBe('2026-09-27');
    expect(norm(await page.textContent('h1'))).toBe('Tilojen käyttö');
    await expectPageMatchesApi(page);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-laptop.png'), fullPage: true });

    // A site, then a unit of it.
    let n = await loads(page);
    await page.selectOption('#f-site', 'sit_kontula_sports_park');
    await settled(page, n);
    const unitOptions = await page.$$eval('#f-unit option', (os) => os.map((o) => (o as HTMLOptionElement).value).filter((v) => v !== ''));
    expect(unitOptions.every((u) => u.startsWith('unt_kontula_'))).toBe(true);
    await expectPageMatchesApi(page);
    n = await loads(page);
    await page.selectOption('#f-unit', 'unt_kontula_hall');
    await settled(page, n);
    await expectPageMatchesApi(page);

    // A customer group, and another date range.
    n = await loads(page);
    await page.selectOption('#f-unit', '');
    await settled(page, n);
    n = await loads(page);
    await page.selectOption('#f-group', 'grp_youth_associations');
    await settled(page, n);
    await expectPageMatchesApi(page);
    n = await loads(page);
    await page.fill('#f-from', '2026-09-14');
    await page.dispatchEvent('#f-from', 'change');
    await settled(page, n);
    expect((await filtersOf(page)).from).toBe('2026-09-14');
    await expectPageMatchesApi(page);

    // In English: the words change, the numbers do not.
    await page.click('#lang');
    expect(norm(await page.textContent('h1'))).toBe('Space utilization');
    expect(norm(await page.textContent('[data-i18n="heatmapTitle"]'))).toBe('Booked rate by weekday and hour');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');

    // On a phone.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await phone.goto(`${base}/dashboard#key=${encodeURIComponent(key)}`);
    await phone.waitForFunction(() => window.vuoro?.ready === true && document.body.dataset.loading === 'false');
    await expectPageMatchesApi(phone);
    const widths = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('asks for a key, and refuses one without the analyst scope', { timeout: 0 }, async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('#signin:not([hidden])');
    const staff = app.vuoro.keys.createKey({ channelId: 'chn_analysts', name: 'desk', scopes: ['staff'], staffId: 'stf_desk' }).secret;
    await page.fill('#key', staff);
    await page.click('#signin button[type="submit"]');
    await page.waitForFunction(() => (document.getElementById('signin-error')?.textContent ?? '').length > 0);
    expect(norm(await page.textContent('#signin-error'))).toBe('Avain ei kelpaa tai siltä puuttuu analyst-oikeus.');
    await page.fill('#key', key);
    await page.click('#signin button[type="submit"]');
    await page.waitForFunction(() => window.vuoro?.ready === true && document.body.dataset.loading === 'false');
    expect(await page.isVisible('#app')).toBe(true);
  });
});
