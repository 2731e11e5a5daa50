/**
 * Reservation reads, answered from the partitions' in-memory state: one by
 * id, and lists filtered by customer, site, unit, state, kind and date, in
 * (start, id) order with cursor pagination. A cursor is the sort key of the
 * last item seen, so pages stay stable while reservations come and go.
 *
 * Lists scan the chosen partitions' reservations; the reservations read
 * model in projections/ will take over large exports.
 */
import {
  addDays,
  customerUnitKey,
  startOfLocalDay,
  type Engine,
  type ReservationKind,
  type ReservationState,
  type ReservationView,
  type SiteState,
} from '@vuoro/engine';
import { decodeCursor, encodeCursor } from '../http/schemas.js';
import { ApiError } from '../http/problems.js';
import { toDto, visibleTo, type ReservationDto } from './view.js';

/**
 * One reservation as `customerId` may see it (undefined = staff, sees all);
 * undefined when it does not exist for them. `siteId` names the partition when
 * the caller knows it: right after a booking commits, the engine's routing map
 * may not list the new reservation yet.
 */
export async function readReservation(engine: Engine, reservationId: string, customerId?: string, siteId = engine.siteOfReservation(reservationId)): Promise<ReservationDto | undefined> {
  if (siteId === undefined) return undefined;
  const actor = await engine.site(siteId);
  return actor.read((s) => {
    const r = s.reservations.get(reservationId);
    return r === undefined || !visibleTo(r, customerId) ? undefined : toDto(siteId, r);
  });
}

export async function requireReservation(engine: Engine, reservationId: string, customerId?: string, siteId?: string): Promise<ReservationDto> {
  const dto = await readReservation(engine, reservationId, customerId, siteId ?? engine.siteOfReservation(reservationId));
  if (dto === undefined) {
    throw new ApiError('UNKNOWN_RESERVATION', `Reservation ${reservationId} does not exist.`, { field: 'reservationId' });
  }
  return dto;
}

export interface ReservationFilter {
  customerId?: string;
  siteId?: string;
  unitId?: string;
  states?: readonly ReservationState[];
  kinds?: readonly ReservationKind[];
  /** Reservations overlapping these Helsinki dates (inclusive). */
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
}

interface Cursor {
  s: number;
  i: string;
}
const isCursor = (x: unknown): x is Cursor =>
  typeof x === 'object' && x !== null && typeof (x as Cursor).s === 'number' && typeof (x as Cursor).i === 'string';

const after = (r: ReservationView, c: Cursor): boolean => r.booking.start > c.s || (r.booking.start === c.s && r.id > c.i);
const order = (a: { start: number; id: string }, b: { start: number; id: string }): number =>
  a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function candidates(state: SiteState, f: ReservationFilter): Iterable<ReservationView> {
  if (f.customerId === undefined) return state.reservations.values();
  const out: ReservationView[] = [];
  const prefix = customerUnitKey(f.customerId, '');
  for (const [key, ids] of state.byCustomerUnit) {
    if (!key.startsWith(prefix)) continue;
    for (const id of ids) {
      const r = state.reservations.get(id);
      if (r !== undefined) out.push(r);
    }
  }
  return out;
}

export async function listReservations(
  engine: Engine,
  f: ReservationFilter,
): Promise<{ items: ReservationDto[]; nextCursor: string | null }> {
  let cursor: Cursor | undefined;
  if (f.cursor !== undefined) {
    cursor = decodeCursor(f.cursor, isCursor);
    if (cursor === undefined) {
      throw new ApiError('VALIDATION_FAILED', 'The cursor is not one this API gave out; start again without a cursor.', {
        field: 'cursor',
        errors: [{ field: 'cursor', in: 'query', message: 'invalid cursor' }],
      });
    }
  }
  const fromMs = f.from === undefined ? undefined : startOfLocalDay(f.from);
  const toMs = f.to === undefined ? undefined : startOfLocalDay(addDays(f.to, 1));
  const states = f.states === undefined || f.states.length === 0 ? undefined : new Set(f.states);
  const kinds = f.kinds === undefined || f.kinds.length === 0 ? undefined : new Set(f.kinds);
  const sites = f.siteId === undefined ? engine.partitions() : engine.partitions().filter((s) => s === f.siteId);

  const found: { start: number; id: string; dto: ReservationDto }[] = [];
  for (const siteId of sites) {
    const actor = await engine.site(siteId);
    actor.read((state) => {
      const matches: ReservationView[] = [];
      for (const r of candidates(state, f)) {
        if (f.customerId !== undefined && !visibleTo(r, f.customerId)) continue;
        if (f.unitId !== undefined && r.unitId !== f.unitId) continue;
        if (states !== undefined && !states.has(r.state)) continue;
        if (kinds !== undefined && !kinds.has(r.kind)) continue;
        if (fromMs !== undefined && r.booking.end <= fromMs) continue;
        if (toMs !== undefined && r.booking.start >= toMs) continue;
        if (cursor !== undefined && !after(r, cursor)) continue;
        matches.push(r);
      }
      // Only this site's first page can make the merged page: copy just those out of the live state.
      matches.sort((a, b) => order({ start: a.booking.start, id: a.id }, { start: b.booking.start, id: b.id }));
      for (const r of matches.slice(0, f.limit + 1)) found.push({ start: r.booking.start, id: r.id, dto: toDto(siteId, r) });
    });
  }
  found.sort(order);
  const page = found.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((x) => x.dto),
    nextCursor: found.length > f.limit && last !== undefined ? encodeCursor({ s: last.start, i: last.id }) : null,
  };
}
