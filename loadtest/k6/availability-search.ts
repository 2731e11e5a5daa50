/**
 * Availability search: the web shop's busiest page. Visitors look for a
 * sports hall, court, sauna or room on an evening in the next four weeks,
 * across a site, and page through a unit's week.
 *
 * Thresholds a city would set for a search page: 99 % of searches answered
 * within 250 ms end to end (the API itself targets 10 ms at p99 on loopback;
 * see npm run bench:api), and practically no failed searches.
 */
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { BASE_URL, dateAhead, headers, loadCatalogue, pick, type Catalogue } from './lib.ts';

const searchDuration = new Trend('vuoro_search_duration', true);

export const options: Options = {
  scenarios: {
    browsing: {
      executor: 'ramping-arrival-rate',
      startRate: 20,
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: 400,
      stages: [
        { target: 200, duration: '1m' },
        { target: 200, duration: '3m' },
        { target: 0, duration: '30s' },
      ],
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    'http_req_duration{kind:search}': ['p(95)<100', 'p(99)<250'],
    'http_req_duration{kind:unit-week}': ['p(95)<150', 'p(99)<300'],
    checks: ['rate>0.999'],
  },
};

export function setup(): Catalogue {
  return loadCatalogue();
}

export default function (catalogue: Catalogue): void {
  const day = dateAhead(1 + Math.floor(Math.random() * 28));
  const site = pick(catalogue.sites);
  const type = pick(catalogue.units.filter((u) => u.siteId === site)).unitType;
  const search = http.get(
    `${BASE_URL}/v1/availability?siteId=${site}&unitType=${type}&from=${day}&to=${day}&durationMinutes=60&fromTime=16:00&toTime=22:00&limitPerUnit=4&maxUnits=10`,
    { headers: headers(), tags: { kind: 'search' } },
  );
  searchDuration.add(search.timings.duration);
  check(search, { 'search answered 200': (r) => r.status === 200 });

  const unit = pick(catalogue.units);
  const week = http.get(`${BASE_URL}/v1/units/${unit.unitId}/availability?from=${day}&to=${dateAhead(8 + Math.floor(Math.random() * 21))}&durationMinutes=60`, {
    headers: headers(),
    tags: { kind: 'unit-week' },
  });
  check(week, { 'unit week answered 200 or an explained refusal': (r) => r.status === 200 || r.status === 422 || r.status === 403 });
  sleep(Math.random());
}
