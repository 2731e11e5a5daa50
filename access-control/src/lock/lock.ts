/**
 * The lock side: what a door's controller does with what the server sends.
 * Small and dependency-free apart from node:crypto, so it reads as the
 * reference for lock firmware; the device simulator and the tests run it.
 *
 * - Allow-lists are accepted only when the signature verifies with a pinned
 *   key, the list names this door, its version is newer than the one held
 *   (the same version again is fine if it is the same document: a retained
 *   redelivery), it is not issued in the future beyond the allowed clock skew,
 *   and it has not expired. Anything else is refused and the old list stays.
 * - Offline decisions: KDF of what was typed, HMAC with the list's door salt,
 *   compare with the entries, check the window. No list, or an expired one:
 *   deny (fail secure). Keypad lockout applies here too.
 * - Door commands: signature, this door, not expired, not issued in the
 *   future, not seen before (ids are remembered until they expire, which
 *   bounds the memory: a command lives at most MAX_COMMAND_LIFETIME_MS).
 *
 * Time is an input (`clock`), corrected by the server's time when the lock
 * hears it (`noteServerTime`).
 */
import { createHash } from 'node:crypto';
import { doorHash, offlineDigest } from '../crypto/codes.js';
import { ALLOWLIST_TYP, DOOR_COMMAND_TYP, TrustedKeys, type FlattenedJws, type PublicJwk } from '../crypto/jws.js';
import type { CredentialMethod, DecisionReason } from '../events.js';
import { DEFAULT_LOCKOUT, LockoutTracker, type LockoutPolicy } from '../decisions/lockout.js';
import { allowListSchema, doorCommandSchema, type AllowList, type DoorCommand } from '../allowlist/document.js';

/** A command may be deliverable for at most this long; longer-lived ones are refused. */
export const MAX_COMMAND_LIFETIME_MS = 5 * 60_000;

export type AllowListRejection =
  | 'not_json'
  | 'malformed'
  | 'unknown_key'
  | 'wrong_type'
  | 'bad_signature'
  | 'wrong_door'
  | 'stale_version'
  | 'expired'
  | 'issued_in_future';

export type CommandRejection =
  | 'not_json'
  | 'malformed'
  | 'unknown_key'
  | 'wrong_type'
  | 'bad_signature'
  | 'wrong_door'
  | 'expired'
  | 'issued_in_future'
  | 'too_long_lived'
  | 'replayed';

export interface LockOptions {
  siteId: string;
  doorId: string;
  /** Public keys pinned at provisioning. */
  trustedKeys: readonly PublicJwk[];
  clock?: () => number;
  maxSkewMs?: number;
  lockout?: LockoutPolicy;
}

export interface OfflineDecision {
  granted: boolean;
  reason: DecisionReason;
  credentialId?: string;
  until?: number;
  at: number;
}

const decode = (message: Buffer | string | unknown): { ok: true; value: unknown } | { ok: false } => {
  if (typeof message !== 'string' && !Buffer.isBuffer(message)) return { ok: true, value: message };
  try {
    return { ok: true, value: JSON.parse(message.toString()) as unknown };
  } catch {
    return { ok: false };
  }
};

export class LockController {
  readonly siteId: string;
  readonly doorId: string;
  private readonly keys: TrustedKeys;
  private readonly clock: () => number;
  private readonly maxSkewMs: number;
  private readonly lockouts: LockoutTracker;
  private list: AllowList | undefined;
  private listDigest: string | undefined;
  private readonly seenCommands = new Map<string, number>();
  private clockOffsetMs = 0;
  private unlockedUntil = 0;
  /** Offline decisions not yet reported to the server. */
  private readonly pending: OfflineDecision[] = [];

  constructor(options: LockOptions) {
    this.siteId = options.siteId;
    this.doorId = options.doorId;
    this.keys = new TrustedKeys(options.trustedKeys);
    this.clock = options.clock ?? Date.now;
    this.maxSkewMs = options.maxSkewMs ?? 60_000;
    this.lockouts = new LockoutTracker(options.lockout ?? DEFAULT_LOCKOUT);
  }

  now(): number {
    return this.clock() + this.clockOffsetMs;
  }

  /** The server's clock, from an auth response: the lock trusts it over its own drift. */
  noteServerTime(serverTime: string | number): void {
    const server = typeof serverTime === 'number' ? serverTime : Date.parse(serverTime);
    if (Number.isFinite(server) && Math.abs(server - this.now()) > 1000) this.clockOffsetMs = server - this.clock();
  }

  get allowList(): AllowList | undefined {
    return this.list;
  }

  get allowListVersion(): number {
    return this.list?.version ?? 0;
  }

  acceptAllowList(message: Buffer | string | FlattenedJws): { ok: true; version: number } | { ok: false; reason: AllowListRejection } {
    const raw = decode(message);
    if (!raw.ok) return { ok: false, reason: 'not_json' };
    const verified = this.keys.verify(raw.value, ALLOWLIST_TYP);
    if (!verified.ok) return { ok: false, reason: verified.reason };
    const parsed = allowListSchema.safeParse(verified.payload);
    if (!parsed.success) return { ok: false, reason: 'malformed' };
    const list = parsed.data;
    const now = this.now();
    if (list.siteId !== this.siteId || list.doorId !== this.doorId) return { ok: false, reason: 'wrong_door' };
    if (list.issuedAt > now + this.maxSkewMs) return { ok: false, reason: 'issued_in_future' };
    if (list.expiresAt <= now) return { ok: false, reason: 'expired' };
    const digest = createHash('sha256').update((raw.value as FlattenedJws).payload).digest('base64url');
    if (this.list !== undefined) {
      if (list.version < this.list.version) return { ok: false, reason: 'stale_version' };
      if (list.version === this.list.version) {
        return digest === this.listDigest ? { ok: true, version: list.version } : { ok: false, reason: 'stale_version' };
      }
    }
    this.list = list;
    this.listDigest = digest;
    return { ok: true, version: list.version };
  }

  private emergencyActive(now: number): { until: number | null } | undefined {
    const e = this.list?.emergency;
    if (e === null || e === undefined) return undefined;
    return now >= e.since && (e.until === null || now < e.until) ? { until: e.until } : undefined;
  }

  /** Decides from the allow-list alone (the server is unreachable). */
  async decideOffline(method: CredentialMethod, secret: string): Promise<OfflineDecision> {
    const now = this.now();
    const decision = await this.decide(method, secret, now);
    this.pending.push(decision);
    return decision;
  }

  private async decide(method: CredentialMethod, secret: string, now: number): Promise<OfflineDecision> {
    const list = this.list;
    if (list === undefined) return { granted: false, reason: 'no_allowlist', at: now };
    if (now >= list.expiresAt) return { granted: false, reason: 'allowlist_expired', at: now };
    const emergency = this.emergencyActive(now);
    if (emergency) return { granted: true, reason: 'emergency_open', at: now, ...(emergency.until === null ? {} : { until: emergency.until }) };
    if (method === 'pin' && this.lockouts.lockedUntil('keypad', now) !== undefined) return { granted: false, reason: 'locked_out', at: now };
    const h = doorHash(list.doorSalt, await offlineDigest(list.kdf, method, secret));
    let reason: DecisionReason = 'unknown_credential';
    let credentialId: string | undefined;
    for (const entry of list.entries) {
      if (entry.h !== h || entry.m !== method) continue;
      const w = entry.w.find(([s, e]) => s <= now && now < e);
      if (w !== undefined) {
        this.lockouts.recordSuccess('keypad');
        return { granted: true, reason: 'granted', credentialId: entry.id, until: w[1], at: now };
      }
      reason = entry.w.some(([s]) => s > now) ? 'not_yet_valid' : 'expired';
      credentialId = entry.id;
    }
    if (method === 'pin' && reason === 'unknown_credential') this.lockouts.recordFailure('keypad', now);
    return { granted: false, reason, at: now, ...(credentialId === undefined ? {} : { credentialId }) };
  }

  /** Offline decisions to report once the server is back (and forgets them). */
  drainOfflineDecisions(): OfflineDecision[] {
    return this.pending.splice(0, this.pending.length);
  }

  acceptCommand(message: Buffer | string | FlattenedJws): { ok: true; command: DoorCommand } | { ok: false; reason: CommandRejection; commandId?: string } {
    const raw = decode(message);
    if (!raw.ok) return { ok: false, reason: 'not_json' };
    const verified = this.keys.verify(raw.value, DOOR_COMMAND_TYP);
    if (!verified.ok) return { ok: false, reason: verified.reason };
    const parsed = doorCommandSchema.safeParse(verified.payload);
    if (!parsed.success) return { ok: false, reason: 'malformed' };
    const cmd = parsed.data;
    const now = this.now();
    const id = { commandId: cmd.commandId };
    if (cmd.siteId !== this.siteId || cmd.doorId !== this.doorId) return { ok: false, reason: 'wrong_door', ...id };
    if (cmd.expiresAt - cmd.issuedAt > MAX_COMMAND_LIFETIME_MS) return { ok: false, reason: 'too_long_lived', ...id };
    if (cmd.issuedAt > now + this.maxSkewMs) return { ok: false, reason: 'issued_in_future', ...id };
    if (now >= cmd.expiresAt) return { ok: false, reason: 'expired', ...id };
    this.forgetExpiredCommands(now);
    if (this.seenCommands.has(cmd.commandId)) return { ok: false, reason: 'replayed', ...id };
    this.seenCommands.set(cmd.commandId, cmd.expiresAt);
    switch (cmd.action) {
      case 'unlock':
        this.unlockedUntil = now + (cmd.durationSeconds ?? 5) * 1000;
        break;
      case 'open':
        this.unlockedUntil = now + 5000;
        break;
      case 'lock':
        this.unlockedUntil = 0;
        break;
    }
    return { ok: true, command: cmd };
  }

  private forgetExpiredCommands(now: number): void {
    for (const [id, expiresAt] of this.seenCommands) if (now >= expiresAt + this.maxSkewMs) this.seenCommands.delete(id);
  }

  /** The bolt: unlocked by a command or an emergency open, else locked. */
  lockState(): 'LOCKED' | 'UNLOCKED' {
    const now = this.now();
    return now < this.unlockedUntil || this.emergencyActive(now) !== undefined ? 'UNLOCKED' : 'LOCKED';
  }
}
