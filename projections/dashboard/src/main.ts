/**
 * The analyst dashboard: key figures, a weekday x hour heatmap of the booked
 * rate, weekly trends, the spaces with the highest cost of vacancy, no-shows
 * and unbooked use by unit, and the handling SLA, filtered by site, unit,
 * customer group and dates; in Finnish or English. Every number comes from
 * the analytics API (/v1/analytics/...), drawn with Chart.js.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
  type ScriptableContext,
} from 'chart.js';
import { ApiProblem, csvUrl, get, storeKey, storedKey, type Dimensions, type Report, type Sla } from './api.js';
import { TEXT, WEEKDAYS, euros, hoursText, percent, t, type Lang, type TextKey } from './i18n.js';

Chart.register(BarController, BarElement, CategoryScale, Legend, LineController, LineElement, LinearScale, PointElement, ScatterController, Tooltip);

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

interface Data {
  totals: Report;
  heat: Report;
  trend: Report;
  cost: Report;
  byUnit: Report;
  sla: Sla;
  slaByUnit: Report;
}

const state: {
  lang: Lang;
  dims: Dimensions | undefined;
  data: Data | undefined;
  charts: Record<string, Chart>;
  loads: number;
} = { lang: (localStorage.getItem('vuoro.lang') as Lang | null) ?? 'fi', dims: undefined, data: undefined, charts: {}, loads: 0 };

/** For tests and the curious: the charts and the reports they were drawn from. */
declare global {
  interface Window {
    vuoro: { charts: Record<string, Chart>; data: () => Data | undefined; loads: () => number; ready: boolean };
  }
}
window.vuoro = { charts: state.charts, data: () => state.data, loads: () => state.loads, ready: false };

const COLORS = { booked: '#0062b9', used: '#00a576', vacancy: '#bd2719', lost: '#f5a3c7', noShow: '#ffc61e', unbooked: '#9b59b6', late: '#bd2719' };

// --- language ----------------------------------------------------------------------

function applyLanguage(): void {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const key = el.dataset.i18n as TextKey;
    if (key in TEXT) el.textContent = t(key, state.lang);
  }
  $('lang').textContent = state.lang === 'fi' ? 'EN' : 'FI';
  $('lang').setAttribute('aria-label', state.lang === 'fi' ? 'In English' : 'Suomeksi');
  document.title = `Vuoro – ${t('title', state.lang)}`;
  if (state.dims !== undefined) fillFilters(state.dims);
  if (state.data !== undefined) render(state.data);
}

// --- filters -----------------------------------------------------------------------------

function option(value: string, label: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

function fillFilters(d: Dimensions): void {
  const site = $<HTMLSelectElement>('f-site');
  const unit = $<HTMLSelectElement>('f-unit');
  const group = $<HTMLSelectElement>('f-group');
  const keep = { site: site.value, unit: unit.value, group: group.value };
  site.replaceChildren(option('', t('all', state.lang)), ...d.sites.map((s) => option(s.id, s.name)));
  site.value = keep.site;
  const units = d.units.filter((u) => site.value === '' || u.siteId === site.value);
  unit.replaceChildren(option('', t('all', state.lang)), ...units.map((u) => option(u.id, u.name)));
  unit.value = units.some((u) => u.id === keep.unit) ? keep.unit : '';
  group.replaceChildren(
    option('', t('all', state.lang)),
    ...d.customerGroups.map((g) => option(g.id, state.lang === 'fi' ? (g.nameFi ?? g.name) : g.name)),
  );
  group.value = keep.group;
}

function filters(): Record<string, string | undefined> {
  return {
    from: $<HTMLInputElement>('f-from').value,
    to: $<HTMLInputElement>('f-to').value,
    siteId: $<HTMLSelectElement>('f-site').value || undefined,
    unitId: $<HTMLSelectElement>('f-unit').value || undefined,
    customerGroupId: $<HTMLSelectElement>('f-group').value || undefined,
  };
}

// --- loading ------------------------------------------------------------------------------

async function load(): Promise<void> {
  const f = filters();
  if (f.from === '' || f.to === '' || (f.from as string) > (f.to as string)) return;
  const ticket = ++state.loads;
  $('status').textContent = t('loading', state.lang);
  document.body.dataset.loading = 'true';
  // Vacancy and unbooked use belong to no customer group: those figures are for all groups.
  const noGroup = { ...f, customerGroupId: undefined };
  try {
    const [totals, heat, trend, cost, byUnit, sla, slaByUnit] = await Promise.all([
      get<Report>('/v1/analytics/utilization', f),
      get<Report>('/v1/analytics/utilization', { ...f, groupBy: 'weekday,hour' }),
      get<Report>('/v1/analytics/utilization', { ...f, groupBy: 'week' }),
      get<Report>('/v1/analytics/cost-of-vacancy', { ...noGroup, groupBy: 'space' }),
      get<Report>('/v1/analytics/utilization', { ...f, groupBy: 'unit' }),
      get<Sla>('/v1/analytics/sla', f),
      get<Report>('/v1/analytics/sla', { ...f, groupBy: 'unit', format: 'json' }).then((s) => (s as unknown as Sla).handling),
    ]);
    if (ticket !== state.loads) return; // a newer selection is on its way
    state.data = { totals, heat, trend, cost, byUnit, sla, slaByUnit };
    render(state.data);
    $('status').textContent = '';
  } catch (error) {
    if (ticket !== state.loads) return;
    if (error instanceof ApiProblem && (error.status === 401 || error.status === 403)) return signOut(t('keyRefused', state.lang));
    $('status').textContent = error instanceof Error ? error.message : String(error);
  } finally {
    if (ticket === state.loads) {
      document.body.dataset.loading = 'false';
      window.vuoro.ready = true;
    }
  }
}

// --- charts ---------------------------------------------------------------------------------

function chart<T extends ChartType>(id: string, config: ChartConfiguration<T>): void {
  const existing = state.charts[id] as Chart<T> | undefined;
  if (existing !== undefined) {
    existing.data = config.data;
    if (config.options !== undefined) existing.options = config.options;
    existing.update();
    return;
  }
  state.charts[id] = new Chart($<HTMLCanvasElement>(id), config) as unknown as Chart;
}

const num = (x: unknown): number => (typeof x === 'number' ? x : 0);

/** Long space and unit names, shortened on narrow screens (the tooltip shows them whole). */
const short = (label: string): string => {
  const max = window.innerWidth < 600 ? 16 : 34;
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
};

/** A horizontal bar chart grows with its categories, so every name has a line. */
function fitHeight(canvasId: string, categories: number): void {
  const box = $(canvasId).parentElement;
  if (box !== null) box.style.height = `${Math.max(14 * 16, 64 + categories * 22)}px`;
}
const rateOrNull = (x: unknown): number | null => (typeof x === 'number' ? x : null);

function heatColor(v: number | null): string {
  if (v === null) return 'rgba(200, 200, 200, 0.25)';
  const a = Math.max(0.06, Math.min(1, v));
  return `rgba(0, 98, 185, ${a.toFixed(3)})`;
}

function render(d: Data): void {
  const lang = state.lang;
  const tot = d.totals.totals;
  $('kpi-booked').textContent = percent(rateOrNull(tot.bookedRate), lang);
  $('kpi-used').textContent = percent(rateOrNull(tot.usedRate), lang);
  $('kpi-noshow').textContent = percent(rateOrNull(tot.noShowRate), lang);
  $('kpi-unbooked').textContent = hoursText(rateOrNull(d.cost.totals.openHours) === null ? null : rateOrNull(tot.unbookedUseHours), lang);
  $('kpi-cost').textContent = euros(rateOrNull(d.cost.totals.costOfVacancyCents), lang);
  $('kpi-sla').textContent = percent(rateOrNull(d.sla.handling.totals.withinPromiseShare), lang);

  // Heatmap: one square per weekday and hour, coloured by booked rate.
  const cells = d.heat.rows.map((r) => ({ x: num(r.hour), y: num(r.weekday) - 1, v: rateOrNull(r.bookedRate) }));
  chart<'scatter'>('chart-heatmap', {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: t('bookedRate', lang),
          data: cells,
          pointStyle: 'rect',
          pointRadius: (ctx: ScriptableContext<'line'>) => {
            const area = ctx.chart.chartArea;
            return area === undefined ? 4 : Math.max(2, Math.min(area.width / 24, area.height / 7) / 2 - 1);
          },
          pointHoverRadius: (ctx: ScriptableContext<'line'>) => {
            const area = ctx.chart.chartArea;
            return area === undefined ? 5 : Math.max(3, Math.min(area.width / 24, area.height / 7) / 2);
          },
          backgroundColor: (ctx: ScriptableContext<'line'>) => heatColor((ctx.raw as { v: number | null } | undefined)?.v ?? null),
          borderWidth: 0,
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: {
          type: 'linear',
          min: -0.5,
          max: 23.5,
          afterBuildTicks: (axis) => {
            axis.ticks = Array.from({ length: 8 }, (_, k) => ({ value: k * 3 }));
          },
          ticks: { callback: (v) => `${String(v).padStart(2, '0')}` },
          title: { display: true, text: t('hour', lang) },
          grid: { display: false },
        },
        y: {
          type: 'linear',
          min: -0.5,
          max: 6.5,
          reverse: true,
          afterBuildTicks: (axis) => {
            axis.ticks = Array.from({ length: 7 }, (_, k) => ({ value: k }));
          },
          ticks: { callback: (v) => WEEKDAYS[lang][Number(v)] ?? '' },
          grid: { display: false },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const p = item.raw as { x: number; y: number; v: number | null };
              return `${WEEKDAYS[lang][p.y]} ${String(p.x).padStart(2, '0')}:00 – ${percent(p.v, lang)}`;
            },
          },
        },
      },
    },
  });

  chart('chart-trend', {
    type: 'line',
    data: {
      labels: d.trend.rows.map((r) => String(r.week)),
      datasets: [
        { label: t('bookedRate', lang), data: d.trend.rows.map((r) => rateOrNull(r.bookedRate)), borderColor: COLORS.booked, backgroundColor: COLORS.booked, tension: 0.2, spanGaps: true },
        { label: t('usedRate', lang), data: d.trend.rows.map((r) => rateOrNull(r.usedRate)), borderColor: COLORS.used, backgroundColor: COLORS.used, tension: 0.2, spanGaps: true },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { min: 0, ticks: { callback: (v) => percent(Number(v), lang) } } },
      plugins: { tooltip: { callbacks: { label: (i) => `${i.dataset.label ?? ''}: ${percent(i.parsed.y, lang)}` } } },
    },
  });

  const top = [...d.cost.rows].sort((a, b) => num(b.costOfVacancyCents) - num(a.costOfVacancyCents)).slice(0, 10);
  fitHeight('chart-cost', top.length);
  chart('chart-cost', {
    type: 'bar',
    data: {
      labels: top.map((r) => String(r.spaceName ?? r.spaceId)),
      datasets: [
        { label: t('vacancyCost', lang), data: top.map((r) => num(r.vacancyCostCents) / 100), backgroundColor: COLORS.vacancy },
        { label: t('lostRevenue', lang), data: top.map((r) => num(r.lostRevenueCents) / 100), backgroundColor: COLORS.lost },
      ],
    },
    options: {
      indexAxis: 'y',
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { stacked: true, ticks: { callback: (v) => euros(Number(v) * 100, lang) } },
        y: { stacked: true, ticks: { autoSkip: false, callback: (_v, i) => short(String(top[i]?.spaceName ?? top[i]?.spaceId ?? '')) } },
      },
      plugins: { tooltip: { callbacks: { label: (i) => `${i.dataset.label ?? ''}: ${euros((i.parsed.x ?? 0) * 100, lang)}` } } },
    },
  });

  const units = d.byUnit.rows.filter((r) => num(r.openHours) > 0);
  fitHeight('chart-noshow', units.length);
  chart('chart-noshow', {
    type: 'bar',
    data: {
      labels: units.map((r) => String(r.unitName ?? r.unitId)),
      datasets: [
        { label: t('noShowHours', lang), data: units.map((r) => num(r.noShowHours)), backgroundColor: COLORS.noShow },
        { label: t('unbookedUseHours', lang), data: units.map((r) => rateOrNull(r.unbookedUseHours)), backgroundColor: COLORS.unbooked },
      ],
    },
    options: {
      indexAxis: 'y',
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { ticks: { autoSkip: false, callback: (_v, i) => short(String(units[i]?.unitName ?? units[i]?.unitId ?? '')) } } },
      plugins: { tooltip: { callbacks: { label: (i) => `${i.dataset.label ?? ''}: ${hoursText(i.parsed.x, lang)}` } } },
    },
  });

  const slaRows = d.slaByUnit.rows;
  chart('chart-sla', {
    type: 'bar',
    data: {
      labels: slaRows.map((r) => String(r.unitName ?? r.unitId)),
      datasets: [
        { label: t('withinPromise', lang), data: slaRows.map((r) => num(r.decidedWithinPromise)), backgroundColor: COLORS.used },
        {
          label: t('late', lang),
          data: slaRows.map((r) => num(r.decided) - num(r.decidedWithinPromise) + num(r.overduePending)),
          backgroundColor: COLORS.late,
        },
      ],
    },
    options: { maintainAspectRatio: false, animation: false, scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } },
  });
  $('sla-extra').textContent = [
    `${t('medianHours', lang)}: ${hoursText(rateOrNull(d.sla.handling.totals.medianHoursToDecision), lang)}`,
    `${t('doorCommands', lang)}: ${percent(d.sla.doorCommands.withinPromiseShare, lang)}`,
    `${t('devicesOnline', lang)}: ${percent(d.sla.devices.onlineShare, lang)}`,
  ].join(' · ');
  $('source').textContent = `${t('asOf', lang)} ${d.totals.source.checkpoint}${d.totals.source.appliedAt === null ? '' : ` (${new Date(d.totals.source.appliedAt).toLocaleString(lang === 'fi' ? 'fi-FI' : 'en-GB')})`}`;
  if (d.totals.totals.openHours === 0) $('status').textContent = t('noData', lang);
}

// --- signing in ----------------------------------------------------------------------------------

function signOut(message = ''): void {
  storeKey(null);
  $('app').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
}

async function start(): Promise<void> {
  try {
    state.dims = await get<Dimensions>('/v1/analytics/dimensions', {});
  } catch (error) {
    if (error instanceof ApiProblem && (error.status === 401 || error.status === 403)) return signOut(t('keyRefused', state.lang));
    return signOut(error instanceof Error ? error.message : String(error));
  }
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  fillFilters(state.dims);
  const today = new Date().toISOString().slice(0, 10);
  const to = state.dims.range.to ?? today;
  const from = state.dims.range.from ?? to;
  // Open on the last twelve weeks with data.
  const earliest = new Date(Date.parse(`${to}T12:00:00Z`) - 83 * 86_400_000).toISOString().slice(0, 10);
  $<HTMLInputElement>('f-from').value = from > earliest ? from : earliest;
  $<HTMLInputElement>('f-to').value = to;
  await load();
}

function init(): void {
  // A key may arrive in the fragment (never sent to the server): #key=vk_...
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromFragment = fragment.get('key');
  if (fromFragment !== null) {
    storeKey(fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  applyLanguage();
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'fi' ? 'en' : 'fi';
    localStorage.setItem('vuoro.lang', state.lang);
    applyLanguage();
  });
  $('signout').addEventListener('click', () => signOut());
  $('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    storeKey($<HTMLInputElement>('key').value.trim());
    void start();
  });
  $('filters').addEventListener('change', (e) => {
    if ((e.target as HTMLElement).id === 'f-site' && state.dims !== undefined) fillFilters(state.dims);
    void load();
  });
  $('csv').addEventListener('click', (e) => {
    e.preventDefault();
    void download();
  });
  if (storedKey() === null) signOut();
  else void start();
}

async function download(): Promise<void> {
  const res = await fetch(csvUrl('/v1/analytics/utilization', { ...filters(), groupBy: 'space', lang: state.lang }), {
    headers: { authorization: `Bearer ${storedKey() ?? ''}` },
  });
  if (!res.ok) return;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `utilization_${filters().from ?? ''}_${filters().to ?? ''}.csv`;
  a.click();
  URL.revokeObjectURL(url);
}

init();
