/**
 * The offline allow-list of one door, and the signed door command. Both are
 * JWS payloads (crypto/jws.ts) published to the lock: the allow-list
 * retained on `doors/{door}/allowlist`, commands on `doors/{door}/cmd`.
 * Times are epoch milliseconds (integers a microcontroller compares without a
 * date library).
 *
 * Allow-list:
 *
 *   { "v": 1, "siteId", "doorId",
 *     "version": 42,                 // per door, strictly increasing (recorded in the event store)
 *     "issuedAt": ms, "expiresAt": ms, // a lock refuses a list past expiresAt, and then decides "deny"
 *     "kdf": { "alg": "pbkdf2-sha256", "iterations": 20000, "salt": "<b64url>" },
 *     "doorSalt": "<b64url>",          // fresh per version
 *     "emergency": { "since": ms, "until": ms | null } | null,
 *     "entries": [ { "id": "<credential id>", "m": "pin" | "card", "h": "<b64url 16 bytes>", "w": [[start, end], ...] } ] }
 *
 * A lock grants a presented code when HMAC-SHA256(doorSalt, KDF(method:code))
 * truncated to 16 bytes equals an entry's `h` and `start <= now < end` for one
 * of its windows (lock/lock.ts does exactly this).
 */
import { idSchema } from '@vuoro/engine';
import { z } from 'zod';
import { CREDENTIAL_METHODS, DOOR_ACTIONS, kdfSchema } from '../events.js';

const ms = z.number().int().min(0);

export const allowListEntrySchema = z
  .object({
    id: idSchema,
    m: z.enum(CREDENTIAL_METHODS),
    h: z.string().min(16).max(64),
    w: z.array(z.tuple([ms, ms])).min(1),
  })
  .strict();
export type AllowListEntry = z.infer<typeof allowListEntrySchema>;

export const allowListSchema = z
  .object({
    v: z.literal(1),
    siteId: idSchema,
    doorId: idSchema,
    version: z.number().int().min(1),
    issuedAt: ms,
    expiresAt: ms,
    kdf: kdfSchema,
    doorSalt: z.string().min(16),
    emergency: z.object({ since: ms, until: ms.nullable() }).strict().nullable(),
    entries: z.array(allowListEntrySchema),
  })
  .strict();
export type AllowList = z.infer<typeof allowListSchema>;

export const doorCommandSchema = z
  .object({
    v: z.literal(1),
    commandId: idSchema,
    siteId: idSchema,
    doorId: idSchema,
    action: z.enum(DOOR_ACTIONS),
    durationSeconds: z.number().int().min(1).optional(),
    emergency: z.boolean(),
    issuedAt: ms,
    expiresAt: ms,
  })
  .strict();
export type DoorCommand = z.infer<typeof doorCommandSchema>;
