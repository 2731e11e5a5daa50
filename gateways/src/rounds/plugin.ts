/**
 * Seasonal application rounds over HTTP: rounds and their lifecycle,
 * applications (from a booking channel for its customer, or from staff),
 * allocator proposals with their explanations, staff adjustments (lock,
 * move, add, remove, decline) and approval into seasonal series.
 *
 * Conventions as the rest of the command API: zod schemas for every request
 * and response, RFC 9457 problems with the engine's stable codes,
 * `Idempotency-Key` on every command (namespaced by channel, passed to the
 * round partition), the `staff` scope for the booking office's actions and
 * `book` for channels acting for a customer (Vuoro-Customer header).
 *
 * Register with the API context: `app.register(roundsPlugin, ctx)`. The
 * plugin opens the rounds service over the context's engine (or uses the one
 * given as `rounds`) and closes it with the app.
 */
import { DEFAULT_CRITERIA, criteriaSchema } from '@vuoro/engine/allocation/criteria.js';
import type { RoundEvent } from '@vuoro/engine/rounds/messages.js';
import {
  allocationSchema,
  contactSchema,
  proposalMetricsSchema,
  sectionResultSchema,
  sectionSchema,
  seasonSchema,
  seriesResultSchema,
  type Allocation,
  type Application,
} from '@vuoro/engine/rounds/schemas.js';
import { RoundService, newRoundId, type RoundCommandInput } from '@vuoro/engine/rounds/service.js';
import type { RoundState } from '@vuoro/engine/rounds/state.js';
import type { Outcome } from '@vuoro/engine';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actingOf, lookupCustomer, type Acting } from '../auth/acting.js';
import type { ApiContext } from '../context.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { cursor, decodeCursor, encodeCursor, id, limit, wallTime } from '../http/schemas.js';
import { engineKeyOf } from '../idempotency/hooks.js';

const TAG = ['Seasonal rounds'];
const COMMON = problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503);

export interface RoundsPluginOptions extends ApiContext {
  /** An already open rounds service (tests, or a host sharing one); else the plugin opens its own. */
  rounds?: RoundService;
}

// ---------------------------------------------------------------------------
// Wire shapes

const roundParams = z.object({ roundId: id }).strict();
const applicationParams = z.object({ roundId: id, applicationId: id }).strict();
const allocationParams = z.object({ roundId: id, allocationId: id }).strict();
const sectionParams = z.object({ roundId: id, sectionId: id }).strict();
const emptyBody = z.object({}).strict().nullish();

const createRoundBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    season: seasonSchema,
    unitIds: z.array(id).min(1).max(5000).describe('The reservation units offered in the round'),
    criteria: criteriaSchema.optional().describe('Allocation criteria (jakoperusteet); default: children and youth 4, city’s own 3, local associations 2, others 1'),
    applicationsCloseAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const updateRoundBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    season: seasonSchema.optional(),
    unitIds: z.array(id).min(1).max(5000).optional(),
    criteria: criteriaSchema.optional(),
    applicationsCloseAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();

const sectionBody = sectionSchema.extend({ sectionId: id.optional().describe('Generated when left out') });

const applicationBody = z
  .object({
    customerId: id.optional().describe('Staff only: apply on behalf of this registered customer. A booking channel applies for its Vuoro-Customer.'),
    priorityCategoryId: z.string().min(1).max(40).describe('One of the round’s priority categories'),
    organisationName: z.string().trim().min(1).max(200).optional(),
    contact: contactSchema,
    sections: z.array(sectionBody).min(1).max(20),
    notes: z.string().max(4000).optional(),
  })
  .strict();

const slotBody = z
  .object({
    unitId: id,
    weekday: z.number().int().min(1).max(7).describe('1 = Monday .. 7 = Sunday'),
    startTime: wallTime,
    endTime: wallTime,
  })
  .strict();

const proposeBody = z
  .object({
    solver: z.enum(['auto', 'heuristic', 'exact']).default('auto').describe('auto: the heuristic, replaced by the HiGHS optimum where HiGHS proves a better one'),
    bound: z.boolean().default(true).describe('Compute an upper bound with HiGHS, so the proposal reports its gap'),
  })
  .strict()
  .nullish();

const reasonBody = z.object({ reason: z.string().trim().min(1).max(1000).describe('Told to the applicant') }).strict();
const approveBody = z.object({ proposalId: id.describe('The proposal reviewed; approving another is refused as stale') }).strict();

const roundSummary = z
  .object({
    roundId: z.string(),
    name: z.string(),
    status: z.enum(['draft', 'open', 'closed', 'allocating', 'approved', 'published']),
    season: z.object({ fromDate: z.string(), toDate: z.string() }),
    applications: z.number().int(),
  })
  .meta({ id: 'RoundSummary' });

const roundView = roundSummary
  .extend({
    units: z.array(z.object({ unitId: z.string(), siteId: z.string() })),
    criteria: criteriaSchema,
    applicationsCloseAt: z.string().nullable(),
    withdrawn: z.number().int(),
    declinedSections: z.number().int(),
    /** Staff adjustments since the round started allocating. */
    adjustments: z.number().int(),
    proposal: z.object({ proposalId: z.string(), metrics: proposalMetricsSchema, allocations: z.number().int() }).nullable(),
    proposals: z.number().int().describe('Proposals recorded so far'),
  })
  .meta({ id: 'Round' });

const applicationView = z
  .object({
    applicationId: z.string(),
    status: z.enum(['received', 'withdrawn']),
    sequence: z.number().int().describe('Order of submission'),
    application: z.unknown().describe('The application as submitted (or last amended)'),
    declined: z.array(z.object({ sectionId: z.string(), reason: z.string() })),
  })
  .meta({ id: 'RoundApplication' });

const resultView = z
  .object({
    applicationId: z.string(),
    sections: z.array(sectionResultSchema),
    allocations: z.array(allocationSchema),
  })
  .meta({ id: 'ApplicationResult' });

const allocationPage = z.object({ items: z.array(allocationSchema), nextCursor: z.string().nullable() }).meta({ id: 'AllocationPage' });
const sectionPage = z.object({ items: z.array(sectionResultSchema), nextCursor: z.string().nullable() }).meta({ id: 'SectionResultPage' });
const approvalView = z
  .object({
    proposalId: z.string(),
    status: z.enum(['approved', 'published']),
    complete: z.boolean().describe('Every allocation has its series booked'),
    totals: z.object({
      allocations: z.number().int(),
      seriesCreated: z.number().int(),
      seriesFailed: z.number().int(),
      occurrencesBooked: z.number().int(),
      occurrencesRejected: z.number().int(),
    }),
    series: z.array(seriesResultSchema.extend({ applicationId: z.string(), sectionId: z.string(), unitId: z.string(), weekday: z.number().int(), startTime: z.string(), endTime: z.string() })),
  })
  .meta({ id: 'RoundApproval' });

const pageQuery = z
  .object({
    applicationId: id.optional(),
    sectionId: id.optional(),
    unitId: id.optional(),
    status: z.enum(['allocated', 'partial', 'unallocated', 'declined']).optional().describe('Sections only'),
    cursor: cursor.optional(),
    limit: limit(1000, 200),
  })
  .strict();

// ---------------------------------------------------------------------------
// Views

const summaryOf = (s: RoundState) => ({
  roundId: s.round!.roundId,
  name: s.round!.name,
  status: s.status,
  season: { fromDate: s.round!.season.fromDate, toDate: s.round!.season.toDate },
  applications: [...s.applications.values()].filter((a) => a.status === 'received').length,
});

const viewOf = (s: RoundState) => ({
  ...summaryOf(s),
  units: s.round!.units,
  criteria: s.round!.criteria,
  applicationsCloseAt: s.round!.applicationsCloseAt ?? null,
  withdrawn: [...s.applications.values()].filter((a) => a.status === 'withdrawn').length,
  declinedSections: s.declined.size,
  adjustments: s.adjustments,
  proposal: s.proposal === undefined ? null : { proposalId: s.proposal.proposalId, metrics: s.proposal.metrics, allocations: s.allocations.size },
  proposals: s.proposals.length,
});

function page<T>(items: T[], keyOf: (x: T) => string, q: { cursor?: string | undefined; limit: number }): { items: T[]; nextCursor: string | null } {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, (x): x is string => typeof x === 'string');
  if (q.cursor !== undefined && after === undefined) throw new ApiError('VALIDATION_FAILED', 'The cursor is not valid; start again without it.', { field: 'cursor' });
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const from = after === undefined ? 0 : sorted.findIndex((x) => keyOf(x) > after);
  const slice = from < 0 ? [] : sorted.slice(from, from + q.limit);
  const more = from >= 0 && from + q.limit < sorted.length;
  return { items: slice, nextCursor: more ? encodeCursor(keyOf(slice[slice.length - 1] as T)) : null };
}

// ---------------------------------------------------------------------------

export async function roundsPlugin(app: FastifyInstance, opts: RoundsPluginOptions): Promise<void> {
  const ctx = opts;
  const rounds = opts.rounds ?? (await RoundService.open(ctx.engine, { clock: ctx.clock }));
  if (opts.rounds === undefined) app.addHook('onClose', async () => rounds.close());
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function requireRound<T>(roundId: string, f: (s: RoundState) => T): Promise<T> {
    const value = await rounds.read(roundId, f);
    if (value === undefined) throw new ApiError('UNKNOWN_ROUND', `Round ${roundId} does not exist.`, { field: 'roundId' });
    return value;
  }

  const keyOf = (req: FastifyRequest, suffix = ''): { idempotencyKey?: string } => {
    const key = engineKeyOf(req);
    return key === undefined ? {} : { idempotencyKey: key + suffix };
  };

  function settle(outcome: Outcome<RoundEvent>, type: string): void {
    ctx.metrics.commands.inc({ type, outcome: outcome.ok ? (outcome.duplicate ? 'duplicate' : 'ok') : outcome.error.code });
    if (!outcome.ok) throw ApiError.fromDomain(outcome.error);
  }

  async function run(req: FastifyRequest, command: RoundCommandInput): Promise<void> {
    settle(await rounds.execute(command, { ...keyOf(req), correlationId: req.id }), command.type);
  }

  const staff = (req: FastifyRequest): Acting => actingOf(req, ctx.engine, { staffOnly: true });

  // -------------------------------------------------------------------------
  // Rounds

  r.post('/v1/rounds', {
    schema: {
      tags: TAG,
      summary: 'Create an application round (staff)',
      description: 'A draft round for a season and a set of reservation units, with its allocation criteria as data. Open it to take applications.',
      body: createRoundBody,
      response: { 201: roundView, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = staff(req);
      const b = req.body;
      const units = rounds.unitsWithSites(b.unitIds);
      if (!units.ok) throw ApiError.fromDomain(units.error);
      const roundId = newRoundId('round');
      const outcome = await rounds.execute(
        {
          type: 'CreateRound',
          data: { roundId, name: b.name, season: b.season, units: units.value, criteria: b.criteria ?? DEFAULT_CRITERIA, ...(b.applicationsCloseAt === undefined ? {} : { applicationsCloseAt: b.applicationsCloseAt }) },
          meta: { actor: acting.actor },
        },
        { ...keyOf(req), correlationId: req.id },
      );
      settle(outcome, 'CreateRound');
      // On a replay the first attempt's id is in the events.
      const created = outcome.ok ? (outcome.events.find((e) => e.type === 'RoundCreated')?.data as { roundId: string } | undefined) : undefined;
      const id = created?.roundId ?? roundId;
      reply.code(201).header('location', `/v1/rounds/${id}`);
      return requireRound(id, viewOf);
    },
  });

  r.get('/v1/rounds', {
    schema: { tags: TAG, summary: 'List application rounds', response: { 200: z.object({ items: z.array(roundSummary) }), ...COMMON } },
    config: { scopes: ['staff', 'book'] },
    handler: async () => {
      const items = [];
      for (const { roundId } of rounds.list()) {
        const s = await rounds.read(roundId, summaryOf);
        if (s !== undefined) items.push(s);
      }
      return { items };
    },
  });

  r.get('/v1/rounds/:roundId', {
    schema: { tags: TAG, summary: 'Read a round: its season, units, criteria, status and current proposal', params: roundParams, response: { 200: roundView, ...COMMON } },
    config: { scopes: ['staff', 'book'] },
    handler: async (req) => requireRound(req.params.roundId, viewOf),
  });

  r.patch('/v1/rounds/:roundId', {
    schema: {
      tags: TAG,
      summary: 'Change a draft round (staff)',
      description: 'Name, season, units, criteria or closing time, while the round is a draft. Once open, the criteria are published and stay.',
      params: roundParams,
      body: updateRoundBody,
      response: { 200: roundView, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      const acting = staff(req);
      const b = req.body;
      let units;
      if (b.unitIds !== undefined) {
        const resolved = rounds.unitsWithSites(b.unitIds);
        if (!resolved.ok) throw ApiError.fromDomain(resolved.error);
        units = resolved.value;
      }
      const { roundId } = req.params;
      await run(req, {
        type: 'UpdateRound',
        data: {
          roundId,
          ...(b.name === undefined ? {} : { name: b.name }),
          ...(b.season === undefined ? {} : { season: b.season }),
          ...(units === undefined ? {} : { units }),
          ...(b.criteria === undefined ? {} : { criteria: b.criteria }),
          ...(b.applicationsCloseAt === undefined ? {} : { applicationsCloseAt: b.applicationsCloseAt }),
        },
        meta: { actor: acting.actor },
      });
      return requireRound(roundId, viewOf);
    },
  });

  const lifecycle = (path: string, type: 'OpenRound' | 'CloseRound' | 'StartAllocation' | 'PublishRound', summary: string, description: string): void => {
    r.post(`/v1/rounds/:roundId/${path}`, {
      schema: { tags: TAG, summary, description, params: roundParams, body: emptyBody, response: { 200: roundView, ...COMMON } },
      config: { scopes: ['staff'], command: true },
      handler: async (req) => {
        const acting = staff(req);
        await run(req, { type, data: { roundId: req.params.roundId }, meta: { actor: acting.actor } });
        return requireRound(req.params.roundId, viewOf);
      },
    });
  };
  lifecycle('open', 'OpenRound', 'Open the round for applications (staff)', 'draft -> open. The criteria are published from now on.');
  lifecycle('close', 'CloseRound', 'Close the application period (staff)', 'open -> closed. No more applications or amendments.');
  lifecycle('start-allocation', 'StartAllocation', 'Start allocating (staff)', 'closed -> allocating. Run the allocator with POST .../proposals.');
  lifecycle('publish', 'PublishRound', 'Publish the results (staff)', 'approved -> published, once every approved allocation has its series. Applicants can then read their results.');

  // -------------------------------------------------------------------------
  // Applications

  function applicationFrom(acting: Acting, b: z.infer<typeof applicationBody>, applicationId: string): Application {
    let customer;
    if (acting.kind === 'customer') {
      if (b.customerId !== undefined && b.customerId !== acting.customer.customerId) {
        throw new ApiError('FORBIDDEN', 'A channel applies for its customer (Vuoro-Customer); the booking office can apply on behalf of others.', { field: 'customerId' });
      }
      customer = acting.customer;
    } else {
      if (b.customerId === undefined) {
        throw new ApiError('VALIDATION_FAILED', 'Staff apply on behalf of a registered customer: name them in customerId.', {
          field: 'customerId',
          errors: [{ field: 'customerId', in: 'body', message: 'required for staff' }],
        });
      }
      customer = lookupCustomer(ctx.engine, b.customerId);
    }
    return {
      applicationId,
      applicant: {
        customerId: customer.customerId,
        customerGroupId: customer.customerGroupId,
        freeOfCharge: customer.freeOfCharge,
        ...(b.organisationName === undefined ? {} : { organisationName: b.organisationName }),
        contact: b.contact,
      },
      priorityCategoryId: b.priorityCategoryId,
      sections: b.sections.map((s) => ({ ...s, sectionId: s.sectionId ?? newRoundId('section') })),
      ...(b.notes === undefined ? {} : { notes: b.notes }),
    };
  }

  function applicationViewOf(s: RoundState, applicationId: string, acting: Acting) {
    const record = s.applications.get(applicationId);
    if (record === undefined || (acting.kind === 'customer' && record.application.applicant.customerId !== acting.customer.customerId)) return undefined;
    return {
      applicationId,
      status: record.status,
      sequence: record.sequence,
      application: record.application,
      declined: record.application.sections.filter((x) => s.declined.has(x.sectionId)).map((x) => ({ sectionId: x.sectionId, reason: s.declined.get(x.sectionId) ?? '' })),
    };
  }

  async function requireApplication(roundId: string, applicationId: string, acting: Acting) {
    const view = await requireRound(roundId, (s) => applicationViewOf(s, applicationId, acting));
    if (view === undefined) throw new ApiError('UNKNOWN_APPLICATION', `Application ${applicationId} does not exist in round ${roundId}.`, { field: 'applicationId' });
    return view;
  }

  r.post('/v1/rounds/:roundId/applications', {
    schema: {
      tags: TAG,
      summary: 'Apply for seasonal slots',
      description:
        'An association applies for weekly slots: per section how many a week, minimum and maximum duration, reservation units in order of preference, suitable times (primary or secondary) and last season’s slots. A booking channel applies for its Vuoro-Customer; staff on behalf of a registered customer. Every problem with the form is listed in `details.issues`, each with its stable code.',
      params: roundParams,
      body: applicationBody,
      response: { 201: applicationView, ...COMMON },
    },
    config: { scopes: ['book', 'staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, ctx.engine);
      const { roundId } = req.params;
      const application = applicationFrom(acting, req.body, newRoundId('application'));
      const outcome = await rounds.execute({ type: 'SubmitApplication', data: { roundId, application }, meta: { actor: acting.actor } }, { ...keyOf(req), correlationId: req.id });
      settle(outcome, 'SubmitApplication');
      const submitted = outcome.ok ? (outcome.events[0]?.data as { application: Application } | undefined) : undefined;
      const applicationId = submitted?.application.applicationId ?? application.applicationId;
      reply.code(201).header('location', `/v1/rounds/${roundId}/applications/${applicationId}`);
      return requireApplication(roundId, applicationId, acting);
    },
  });

  r.get('/v1/rounds/:roundId/applications', {
    schema: {
      tags: TAG,
      summary: 'List applications',
      description: 'Staff see every application; a channel acting for a customer sees that customer’s own.',
      params: roundParams,
      querystring: z.object({ cursor: cursor.optional(), limit: limit(1000, 200) }).strict(),
      response: { 200: z.object({ items: z.array(applicationView), nextCursor: z.string().nullable() }), ...COMMON },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => {
      const acting = actingOf(req, ctx.engine);
      const all = await requireRound(req.params.roundId, (s) =>
        [...s.applications.keys()].map((applicationId) => applicationViewOf(s, applicationId, acting)).filter((x) => x !== undefined),
      );
      return page(all, (x) => x.applicationId, req.query);
    },
  });

  r.get('/v1/rounds/:roundId/applications/:applicationId', {
    schema: { tags: TAG, summary: 'Read an application', params: applicationParams, response: { 200: applicationView, ...COMMON } },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => requireApplication(req.params.roundId, req.params.applicationId, actingOf(req, ctx.engine)),
  });

  r.put('/v1/rounds/:roundId/applications/:applicationId', {
    schema: {
      tags: TAG,
      summary: 'Amend an application while the round is open',
      params: applicationParams,
      body: applicationBody,
      response: { 200: applicationView, ...COMMON },
    },
    config: { scopes: ['book', 'staff'], command: true },
    handler: async (req) => {
      const acting = actingOf(req, ctx.engine);
      const { roundId, applicationId } = req.params;
      const current = await requireApplication(roundId, applicationId, acting);
      const body = acting.kind === 'staff' ? { ...req.body, customerId: req.body.customerId ?? (current.application as Application).applicant.customerId } : req.body;
      await run(req, { type: 'AmendApplication', data: { roundId, application: applicationFrom(acting, body, applicationId) }, meta: { actor: acting.actor } });
      return requireApplication(roundId, applicationId, acting);
    },
  });

  r.post('/v1/rounds/:roundId/applications/:applicationId/withdraw', {
    schema: {
      tags: TAG,
      summary: 'Withdraw an application',
      params: applicationParams,
      body: z.object({ reason: z.string().max(1000).default('') }).strict().nullish(),
      response: { 200: applicationView, ...COMMON },
    },
    config: { scopes: ['book', 'staff'], command: true },
    handler: async (req) => {
      const acting = actingOf(req, ctx.engine);
      const { roundId, applicationId } = req.params;
      await run(req, { type: 'WithdrawApplication', data: { roundId, applicationId, reason: req.body?.reason ?? '' }, meta: { actor: acting.actor } });
      return requireApplication(roundId, applicationId, acting);
    },
  });

  r.get('/v1/rounds/:roundId/applications/:applicationId/result', {
    schema: {
      tags: TAG,
      summary: 'Read what an application got, and why',
      description: 'Per section: what was allocated and the reasons for any shortfall (which criterion, which competitor holds the time). Applicants see it once the round is published; staff at any time.',
      params: applicationParams,
      response: { 200: resultView, ...COMMON },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => {
      const acting = actingOf(req, ctx.engine);
      const { roundId, applicationId } = req.params;
      await requireApplication(roundId, applicationId, acting);
      return requireRound(roundId, (s) => {
        if (acting.kind === 'customer' && s.status !== 'published') {
          throw new ApiError('INVALID_STATE', 'Results are shown once the round is published.', { details: { status: s.status } });
        }
        return {
          applicationId,
          sections: [...s.sectionResults.values()].filter((x) => x.applicationId === applicationId),
          allocations: [...s.allocations.values()].filter((x) => x.applicationId === applicationId),
        };
      });
    },
  });

  // -------------------------------------------------------------------------
  // Proposals and adjustments (staff)

  r.post('/v1/rounds/:roundId/proposals', {
    schema: {
      tags: TAG,
      summary: 'Run the allocator (staff)',
      description:
        'Allocates the round under its criteria against the units’ current calendars: locked allocations stay, declined sections are left out, the rest is allocated anew. The proposal records its objective, the HiGHS bound and the gap, and an explanation per section.',
      params: roundParams,
      body: proposeBody,
      response: { 201: z.object({ proposalId: z.string(), metrics: proposalMetricsSchema, allocations: z.number().int() }).meta({ id: 'ProposalSummary' }), ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = staff(req);
      const body = req.body ?? { solver: 'auto' as const, bound: true };
      const result = await rounds.propose(req.params.roundId, { actor: acting.actor, solver: body.solver, bound: body.bound, ...keyOf(req) });
      ctx.metrics.commands.inc({ type: 'RecordProposal', outcome: result.ok ? 'ok' : result.error.code });
      if (!result.ok) throw ApiError.fromDomain(result.error);
      reply.code(201);
      return result.value;
    },
  });

  r.get('/v1/rounds/:roundId/proposal/allocations', {
    schema: {
      tags: TAG,
      summary: 'List the current proposal’s allocations (staff)',
      description: 'Each with its level (1 = the applicant’s first slot), window, unit rank, usable weeks, value and explanation notes.',
      params: roundParams,
      querystring: pageQuery,
      response: { 200: allocationPage, ...COMMON },
    },
    config: { scopes: ['staff'] },
    handler: async (req) => {
      staff(req);
      const q = req.query;
      const items = await requireRound(req.params.roundId, (s) =>
        [...s.allocations.values()].filter(
          (a) => (q.applicationId === undefined || a.applicationId === q.applicationId) && (q.sectionId === undefined || a.sectionId === q.sectionId) && (q.unitId === undefined || a.unitId === q.unitId),
        ),
      );
      return page<Allocation>(items, (a) => a.allocationId, q);
    },
  });

  r.get('/v1/rounds/:roundId/proposal/sections', {
    schema: {
      tags: TAG,
      summary: 'List the current proposal’s section results and explanations (staff)',
      params: roundParams,
      querystring: pageQuery,
      response: { 200: sectionPage, ...COMMON },
    },
    config: { scopes: ['staff'] },
    handler: async (req) => {
      staff(req);
      const q = req.query;
      const items = await requireRound(req.params.roundId, (s) =>
        [...s.sectionResults.values()].filter(
          (x) => (q.applicationId === undefined || x.applicationId === q.applicationId) && (q.sectionId === undefined || x.sectionId === q.sectionId) && (q.status === undefined || x.status === q.status),
        ),
      );
      return page(items, (x) => x.sectionId, q);
    },
  });

  const allocationAction = (path: string, summary: string, type: 'LockAllocation' | 'UnlockAllocation'): void => {
    r.post(`/v1/rounds/:roundId/allocations/:allocationId/${path}`, {
      schema: { tags: TAG, summary, params: allocationParams, body: emptyBody, response: { 200: allocationSchema, ...COMMON } },
      config: { scopes: ['staff'], command: true },
      handler: async (req) => {
        const acting = staff(req);
        const { roundId, allocationId } = req.params;
        await run(req, { type, data: { roundId, allocationId }, meta: { actor: acting.actor } });
        return requireAllocation(roundId, allocationId);
      },
    });
  };

  async function requireAllocation(roundId: string, allocationId: string): Promise<Allocation> {
    const a = await requireRound(roundId, (s) => s.allocations.get(allocationId));
    if (a === undefined) throw new ApiError('UNKNOWN_ALLOCATION', `Allocation ${allocationId} is not in the current proposal.`, { field: 'allocationId' });
    return a;
  }

  allocationAction('lock', 'Lock an allocation (staff): re-runs keep it as it is', 'LockAllocation');
  allocationAction('unlock', 'Unlock an allocation (staff)', 'UnlockAllocation');

  r.post('/v1/rounds/:roundId/allocations/:allocationId/move', {
    schema: {
      tags: TAG,
      summary: 'Move an allocation (staff)',
      description:
        'To another unit, weekday or time. Checked against the unit’s opening hours and existing bookings on the criteria’s share of weeks, and against the other allocations (the whole hall and its sections, buffers included). A moved allocation is locked.',
      params: allocationParams,
      body: slotBody,
      response: { 200: allocationSchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      const acting = staff(req);
      const { roundId, allocationId } = req.params;
      settle(await rounds.move(roundId, allocationId, req.body, acting.actor, { ...keyOf(req), correlationId: req.id }), 'MoveAllocation');
      return requireAllocation(roundId, allocationId);
    },
  });

  r.post('/v1/rounds/:roundId/allocations/:allocationId/remove', {
    schema: { tags: TAG, summary: 'Remove an allocation (staff)', params: allocationParams, body: reasonBody, response: { 200: z.object({ removed: z.string() }), ...COMMON } },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      const acting = staff(req);
      const { roundId, allocationId } = req.params;
      await run(req, { type: 'RemoveAllocation', data: { roundId, allocationId, reason: req.body.reason }, meta: { actor: acting.actor } });
      return { removed: allocationId };
    },
  });

  r.post('/v1/rounds/:roundId/sections/:sectionId/allocations', {
    schema: {
      tags: TAG,
      summary: 'Allocate a slot to a section by hand (staff)',
      description: 'Checked like a move; the new allocation is locked.',
      params: sectionParams,
      body: slotBody,
      response: { 201: allocationSchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = staff(req);
      const { roundId, sectionId } = req.params;
      const outcome = await rounds.add(roundId, sectionId, req.body, acting.actor, { ...keyOf(req), correlationId: req.id });
      settle(outcome, 'AddAllocation');
      const added = outcome.ok ? (outcome.events[0]?.data as { allocation: Allocation } | undefined) : undefined;
      reply.code(201);
      if (added === undefined) throw new ApiError('INTERNAL_ERROR', 'The allocation was recorded but not returned; read the proposal.');
      return added.allocation;
    },
  });

  const sectionAction = (path: string, type: 'DeclineSection' | 'ReinstateSection', summary: string, withReason: boolean): void => {
    r.post(`/v1/rounds/:roundId/sections/:sectionId/${path}`, {
      schema: {
        tags: TAG,
        summary,
        params: sectionParams,
        body: withReason ? reasonBody : emptyBody,
        response: { 200: z.object({ sectionId: z.string(), declined: z.boolean(), reason: z.string().nullable() }), ...COMMON },
      },
      config: { scopes: ['staff'], command: true },
      handler: async (req) => {
        const acting = staff(req);
        const { roundId, sectionId } = req.params;
        const reason = withReason ? (req.body as { reason: string }).reason : '';
        await run(req, (type === 'DeclineSection' ? { type, data: { roundId, sectionId, reason }, meta: { actor: acting.actor } } : { type, data: { roundId, sectionId }, meta: { actor: acting.actor } }) as RoundCommandInput);
        return requireRound(roundId, (s) => ({ sectionId, declined: s.declined.has(sectionId), reason: s.declined.get(sectionId) ?? null }));
      },
    });
  };
  sectionAction('decline', 'DeclineSection', 'Decline a section, with a reason the applicant is told (staff)', true);
  sectionAction('reinstate', 'ReinstateSection', 'Reinstate a declined section (staff)', false);

  // -------------------------------------------------------------------------
  // Approval

  r.post('/v1/rounds/:roundId/approve', {
    schema: {
      tags: TAG,
      summary: 'Approve the proposal: book every allocation as a seasonal series (staff)',
      description:
        'Books one weekly series per allocation through the engine and reports every rejected occurrence with its reason (HOLIDAY, CLOSED, OVERLAP, OUTSIDE_INTERVAL...). Safe to repeat: an interrupted approval finishes the series still missing and books nothing twice.',
      params: roundParams,
      body: approveBody,
      response: { 200: approvalView, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req) => {
      const acting = staff(req);
      const result = await rounds.approve(req.params.roundId, { actor: acting.actor, proposalId: req.body.proposalId, ...keyOf(req) });
      ctx.metrics.commands.inc({ type: 'ApproveAllocation', outcome: result.ok ? 'ok' : result.error.code });
      if (!result.ok) throw ApiError.fromDomain(result.error);
      return result.value;
    },
  });

  r.get('/v1/rounds/:roundId/approval', {
    schema: { tags: TAG, summary: 'Read the approval report (staff)', params: roundParams, response: { 200: approvalView, ...COMMON } },
    config: { scopes: ['staff'] },
    handler: async (req) => {
      staff(req);
      const report = await rounds.report(req.params.roundId);
      if (report === undefined) throw new ApiError('NO_PROPOSAL', 'The round has not been approved yet.');
      return report;
    },
  });

}
