/**
 * Shared by the k6 scenarios: where the API is, which key and customer to
 * act as, and a catalogue read once in setup(). Run against `npm start`
 * (it prints a demo key with book+staff scopes):
 *
 *   BASE_URL=http://127.0.0.1:8080 API_KEY=vk_... CUSTOMER=cus_alice k6 run loadtest/k6/availability-search.ts
 */
import http from 'k6/http';
import { check, fail } from 'k6';

export const BASE_URL = __ENV.BASE_URL ?? 'http://127.0.0.1:8080';
export const API_KEY = __ENV.API_KEY ?? '';
export const CUSTOMER = __ENV.CUSTOMER ?? 'cus_alice';

export interface Catalogue {
  sites: string[];
  units: { unitId: string; siteId: string; unitType: string }[];
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${API_KEY}`, 'vuoro-customer': CUSTOMER, 'content-type': 'application/json', ...extra };
}

/** The units to exercise, read once (setup runs before the virtual users). */
export function loadCatalogue(): Catalogue {
  if (API_KEY === '') fail('set API_KEY (npm start prints a demo key)');
  const res = http.get(`${BASE_URL}/v1/units`, { headers: headers() });
  if (!check(res, { 'catalogue readable': (r) => r.status === 200 })) fail(`GET /v1/units answered ${res.status}`);
  const units = (res.json('items') as { unitId: string; siteId: string; unitType: string }[]).map((u) => ({ unitId: u.unitId, siteId: u.siteId, unitType: u.unitType }));
  return { sites: [...new Set(units.map((u) => u.siteId))], units };
}

/** A Helsinki date `days` from today, YYYY-MM-DD. */
export function dateAhead(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export function uuid(): string {
  // Enough randomness for idempotency keys in a load test (k6 has no crypto.randomUUID).
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
