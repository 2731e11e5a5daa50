/**
 * Reservations: book (for yourself, or on behalf of a customer as staff),
 * confirm a hold, approve or deny one that needs handling, cancel, move,
 * block time, mark a no-show or completion; read one, and list them.
 *
 * Commands that change an existing reservation honour `If-Match` (the
 * reservation's ETag): a client acting on a stale view gets a 412 and
 * nothing changes.
 */
import {
  RESERVATION_KINDS,
  RESERVATION_STATES,
  newId,
  type EngineCommand,
  type RecordedEvent,
  type ReservationKind,
  type ReservationState,
} from '@vuoro/engine';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actingOf, lookupCustomer, type Acting } from '../auth/acting.js';
import type { ApiContext } from '../context.js';
import { runCommand } from '../http/commands.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { cursor, id, limit, localDate, reservationParams, timeInput } from '../http/schemas.js';
import { listReservations, requireReservation } from './query.js';
import { ifMatchPrecondition, parseIfMatch, reservationSchema, type ReservationDto } from './view.js';

const TAG = ['Reservations'];
const COMMON = problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503);

const bookBody = z
  .object({
    unitId: id.describe('The reservation unit to book'),
    start: timeInput,
    end: timeInput,
    customerId: id
      .optional()
      .describe('Staff only: book on behalf of this customer. A booking channel books for the customer in its Vuoro-Customer header.'),
    confirm: z
      .boolean()
      .default(true)
      .describe('true (default): submit at once. false: only hold the slot (see holdExpiresAt) until POST .../confirm'),
  })
  .strict();

const cancelBody = z.object({ reason: z.string().max(1000).default('') }).strict();
const denyBody = z.object({ reason: z.string().trim().min(1).max(1000).describe('Told to the customer') }).strict();
const modifyBody = z.object({ start: timeInput, end: timeInput }).strict();
const emptyBody = z.object({}).strict().nullish();
const blockBody = z
  .object({
    siteId: id.optional().describe('Needed when blocking spaces without a unit'),
    unitId: id.optional().describe("Block the unit's spaces and resources"),
    spaceIds: z.array(id).max(100).default([]),
    start: timeInput,
    end: timeInput,
    reason: z.enum(['closure', 'maintenance', 'event', 'other']),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .refine((b) => b.unitId !== undefined || (b.spaceIds.length > 0 && b.siteId !== undefined), {
    message: 'name a unitId, or a siteId and at least one spaceId',
    path: ['unitId'],
  });

const commaList = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .max(400)
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
    .pipe(z.array(z.enum(values)));

const listQuery = z
  .object({
    customerId: id.optional().describe('Staff: only this customer’s reservations. A booking channel always gets its customer’s own.'),
    siteId: id.optional(),
    unitId: id.optional(),
    state: commaList(RESERVATION_STATES).optional().describe('Comma-separated states, e.g. requires_handling,awaiting_payment'),
    kind: commaList(RESERVATION_KINDS).optional().describe('Comma-separated kinds'),
    from: localDate.optional().describe('Reservations overlapping this Helsinki date or later'),
    to: localDate.optional().describe('Reservations overlapping this Helsinki date or earlier'),
    cursor: cursor.optional(),
    limit: limit(200, 50),
  })
  .strict();

const listResponse = z.object({ items: z.array(reservationSchema), nextCursor: z.string().nullable() }).meta({ id: 'ReservationPage' });

function ifMatchOf(req: FastifyRequest): '*' | string[] | undefined {
  const h = req.headers['if-match'];
  return parseIfMatch(Array.isArray(h) ? h.join(',') : h);
}

function respond(reply: FastifyReply, dto: ReservationDto, status = 200): ReservationDto {
  reply.code(status).header('etag', dto.etag);
  return dto;
}

export async function reservationRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { engine } = ctx;
  const customerOf = (a: Acting): string | undefined => (a.kind === 'customer' ? a.customer.customerId : undefined);

  /** Runs a command on an existing reservation with If-Match, and answers with the reservation after it. */
  async function act(
    req: FastifyRequest,
    reply: FastifyReply,
    reservationId: string,
    acting: Acting,
    command: (actor: Acting['actor']) => EngineCommand,
  ): Promise<ReservationDto> {
    const expected = ifMatchOf(req);
    const customerId = customerOf(acting);
    await runCommand(ctx, req, reply, command(acting.actor), {
      ...(expected === undefined ? {} : { precondition: ifMatchPrecondition(reservationId, expected, customerId) }),
    });
    return respond(reply, await requireReservation(engine, reservationId, customerId));
  }

  r.post('/v1/reservations', {
    schema: {
      tags: TAG,
      summary: 'Book a reservation unit',
      description:
        'A booking channel books for the customer named in Vuoro-Customer (their customer group and price terms come from the directory). Staff book on behalf of a customer with `customerId`. The price is computed now and stored with the reservation. Answers 201 with the reservation: `confirmed`, `awaiting_payment` (pay by `paymentDeadline`), `requires_handling` (staff decide), or `requested` (a hold, when `confirm` is false).',
      body: bookBody,
      response: { 201: reservationSchema, ...COMMON },
    },
    config: { scopes: ['book', 'staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine);
      const body = req.body;
      let customer;
      let kind: 'normal' | 'behalf';
      if (acting.kind === 'customer') {
        if (body.customerId !== undefined && body.customerId !== acting.customer.customerId) {
          throw new ApiError('FORBIDDEN', 'A customer can only book for themselves; the booking office can book on behalf of others.', {
            field: 'customerId',
          });
        }
        customer = acting.customer;
        kind = 'normal';
      } else {
        if (body.customerId === undefined) {
          throw new ApiError('VALIDATION_FAILED', 'Staff book on behalf of a customer: name them in customerId.', {
            field: 'customerId',
            errors: [{ field: 'customerId', in: 'body', message: 'required for staff bookings' }],
          });
        }
        customer = lookupCustomer(engine, body.customerId);
        kind = 'behalf';
      }
      const events = await runCommand(ctx, req, reply, {
        type: 'RequestReservation',
        data: { reservationId: newId('reservation'), unitId: body.unitId, customer, start: body.start, end: body.end, kind, confirm: body.confirm },
        meta: { actor: acting.actor },
      });
      // On an engine-side replay the first attempt's id is in the events, not the one generated above.
      const { reservationId, siteId } = committed(events);
      const dto = await requireReservation(engine, reservationId, undefined, siteId);
      reply.header('location', `/v1/reservations/${reservationId}`);
      return respond(reply, dto, 201);
    },
  });

  r.get('/v1/reservations', {
    schema: {
      tags: TAG,
      summary: 'List reservations',
      description:
        'Staff list any reservations, filtered by customer, site, unit, state, kind and date. A booking channel acting for a customer (Vuoro-Customer) gets that customer’s own. Ordered by start time; follow `nextCursor` for the next page.',
      querystring: listQuery,
      response: { 200: listResponse, ...COMMON },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => {
      const acting = actingOf(req, engine);
      const q = req.query;
      const customerId = acting.kind === 'customer' ? acting.customer.customerId : q.customerId;
      if (acting.kind === 'customer' && q.customerId !== undefined && q.customerId !== customerId) {
        throw new ApiError('FORBIDDEN', 'A customer can list only their own reservations.', { field: 'customerId' });
      }
      return listReservations(engine, {
        ...(customerId === undefined ? {} : { customerId }),
        ...(q.siteId === undefined ? {} : { siteId: q.siteId }),
        ...(q.unitId === undefined ? {} : { unitId: q.unitId }),
        ...(q.state === undefined ? {} : { states: q.state as ReservationState[] }),
        ...(q.kind === undefined ? {} : { kinds: q.kind as ReservationKind[] }),
        ...(q.from === undefined ? {} : { from: q.from }),
        ...(q.to === undefined ? {} : { to: q.to }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
        limit: q.limit,
      });
    },
  });

  r.get('/v1/reservations/:reservationId', {
    schema: {
      tags: TAG,
      summary: 'Read a reservation',
      description: 'Answers with an ETag; send it in If-Match when changing the reservation, or in If-None-Match to get a 304 when nothing changed.',
      params: reservationParams,
      response: { 200: reservationSchema, 304: z.null().describe('Not modified'), ...COMMON },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine);
      const dto = await requireReservation(engine, req.params.reservationId, customerOf(acting));
      const none = req.headers['if-none-match'];
      if (none !== undefined && parseIfMatch(none)?.includes(dto.etag) === true) {
        reply.code(304).header('etag', dto.etag);
        return null;
      }
      return respond(reply, dto);
    },
  });

  const action = (
    path: string,
    summary: string,
    description: string,
    body: z.ZodType,
    staffOnly: boolean,
    command: (reservationId: string, body: Record<string, unknown>, actor: Acting['actor']) => EngineCommand,
  ): void => {
    r.post(path, {
      schema: {
        tags: TAG,
        summary,
        description: `${description} Honours If-Match.`,
        params: reservationParams,
        body,
        response: { 200: reservationSchema, ...COMMON },
      },
      config: { scopes: staffOnly ? ['staff'] : ['book', 'staff'], command: true },
      handler: async (req, reply) => {
        const acting = actingOf(req, engine, { staffOnly });
        const { reservationId } = req.params;
        const data = (req.body ?? {}) as Record<string, unknown>;
        return act(req, reply, reservationId, acting, (actor) => command(reservationId, data, actor));
      },
    });
  };

  action('/v1/reservations/:reservationId/confirm', 'Confirm a held reservation', 'Submits a reservation made with `confirm: false` before its hold lapses.', emptyBody, false, (reservationId, _b, actor) => ({
    type: 'ConfirmReservation',
    data: { reservationId },
    meta: { actor },
  }));
  action('/v1/reservations/:reservationId/approve', 'Approve a reservation (staff)', 'For a reservation in `requires_handling`; it then awaits payment or is confirmed.', emptyBody, true, (reservationId, _b, actor) => ({
    type: 'ApproveReservation',
    data: { reservationId },
    meta: { actor },
  }));
  action('/v1/reservations/:reservationId/deny', 'Deny a reservation (staff)', 'The slot is freed; the reason is told to the customer.', denyBody, true, (reservationId, b, actor) => ({
    type: 'DenyReservation',
    data: { reservationId, reason: b.reason as string },
    meta: { actor },
  }));
  action('/v1/reservations/:reservationId/cancel', 'Cancel a reservation', 'Customers can cancel until the unit’s cancellation deadline; staff always can.', cancelBody, false, (reservationId, b, actor) => ({
    type: 'CancelReservation',
    data: { reservationId, reason: (b.reason as string | undefined) ?? '' },
    meta: { actor },
  }));
  action('/v1/reservations/:reservationId/no-show', 'Mark a no-show (staff)', 'For a confirmed reservation that has started.', emptyBody, true, (reservationId, _b, actor) => ({
    type: 'MarkNoShow',
    data: { reservationId },
    meta: { actor },
  }));
  action('/v1/reservations/:reservationId/complete', 'Mark a reservation completed (staff)', 'For a confirmed reservation that has ended.', emptyBody, true, (reservationId, _b, actor) => ({
    type: 'MarkCompleted',
    data: { reservationId },
    meta: { actor },
  }));

  r.patch('/v1/reservations/:reservationId', {
    schema: {
      tags: TAG,
      summary: 'Move a reservation to another time',
      description:
        'Every rule of the unit is checked again for the new time; the price is recomputed from the price list in force. Customers can change until the cancellation deadline. Honours If-Match.',
      params: reservationParams,
      body: modifyBody,
      response: { 200: reservationSchema, ...COMMON },
    },
    config: { scopes: ['book', 'staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine);
      const { reservationId } = req.params;
      return act(req, reply, reservationId, acting, (actor) => ({
        type: 'ModifyReservation',
        data: { reservationId, start: req.body.start, end: req.body.end },
        meta: { actor },
      }));
    },
  });

  r.post('/v1/blocks', {
    schema: {
      tags: TAG,
      summary: 'Block time (staff)',
      description: 'Closes a unit’s spaces, or named spaces, for maintenance, an event or a closure. Refused while reservations hold that time.',
      body: blockBody,
      response: { 201: reservationSchema, ...COMMON },
    },
    config: { scopes: ['staff'], command: true },
    handler: async (req, reply) => {
      const acting = actingOf(req, engine, { staffOnly: true });
      const b = req.body;
      const siteId = b.unitId === undefined ? b.siteId : (engine.siteOfUnit(b.unitId) ?? b.siteId);
      const events = await runCommand(
        ctx,
        req,
        reply,
        {
          type: 'BlockTime',
          data: {
            reservationId: newId('reservation'),
            ...(b.unitId === undefined ? {} : { unitId: b.unitId }),
            spaceIds: b.spaceIds,
            start: b.start,
            end: b.end,
            reason: b.reason,
            ...(b.note === undefined ? {} : { note: b.note }),
          },
          meta: { actor: acting.actor },
        },
        siteId === undefined ? {} : { siteId },
      );
      const done = committed(events);
      reply.header('location', `/v1/reservations/${done.reservationId}`);
      return respond(reply, await requireReservation(engine, done.reservationId, undefined, done.siteId), 201);
    },
  });
}

/** The reservation a committed booking created, and its site (from the stream it was written to). */
function committed(events: readonly RecordedEvent[]): { reservationId: string; siteId: string } {
  const first = events[0];
  const data = first?.data as { reservationId?: unknown } | undefined;
  if (first === undefined || typeof data?.reservationId !== 'string' || !first.stream.startsWith('site-')) {
    throw new Error('a booking committed without a reservation id');
  }
  return { reservationId: data.reservationId, siteId: first.stream.slice('site-'.length) };
}
