/**
 * On-line auth decisions: a lock's `auth/req` payload in, the `auth/res`
 * payload and the audit events out. Everything in memory, so a decision takes
 * microseconds: validate, dedupe, check the clock, hash, look up, answer.
 *
 * - A duplicate delivery of the same request id (MQTT QoS 1 redelivery, or a
 *   replay) gets the first answer again and is not decided or audited twice.
 * - A device time further than `maxSkewMs` from the server's is refused
 *   (`clock_skew`): a delayed or replayed request must not open a door nobody
 *   stands at any more. The response carries the server's time so the lock
 *   can correct its clock.
 * - Unknown PINs count towards the door's lockout (lockout.ts).
 *
 * No I/O and no clock of its own: the caller passes `now` and the state.
 */
import { secretDigest } from '../crypto/codes.js';
import type { AccessEventOf, CredentialMethod } from '../events.js';
import {
  authRequestSchema,
  credentialSecretOf,
  deviceTimeToMs,
  parseDevicePayload,
  type AuthResponse,
  type InputRejection,
} from '../messages.js';
import type { AccessState } from '../site/state.js';
import { REQUEST_ID_PATTERN } from '../topics.js';
import { authorize } from './authorize.js';
import { DEFAULT_LOCKOUT, LockoutTracker, type LockoutPolicy } from './lockout.js';

export interface OnlineAuthorizerOptions {
  pepper: Buffer;
  lockout?: LockoutPolicy;
  /** Largest accepted difference between a request's device time and the server's clock. */
  maxSkewMs?: number;
  /** How long answered request ids are remembered (duplicates within it get the same answer). */
  replayMemoryMs?: number;
  /** Bound on remembered request ids. */
  replayMemorySize?: number;
}

export type AuthOutcome =
  | {
      kind: 'decided';
      response: AuthResponse;
      audit: AccessEventOf<'AccessDecided'>;
      lockout?: [AccessEventOf<'DoorLockedOut'>, AccessEventOf<'AccessAlertRaised'>];
    }
  /** A redelivery: publish the same answer again; nothing to record. */
  | { kind: 'duplicate'; response: AuthResponse }
  /** Refused before deciding; `response` is set when the request id could be read, so the lock is not left waiting. */
  | { kind: 'rejected'; reason: InputRejection; detail: string; response?: AuthResponse };

const iso = (ms: number): string => new Date(ms).toISOString();

export class OnlineAuthorizer {
  private readonly lockouts: LockoutTracker;
  private readonly answered = new Map<string, { at: number; response: AuthResponse }>();
  private readonly maxSkewMs: number;
  private readonly replayMemoryMs: number;
  private readonly replayMemorySize: number;
  readonly stats = { decided: 0, granted: 0, denied: 0, duplicates: 0, rejected: 0, lockouts: 0 };

  constructor(private readonly options: OnlineAuthorizerOptions) {
    this.lockouts = new LockoutTracker(options.lockout ?? DEFAULT_LOCKOUT);
    this.maxSkewMs = options.maxSkewMs ?? 60_000;
    this.replayMemoryMs = options.replayMemoryMs ?? 10 * 60_000;
    this.replayMemorySize = options.replayMemorySize ?? 200_000;
  }

  /** `state` is the site's access state, or undefined when the site has no access control. */
  handle(siteId: string, doorId: string, payload: Buffer | string, state: AccessState | undefined, now: number): AuthOutcome {
    const parsed = parseDevicePayload(authRequestSchema, payload);
    if (!parsed.ok) {
      this.stats.rejected++;
      const requestId = salvageRequestId(payload);
      return {
        kind: 'rejected',
        reason: parsed.reason,
        detail: parsed.detail,
        ...(requestId === undefined ? {} : { response: { requestId, granted: false, reason: 'invalid_request', serverTime: iso(now) } }),
      };
    }
    const req = parsed.value;
    const key = `${siteId}/${doorId}/${req.requestId}`;
    const seen = this.answered.get(key);
    if (seen !== undefined && now - seen.at < this.replayMemoryMs) {
      this.stats.duplicates++;
      return { kind: 'duplicate', response: seen.response };
    }

    let result: { granted: boolean; reason: AuthResponse['reason']; credentialId?: string; until?: number };
    let lockout: [AccessEventOf<'DoorLockedOut'>, AccessEventOf<'AccessAlertRaised'>] | undefined;
    const lockKey = `${siteId}/${doorId}`;
    if (req.at !== undefined && Math.abs(deviceTimeToMs(req.at) - now) > this.maxSkewMs) {
      result = { granted: false, reason: 'clock_skew' };
    } else if (state === undefined) {
      result = { granted: false, reason: 'unknown_door' };
    } else if (req.method === 'pin' && this.lockouts.lockedUntil(lockKey, now) !== undefined) {
      result = { granted: false, reason: 'locked_out' };
    } else {
      const digest = secretDigest(this.options.pepper, req.method, credentialSecretOf(req));
      result = authorize(state, doorId, digest, now);
      if (result.granted) this.lockouts.recordSuccess(lockKey);
      else if (req.method === 'pin' && result.reason === 'unknown_credential') {
        const started = this.lockouts.recordFailure(lockKey, now);
        if (started !== undefined) {
          this.stats.lockouts++;
          lockout = lockoutEvents(siteId, doorId, started);
        }
      }
    }

    const response: AuthResponse = {
      requestId: req.requestId,
      granted: result.granted,
      reason: result.reason,
      ...(result.until === undefined ? {} : { until: iso(result.until) }),
      ...(result.credentialId === undefined || !result.granted ? {} : { credentialId: result.credentialId }),
      serverTime: iso(now),
    };
    this.remember(key, now, response);
    this.stats.decided++;
    if (result.granted) this.stats.granted++;
    else this.stats.denied++;
    const audit: AccessEventOf<'AccessDecided'> = {
      type: 'AccessDecided',
      data: {
        siteId,
        doorId,
        requestId: req.requestId,
        method: req.method as CredentialMethod,
        granted: result.granted,
        reason: result.reason,
        ...(result.credentialId === undefined ? {} : { credentialId: result.credentialId }),
        ...(result.until === undefined ? {} : { until: iso(result.until) }),
        mode: 'online',
        at: iso(now),
      },
    };
    return { kind: 'decided', response, audit, ...(lockout === undefined ? {} : { lockout }) };
  }

  lockedUntil(siteId: string, doorId: string, now: number): number | undefined {
    return this.lockouts.lockedUntil(`${siteId}/${doorId}`, now);
  }

  private remember(key: string, now: number, response: AuthResponse): void {
    this.answered.set(key, { at: now, response });
    // Map iteration is insertion order: the oldest entries go first.
    for (const [k, v] of this.answered) {
      if (this.answered.size <= this.replayMemorySize && now - v.at < this.replayMemoryMs) break;
      this.answered.delete(k);
    }
  }

  /** Drops expired memory (call now and then). */
  prune(now: number): void {
    this.lockouts.prune(now);
    for (const [k, v] of this.answered) {
      if (now - v.at < this.replayMemoryMs) break;
      this.answered.delete(k);
    }
  }
}

function lockoutEvents(
  siteId: string,
  doorId: string,
  started: { from: number; until: number; failures: number },
): [AccessEventOf<'DoorLockedOut'>, AccessEventOf<'AccessAlertRaised'>] {
  return [
    { type: 'DoorLockedOut', data: { siteId, doorId, failures: started.failures, from: iso(started.from), until: iso(started.until) } },
    {
      type: 'AccessAlertRaised',
      data: {
        siteId,
        alert: 'pin_lockout',
        doorId,
        at: iso(started.from),
        message: `${started.failures} wrong codes at door ${doorId}: keypad locked until ${iso(started.until)}.`,
      },
    },
  ];
}

/** The request id of a request that failed validation, if it has a usable one. */
function salvageRequestId(payload: Buffer | string): string | undefined {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > 4096) return undefined;
  try {
    const json = JSON.parse(payload.toString()) as { requestId?: unknown };
    return typeof json?.requestId === 'string' && REQUEST_ID_PATTERN.test(json.requestId) ? json.requestId : undefined;
  } catch {
    return undefined;
  }
}
