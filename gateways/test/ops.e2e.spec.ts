/**
 * Running the service: health and readiness, Prometheus metrics, the OpenAPI
 * document and docs page, request ids, key management, and a shutdown that
 * finishes the commands in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, startGateway, type Gateway } from './harness.js';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw.close());

describe('health, readiness and metrics', () => {
  it('answers /health and /ready without a key', async () => {
    expect((await gw.call('GET', '/health', { key: null })).body).toEqual({ status: 'ok' });
    const ready = await gw.call('GET', '/ready', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', store: expect.stringMatching(/^sqlite/), partitions: 2, sites: 2 });
  });

  it('counts requests, commands by outcome, group commits and partitions', async () => {
    await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall_a', start: '2027-01-11T18:00', end: '2027-01-11T19:00' } });
    await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_bob', body: { unitId: 'unt_hall_a', start: '2027-01-11T18:00', end: '2027-01-11T19:00' } });
    const m = await gw.call('GET', '/metrics', { key: null });
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(m.text).toMatch(/vuoro_commands_total\{type="RequestReservation",outcome="ok"\} 1/);
    expect(m.text).toMatch(/vuoro_commands_total\{type="RequestReservation",outcome="SLOT_CONFLICT"\} 1/);
    expect(m.text).toMatch(/vuoro_http_requests_total\{method="POST",route="\/v1\/reservations",status="201"\} 1/);
    expect(m.text).toMatch(/vuoro_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/v1\/reservations"\}/);
    expect(m.text).toMatch(/vuoro_group_commit_commands_count [1-9]/);
    expect(m.text).toMatch(/vuoro_partitions 2/);
    expect(m.text).toMatch(/vuoro_outbox_messages\{status="pending"\}/);
  });

  it('echoes a request id, or makes one', async () => {
    const given = await gw.call('GET', '/health', { key: null, headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const made = await gw.call<{ requestId: string }>('GET', '/v1/nowhere');
    expect(made.body.requestId).toBe(made.headers.get('x-request-id'));
    expect(made.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the OpenAPI document and docs page', () => {
  it('describes every route with its schemas, security and problem responses', async () => {
    const doc = await gw.call<{
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[]; requestBody?: unknown }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    }>('GET', '/openapi.json', { key: null });
    expect(doc.body.openapi).toBe('3.0.3');
    const paths = Object.keys(doc.body.paths);
    for (const p of ['/v1/reservations', '/v1/reservations/{reservationId}', '/v1/reservations/{reservationId}/approve', '/v1/availability', '/v1/units/{unitId}/availability', '/v1/payments/webhook', '/v1/events', '/v1/admin/keys', '/v1/sites/{siteId}/units']) {
      expect(paths).toContain(p);
    }
    expect(Object.keys(doc.body.components.schemas)).toEqual(expect.arrayContaining(['Problem', 'Reservation', 'Price']));
    expect(doc.body.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const post = doc.body.paths['/v1/reservations']?.post;
    expect(Object.keys(post?.responses ?? {})).toEqual(expect.arrayContaining(['201', '400', '401', '409', '422']));
    expect(JSON.stringify(post?.requestBody)).toMatch(/unitId/);
    expect(doc.body.paths['/v1/payments/webhook']?.post).toBeDefined();
  });

  it('serves the docs page and its assets from this server, not a CDN', async () => {
    const page = await gw.call('GET', '/docs/', { key: null });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/swagger/i);
    expect(page.text).not.toMatch(/src="https?:\/\//);
    const script = /src="\.?\/?([^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    expect((await gw.call('GET', `/docs/${script?.replace(/^docs\//, '')}`, { key: null })).status).toBe(200);
  });
});

describe('key management', () => {
  it('creates a channel and a key whose secret is shown once, and revokes it at once', async () => {
    const channel = await gw.call<{ channel: { channelId: string }; webhookSecret: string }>('POST', '/v1/admin/channels', {
      key: gw.keys.admin,
      body: { name: 'Phone service', webhookUrl: 'https://phone.example.com/hooks' },
    });
    expect(channel.status).toBe(201);
    expect(channel.body.webhookSecret).toMatch(/^whsec_/);
    const create = { key: gw.keys.admin, idem: 'new-phone-key', body: { channelId: channel.body.channel.channelId, name: 'phone desk', scopes: ['book', 'staff'], staffId: 'stf_phone' } };
    const made = await gw.call<{ key: { keyId: string; scopes: string[]; hint: string }; secret: string | null }>('POST', '/v1/admin/keys', create);
    expect(made.status).toBe(201);
    expect(made.body.secret).toMatch(/^vk_/);
    expect(made.body.key.hint).toBe(made.body.secret?.slice(-4));
    const replay = await gw.call<{ key: { keyId: string }; secret: string | null }>('POST', '/v1/admin/keys', create);
    expect([replay.status, replay.body.key.keyId, replay.body.secret]).toEqual([201, made.body.key.keyId, null]);
    gw.app.vuoro.idempotency.flush();
    const stored = gw.db.prepare('SELECT body FROM idempotency WHERE key = ?').get('new-phone-key') as { body: string };
    expect(stored.body).toContain(made.body.key.keyId);
    expect(stored.body).not.toContain(made.body.secret as string);

    const secret = made.body.secret as string;
    expect((await gw.call('GET', '/v1/sites', { key: secret })).status).toBe(200);
    const listed = await gw.call<{ items: Record<string, unknown>[] }>('GET', `/v1/admin/keys?channelId=${channel.body.channel.channelId}`, { key: gw.keys.admin });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body.items).toHaveLength(1);

    const revoked = await gw.call<{ revokedAt: string | null }>('DELETE', `/v1/admin/keys/${made.body.key.keyId}`, { key: gw.keys.admin });
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await gw.call('GET', '/v1/sites', { key: secret })).status).toBe(401);
  });

  it('refuses bad input and non-admin keys', async () => {
    const badUrl = await gw.call<{ field?: string }>('POST', '/v1/admin/channels', { key: gw.keys.admin, body: { name: 'x', webhookUrl: 'ftp://nope' } });
    expect([badUrl.status, badUrl.body.field]).toEqual([400, 'webhookUrl']);
    const badScope = await gw.call('POST', '/v1/admin/keys', { key: gw.keys.admin, body: { channelId: 'chn_web', name: 'x', scopes: ['root'] } });
    expect(badScope.status).toBe(400);
    const noChannel = await gw.call<{ code: string }>('POST', '/v1/admin/keys', { key: gw.keys.admin, body: { channelId: 'chn_missing', name: 'x', scopes: ['book'] } });
    expect([noChannel.status, noChannel.body.code]).toEqual([404, 'NOT_FOUND']);
    expect((await gw.call('POST', '/v1/admin/channels', { key: gw.keys.desk, body: { name: 'sneaky' } })).status).toBe(403);
    const moved = await gw.call<{ webhookUrl: string | null }>('PATCH', '/v1/admin/channels/chn_web', { key: gw.keys.admin, body: { webhookUrl: null } });
    expect([moved.status, moved.body.webhookUrl]).toEqual([200, null]);
  });
});

describe('graceful shutdown', () => {
  it('finishes every command in flight before stopping, and refuses new work meanwhile', async () => {
    const local = await startGateway();
    // Hold every append at a gate, so all the commands are surely in flight when the shutdown starts.
    let openGate = (): void => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const append = local.store.append.bind(local.store);
    local.store.append = async (...args) => {
      await gate;
      return append(...args);
    };
    const days = Array.from({ length: 28 }, (_, i) => `2027-02-${String(1 + i).padStart(2, '0')}`);
    const inFlight = days.map((day) =>
      local.call('POST', '/v1/reservations', { key: local.keys.web, customer: 'cus_alice', body: { unitId: 'unt_cottage', start: `${day}T10:00`, end: `${day}T11:00` } }),
    );
    while (local.app.vuoro.idempotency.inFlight < days.length) await new Promise((resolve) => setTimeout(resolve, 5));
    const closing = local.app.close();
    while (local.app.server.listening) await new Promise((resolve) => setTimeout(resolve, 5));
    // A request arriving during shutdown is either not connected at all or told to come back.
    const refused = await local.call<{ code: string }>('GET', '/v1/sites', { key: local.keys.web }).catch((e: unknown) => ({ status: 0, body: { code: String(e) } }));
    expect([0, 503]).toContain(refused.status);
    openGate();
    const answers = await Promise.all(inFlight);
    await closing;
    expect(answers.map((a) => a.status)).toEqual(days.map(() => 201));
    await local.engine.close();
    const booked = (await allEvents(local.store)).filter((e) => e.type === 'ReservationConfirmed');
    expect(booked).toHaveLength(days.length);
    await local.store.close();
    local.db.close();
    await local.dir.remove();
  });
});
