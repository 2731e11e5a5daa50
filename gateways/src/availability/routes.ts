/**
 * Availability: free start times of a unit, and a search across units by
 * site, unit type, capacity and customer group. Answered from the
 * partitions' in-memory state by `@vuoro/engine`'s availability module, which
 * applies every rule the booking itself would (opening hours, holidays,
 * start interval, buffers, the space hierarchy, booking window, group,
 * price): a start offered here is one a booking would get, unless someone
 * else takes it first.
 */
import {
  UNIT_TYPES,
  capacityOf,
  daysBetween,
  formatInstant,
  freeSlots,
  matchingUnits,
  type AvailabilityCustomer,
  type FreeSlot,
  type SlotQuery,
} from '@vuoro/engine';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CUSTOMER_HEADER, actingOf, lookupCustomer } from '../auth/acting.js';
import { hasScope, principalOf } from '../auth/plugin.js';
import type { ApiContext } from '../context.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { id, instant, limit, localDate, money, moneySchema, wallTime } from '../http/schemas.js';

const TAG = ['Availability'];
const COMMON = problemResponses(400, 401, 403, 404, 422, 429);

const rangeQuery = {
  from: localDate.describe('First Helsinki date to search'),
  to: localDate.describe('Last Helsinki date to search (inclusive)'),
  durationMinutes: z.coerce.number().int().min(1).max(7 * 24 * 60),
  fromTime: wallTime.optional().describe('Only starts at or after this Helsinki wall time'),
  toTime: wallTime.optional().describe('Only starts before this Helsinki wall time'),
  customerId: id.optional().describe('Staff: see availability and prices as this customer would (on their behalf)'),
  customerGroupId: id.optional().describe('Prices and group rules for this customer group (when no customer is named)'),
};

const slotSchema = z.object({ start: instant, end: instant, price: moneySchema.optional() }).meta({ id: 'FreeSlot' });

const unitAvailabilitySchema = z
  .object({
    unitId: z.string(),
    siteId: z.string(),
    name: z.string(),
    unitType: z.string(),
    capacity: z.number().int().nullable(),
    slots: z.array(slotSchema),
    truncated: z.boolean().describe('More free starts exist than the limit allowed'),
    maxActiveReached: z.boolean().describe('The customer already holds as many active reservations of this unit as allowed'),
  })
  .meta({ id: 'UnitAvailability' });

const searchResponse = z
  .object({
    from: z.string(),
    to: z.string(),
    durationMinutes: z.number().int(),
    timeZone: z.literal('Europe/Helsinki'),
    units: z.array(unitAvailabilitySchema),
  })
  .meta({ id: 'AvailabilitySearch' });

const slotDto = (s: FreeSlot) => ({
  start: formatInstant(s.start),
  end: formatInstant(s.end),
  ...(s.price === undefined ? {} : { price: money(s.price) }),
});

export async function availabilityRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { engine } = ctx;

  /** The query's date range, checked against the configured maximum. */
  function checkRange(q: { from: string; to: string }): void {
    const days = daysBetween(q.from, q.to) + 1;
    if (days < 1) {
      throw new ApiError('VALIDATION_FAILED', `'to' (${q.to}) is before 'from' (${q.from}).`, {
        field: 'to',
        errors: [{ field: 'to', in: 'query', message: 'must not be before from' }],
      });
    }
    if (days > ctx.settings.maxSearchDays) {
      throw new ApiError('VALIDATION_FAILED', `Search at most ${ctx.settings.maxSearchDays} days at a time; you asked for ${days}.`, {
        field: 'to',
        errors: [{ field: 'to', in: 'query', message: `at most ${ctx.settings.maxSearchDays} days after from` }],
      });
    }
  }

  /**
   * Whose terms apply: the customer a booking channel acts for, a customer
   * staff name, or just a customer group (anonymous browsing in a web shop).
   */
  function termsOf(req: FastifyRequest, q: { customerId?: string | undefined; customerGroupId?: string | undefined }): {
    customer?: AvailabilityCustomer;
    kind: 'normal' | 'behalf';
  } {
    const key = principalOf(req);
    if (req.headers[CUSTOMER_HEADER] !== undefined) {
      const acting = actingOf(req, engine);
      if (acting.kind === 'customer') return { customer: acting.customer, kind: 'normal' };
    }
    if (q.customerId !== undefined) {
      if (!hasScope(key, 'staff')) {
        throw new ApiError('INSUFFICIENT_SCOPE', "Naming a customer in the query needs the 'staff' scope; a booking channel names its customer in the Vuoro-Customer header.", {
          field: 'customerId',
        });
      }
      return { customer: lookupCustomer(engine, q.customerId, 'customerId', 'query'), kind: 'behalf' };
    }
    if (q.customerGroupId !== undefined) {
      const group = engine.directory.read((s) => s.groups.get(q.customerGroupId as string));
      if (group === undefined) {
        throw new ApiError('UNKNOWN_CUSTOMER_GROUP', `Customer group ${q.customerGroupId} does not exist.`, { field: 'customerGroupId' });
      }
      return { customer: { customerGroupId: group.customerGroupId, freeOfCharge: group.freeOfCharge }, kind: 'normal' };
    }
    return { kind: 'normal' };
  }

  function slotQuery(
    q: { from: string; to: string; durationMinutes: number; fromTime?: string | undefined; toTime?: string | undefined },
    terms: ReturnType<typeof termsOf>,
    perUnit: number,
  ): SlotQuery {
    return {
      fromDate: q.from,
      toDate: q.to,
      durationMinutes: q.durationMinutes,
      now: ctx.clock(),
      kind: terms.kind,
      ...(terms.customer === undefined ? {} : { customer: terms.customer }),
      ...(q.fromTime === undefined ? {} : { fromTime: q.fromTime }),
      ...(q.toTime === undefined ? {} : { toTime: q.toTime }),
      limit: perUnit,
    };
  }

  r.get('/v1/units/:unitId/availability', {
    schema: {
      tags: TAG,
      summary: 'Free start times of a unit',
      description:
        'Every start time at which a reservation of `durationMinutes` would be accepted now, for each Helsinki date from `from` to `to`. Prices are included when a customer or customer group is known. A unit that cannot be booked for that duration or group at all answers with a problem saying why.',
      params: z.object({ unitId: id }).strict(),
      querystring: z.object({ ...rangeQuery, limit: limit(2000, 500) }).strict(),
      response: { 200: unitAvailabilitySchema, ...COMMON },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => {
      const q = req.query;
      checkRange(q);
      const { unitId } = req.params;
      const siteId = engine.siteOfUnit(unitId);
      if (siteId === undefined) throw new ApiError('UNKNOWN_UNIT', `Reservation unit ${unitId} does not exist.`, { field: 'unitId' });
      const terms = termsOf(req, q);
      const actor = await engine.site(siteId);
      return actor.read((state) => {
        const answer = freeSlots(state, unitId, slotQuery(q, terms, q.limit));
        if (!answer.ok) throw ApiError.fromDomain(answer.error);
        const view = state.units.get(unitId);
        if (view === undefined) throw new ApiError('UNKNOWN_UNIT', `Reservation unit ${unitId} does not exist.`, { field: 'unitId' });
        return {
          unitId,
          siteId,
          name: view.unit.name,
          unitType: view.unit.unitType,
          capacity: capacityOf(state, view.unit) ?? null,
          slots: answer.slots.map(slotDto),
          truncated: answer.truncated,
          maxActiveReached: answer.maxActiveReached,
        };
      });
    },
  });

  r.get('/v1/availability', {
    schema: {
      tags: TAG,
      summary: 'Search free slots across units',
      description:
        'Units (of one site, or all) that match the filters and have at least one free start for the duration, each with its free starts (up to `limitPerUnit`). Units whose rules rule the query out (duration, customer group) are left out.',
      querystring: z
        .object({
          ...rangeQuery,
          siteId: id.optional(),
          unitType: z.enum(UNIT_TYPES).optional(),
          minCapacity: z.coerce.number().int().min(0).optional().describe('Units holding at least this many people'),
          limitPerUnit: limit(500, 20),
          maxUnits: limit(200, 50),
        })
        .strict(),
      response: { 200: searchResponse, ...COMMON },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => {
      const q = req.query;
      checkRange(q);
      const terms = termsOf(req, q);
      const query = slotQuery(q, terms, q.limitPerUnit);
      const sites = q.siteId === undefined ? engine.partitions().sort() : [q.siteId];
      if (q.siteId !== undefined && !engine.directory.read((s) => s.sites.has(q.siteId as string))) {
        throw new ApiError('UNKNOWN_SITE', `Site ${q.siteId} does not exist.`, { field: 'siteId' });
      }
      const units: z.infer<typeof unitAvailabilitySchema>[] = [];
      for (const siteId of sites) {
        if (units.length >= q.maxUnits) break;
        const actor = await engine.site(siteId);
        actor.read((state) => {
          const filter = {
            ...(q.unitType === undefined ? {} : { unitType: q.unitType }),
            ...(q.minCapacity === undefined ? {} : { minCapacity: q.minCapacity }),
            ...(terms.customer === undefined ? {} : { customerGroupId: terms.customer.customerGroupId }),
          };
          for (const view of matchingUnits(state, filter)) {
            if (units.length >= q.maxUnits) return;
            const a = freeSlots(state, view.unit.unitId, query);
            if (!a.ok || a.slots.length === 0) continue;
            units.push({
              unitId: view.unit.unitId,
              siteId,
              name: view.unit.name,
              unitType: view.unit.unitType,
              capacity: capacityOf(state, view.unit) ?? null,
              slots: a.slots.map(slotDto),
              truncated: a.truncated,
              maxActiveReached: a.maxActiveReached,
            });
          }
        });
      }
      return { from: q.from, to: q.to, durationMinutes: q.durationMinutes, timeZone: 'Europe/Helsinki' as const, units };
    },
  });
}
