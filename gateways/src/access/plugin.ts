/**
 * Access control over HTTP (`accessPlugin`):
 *
 * - `device-admin`: doors on spaces, devices (locks, key cabinets, occupancy
 *   sensors) with their MQTT credentials (the secret is shown once, in the
 *   answer to the request that created it), the key inventory, the public
 *   keys locks pin, the gateway's status.
 * - `staff`: remote unlock / lock / open of a door and emergency open of a
 *   site, each recorded with who (the key's staff member) and why (`reason`,
 *   required); staff and janitor grants (cards or PINs); lending keys against
 *   reservations and series, returns, lost keys; the access log.
 *
 * Registered by `buildApp` with the access control started by
 * `startMqttGateway`:
 *
 *   await app.register(accessPlugin, { access: mqtt.access, doorCodes: outboxDoorCodes(db, outbox, clock), mqtt: { urls: mqtt.urls, tree: mqtt.tree } });
 */
import {
  DEVICE_KINDS,
  STAFF_ROLES,
  publishableTopics,
  subscribableFilters,
  willTopicOf,
  type AccessControl,
  type AccessResult,
  type DoorCodeMailer,
  type TopicTree,
} from '@vuoro/access-control';
import { formatInstant, parseTime } from '@vuoro/engine';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/plugin.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { id, timeInput } from '../http/schemas.js';
import { accessProblem } from './problems.js';

export interface AccessPluginOptions {
  access: AccessControl;
  /** Where door codes go (the outbox); without it codes wait, undelivered, and are replaced when one is attached. */
  doorCodes?: DoorCodeMailer;
  /** What devices are told about the broker in their provisioning answer. */
  mqtt?: { urls: string[]; tree: TopicTree };
}

const TAG = ['Access control'];
const COMMON = problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503);
const reason = z.string().trim().min(3).max(1000).describe('Why: recorded in the audit trail with who did it');
const siteParams = z.object({ siteId: id }).strict();
const doorParams = z.object({ siteId: id, doorId: id }).strict();
const deviceParams = z.object({ siteId: id, deviceId: id }).strict();
const keyParams = z.object({ siteId: id, keyId: id }).strict();

const jwkSchema = z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string() }).meta({ id: 'AccessSigningKey' });

const doorSchema = z
  .object({
    doorId: z.string(),
    spaceId: z.string(),
    name: z.string(),
    state: z.string().nullable().describe('As the lock last reported it: LOCKED, UNLOCKED, OPEN, JAMMED, UNKNOWN'),
    online: z.boolean().nullable(),
    allowListVersion: z.number().int(),
    allowListExpiresAt: z.string().nullable(),
    keyIds: z.array(z.string()),
    needsRekey: z.boolean().describe('A key of this door was lost and the door has not been re-keyed'),
  })
  .meta({ id: 'Door' });

const deviceSchema = z
  .object({
    deviceId: z.string(),
    kind: z.enum(DEVICE_KINDS),
    name: z.string(),
    doorId: z.string().nullable(),
    spaceId: z.string().nullable(),
    cabinetId: z.string().nullable(),
    decommissioned: z.boolean(),
    online: z.boolean().nullable(),
  })
  .meta({ id: 'Device' });

const provisionedSchema = z
  .object({
    device: deviceSchema,
    secret: z.string().nullable().describe('The MQTT password, shown once (null in an idempotent replay)'),
    mqtt: z.object({
      urls: z.array(z.string()),
      clientId: z.string(),
      username: z.string(),
      publish: z.array(z.string()),
      subscribe: z.array(z.string()),
      will: z.string().nullable().describe('The topic its last will must go to (retained, {"online":false})'),
    }),
    trustedKeys: z.array(jwkSchema).describe('Pin these: allow-lists and commands are signed with them'),
  })
  .meta({ id: 'ProvisionedDevice' });

const commandSchema = z.object({ commandId: z.string(), expiresAt: z.string() }).meta({ id: 'DoorCommand' });
const commandsSchema = z.object({ commandIds: z.array(z.string()) }).meta({ id: 'DoorCommands' });

const keySchema = z
  .object({
    keyId: z.string(),
    label: z.string(),
    doorIds: z.array(z.string()),
    cabinetId: z.string().nullable(),
    status: z.enum(['available', 'lent', 'out', 'lost', 'retired']),
    loan: z.object({ loanId: z.string(), holder: z.record(z.string(), z.unknown()), dueAt: z.string(), overdue: z.boolean() }).nullable(),
  })
  .meta({ id: 'Key' });

function unwrap<T>(r: AccessResult<T>): T {
  if (!r.ok) throw accessProblem(r.error);
  return r.value;
}

/** Who acts: the key's staff member, or the key itself. */
const actorOf = (req: FastifyRequest): string => {
  const key = principalOf(req);
  return key.staffId !== null ? `staff:${key.staffId}` : `apikey:${key.keyId}`;
};

function instantOf(input: string | number, field: string): number {
  const r = parseTime(input, field);
  if (!r.ok) throw ApiError.fromDomain(r.error);
  return r.value;
}

export async function accessPlugin(app: FastifyInstance, options: AccessPluginOptions): Promise<void> {
  const { access } = options;
  if (options.doorCodes !== undefined) access.useMailer(options.doorCodes);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const site = (siteId: string) => {
    const state = access.state(siteId);
    if (state === undefined) throw accessProblem({ code: 'UNKNOWN_SITE', message: `Site ${siteId} has no access control yet: register a door first.` });
    return state;
  };

  const doorDto = (siteId: string, doorId: string) => {
    const state = site(siteId);
    const d = state.doors.get(doorId);
    if (d === undefined || d.removed) throw accessProblem({ code: 'UNKNOWN_DOOR', message: `Door ${doorId} is not registered at site ${siteId}.` });
    const status = access.doorStatus(siteId, doorId);
    return {
      doorId: d.doorId,
      spaceId: d.spaceId,
      name: d.name,
      state: status?.state ?? null,
      online: status?.online ?? null,
      allowListVersion: d.allowList?.version ?? 0,
      allowListExpiresAt: d.allowList === undefined ? null : formatInstant(d.allowList.expiresAt),
      keyIds: [...d.keyIds],
      needsRekey: [...d.keyIds].some((k) => state.keys.get(k)?.status === 'lost'),
    };
  };

  const deviceDto = (siteId: string, deviceId: string) => {
    const d = site(siteId).devices.get(deviceId);
    if (d === undefined) throw accessProblem({ code: 'UNKNOWN_DEVICE', message: `Device ${deviceId} does not exist at site ${siteId}.` });
    return {
      deviceId: d.deviceId,
      kind: d.kind,
      name: d.name,
      doorId: d.doorId ?? null,
      spaceId: d.spaceId ?? null,
      cabinetId: d.cabinetId ?? null,
      decommissioned: d.decommissioned,
      online: access.deviceStatus(deviceId)?.online ?? null,
    };
  };

  const keyDto = (siteId: string, keyId: string) => {
    const state = site(siteId);
    const k = state.keys.get(keyId);
    if (k === undefined) throw accessProblem({ code: 'UNKNOWN_KEY', message: `Key ${keyId} is not in the inventory of site ${siteId}.` });
    const loan = k.loanId === undefined ? undefined : state.loans.get(k.loanId);
    return {
      keyId: k.keyId,
      label: k.label,
      doorIds: k.doorIds,
      cabinetId: k.cabinetId ?? null,
      status: k.status,
      loan: loan === undefined ? null : { loanId: loan.loanId, holder: { ...loan.holder }, dueAt: formatInstant(loan.dueAt), overdue: loan.overdue },
    };
  };

  // --- doors and devices (device-admin) --------------------------------------------------

  r.get('/v1/access/signing-keys', {
    schema: { tags: TAG, summary: 'Public keys locks pin (JWKS)', response: { 200: z.object({ keys: z.array(jwkSchema) }), ...COMMON } },
    config: { scopes: ['device-admin', 'staff'] },
    handler: async () => ({ keys: access.trustedKeys }),
  });

  r.get('/v1/access/sites/:siteId/doors', {
    schema: { tags: TAG, summary: 'Doors of a site with their locks’ last state', params: siteParams, response: { 200: z.object({ items: z.array(doorSchema) }), ...COMMON } },
    config: { scopes: ['device-admin', 'staff'] },
    handler: async (req) => {
      const state = site(req.params.siteId);
      return { items: [...state.doors.values()].filter((d) => !d.removed).map((d) => doorDto(req.params.siteId, d.doorId)) };
    },
  });

  r.post('/v1/access/sites/:siteId/doors', {
    schema: {
      tags: TAG,
      summary: 'Register a door on a space',
      description: 'A door is on the path to every space below its own: a code for a hall section opens the building entrance (on the building) and the hall door (on the hall).',
      params: siteParams,
      body: z.object({ doorId: id.optional(), spaceId: id, name: z.string().trim().min(1).max(200) }).strict(),
      response: { 201: doorSchema, ...COMMON },
    },
    config: { scopes: ['device-admin'], command: true },
    handler: async (req, reply) => {
      const { doorId } = unwrap(await access.registerDoor(req.params.siteId, req.body, actorOf(req)));
      reply.code(201).header('location', `/v1/access/sites/${req.params.siteId}/doors/${doorId}`);
      return doorDto(req.params.siteId, doorId);
    },
  });

  r.post('/v1/access/sites/:siteId/doors/:doorId/remove', {
    schema: { tags: TAG, summary: 'Remove a door (its allow-list is withdrawn)', params: doorParams, body: z.object({ reason }).strict(), response: { 204: z.null(), ...COMMON } },
    config: { scopes: ['device-admin'], command: true },
    handler: async (req, reply) => {
      unwrap(await access.removeDoor(req.params.siteId, req.params.doorId, req.body.reason, actorOf(req)));
      return reply.code(204).send(null);
    },
  });

  r.get('/v1/access/sites/:siteId/devices', {
    schema: { tags: TAG, summary: 'Devices of a site (never their secrets)', params: siteParams, response: { 200: z.object({ items: z.array(deviceSchema) }), ...COMMON } },
    config: { scopes: ['device-admin'] },
    handler: async (req) => ({ items: [...site(req.params.siteId).devices.keys()].map((deviceId) => deviceDto(req.params.siteId, deviceId)) }),
  });

  const provisioned = (siteId: string, deviceId: string, secret: string) => {
    const d = access.device(deviceId);
    if (d === undefined) throw new Error(`device ${deviceId} vanished`);
    const tree = options.mqtt?.tree;
    return {
      device: deviceDto(siteId, deviceId),
      secret,
      mqtt: {
        urls: options.mqtt?.urls ?? [],
        clientId: deviceId,
        username: deviceId,
        publish: tree === undefined ? [] : [...publishableTopics(tree, d).keys()],
        subscribe: tree === undefined ? [] : [...subscribableFilters(tree, d)],
        will: tree === undefined ? null : (willTopicOf(tree, d) ?? null),
      },
      trustedKeys: access.trustedKeys,
    };
  };

  r.post('/v1/access/sites/:siteId/devices', {
    schema: {
      tags: TAG,
      summary: 'Provision a lock, key cabinet or occupancy sensor',
      description: 'Answers with the device’s MQTT credentials; the secret is shown once and stored only as a keyed hash. The device connects with client id and username = its device id.',
      params: siteParams,
      body: z
        .object({
          deviceId: id.optional(),
          kind: z.enum(DEVICE_KINDS),
          name: z.string().trim().min(1).max(200),
          doorId: id.optional().describe('A lock’s door'),
          spaceId: id.optional().describe('An occupancy sensor’s space'),
          cabinetId: id.optional().describe('A key cabinet’s id in the topic tree'),
        })
        .strict(),
      response: { 201: provisionedSchema, ...COMMON },
    },
    config: { scopes: ['device-admin'], command: { redact: ['secret'] } },
    handler: async (req, reply) => {
      const { device, secret } = unwrap(await access.provisionDevice(req.params.siteId, req.body, actorOf(req)));
      reply.code(201).header('location', `/v1/access/sites/${req.params.siteId}/devices/${device.deviceId}`);
      return provisioned(req.params.siteId, device.deviceId, secret);
    },
  });

  r.post('/v1/access/sites/:siteId/devices/:deviceId/rotate-secret', {
    schema: { tags: TAG, summary: 'Give a device a new secret (its connection is dropped)', params: deviceParams, response: { 200: provisionedSchema, ...COMMON } },
    config: { scopes: ['device-admin'], command: { redact: ['secret'] } },
    handler: async (req) => {
      const { secret } = unwrap(await access.rotateDeviceSecret(req.params.siteId, req.params.deviceId, actorOf(req)));
      return provisioned(req.params.siteId, req.params.deviceId, secret);
    },
  });

  r.post('/v1/access/sites/:siteId/devices/:deviceId/decommission', {
    schema: { tags: TAG, summary: 'Decommission a device (disconnected, cannot connect again)', params: deviceParams, body: z.object({ reason }).strict(), response: { 200: deviceSchema, ...COMMON } },
    config: { scopes: ['device-admin'], command: true },
    handler: async (req) => {
      unwrap(await access.decommissionDevice(req.params.siteId, req.params.deviceId, req.body.reason, actorOf(req)));
      return deviceDto(req.params.siteId, req.params.deviceId);
    },
  });

  // --- staff door commands -------------------------------------------------------------

  const doorCommand = (action: 'unlock' | 'lock' | 'open', summary: string, body: z.ZodObject<{ reason: typeof reason; durationSeconds?: z.ZodNumber }>) =>
    r.post(`/v1/access/sites/:siteId/doors/:doorId/${action}`, {
      schema: {
        tags: TAG,
        summary,
        description: 'Sent to the lock signed, with an id and an expiry: a late or replayed delivery does nothing. Recorded with who and why; the lock’s acknowledgement arrives in the access log.',
        params: doorParams,
        body,
        response: { 202: commandSchema, ...COMMON },
      },
      config: { scopes: ['staff'], command: true },
      handler: async (req, reply) => {
        const b = req.body as { reason: string; durationSeconds?: number };
        const done = unwrap(
          await access.doorCommand(req.params.siteId, req.params.doorId, { action, reason: b.reason, ...(b.durationSeconds === undefined ? {} : { durationSeconds: b.durationSeconds }) }, actorOf(req)),
        );
        return reply.code(202).send(done);
      },
    });
  doorCommand('unlock', 'Unlock a door for a while', z.object({ reason, durationSeconds: z.number().int().min(1).max(86_400) }).strict());
  doorCommand('lock', 'Lock a door now', z.object({ reason }).strict());
  doorCommand('open', 'Open a door once (momentary release)', z.object({ reason }).strict());

  r.post('/v1/access/sites/:siteId/emergency-open', {
    schema: {
      tags: TAG,
      summary: 'Emergency open: unlock every door of the site',
      description: 'Every lock gets a signed unlock, and every allow-list says so (a lock that is off line or reconnects later opens too) until it is ended, or until `until`.',
      params: siteParams,
      body: z.object({ reason, until: timeInput.optional() }).strict(),
      response: { 202: commandsSchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const until = req.body.until === undefined ? undefined : instantOf(req.body.until, 'until');
      const done = unwrap(await access.startEmergencyOpen(req.params.siteId, { reason: req.body.reason, ...(until === undefined ? {} : { until }) }, actorOf(req)));
      return reply.code(202).send(done);
    },
  });

  r.post('/v1/access/sites/:siteId/emergency-open/end', {
    schema: { tags: TAG, summary: 'End the emergency open: lock every door', params: siteParams, body: z.object({ reason }).strict(), response: { 202: commandsSchema, ...COMMON } },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => reply.code(202).send(unwrap(await access.endEmergencyOpen(req.params.siteId, req.body.reason, actorOf(req)))),
  });

  r.get('/v1/access/sites/:siteId/commands', {
    schema: {
      tags: TAG,
      summary: 'Door commands issued at a site, newest first: who, why, what and until when',
      params: siteParams,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
      response: {
        200: z.object({
          items: z.array(
            z.object({
              commandId: z.string(),
              doorId: z.string(),
              action: z.enum(['unlock', 'lock', 'open']),
              durationSeconds: z.number().int().nullable(),
              emergency: z.boolean(),
              by: z.string(),
              reason: z.string(),
              issuedAt: z.string(),
              expiresAt: z.string(),
            }),
          ),
        }),
        ...COMMON,
      },
    },
    config: { scopes: ['staff', 'device-admin'] },
    handler: async (req) => ({
      items: [...site(req.params.siteId).commands.values()]
        .sort((a, b) => b.issuedAt - a.issuedAt || (a.commandId < b.commandId ? 1 : -1))
        .slice(0, req.query.limit)
        .map((c) => ({
          commandId: c.commandId,
          doorId: c.doorId,
          action: c.action,
          durationSeconds: c.durationSeconds ?? null,
          emergency: c.emergency,
          by: c.by,
          reason: c.reason,
          issuedAt: formatInstant(c.issuedAt),
          expiresAt: formatInstant(c.expiresAt),
        })),
    }),
  });

  // --- staff grants --------------------------------------------------------------------

  r.post('/v1/access/sites/:siteId/staff-credentials', {
    schema: {
      tags: TAG,
      summary: 'Grant a staff member or janitor a card or a PIN',
      description: 'A PIN is drawn at random and shown once in this answer. `allDoors` also covers doors registered later.',
      params: siteParams,
      body: z
        .object({
          staffId: id,
          role: z.enum(STAFF_ROLES),
          name: z.string().max(200).optional(),
          method: z.enum(['card', 'pin']),
          card: z.string().regex(/^[0-9A-Fa-f]{8,32}$/, 'a card UID is 8-32 hex digits').optional(),
          doorIds: z.array(id).max(1000).optional(),
          allDoors: z.boolean().default(false),
          validFrom: timeInput,
          validUntil: timeInput,
        })
        .strict(),
      response: { 201: z.object({ credentialId: z.string(), pin: z.string().nullable().describe('Shown once') }), ...COMMON },
    },
    config: { scopes: ['staff'], command: { redact: ['pin'] } },
    handler: async (req, reply) => {
      const b = req.body;
      const done = unwrap(
        await access.issueStaffCredential(
          req.params.siteId,
          {
            staffId: b.staffId,
            role: b.role,
            method: b.method,
            allDoors: b.allDoors,
            validFrom: instantOf(b.validFrom, 'validFrom'),
            validUntil: instantOf(b.validUntil, 'validUntil'),
            ...(b.name === undefined ? {} : { name: b.name }),
            ...(b.card === undefined ? {} : { card: b.card }),
            ...(b.doorIds === undefined ? {} : { doorIds: b.doorIds }),
          },
          actorOf(req),
        ),
      );
      return reply.code(201).send({ credentialId: done.credentialId, pin: done.pin ?? null });
    },
  });

  r.post('/v1/access/sites/:siteId/credentials/:credentialId/revoke', {
    schema: { tags: TAG, summary: 'Revoke a credential at once', params: z.object({ siteId: id, credentialId: id }).strict(), body: z.object({ reason }).strict(), response: { 204: z.null(), ...COMMON } },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      unwrap(await access.revokeCredential(req.params.siteId, req.params.credentialId, req.body.reason, actorOf(req)));
      return reply.code(204).send(null);
    },
  });

  // --- keys (avainpalvelu) -------------------------------------------------------------

  r.get('/v1/access/sites/:siteId/keys', {
    schema: { tags: TAG, summary: 'Key inventory with loans', params: siteParams, response: { 200: z.object({ items: z.array(keySchema) }), ...COMMON } },
    config: { scopes: ['staff', 'device-admin'] },
    handler: async (req) => ({ items: [...site(req.params.siteId).keys.keys()].map((k) => keyDto(req.params.siteId, k)) }),
  });

  r.post('/v1/access/sites/:siteId/keys', {
    schema: {
      tags: TAG,
      summary: 'Add a key to the inventory',
      params: siteParams,
      body: z.object({ keyId: id.optional(), label: z.string().trim().min(1).max(200), doorIds: z.array(id).min(1).max(100), cabinetId: id.optional() }).strict(),
      response: { 201: keySchema, ...COMMON },
    },
    config: { scopes: ['staff', 'device-admin'], command: true },
    handler: async (req, reply) => {
      const { keyId } = unwrap(await access.registerKey(req.params.siteId, req.body, actorOf(req)));
      return reply.code(201).send(keyDto(req.params.siteId, keyId));
    },
  });

  r.post('/v1/access/sites/:siteId/keys/:keyId/lend', {
    schema: {
      tags: TAG,
      summary: 'Lend a key against a reservation, a series or a staff member',
      description: 'Without `dueAt` the key is due at the end of the booking’s current or next window (its end plus the grace period). A key not back by then raises a `key_overdue` alert.',
      params: keyParams,
      body: z.object({ reservationId: id.optional(), seriesId: id.optional(), staffId: id.optional(), dueAt: timeInput.optional() }).strict(),
      response: { 200: keySchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      const b = req.body;
      unwrap(
        await access.lendKey(
          req.params.siteId,
          req.params.keyId,
          {
            ...(b.reservationId === undefined ? {} : { reservationId: b.reservationId }),
            ...(b.seriesId === undefined ? {} : { seriesId: b.seriesId }),
            ...(b.staffId === undefined ? {} : { staffId: b.staffId }),
            ...(b.dueAt === undefined ? {} : { dueAt: instantOf(b.dueAt, 'dueAt') }),
          },
          actorOf(req),
        ),
      );
      return keyDto(req.params.siteId, req.params.keyId);
    },
  });

  r.post('/v1/access/sites/:siteId/keys/:keyId/return', {
    schema: { tags: TAG, summary: 'Record a key returned at the desk', params: keyParams, response: { 200: keySchema, ...COMMON } },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      unwrap(await access.returnKey(req.params.siteId, req.params.keyId, actorOf(req)));
      return keyDto(req.params.siteId, req.params.keyId);
    },
  });

  r.post('/v1/access/sites/:siteId/keys/:keyId/lost', {
    schema: {
      tags: TAG,
      summary: 'Mark a key lost (and re-key its doors with a replacement)',
      params: keyParams,
      body: z.object({ reason, replacement: z.object({ keyId: id, label: z.string().trim().min(1).max(200) }).strict().optional() }).strict(),
      response: { 200: keySchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      unwrap(await access.markKeyLost(req.params.siteId, req.params.keyId, req.body, actorOf(req)));
      return keyDto(req.params.siteId, req.params.keyId);
    },
  });

  // --- audit and status ----------------------------------------------------------------

  r.get('/v1/access/sites/:siteId/log', {
    schema: {
      tags: TAG,
      summary: 'The access log: decisions, door events, states, connectivity, alerts, occupancy',
      params: siteParams,
      querystring: z.object({ fromVersion: z.coerce.number().int().min(1).default(1), limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
      response: {
        200: z.object({
          items: z.array(z.object({ version: z.number().int(), position: z.number().int(), type: z.string(), data: z.record(z.string(), z.unknown()), recordedAt: z.string() })),
          nextFromVersion: z.number().int().nullable(),
        }),
        ...COMMON,
      },
    },
    config: { scopes: ['staff', 'device-admin'] },
    handler: async (req) => {
      const events = await access.accessLog(req.params.siteId, { fromVersion: req.query.fromVersion, limit: req.query.limit });
      const last = events.at(-1);
      return {
        items: events.map((e) => ({ version: e.version, position: e.position, type: e.type, data: e.data as Record<string, unknown>, recordedAt: e.metadata.recordedAt })),
        nextFromVersion: events.length === req.query.limit && last !== undefined ? last.version + 1 : null,
      };
    },
  });

  r.get('/v1/access/status', {
    schema: {
      tags: TAG,
      summary: 'Access control at a glance',
      response: {
        200: z.object({
          sites: z.number().int(),
          doors: z.number().int(),
          devices: z.number().int(),
          devicesOnline: z.number().int(),
          decisions: z.record(z.string(), z.number()),
          rejectedInput: z.record(z.string(), z.number()),
          log: z.record(z.string(), z.number()),
          credentialSync: z.record(z.string(), z.number()).nullable(),
        }),
        ...COMMON,
      },
    },
    config: { scopes: ['device-admin', 'staff'] },
    handler: async () => {
      let doors = 0;
      let devices = 0;
      let online = 0;
      for (const siteId of access.siteIds()) {
        const s = access.state(siteId);
        if (s === undefined) continue;
        doors += [...s.doors.values()].filter((d) => !d.removed).length;
        for (const d of s.devices.values()) {
          if (d.decommissioned) continue;
          devices++;
          if (access.deviceStatus(d.deviceId)?.online === true) online++;
        }
      }
      return {
        sites: access.siteIds().length,
        doors,
        devices,
        devicesOnline: online,
        decisions: { ...access.authorizer.stats },
        rejectedInput: Object.fromEntries(access.stats.rejected),
        log: { ...access.eventLog.stats, pending: access.eventLog.pending },
        credentialSync: access.sync === undefined ? null : { ...access.sync.stats, appliedPosition: access.sync.appliedPosition },
      };
    },
  });
}
