/**
 * Recurring slots over HTTP (staff): book a weekly series in one request,
 * read it with its occurrences and the occurrences that could not be booked
 * (with their reasons), change it from a date on, cancel it from a date on.
 * Single occurrences are ordinary reservations: cancel or move them with the
 * reservation endpoints.
 */
import { formatInstant, newId, seriesPatternSchema, type SeriesView, type SiteState } from '@vuoro/engine';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actingOf, lookupCustomer } from '../auth/acting.js';
import type { ApiContext } from '../context.js';
import { runCommand } from '../http/commands.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { id, localDate, wallTime } from '../http/schemas.js';

const TAG = ['Series'];
const COMMON = problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503);

const createBody = z
  .object({
    unitId: id,
    customerId: id.describe('Who the weekly slot is for (an association, a school, ...)'),
    pattern: seriesPatternSchema.describe('Weekdays (1 = Monday), wall-clock start and end in Helsinki time, date range, every n weeks'),
    kind: z.enum(['seasonal', 'staff', 'behalf']).default('seasonal'),
  })
  .strict();
const changeBody = z
  .object({
    fromDate: localDate.describe('Occurrences on and after this date change; earlier ones stay'),
    unitId: id.optional(),
    weekdays: z.array(z.number().int().min(1).max(7)).min(1).max(7).optional(),
    startTime: wallTime.optional(),
    endTime: wallTime.optional(),
  })
  .strict();
const cancelBody = z.object({ fromDate: localDate, reason: z.string().max(1000).default('') }).strict();
const params = z.object({ seriesId: id }).strict();

const occurrenceSchema = z.object({ reservationId: z.string(), state: z.string(), start: z.string(), end: z.string() });
const seriesSchema = z
  .object({
    seriesId: z.string(),
    siteId: z.string(),
    unitId: z.string(),
    customerId: z.string(),
    kind: z.string(),
    pattern: z.object({ weekdays: z.array(z.number()), startTime: z.string(), endTime: z.string(), fromDate: z.string(), toDate: z.string(), everyWeeks: z.number() }),
    revision: z.number(),
    cancelledFrom: z.string().nullable(),
    occurrences: z.array(occurrenceSchema),
    rejected: z.array(z.object({ revision: z.number(), date: z.string(), reason: z.string(), message: z.string() })),
  })
  .meta({ id: 'Series' });
type SeriesDto = z.infer<typeof seriesSchema>;

function toDto(siteId: string, state: SiteState, s: SeriesView): SeriesDto {
  return {
    seriesId: s.seriesId,
    siteId,
    unitId: s.unitId,
    customerId: s.customerId,
    kind: s.kind,
    pattern: s.pattern,
    revision: s.revision,
    cancelledFrom: s.cancelledFrom ?? null,
    occurrences: s.occurrenceIds.flatMap((reservationId) => {
      const r = state.reservations.get(reservationId);
      return r === undefined
        ? []
        : [{ reservationId, state: r.state, start: formatInstant(r.booking.start), end: formatInstant(r.booking.end) }];
    }),
    rejected: s.rejected,
  };
}

export async function seriesRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { engine } = ctx;

  const read = async (seriesId: string, siteId = engine.siteOfSeries(seriesId)): Promise<SeriesDto> => {
    const notFound = new ApiError('UNKNOWN_SERIES', `Series ${seriesId} does not exist.`, { field: 'seriesId' });
    if (siteId === undefined) throw notFound;
    const dto = (await engine.site(siteId)).read((state) => {
      const s = state.series.get(seriesId);
      return s === undefined ? undefined : toDto(siteId, state, s);
    });
    if (dto === undefined) throw notFound;
    return dto;
  };

  r.post('/v1/series', {
    schema: {
      tags: TAG,
      summary: 'Book a weekly series (staff)',
      description:
        'Books every occurrence of the pattern at once, atomically within the site. Occurrences keep their Helsinki wall time across DST. Occurrences that cannot be booked (holiday, closure, overlap, a wall time that does not exist) are listed in `rejected` with their reason; the rest are confirmed.',
      body: createBody,
      response: { 201: seriesSchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine, { staffOnly: true });
      const b = req.body;
      const events = await runCommand(ctx, req, reply, {
        type: 'CreateSeries',
        data: { seriesId: newId('series'), unitId: b.unitId, customer: lookupCustomer(engine, b.customerId), pattern: b.pattern, kind: b.kind },
        meta: { actor: acting.actor },
      });
      // On a replay the first attempt's id is in the events, not the one generated above.
      const created = events.find((e) => e.type === 'SeriesCreated');
      const seriesId = (created?.data as { seriesId: string } | undefined)?.seriesId;
      if (created === undefined || seriesId === undefined) throw new Error('CreateSeries committed without SeriesCreated');
      reply.code(201).header('location', `/v1/series/${seriesId}`);
      return read(seriesId, created.stream.replace(/^site-/, ''));
    },
  });

  r.get('/v1/series/:seriesId', {
    schema: { tags: TAG, summary: 'A series with its occurrences and rejected occurrences (staff)', params, response: { 200: seriesSchema, ...COMMON } },
    config: { scopes: ['staff'] },
    handler: async (req) => {
      actingOf(req, engine, { staffOnly: true });
      return read(req.params.seriesId);
    },
  });

  r.post('/v1/series/:seriesId/change', {
    schema: {
      tags: TAG,
      summary: 'Change a series from a date on (staff)',
      description: 'Moves the occurrences on and after `fromDate` to a new time, weekdays or unit; earlier occurrences stay as they were.',
      params,
      body: changeBody,
      response: { 200: seriesSchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine, { staffOnly: true });
      const { seriesId } = req.params;
      const b = req.body;
      await runCommand(ctx, req, reply, {
        type: 'ChangeSeries',
        data: {
          seriesId,
          fromDate: b.fromDate,
          ...(b.unitId === undefined ? {} : { unitId: b.unitId }),
          ...(b.weekdays === undefined ? {} : { weekdays: b.weekdays }),
          ...(b.startTime === undefined ? {} : { startTime: b.startTime }),
          ...(b.endTime === undefined ? {} : { endTime: b.endTime }),
        },
        meta: { actor: acting.actor },
      });
      return read(seriesId);
    },
  });

  r.post('/v1/series/:seriesId/cancel', {
    schema: { tags: TAG, summary: 'Cancel a series from a date on (staff)', params, body: cancelBody, response: { 200: seriesSchema, ...COMMON } },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine, { staffOnly: true });
      const { seriesId } = req.params;
      await runCommand(ctx, req, reply, {
        type: 'CancelSeries',
        data: { seriesId, fromDate: req.body.fromDate, reason: req.body.reason },
        meta: { actor: acting.actor },
      });
      return read(seriesId);
    },
  });
}
