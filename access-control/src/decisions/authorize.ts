/**
 * The door's question, answered from the site's state: may this credential
 * open this door now? Pure; the caller has already turned the presented PIN
 * or card into its digest. A grant says until when (the end of the window it
 * falls in), so the lock knows how long the grant holds.
 */
import type { DecisionReason } from '../events.js';
import { windowAt } from '../credentials/windows.js';
import { activeDoor, candidatesAt, type AccessState } from '../site/state.js';

export interface Decision {
  granted: boolean;
  reason: DecisionReason;
  credentialId?: string;
  /** Epoch ms; set on grants. */
  until?: number;
}

/** Deny reasons from most to least telling, when several credentials share a digest. */
const DENY_ORDER: readonly DecisionReason[] = ['not_yet_valid', 'expired', 'revoked', 'unknown_credential'];

export function authorize(state: AccessState, doorId: string, digest: string, now: number): Decision {
  if (activeDoor(state, doorId) === undefined) return { granted: false, reason: 'unknown_door' };
  const emergency = state.emergency;
  if (emergency !== undefined && now >= emergency.since && (emergency.until === undefined || now < emergency.until)) {
    return { granted: true, reason: 'emergency_open', ...(emergency.until === undefined ? {} : { until: emergency.until }) };
  }
  let best: DecisionReason = 'unknown_credential';
  let bestCredential: string | undefined;
  for (const c of candidatesAt(state, doorId, digest)) {
    const w = windowAt(c.windows, now);
    if (w !== undefined) return { granted: true, reason: 'granted', credentialId: c.credentialId, until: w.end };
    const reason: DecisionReason = c.windows.some((x) => x.start > now) ? 'not_yet_valid' : 'expired';
    if (DENY_ORDER.indexOf(reason) < DENY_ORDER.indexOf(best)) {
      best = reason;
      bestCredential = c.credentialId;
    }
  }
  return { granted: false, reason: best, ...(bestCredential === undefined ? {} : { credentialId: bestCredential }) };
}
