/**
 * Whatever a client sends, it gets a clear 4xx problem, never a 500 and never
 * a partial write: unknown fields, wrong types, bad JSON, oversized bodies,
 * the wrong media type, missing or bad credentials, missing idempotency keys,
 * unknown routes, too many requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, startGateway, type Gateway } from './harness.js';

type Problem = { type: string; title: string; status: number; detail: string; code: string; instance: string; requestId: string; field?: string; errors?: { field: string; in: string; message: string }[] };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ settings: { bodyLimit: 4096 } });
});
afterAll(async () => gw.close());

const good = { unitId: 'unt_hall_a', start: '2027-01-11T18:00', end: '2027-01-11T19:00' };

async function expectNothingWritten<T>(f: () => Promise<T>): Promise<T> {
  const before = (await allEvents(gw.store)).length;
  const result = await f();
  expect((await allEvents(gw.store)).length).toBe(before);
  return result;
}

function expectProblem(r: { status: number; headers: Headers; body: unknown }, status: number, code: string): Problem {
  const p = r.body as Problem;
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(p).toMatchObject({ status, code, type: `https://vuoro.dev/problems/${code.toLowerCase().replaceAll('_', '-')}` });
  expect(p.title.length).toBeGreaterThan(3);
  expect(p.detail.length).toBeGreaterThan(15);
  expect(p.requestId).toBe(r.headers.get('x-request-id'));
  return p;
}

describe('malformed requests', () => {
  it('names an unknown field and refuses the request', async () => {
    const r = await expectNothingWritten(() => gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { ...good, colour: 'blue' } }));
    const p = expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(p.errors).toEqual([{ field: 'colour', in: 'body', message: expect.stringMatching(/unknown field/) }]);
    expect(p.detail).toMatch(/colour/);
  });

  it('names each field of the wrong type', async () => {
    const r = await expectNothingWritten(() => gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 42, start: true, end: '2027-01-11T19:00', confirm: 'yes' } }));
    const p = expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(p.errors?.map((e) => e.field).sort()).toEqual(['confirm', 'start', 'unitId']);
  });

  it('refuses a missing field and an empty object', async () => {
    const r = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall_a', start: '2027-01-11T18:00' } });
    expect(expectProblem(r, 400, 'VALIDATION_FAILED').errors?.[0]?.field).toBe('end');
  });

  it('refuses an impossible date in a query with a 400 naming it', async () => {
    const r = await gw.call('GET', '/v1/units/unt_hall_a/availability?from=2027-02-29&to=2027-03-01&durationMinutes=60');
    const p = expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(p.errors?.[0]).toMatchObject({ field: 'from', in: 'query' });
  });

  it('refuses a body that is not JSON', async () => {
    const r = await expectNothingWritten(() =>
      gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', raw: '{"unitId": "unt_hall_a",', headers: { 'content-type': 'application/json' } }),
    );
    expectProblem(r, 400, 'MALFORMED_JSON');
  });

  it('refuses an empty JSON body', async () => {
    const r = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', raw: '', headers: { 'content-type': 'application/json' } });
    expectProblem(r, 400, 'MALFORMED_JSON');
  });

  it('refuses an oversized body with 413', async () => {
    const r = await expectNothingWritten(() =>
      gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { ...good, note: 'x'.repeat(10_000) } }),
    );
    expectProblem(r, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses a body that is not JSON by media type with 415', async () => {
    const r = await expectNothingWritten(() => gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', raw: 'unitId=unt_hall_a', headers: { 'content-type': 'text/plain' } }));
    expectProblem(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const form = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', raw: 'unitId=unt_hall_a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a path id that is not an id', async () => {
    const r = await gw.call('GET', `/v1/reservations/${encodeURIComponent('../../etc')}`);
    expect(expectProblem(r, 400, 'VALIDATION_FAILED').errors?.[0]).toMatchObject({ field: 'reservationId', in: 'path' });
  });

  it('answers an unknown route with a 404 problem pointing at the docs', async () => {
    const r = await gw.call('GET', '/v1/nothing-here');
    expect(expectProblem(r, 404, 'NOT_FOUND').detail).toMatch(/\/docs/);
  });
});

describe('credentials', () => {
  it('asks for a key when none is sent', async () => {
    const r = await gw.call('GET', '/v1/sites', { key: null });
    expectProblem(r, 401, 'UNAUTHORIZED');
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses an unknown key', async () => {
    expectProblem(await gw.call('GET', '/v1/sites', { key: 'vk_not-a-real-key' }), 401, 'UNAUTHORIZED');
    expectProblem(await gw.call('GET', '/v1/sites', { key: 'something else' }), 401, 'UNAUTHORIZED');
  });

  it('refuses a key without the scope a route needs, saying which', async () => {
    const r = await gw.call('GET', '/v1/reservations', { key: gw.keys.analyst });
    expect(expectProblem(r, 403, 'INSUFFICIENT_SCOPE').detail).toMatch(/'book' or 'staff'/);
    expectProblem(await gw.call('GET', '/v1/admin/keys', { key: gw.keys.desk }), 403, 'INSUFFICIENT_SCOPE');
  });
});

describe('idempotency keys', () => {
  it('requires an Idempotency-Key on every command', async () => {
    const r = await expectNothingWritten(() => gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: good, idem: null }));
    expect(expectProblem(r, 400, 'VALIDATION_FAILED').field).toBe('Idempotency-Key');
    const bad = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: good, idem: 'with spaces are not allowed' });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
  });

  it('refuses the same key with a different body (422), and with a different customer', async () => {
    const first = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: good, idem: 'order-17' });
    expect(first.status).toBe(201);
    const other = await expectNothingWritten(() =>
      gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { ...good, start: '2027-01-11T20:00', end: '2027-01-11T21:00' }, idem: 'order-17' }),
    );
    expectProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    const otherCustomer = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_bob', body: good, idem: 'order-17' });
    expectProblem(otherCustomer, 422, 'IDEMPOTENCY_KEY_REUSED');
    // The same key on another channel is another key.
    const partner = await gw.call('POST', '/v1/reservations', { key: gw.keys.partner, customer: 'cus_bob', body: { ...good, start: '2027-01-11T20:00', end: '2027-01-11T21:00' }, idem: 'order-17' });
    expect(partner.status).toBe(201);
  });

  it('replays a refusal too: the retry of a refused booking gets the same problem', async () => {
    const body = { unitId: 'unt_hall_a', start: '2027-01-11T18:30', end: '2027-01-11T19:30' };
    const first = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_bob', body, idem: 'retry-refusal' });
    expectProblem(first, 409, 'SLOT_CONFLICT');
    const again = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_bob', body, idem: 'retry-refusal' });
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([409, 'true']);
    expect(again.text).toBe(first.text);
  });
});

describe('rate limits', () => {
  it('limits each key on its own, with a 429 problem and Retry-After', async () => {
    const limited = await startGateway({ settings: { rateLimitMax: 5, rateLimitWindowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await limited.call('GET', '/v1/sites', { key: limited.keys.web })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const r = await limited.call('GET', '/v1/sites', { key: limited.keys.web });
      expectProblem(r, 429, 'RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another key has its own budget; operations endpoints are not limited.
      expect((await limited.call('GET', '/v1/sites', { key: limited.keys.partner })).status).toBe(200);
      for (let i = 0; i < 7; i++) expect((await limited.call('GET', '/health', { key: null })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
