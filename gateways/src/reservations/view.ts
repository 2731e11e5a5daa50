/**
 * A reservation as channels see it, and its ETag. The view is copied out of
 * the partition's state (which evolves in place) while reading it.
 *
 * The ETag is a hash of everything a command can change (state, times,
 * price, deadlines), so any change gives a new one and a client acting on an
 * old view gets a 412. It is checked inside the partition, in command order
 * (an envelope precondition), so two clients with the same view cannot both
 * pass the check.
 */
import { createHash } from 'node:crypto';
import { RESERVATION_KINDS, RESERVATION_STATES, formatInstant, type DomainError, type Precondition, type ReservationView, type SiteState } from '@vuoro/engine';
import { z } from 'zod';
import { instant, money, moneySchema } from '../http/schemas.js';

export const reservationSchema = z
  .object({
    reservationId: z.string(),
    siteId: z.string(),
    unitId: z.string().nullable(),
    kind: z.enum(RESERVATION_KINDS),
    state: z.enum(RESERVATION_STATES),
    customerId: z.string().nullable().describe('null for blocked time'),
    customerGroupId: z.string().nullable(),
    start: instant,
    end: instant,
    spaceIds: z.array(z.string()),
    resourceIds: z.array(z.string()),
    price: moneySchema,
    holdExpiresAt: instant.nullable().describe('While `requested`: confirm before this, or the hold lapses'),
    paymentDeadline: instant.nullable().describe('While `awaiting_payment`: pay before this, or the reservation expires'),
    seriesId: z.string().nullable(),
    blockedBy: z.string().nullable().describe('For blocked time: who blocked it'),
    etag: z.string().describe('The current ETag; send it back in If-Match to change the reservation only if nobody else has'),
  })
  .meta({ id: 'Reservation' });
export type ReservationDto = z.infer<typeof reservationSchema>;

export function etagOf(r: ReservationView): string {
  const h = createHash('sha256')
    .update(`${r.id}|${r.state}|${r.booking.start}|${r.booking.end}|${r.price.amountCents}|${r.price.source}|${r.holdExpiresAt ?? ''}|${r.paymentDeadline ?? ''}`)
    .digest('base64url')
    .slice(0, 22);
  return `"${h}"`;
}

export function toDto(siteId: string, r: ReservationView): ReservationDto {
  const blocked = r.kind === 'blocked';
  return {
    reservationId: r.id,
    siteId,
    unitId: r.unitId ?? null,
    kind: r.kind,
    state: r.state,
    customerId: blocked ? null : r.customerId,
    customerGroupId: blocked || r.customerGroupId === '' ? null : r.customerGroupId,
    start: formatInstant(r.booking.start),
    end: formatInstant(r.booking.end),
    spaceIds: [...r.spaceIds],
    resourceIds: [...r.resourceIds],
    price: money(r.price),
    holdExpiresAt: r.state === 'requested' && r.holdExpiresAt !== undefined ? formatInstant(r.holdExpiresAt) : null,
    paymentDeadline: r.state === 'awaiting_payment' && r.paymentDeadline !== undefined ? formatInstant(r.paymentDeadline) : null,
    seriesId: r.seriesId ?? null,
    blockedBy: blocked ? r.customerId : null,
    etag: etagOf(r),
  };
}

/** Who may see a reservation: staff any, a customer only their own (never blocked time). */
export function visibleTo(r: ReservationView, customerId: string | undefined): boolean {
  return customerId === undefined || (r.kind !== 'blocked' && r.customerId === customerId);
}

/** Parses an If-Match header: `*` or a list of entity tags. */
export function parseIfMatch(header: string | undefined): '*' | string[] | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (header.trim() === '*') return '*';
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .filter((t) => t.length > 0);
}

/**
 * The If-Match check, run by the partition right before the command is
 * decided. Reservations the caller may not see are left to the decider,
 * which answers as if they did not exist (an ETag check must not reveal them).
 */
export function ifMatchPrecondition(
  reservationId: string,
  expected: '*' | string[],
  customerId: string | undefined,
): Precondition {
  // Named, so a node that does not own the site can send it along to the owner (cluster mode).
  const spec = { name: IF_MATCH_PRECONDITION, args: { reservationId, expected, ...(customerId === undefined ? {} : { customerId }) } };
  return Object.assign(ifMatchCheck(reservationId, expected, customerId), { spec });
}

export const IF_MATCH_PRECONDITION = 'ifMatch';

/** Rebuilds an If-Match precondition from its `spec.args` (`EngineOptions.preconditions`). */
export const ifMatchFromSpec = (args: unknown): ((state: SiteState) => DomainError | undefined) => {
  const a = args as { reservationId: string; expected: '*' | string[]; customerId?: string };
  return ifMatchCheck(a.reservationId, a.expected, a.customerId);
};

function ifMatchCheck(
  reservationId: string,
  expected: '*' | string[],
  customerId: string | undefined,
): (state: SiteState) => DomainError | undefined {
  return (state) => {
    const r = state.reservations.get(reservationId);
    if (r === undefined || !visibleTo(r, customerId) || expected === '*') return undefined;
    const current = etagOf(r);
    if (expected.includes(current)) return undefined;
    return {
      code: 'PRECONDITION_FAILED',
      message: 'The reservation has changed since you read it (its ETag is no longer current). Read it again and decide with the current state.',
      field: 'If-Match',
      details: { currentEtag: current },
    };
  };
}
