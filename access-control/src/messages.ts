/**
 * Payloads on the MQTT topic tree (see topics.ts): JSON, validated with these
 * schemas at the edge. Devices are firmware written by others, so unknown
 * fields are ignored rather than refused; wrong types, missing fields,
 * out-of-range values and oversized payloads are refused with a reason.
 *
 * Device times are optional: the server's clock decides. When a device sends
 * one, it is checked against the server's clock (clock skew).
 */
import { idSchema } from '@vuoro/engine';
import { z } from 'zod';
import { CREDENTIAL_METHODS, DECISION_REASONS, DOOR_EVENT_KINDS, DOOR_STATES } from './events.js';
import { REQUEST_ID_PATTERN } from './topics.js';

/** Biggest payload a device may send (the broker refuses bigger packets before they are read in full). */
export const MAX_DEVICE_PAYLOAD_BYTES = 4096;

/** ISO 8601 with offset, or epoch milliseconds. */
export const deviceTimeSchema = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().min(946_684_800_000).max(32_503_680_000_000),
]);
export const deviceTimeToMs = (t: string | number): number => (typeof t === 'number' ? t : Date.parse(t));

export const PIN_PATTERN = /^[0-9]{4,12}$/;
/** A card's UID as the reader gives it, in hex (4, 7 or 10 bytes on ISO 14443 cards). */
export const CARD_PATTERN = /^[0-9A-Fa-f]{8,32}$/;

export const authRequestSchema = z
  .object({
    requestId: z.string().regex(REQUEST_ID_PATTERN, 'requestId is 6-64 letters, digits, "_" or "-"'),
    method: z.enum(CREDENTIAL_METHODS),
    pin: z.string().regex(PIN_PATTERN, 'a PIN is 4-12 digits').optional(),
    card: z.string().regex(CARD_PATTERN, 'a card UID is 8-32 hex digits').optional(),
    at: deviceTimeSchema.optional(),
  })
  .refine((r) => (r.method === 'pin' ? r.pin !== undefined && r.card === undefined : r.card !== undefined && r.pin === undefined), {
    message: 'send exactly the credential the method names: method "pin" with pin, method "card" with card',
  });
export type AuthRequest = z.infer<typeof authRequestSchema>;

/** Cards are matched case-insensitively: readers differ in how they print hex. */
export const credentialSecretOf = (r: { method: 'pin' | 'card'; pin?: string | undefined; card?: string | undefined }): string =>
  r.method === 'pin' ? (r.pin ?? '') : (r.card ?? '').toUpperCase();

export const authResponseSchema = z.object({
  requestId: z.string(),
  granted: z.boolean(),
  reason: z.enum(DECISION_REASONS),
  /** Until when the door may stay unlocked for this grant (the end of the credential's window). */
  until: z.iso.datetime({ offset: true }).optional(),
  credentialId: idSchema.optional(),
  /** The server's clock, so a lock can correct its own. */
  serverTime: z.iso.datetime({ offset: true }),
});
export type AuthResponse = z.infer<typeof authResponseSchema>;

export const doorEventMessageSchema = z.object({
  type: z.enum(DOOR_EVENT_KINDS),
  at: deviceTimeSchema.optional(),
  requestId: z.string().max(64).optional(),
  commandId: z.string().max(80).optional(),
  credentialId: idSchema.optional(),
  method: z.enum(CREDENTIAL_METHODS).optional(),
  /** true when the lock decided from its allow-list (granted/denied while the server was unreachable). */
  offline: z.boolean().optional(),
  reason: z.string().max(200).optional(),
  version: z.number().int().min(0).optional(),
});
export type DoorEventMessage = z.infer<typeof doorEventMessageSchema>;

export const doorStateMessageSchema = z.object({
  state: z.enum(DOOR_STATES),
  online: z.boolean(),
  at: deviceTimeSchema.optional(),
  allowListVersion: z.number().int().min(0).optional(),
});
export type DoorStateMessage = z.infer<typeof doorStateMessageSchema>;

export const deviceStatusMessageSchema = z.object({ online: z.boolean(), at: deviceTimeSchema.optional() });

/**
 * Occupancy as sensors send it. Besides our own shape (`occupied`,
 * `peopleCount`), the zigbee2mqtt names are accepted as they are:
 * `{"occupancy":true}` (PIR), `{"presence":true}` (mmWave),
 * `{"people_count":3}` (people counters), with `last_seen` or `timestamp`.
 */
export const occupancyMessageSchema = z
  .object({
    occupied: z.boolean().optional(),
    occupancy: z.boolean().optional(),
    presence: z.boolean().optional(),
    peopleCount: z.number().int().min(0).max(100_000).optional(),
    people_count: z.number().int().min(0).max(100_000).optional(),
    at: deviceTimeSchema.optional(),
    timestamp: deviceTimeSchema.optional(),
    last_seen: deviceTimeSchema.optional(),
    /** The sensor, when a bridge (Node-RED, zigbee2mqtt) publishes for several. */
    sensorId: idSchema.optional(),
  })
  .refine(
    (m) =>
      m.occupied !== undefined ||
      m.occupancy !== undefined ||
      m.presence !== undefined ||
      m.peopleCount !== undefined ||
      m.people_count !== undefined,
    { message: 'say whether the space is occupied (occupied, occupancy or presence) or how many people are in it (peopleCount or people_count)' },
  );

export interface OccupancyReading {
  occupied: boolean;
  peopleCount: number | undefined;
  at: number | undefined;
  sensorId: string | undefined;
}

/** Normalises a parsed occupancy message: a count above zero means occupied. */
export function readingOf(m: z.infer<typeof occupancyMessageSchema>): OccupancyReading {
  const peopleCount = m.peopleCount ?? m.people_count;
  const flag = m.occupied ?? m.occupancy ?? m.presence;
  const occupied = flag ?? (peopleCount !== undefined && peopleCount > 0);
  const time = m.at ?? m.timestamp ?? m.last_seen;
  return {
    occupied: occupied || (peopleCount !== undefined && peopleCount > 0),
    peopleCount,
    at: time === undefined ? undefined : deviceTimeToMs(time),
    sensorId: m.sensorId,
  };
}

export const keyCabinetMessageSchema = z
  .object({
    type: z.enum(['key_taken', 'key_returned']),
    keyId: idSchema,
    at: deviceTimeSchema.optional(),
    /** The credential presented at the cabinet, if it authenticates users itself. */
    credential: z
      .object({
        method: z.enum(CREDENTIAL_METHODS),
        pin: z.string().regex(PIN_PATTERN).optional(),
        card: z.string().regex(CARD_PATTERN).optional(),
      })
      .optional(),
    /** Or the credential id an allow-list entry named. */
    credentialId: idSchema.optional(),
  });
export type KeyCabinetMessage = z.infer<typeof keyCabinetMessageSchema>;

/** Why an incoming MQTT message was refused (logged and counted; the broker keeps serving). */
export type InputRejection =
  | 'not_json'
  | 'too_large'
  | 'invalid_payload'
  | 'unknown_topic'
  | 'unknown_site'
  | 'unknown_door'
  | 'unknown_space'
  | 'unknown_key'
  | 'clock_skew'
  | 'replayed';

/** Parses a device payload: size first (cheap), then JSON, then the schema. */
export function parseDevicePayload<T>(
  schema: z.ZodType<T>,
  payload: Buffer | Uint8Array | string,
  maxBytes = MAX_DEVICE_PAYLOAD_BYTES,
): { ok: true; value: T } | { ok: false; reason: InputRejection; detail: string } {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return { ok: false, reason: 'too_large', detail: `${size} bytes, at most ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json', detail: 'the payload is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { ok: false, reason: 'invalid_payload', detail };
  }
  return { ok: true, value: parsed.data };
}
