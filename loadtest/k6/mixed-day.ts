/**
 * A mixed day of channel traffic: the web shop's visitors search and book,
 * the staff desk reads lists and handles requests, partner portals poll
 * their customers' reservations, and some bookings are cancelled. The
 * shape follows a weekday: a morning bump, a lunch dip, an evening peak.
 *
 * Thresholds: p95 under 200 ms and p99 under 500 ms across everything, bookings
 * under 300 ms at p95, and under 0.5 % unexpected answers (a 409 on a taken
 * slot is expected and not counted as a failure).
 */
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import type { Options } from 'k6/options';
import { BASE_URL, dateAhead, headers, loadCatalogue, pick, uuid, type Catalogue } from './lib.ts';

export const options: Options = {
  scenarios: {
    day: {
      executor: 'ramping-arrival-rate',
      startRate: 5,
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: 300,
      stages: [
        { target: 60, duration: '2m' }, // morning
        { target: 30, duration: '2m' }, // lunch
        { target: 150, duration: '3m' }, // evening peak
        { target: 10, duration: '1m' },
      ],
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.005'],
    http_req_duration: ['p(95)<200', 'p(99)<500'],
    'http_req_duration{kind:book}': ['p(95)<300'],
    checks: ['rate>0.995'],
  },
};

export function setup(): Catalogue {
  return loadCatalogue();
}

const expected = http.expectedStatuses({ min: 200, max: 299 }, 409);

export default function (catalogue: Catalogue): void {
  const unit = pick(catalogue.units);
  const day = dateAhead(1 + Math.floor(Math.random() * 28));
  const roll = Math.random();
  if (roll < 0.55) {
    group('search', () => {
      const r = http.get(`${BASE_URL}/v1/availability?siteId=${unit.siteId}&from=${day}&to=${day}&durationMinutes=60&limitPerUnit=4&maxUnits=10`, { headers: headers(), tags: { kind: 'search' } });
      check(r, { 'search 200': (x) => x.status === 200 });
    });
  } else if (roll < 0.75) {
    group('book', () => {
      const week = http.get(`${BASE_URL}/v1/units/${unit.unitId}/availability?from=${day}&to=${day}&durationMinutes=60&limit=20`, { headers: headers(), tags: { kind: 'unit-day' } });
      const slots = week.status === 200 ? (week.json('slots') as { start: string; end: string }[]) : [];
      if (slots.length === 0) return;
      const slot = pick(slots);
      const r = http.post(`${BASE_URL}/v1/reservations`, JSON.stringify({ unitId: unit.unitId, start: slot.start, end: slot.end }), {
        headers: headers({ 'idempotency-key': uuid() }),
        tags: { kind: 'book' },
        responseCallback: expected,
      });
      check(r, { 'booked, or the slot went meanwhile': (x) => x.status === 201 || x.status === 409 });
      if (r.status === 201 && Math.random() < 0.1) {
        const id = r.json('reservationId') as string;
        const c = http.post(`${BASE_URL}/v1/reservations/${id}/cancel`, JSON.stringify({ reason: 'plans changed' }), {
          headers: headers({ 'idempotency-key': uuid(), 'if-match': String(r.headers.Etag ?? r.headers.ETag ?? '') }),
          tags: { kind: 'cancel' },
          responseCallback: expected,
        });
        check(c, { 'cancelled (or past the deadline)': (x) => x.status === 200 || x.status === 409 });
      }
    });
  } else if (roll < 0.9) {
    group('my reservations', () => {
      const r = http.get(`${BASE_URL}/v1/reservations?limit=20`, { headers: headers(), tags: { kind: 'list' } });
      check(r, { 'list 200': (x) => x.status === 200 });
    });
  } else {
    group('staff desk', () => {
      const r = http.get(`${BASE_URL}/v1/reservations?state=requires_handling,awaiting_payment&siteId=${unit.siteId}&limit=50`, {
        headers: { authorization: headers().authorization as string },
        tags: { kind: 'staff-list' },
      });
      check(r, { 'staff list 200': (x) => x.status === 200 });
    });
  }
  sleep(Math.random() * 2);
}
