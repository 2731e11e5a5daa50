/**
 * The analyst side of the API (`analyst` scope): utilization, cost of
 * vacancy, no-shows, unbooked use, SLA and reservation exports as JSON, or
 * CSV with `Accept: text/csv` or `?format=csv` (Finnish headers with
 * `?lang=fi`); the dimensions the filters offer; the projections' status,
 * and a rebuild (`admin`). The dashboard page is served at /dashboard.
 *
 * Answers come from the analytics read model (@vuoro/projections), never
 * from the event log: a projection far behind answers with what it has and
 * says how far it is (`source.checkpoint`, and /v1/analytics/status).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import {
  DIMENSIONS,
  QueryError,
  toCsv,
  type AnalyticsQuery,
  type AnalyticsReadModel,
  type AvailabilityReadModel,
  type Dimension,
  type ProjectionRunner,
  type Report,
} from '@vuoro/projections';
import { ApiError, problemResponses } from '../http/problems.js';
import { id, localDate } from '../http/schemas.js';
import { dashboardRoutes } from './dashboard.js';
import { registerProjectionMetrics, type HandlingBacklog, type LagSource } from './metrics.js';

export interface AnalyticsPluginOptions {
  readModel: AnalyticsReadModel;
  /** Free time per unit and day (the availability projection), when it runs. */
  availability?: AvailabilityReadModel;
  /** The runner when projections run in this process (status, rebuild, lag); else `lagSource`. */
  runner?: ProjectionRunner;
  /** Lag and status of projections running elsewhere (`ProjectionObserver`). */
  lagSource?: LagSource;
  /** Where lag gauges go (the service's prom-client registry). */
  registry?: Registry;
  /** The built dashboard (default: @vuoro/projections' dist-dashboard). */
  dashboardDir?: string;
  clock?: () => number;
}

const TAG = ['Analytics'];
const COMMON = problemResponses(400, 401, 403, 404, 422, 429, 503);

const dimensionList = z
  .string()
  .max(200)
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
  .pipe(z.array(z.enum(DIMENSIONS)).max(3))
  .refine((dims) => new Set(dims).size === dims.length, 'name each dimension once')
  .describe(`Comma-separated, up to three of: ${DIMENSIONS.join(', ')}. E.g. weekday,hour for a heatmap.`);

const filterQuery = {
  from: localDate.describe('First Helsinki date, YYYY-MM-DD'),
  to: localDate.describe('Last Helsinki date (inclusive), YYYY-MM-DD'),
  siteId: id.optional(),
  unitId: id.optional().describe("Only the unit's spaces"),
  spaceId: id.optional().describe('Only this space (with its sections)'),
  customerGroupId: id.optional().describe('Booked figures of this customer group only'),
  format: z.enum(['json', 'csv']).optional().describe('csv: the same rows as CSV (or send Accept: text/csv)'),
  lang: z.enum(['en', 'fi']).default('en').describe('Language of CSV headers'),
};

const reportQuery = z.object({ ...filterQuery, groupBy: dimensionList.default([]) }).strict();
const asOf = z.iso.datetime({ offset: true }).optional().describe('Judge pending requests and ongoing device states as of this instant (default now)');

const columnSchema = z.object({ key: z.string(), kind: z.enum(['dimension', 'hours', 'rate', 'cents', 'count', 'ms']), en: z.string(), fi: z.string() });
const cell = z.union([z.string(), z.number(), z.null()]);
export const reportSchema = z
  .object({
    report: z.string(),
    query: z.record(z.string(), z.union([cell, z.array(z.string())])),
    columns: z.array(columnSchema),
    rows: z.array(z.record(z.string(), cell)),
    totals: z.record(z.string(), cell),
    source: z.object({ checkpoint: z.number().int(), appliedAt: z.string().nullable() }),
  })
  .meta({ id: 'AnalyticsReport' });

const slaSchema = z
  .object({
    handling: reportSchema,
    doorCommands: z.object({
      promiseMs: z.number(),
      issued: z.number().int(),
      done: z.number().int(),
      rejected: z.number().int(),
      unanswered: z.number().int(),
      withinPromise: z.number().int(),
      withinPromiseShare: z.number().nullable(),
      medianRoundTripMs: z.number().nullable(),
      p95RoundTripMs: z.number().nullable(),
    }),
    devices: z.object({
      onlineShare: z.number().nullable(),
      trackedHours: z.number(),
      byKind: z.array(z.object({ kind: z.string(), onlineShare: z.number().nullable(), trackedHours: z.number() })),
    }),
  })
  .meta({ id: 'AnalyticsSla' });

const dimensionsSchema = z
  .object({
    sites: z.array(z.object({ id: z.string(), name: z.string() })),
    units: z.array(z.object({ id: z.string(), name: z.string(), siteId: z.string(), unitType: z.string() })),
    spaces: z.array(z.object({ id: z.string(), name: z.string(), siteId: z.string(), parentId: z.string().nullable(), annualCostCents: z.number() })),
    customerGroups: z.array(z.object({ id: z.string(), name: z.string(), nameFi: z.string().nullable() })),
    range: z.object({ from: z.string().nullable(), to: z.string().nullable() }),
  })
  .meta({ id: 'AnalyticsDimensions' });

const statusSchema = z.object({
  projections: z.array(
    z.object({
      projection: z.string(),
      role: z.enum(['live', 'shadow']),
      version: z.number().int(),
      generation: z.number().int(),
      status: z.enum(['building', 'live', 'failed']),
      checkpoint: z.number().int(),
      eventsApplied: z.number().int(),
      eventsBehind: z.number().int().nullable(),
      secondsBehind: z.number().nullable(),
      error: z.string().nullable(),
    }),
  ),
});

const wantsCsv = (req: FastifyRequest, format: string | undefined): boolean =>
  format === 'csv' || (format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));

function send(req: FastifyRequest, reply: FastifyReply, report: Report, format: string | undefined, lang: 'en' | 'fi'): Report | FastifyReply {
  return wantsCsv(req, format) ? csv(reply, report, lang) : report;
}

function csv(reply: FastifyReply, report: Report, lang: 'en' | 'fi'): FastifyReply {
  const from = String(report.query.from ?? '');
  const to = String(report.query.to ?? '');
  return (
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${report.report}_${from}_${to}.csv"`)
      .header('vary', 'accept')
      .serializer((payload: unknown) => payload as string)
      // A byte order mark, so spreadsheet programs read the Finnish letters as UTF-8.
      .send(`\uFEFF${toCsv(report, lang)}`)
  );
}

function asApiError(error: unknown): unknown {
  if (!(error instanceof QueryError)) return error;
  if (error.code === 'NOT_READY') return new ApiError('PARTITION_UNAVAILABLE', error.message, { headers: { 'retry-after': '5' } });
  return new ApiError(error.code as Exclude<QueryError['code'], 'NOT_READY'>, error.message, error.field === undefined ? {} : { field: error.field, errors: [{ field: error.field, in: 'query', message: error.message }] });
}

/** The read model's handling backlog; undefined while it is not ready (the gauges are then left out of the scrape). */
function backlogOrNothing(readModel: AnalyticsReadModel): HandlingBacklog | undefined {
  try {
    return readModel.handlingBacklog();
  } catch (error) {
    if (error instanceof QueryError && error.code === 'NOT_READY') return undefined;
    throw error;
  }
}

const toQuery = (q: z.infer<typeof reportQuery>): AnalyticsQuery => ({
  from: q.from,
  to: q.to,
  groupBy: q.groupBy as Dimension[],
  ...(q.siteId === undefined ? {} : { siteId: q.siteId }),
  ...(q.unitId === undefined ? {} : { unitId: q.unitId }),
  ...(q.spaceId === undefined ? {} : { spaceId: q.spaceId }),
  ...(q.customerGroupId === undefined ? {} : { customerGroupId: q.customerGroupId }),
});

export async function analyticsPlugin(app: FastifyInstance, opts: AnalyticsPluginOptions): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { readModel } = opts;
  const lagSource: LagSource | undefined = opts.runner ?? opts.lagSource;
  if (opts.registry !== undefined && lagSource !== undefined) registerProjectionMetrics(opts.registry, lagSource, { handlingBacklog: () => backlogOrNothing(readModel) });
  const analyst = { scopes: ['analyst', 'admin'] as const };
  const run = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw asApiError(error);
    }
  };

  const reports: { path: string; summary: string; description: string; build: (q: AnalyticsQuery) => Report }[] = [
    {
      path: '/v1/analytics/utilization',
      summary: 'Utilization rate (käyttöaste)',
      description:
        'Open hours (opening hours, holidays and exceptions, minus closures), booked hours and rate, used (occupied) hours and rate in hours a sensor covered, booked hours without use (no-show rate) and unbooked use. With a customer group, booked figures are that group’s and the open hours are shared.',
      build: (q) => readModel.utilization(q),
    },
    {
      path: '/v1/analytics/cost-of-vacancy',
      summary: 'Cost of vacancy (käyttämättömyyden hinta)',
      description:
        'Vacant open hours at each space’s cost per open hour (its annual rent, maintenance, cleaning and energy over its open hours that year), plus the revenue those hours would have brought at list price. Sort by costOfVacancyCents for the costliest spaces.',
      build: (q) => readModel.costOfVacancy(q),
    },
    {
      path: '/v1/analytics/unbooked-use',
      summary: 'Unbooked use',
      description: 'Occupied hours nobody had booked, in hours a sensor covered.',
      build: (q) => readModel.unbookedUse(q),
    },
  ];
  for (const rep of reports) {
    r.get(rep.path, {
      schema: { tags: TAG, summary: rep.summary, description: rep.description, querystring: reportQuery, response: { 200: reportSchema, ...COMMON } },
      config: analyst,
      handler: async (req, reply) => send(req, reply, run(() => rep.build(toQuery(req.query))), req.query.format, req.query.lang),
    });
  }

  r.get('/v1/analytics/no-shows', {
    schema: {
      tags: TAG,
      summary: 'No-shows',
      description:
        'Reservations that ended in the range: those staff marked as no-shows, and those sensors saw next to no use of (fully monitored, occupied under 5 % of the booked time).',
      querystring: reportQuery.extend({ asOf }),
      response: { 200: reportSchema, ...COMMON },
    },
    config: analyst,
    handler: async (req, reply) => {
      const q = req.query;
      const report = run(() => readModel.noShows({ ...toQuery(q), ...(q.asOf === undefined ? {} : { asOf: Date.parse(q.asOf) }) }));
      return send(req, reply, report, q.format, q.lang);
    },
  });

  r.get('/v1/analytics/sla', {
    schema: {
      tags: TAG,
      summary: 'Service level (palvelutasolupaus)',
      description:
        'Time from a request needing handling to staff’s decision and the share decided within the promise (default 72 h, `promiseHours`); door command round trips (`doorPromiseMs`); the share of time devices were on line. With format=csv, the handling rows.',
      querystring: reportQuery.extend({
        asOf,
        promiseHours: z.coerce.number().min(0).max(24 * 90).optional(),
        doorPromiseMs: z.coerce.number().int().min(0).max(600_000).optional(),
      }),
      response: { 200: slaSchema, ...COMMON },
    },
    config: analyst,
    handler: async (req, reply) => {
      const q = req.query;
      const sla = run(() =>
        readModel.sla({
          ...toQuery(q),
          ...(q.asOf === undefined ? {} : { asOf: Date.parse(q.asOf) }),
          ...(q.promiseHours === undefined ? {} : { promiseHours: q.promiseHours }),
          ...(q.doorPromiseMs === undefined ? {} : { doorPromiseMs: q.doorPromiseMs }),
        }),
      );
      if (wantsCsv(req, q.format)) return csv(reply, sla.handling, q.lang);
      return sla;
    },
  });

  r.get('/v1/analytics/reservations', {
    schema: {
      tags: TAG,
      summary: 'Reservations, for lists and exports',
      description: 'Reservations starting in the range with their state, price, channel, decision and sensed use; pages of up to 10,000 (`after` = the last reservationId of the previous page).',
      querystring: z
        .object({
          ...filterQuery,
          state: z
            .string()
            .max(300)
            .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
            .optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(1000),
          after: id.optional(),
        })
        .strict(),
      response: { 200: reportSchema, ...COMMON },
    },
    config: analyst,
    handler: async (req, reply) => {
      const q = req.query;
      const report = run(() =>
        readModel.reservations({
          ...toQuery({ ...q, groupBy: [] }),
          limit: q.limit,
          ...(q.state === undefined ? {} : { state: q.state }),
          ...(q.after === undefined ? {} : { afterId: q.after }),
        }),
      );
      return send(req, reply, report, q.format, q.lang);
    },
  });

  if (opts.availability !== undefined) {
    const availability = opts.availability;
    r.get('/v1/analytics/availability', {
      schema: {
        tags: TAG,
        summary: 'Free time per unit and day',
        description:
          'For calendar and search pages: per reservation unit and Helsinki day, open and free minutes, the free intervals, and how many start times a booking of the unit’s shortest duration could take (opening hours, start interval, buffers and the space hierarchy applied; who books and at what price are for the booking itself).',
        querystring: z
          .object({
            from: localDate,
            to: localDate,
            siteId: id.optional(),
            unitId: id.optional(),
            minFreeMinutes: z.coerce.number().int().min(0).max(24 * 60).optional(),
          })
          .strict(),
        response: {
          200: z.object({
            days: z.array(
              z.object({
                unitId: z.string(),
                siteId: z.string(),
                date: z.string(),
                openMinutes: z.number().int(),
                freeMinutes: z.number().int(),
                starts: z.number().int(),
                firstStart: z.string().nullable(),
                free: z.array(z.tuple([z.string(), z.string()])),
              }),
            ),
          }),
          ...COMMON,
        },
      },
      config: { scopes: ['analyst', 'staff', 'book', 'admin'] },
      handler: async (req) => {
        if (req.query.to < req.query.from) throw new ApiError('VALIDATION_FAILED', `'to' (${req.query.to}) is before 'from' (${req.query.from}).`, { field: 'to' });
        return {
          days: availability.days({
            from: req.query.from,
            to: req.query.to,
            ...(req.query.siteId === undefined ? {} : { siteId: req.query.siteId }),
            ...(req.query.unitId === undefined ? {} : { unitId: req.query.unitId }),
            ...(req.query.minFreeMinutes === undefined ? {} : { minFreeMinutes: req.query.minFreeMinutes }),
          }),
        };
      },
    });
  }

  r.get('/v1/analytics/dimensions', {
    schema: { tags: TAG, summary: 'Sites, units, spaces and customer groups to filter by', response: { 200: dimensionsSchema, ...COMMON } },
    config: analyst,
    handler: async () => run(() => readModel.dimensions()),
  });

  r.get('/v1/analytics/status', {
    schema: { tags: TAG, summary: 'The read models: generation, checkpoint, lag', response: { 200: statusSchema, ...COMMON } },
    config: analyst,
    handler: async () => {
      if (lagSource === undefined) return { projections: [] };
      const lags = new Map((await lagSource.lag()).map((l) => [l.projection, l]));
      return {
        projections: lagSource.status().map((s) => {
          const l = s.role === 'live' ? lags.get(s.projection) : undefined;
          return {
            projection: s.projection,
            role: s.role,
            version: s.version,
            generation: s.generation,
            status: s.status,
            checkpoint: s.checkpoint,
            eventsApplied: s.eventsApplied,
            eventsBehind: l?.eventsBehind ?? null,
            secondsBehind: l === undefined ? null : l.msBehind / 1000,
            error: s.error,
          };
        }),
      };
    },
  });

  r.post('/v1/analytics/rebuild', {
    schema: {
      tags: TAG,
      summary: 'Rebuild a read model from the whole event log',
      description:
        'Fills a new generation of the tables from position 0 while the current one keeps answering, then swaps them. Answers at once; follow /v1/analytics/status.',
      body: z.object({ projection: z.enum(['analytics']).default('analytics') }).strict(),
      response: { 202: z.object({ projection: z.string(), status: z.literal('rebuilding') }), ...COMMON },
    },
    config: { scopes: ['admin'], command: true },
    handler: async (req, reply) => {
      if (opts.runner === undefined) {
        throw new ApiError('BAD_REQUEST', 'Projections run in another process here; rebuild them there (POST is only served where the runner runs).');
      }
      const projection = req.body.projection;
      opts.runner.rebuild(projection).catch((error: unknown) => req.log.error({ err: error, projection }, 'rebuild failed'));
      return reply.code(202).send({ projection, status: 'rebuilding' as const });
    },
  });

  await app.register(dashboardRoutes, { ...(opts.dashboardDir === undefined ? {} : { dir: opts.dashboardDir }) });
}
