/**
 * A booking spike on popular evening slots: the moment next month's evening
 * turns open, hundreds of people ask for the same few sports-hall hours at
 * once. Exactly one request may win each slot; every other one must get a
 * clear 409 problem, quickly — never a 5xx, never a second booking.
 *
 * Thresholds: every answer is 201 or 409 (no errors at all), p99 under
 * 500 ms end to end at the peak, and the winners fit the slots on offer.
 */
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import type { Options } from 'k6/options';
import { BASE_URL, dateAhead, headers, loadCatalogue, pick, uuid, type Catalogue } from './lib.ts';

const won = new Counter('vuoro_slots_won');
const refused = new Counter('vuoro_slots_refused');

export const options: Options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      preAllocatedVUs: 200,
      maxVUs: 1000,
      stages: [
        { target: 800, duration: '10s' },
        { target: 800, duration: '40s' },
        { target: 10, duration: '10s' },
      ],
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.6'], // 409s count as "failed" for k6; the real gate is the check below
    checks: ['rate==1'],
    'http_req_duration{kind:book}': ['p(99)<500'],
  },
};

interface Hot {
  slots: { unitId: string; start: string; end: string }[];
}

export function setup(): Hot {
  const catalogue: Catalogue = loadCatalogue();
  const halls = catalogue.units.filter((u) => u.unitType === 'sports_hall').slice(0, 3);
  const units = halls.length > 0 ? halls : catalogue.units.slice(0, 3);
  const day = dateAhead(14);
  return { slots: units.flatMap((u) => ['17:00', '18:00', '19:00'].map((h) => ({ unitId: u.unitId, start: `${day}T${h}`, end: `${day}T${String(Number(h.slice(0, 2)) + 1)}:00` }))) };
}

export default function (hot: Hot): void {
  const slot = pick(hot.slots);
  const res = http.post(`${BASE_URL}/v1/reservations`, JSON.stringify(slot), {
    headers: headers({ 'idempotency-key': uuid() }),
    tags: { kind: 'book' },
    responseCallback: http.expectedStatuses(201, 409),
  });
  check(res, {
    'a booking or a clear 409 problem': (r) => r.status === 201 || (r.status === 409 && String(r.headers['Content-Type']).startsWith('application/problem+json')),
  });
  if (res.status === 201) won.add(1);
  else if (res.status === 409) refused.add(1);
}
