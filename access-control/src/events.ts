/**
 * Events of access control. Two streams per site:
 *
 * - `access-<siteId>`: the state of the site's access control, decided by the
 *   access decider (`site/`): doors, devices, credentials, allow-list
 *   versions, staff door commands, emergency open, keys and loans. Every
 *   change is an event; nothing is updated in place.
 * - `access-log-<siteId>`: what the doors and sensors reported and what the
 *   gateway decided on line: every auth decision, door event, door state,
 *   device connectivity change, lockout and alert, and the occupied intervals
 *   of spaces. High volume, append-only, written in batches (`runtime/log.ts`).
 *
 * Other packages (projections: utilization, SLA) read these through the
 * global feed and validate with these schemas, so a published shape stays as
 * it is; a new field is optional, and a changed meaning is a new event type.
 * Instants are ISO 8601 UTC strings, as in the engine's log.
 */
import { idSchema } from '@vuoro/engine';
import { z } from 'zod';

const instant = z.iso.datetime({ offset: true });
const by = z.string().min(1);
const reason = z.string().max(1000);

export const DEVICE_KINDS = ['lock', 'key_cabinet', 'occupancy_sensor'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const CREDENTIAL_METHODS = ['pin', 'card'] as const;
export type CredentialMethod = (typeof CREDENTIAL_METHODS)[number];

export const STAFF_ROLES = ['staff', 'janitor', 'cleaner', 'contractor'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Who a credential is for. A series gets one credential for all its occurrences. */
export const holderSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reservation'), reservationId: idSchema, customerId: idSchema }).strict(),
  z.object({ type: z.literal('series'), seriesId: idSchema, customerId: idSchema }).strict(),
  z
    .object({ type: z.literal('staff'), staffId: idSchema, role: z.enum(STAFF_ROLES), name: z.string().max(200).optional() })
    .strict(),
]);
export type Holder = z.infer<typeof holderSchema>;

/** `res:<id>`, `ser:<id>`, `stf:<id>`: at most one live credential per holder. */
export const holderKey = (h: Holder): string =>
  h.type === 'reservation' ? `res:${h.reservationId}` : h.type === 'series' ? `ser:${h.seriesId}` : `stf:${h.staffId}`;

/** A half-open validity window [start, end). */
export const windowSchema = z.object({ start: instant, end: instant }).strict();
export type WindowDto = z.infer<typeof windowSchema>;

export const KDF_ALGORITHMS = ['pbkdf2-sha256', 'scrypt'] as const;
/**
 * How a lock turns a presented PIN or card into the digest its allow-list is
 * keyed by. PBKDF2 needs no memory beyond a SHA-256 state, so a lock's
 * microcontroller can run it; scrypt is there for locks with RAM to spare.
 */
export const kdfSchema = z.discriminatedUnion('alg', [
  z.object({ alg: z.literal('pbkdf2-sha256'), iterations: z.number().int().min(1).max(10_000_000), salt: z.string().min(16) }).strict(),
  z
    .object({
      alg: z.literal('scrypt'),
      N: z.number().int().min(2).max(2 ** 20),
      r: z.number().int().min(1).max(32),
      p: z.number().int().min(1).max(16),
      salt: z.string().min(16),
    })
    .strict(),
]);
export type Kdf = z.infer<typeof kdfSchema>;

export const DOOR_ACTIONS = ['unlock', 'lock', 'open'] as const;
export type DoorAction = (typeof DOOR_ACTIONS)[number];

export const DOOR_STATES = ['LOCKED', 'UNLOCKED', 'OPEN', 'JAMMED', 'UNKNOWN'] as const;
export type DoorState = (typeof DOOR_STATES)[number];

/** What a lock reports on its events topic. */
export const DOOR_EVENT_KINDS = [
  'opened',
  'closed',
  'forced',
  'held_open',
  'granted',
  'denied',
  'command_done',
  'command_rejected',
  'allowlist_applied',
  'allowlist_rejected',
] as const;
export type DoorEventKind = (typeof DOOR_EVENT_KINDS)[number];

/** Why an access decision came out as it did (online by the gateway, offline by the lock). */
export const DECISION_REASONS = [
  'granted',
  'emergency_open',
  'unknown_credential',
  'not_yet_valid',
  'expired',
  'revoked',
  'locked_out',
  'unknown_door',
  'invalid_request',
  'clock_skew',
  'replayed_request',
  'allowlist_expired',
  'no_allowlist',
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

export const ALERT_KINDS = [
  'pin_lockout',
  'door_forced',
  'door_held_open',
  'key_overdue',
  'key_lost',
  'device_offline',
  'command_rejected',
  'allowlist_rejected',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

const doorBase = { siteId: idSchema, doorId: idSchema };

export const ACCESS_EVENT_SCHEMAS = {
  // --- access-<siteId>: state ------------------------------------------------
  AccessSiteInitialized: z.object({ siteId: idSchema, kdf: kdfSchema, by }),
  DoorRegistered: z.object({ ...doorBase, spaceId: idSchema, name: z.string().min(1).max(200), by }),
  DoorRemoved: z.object({ ...doorBase, reason, by }),
  DeviceProvisioned: z.object({
    siteId: idSchema,
    deviceId: idSchema,
    kind: z.enum(DEVICE_KINDS),
    /** A lock's door. */
    doorId: idSchema.optional(),
    /** An occupancy sensor's space. */
    spaceId: idSchema.optional(),
    /** A key cabinet's id in the topic tree (`keys/{cabinetId}`). */
    cabinetId: idSchema.optional(),
    name: z.string().min(1).max(200),
    /** HMAC-SHA256 of the device secret under the server pepper; the secret itself is shown once and never stored. */
    secretDigest: z.string().min(16),
    by,
  }),
  DeviceSecretRotated: z.object({ siteId: idSchema, deviceId: idSchema, secretDigest: z.string().min(16), by }),
  DeviceDecommissioned: z.object({ siteId: idSchema, deviceId: idSchema, reason, by }),
  CredentialIssued: z.object({
    siteId: idSchema,
    credentialId: idSchema,
    method: z.enum(CREDENTIAL_METHODS),
    holder: holderSchema,
    /** HMAC-SHA256 of `method:secret` under the server pepper: the on-line index key. */
    secretDigest: z.string().min(16),
    /** The site KDF of `method:secret`: allow-list entries are derived from it per door. */
    offlineDigest: z.string().min(16),
    doorIds: z.array(idSchema),
    /** Every door of the site, including doors registered later (janitors). */
    allDoors: z.boolean(),
    windows: z.array(windowSchema),
    reason,
    by,
  }),
  CredentialChanged: z.object({
    siteId: idSchema,
    credentialId: idSchema,
    doorIds: z.array(idSchema),
    windows: z.array(windowSchema),
    reason,
    by,
  }),
  CredentialCodeRotated: z.object({
    siteId: idSchema,
    credentialId: idSchema,
    secretDigest: z.string().min(16),
    offlineDigest: z.string().min(16),
    reason,
    by,
  }),
  CredentialRevoked: z.object({ siteId: idSchema, credentialId: idSchema, reason, by }),
  /** The code was handed to the customer's message outbox (or shown once to staff). */
  AccessCodeHandedOver: z.object({
    siteId: idSchema,
    credentialId: idSchema,
    messageId: z.string().min(1),
    channel: z.enum(['outbox', 'api']),
    by,
  }),
  AllowListPublished: z.object({
    ...doorBase,
    version: z.number().int().min(1),
    issuedAt: instant,
    expiresAt: instant,
    entries: z.number().int().min(0),
    /** SHA-256 of the signed document as published, base64url. */
    sha256: z.string(),
    by,
  }),
  DoorCommandIssued: z.object({
    ...doorBase,
    commandId: idSchema,
    action: z.enum(DOOR_ACTIONS),
    durationSeconds: z.number().int().min(1).optional(),
    issuedAt: instant,
    expiresAt: instant,
    emergency: z.boolean(),
    reason,
    by,
  }),
  EmergencyOpenStarted: z.object({ siteId: idSchema, since: instant, until: instant.optional(), reason, by }),
  EmergencyOpenEnded: z.object({ siteId: idSchema, at: instant, reason, by }),
  KeyRegistered: z.object({
    siteId: idSchema,
    keyId: idSchema,
    label: z.string().min(1).max(200),
    doorIds: z.array(idSchema),
    cabinetId: idSchema.optional(),
    by,
  }),
  KeyLent: z.object({ siteId: idSchema, keyId: idSchema, loanId: idSchema, holder: holderSchema, dueAt: instant, by }),
  KeyTaken: z.object({
    siteId: idSchema,
    keyId: idSchema,
    loanId: idSchema.optional(),
    cabinetId: idSchema.optional(),
    credentialId: idSchema.optional(),
    at: instant,
    by,
  }),
  KeyReturned: z.object({
    siteId: idSchema,
    keyId: idSchema,
    loanId: idSchema.optional(),
    cabinetId: idSchema.optional(),
    credentialId: idSchema.optional(),
    at: instant,
    by,
  }),
  KeyOverdue: z.object({ siteId: idSchema, keyId: idSchema, loanId: idSchema, dueAt: instant, detectedAt: instant }),
  KeyMarkedLost: z.object({ siteId: idSchema, keyId: idSchema, reason, by }),
  DoorsRekeyed: z.object({
    siteId: idSchema,
    doorIds: z.array(idSchema),
    retiredKeyIds: z.array(idSchema),
    newKeyId: idSchema,
    by,
  }),

  // --- access-log-<siteId>: what happened at the doors -------------------------
  AccessDecided: z.object({
    ...doorBase,
    requestId: z.string().min(1).max(64),
    method: z.enum(CREDENTIAL_METHODS),
    granted: z.boolean(),
    reason: z.enum(DECISION_REASONS),
    credentialId: idSchema.optional(),
    until: instant.optional(),
    /** online: decided by the gateway; offline: decided by the lock from its allow-list and reported later. */
    mode: z.enum(['online', 'offline']),
    at: instant,
  }),
  DoorEventReported: z.object({
    ...doorBase,
    event: z.enum(DOOR_EVENT_KINDS),
    /** When the lock says it happened. */
    at: instant,
    receivedAt: instant,
    requestId: z.string().max(64).optional(),
    commandId: z.string().max(80).optional(),
    credentialId: idSchema.optional(),
    reason: z.string().max(200).optional(),
  }),
  DoorStateReported: z.object({ ...doorBase, state: z.enum(DOOR_STATES), online: z.boolean(), at: instant }),
  DeviceConnectivityChanged: z.object({
    siteId: idSchema,
    deviceId: idSchema,
    online: z.boolean(),
    at: instant,
    reason: z.string().max(200),
  }),
  DoorLockedOut: z.object({ ...doorBase, failures: z.number().int().min(1), from: instant, until: instant }),
  AccessAlertRaised: z.object({
    siteId: idSchema,
    alert: z.enum(ALERT_KINDS),
    doorId: idSchema.optional(),
    deviceId: idSchema.optional(),
    keyId: idSchema.optional(),
    at: instant,
    message: z.string().max(1000),
  }),
  /** A space became occupied (debounced); the interval is recorded when it ends. */
  SpaceOccupancyStarted: z.object({ siteId: idSchema, spaceId: idSchema, start: instant, sensorIds: z.array(idSchema) }),
  /** One occupied interval of a space, debounced from sensor readings: the input of the utilization projections. */
  SpaceOccupancyRecorded: z.object({
    siteId: idSchema,
    spaceId: idSchema,
    start: instant,
    end: instant,
    peakPeopleCount: z.number().int().min(0).optional(),
    sensorIds: z.array(idSchema),
  }),
} as const;

type Schemas = typeof ACCESS_EVENT_SCHEMAS;
export type AccessEventType = keyof Schemas;
export type AccessEvent = { [K in AccessEventType]: { type: K; data: z.infer<Schemas[K]> } }[AccessEventType];
export type AccessEventOf<K extends AccessEventType> = Extract<AccessEvent, { type: K }>;
export type AccessEventData<K extends AccessEventType> = z.infer<Schemas[K]>;

/** Event types of the `access-log-<siteId>` streams. */
export const LOG_EVENT_TYPES = [
  'AccessDecided',
  'DoorEventReported',
  'DoorStateReported',
  'DeviceConnectivityChanged',
  'DoorLockedOut',
  'AccessAlertRaised',
  'SpaceOccupancyStarted',
  'SpaceOccupancyRecorded',
] as const satisfies readonly AccessEventType[];
export type LogEventType = (typeof LOG_EVENT_TYPES)[number];
export type LogEvent = AccessEventOf<LogEventType>;
export type StateEvent = Exclude<AccessEvent, LogEvent>;

const LOG_TYPES: ReadonlySet<string> = new Set(LOG_EVENT_TYPES);
export const isLogEventType = (t: string): t is LogEventType => LOG_TYPES.has(t);
export const isAccessEventType = (t: string): t is AccessEventType => Object.hasOwn(ACCESS_EVENT_SCHEMAS, t);
export const isStateEventType = (t: string): boolean => isAccessEventType(t) && !LOG_TYPES.has(t);

export const ACCESS_EVENT_SCHEMA_VERSION = 1;

export const accessStream = (siteId: string): string => `access-${siteId}`;
export const accessLogStream = (siteId: string): string => `access-log-${siteId}`;
/** Lists the sites whose access control has been initialised, so a runtime knows which streams to load. */
export const ACCESS_DIRECTORY_STREAM = 'access-directory';

/** Parses a stored event of access control, or undefined when it is not one (or does not validate). */
export function parseAccessEvent(type: string, data: unknown): AccessEvent | undefined {
  if (!isAccessEventType(type)) return undefined;
  const parsed = ACCESS_EVENT_SCHEMAS[type].safeParse(data);
  return parsed.success ? ({ type, data: parsed.data } as AccessEvent) : undefined;
}
