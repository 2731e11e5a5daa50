/**
 * Commands to a site partition. The zod schemas are what the edges (HTTP,
 * MQTT, the allocator) validate against; the decider trusts the shape and
 * checks the business rules.
 *
 * Time is an input: `meta.now` is the instant the command is decided at (the
 * runtime stamps it), so the decider itself never reads a clock.
 */
import { z } from 'zod';
import {
  idSchema,
  priceSchema,
  resourceSchema,
  siteSchema,
  spaceSchema,
  unitRulesSchema,
  unitSchema,
} from '../catalogue/schemas.js';
import { seriesPatternSchema } from '../series/pattern.js';

/**
 * A time as a client sends it: an ISO 8601 instant with offset, a Helsinki
 * wall time without one ('2027-03-28T18:00', checked for DST gaps and
 * overlaps), or epoch milliseconds.
 */
export const timeInputSchema = z.union([z.string().min(10).max(40), z.number().int()]);

export const actorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('customer'), customerId: idSchema }).strict(),
  z.object({ kind: z.literal('staff'), staffId: idSchema }).strict(),
  z.object({ kind: z.literal('system'), name: z.string().min(1) }).strict(),
]);
export type Actor = z.infer<typeof actorSchema>;

export const actorLabel = (a: Actor): string =>
  a.kind === 'customer' ? `customer:${a.customerId}` : a.kind === 'staff' ? `staff:${a.staffId}` : `system:${a.name}`;

export interface CommandMeta {
  /** Epoch ms at which the command is decided. */
  now: number;
  actor: Actor;
}

/** Who the reservation is for, as the directory knows them (resolved before the partition decides). */
export const bookingCustomerSchema = z
  .object({
    customerId: idSchema,
    customerGroupId: idSchema,
    freeOfCharge: z.boolean().default(false),
  })
  .strict();

const reservationRef = z.object({ reservationId: idSchema }).strict();

export const SITE_COMMAND_SCHEMAS = {
  DefineSite: z.object({ site: siteSchema }).strict(),
  DefineSpace: z.object({ space: spaceSchema }).strict(),
  UpdateSpace: z.object({ space: spaceSchema }).strict(),
  DefineResource: z.object({ resource: resourceSchema }).strict(),
  DefineUnit: z.object({ unit: unitSchema }).strict(),
  ChangeUnitRules: z.object({ unitId: idSchema, rules: unitRulesSchema }).strict(),
  SetPrice: z.object({ unitId: idSchema, price: priceSchema }).strict(),

  RequestReservation: z
    .object({
      reservationId: idSchema,
      unitId: idSchema,
      customer: bookingCustomerSchema,
      start: timeInputSchema,
      end: timeInputSchema,
      /** normal: a customer books; staff: the city's own use; behalf: staff books for a customer; seasonal: from an allocation. */
      kind: z.enum(['normal', 'staff', 'behalf', 'seasonal']).default('normal'),
      /** Submit at once (the usual API flow) instead of only holding the slot until `ConfirmReservation`. */
      confirm: z.boolean().default(true),
      seriesId: idSchema.optional(),
    })
    .strict(),
  ConfirmReservation: reservationRef,
  ApproveReservation: reservationRef,
  DenyReservation: z.object({ reservationId: idSchema, reason: z.string().trim().min(1).max(1000) }).strict(),
  RecordPayment: z
    .object({ reservationId: idSchema, paymentRef: z.string().min(1).max(200), amountCents: z.number().int().min(0) })
    .strict(),
  ExpireReservation: reservationRef,
  CancelReservation: z.object({ reservationId: idSchema, reason: z.string().max(1000).default('') }).strict(),
  ModifyReservation: z.object({ reservationId: idSchema, start: timeInputSchema, end: timeInputSchema }).strict(),
  BlockTime: z
    .object({
      reservationId: idSchema,
      /** Block a unit's spaces and resources, or name spaces directly. */
      unitId: idSchema.optional(),
      spaceIds: z.array(idSchema).default([]),
      start: timeInputSchema,
      end: timeInputSchema,
      reason: z.enum(['closure', 'maintenance', 'event', 'other']),
      note: z.string().max(1000).optional(),
    })
    .strict()
    .refine((b) => b.unitId !== undefined || b.spaceIds.length > 0, 'name a unitId or at least one spaceId'),
  MarkCompleted: reservationRef,
  MarkNoShow: reservationRef,

  /** A weekly slot: every occurrence is booked in one decision; the unbookable ones are recorded as rejected. */
  CreateSeries: z
    .object({
      seriesId: idSchema,
      unitId: idSchema,
      customer: bookingCustomerSchema,
      pattern: seriesPatternSchema,
      /** seasonal: from an application round; staff: the city's own use; behalf: staff for a customer, priced. */
      kind: z.enum(['seasonal', 'staff', 'behalf']).default('seasonal'),
      roundId: idSchema.optional(),
    })
    .strict(),
  /** Moves the series to a new time, weekdays or unit from a date on; earlier occurrences stay as they are. */
  ChangeSeries: z
    .object({
      seriesId: idSchema,
      fromDate: z.iso.date(),
      unitId: idSchema.optional(),
      weekdays: z.array(z.number().int().min(1).max(7)).min(1).max(7).optional(),
      startTime: z.string().optional(),
      endTime: z.string().optional(),
    })
    .strict()
    .refine((c) => c.unitId !== undefined || c.weekdays !== undefined || c.startTime !== undefined || c.endTime !== undefined, 'name what changes: unitId, weekdays, startTime or endTime'),
  CancelSeries: z
    .object({ seriesId: idSchema, fromDate: z.iso.date(), reason: z.string().max(1000).default('') })
    .strict(),
} as const;

type Schemas = typeof SITE_COMMAND_SCHEMAS;
export type SiteCommandType = keyof Schemas;
export type SiteCommandData<K extends SiteCommandType> = z.output<Schemas[K]>;
export type SiteCommand = {
  [K in SiteCommandType]: { type: K; data: z.output<Schemas[K]>; meta: CommandMeta };
}[SiteCommandType];
export type SiteCommandOf<K extends SiteCommandType> = Extract<SiteCommand, { type: K }>;

export const isSiteCommandType = (t: string): t is SiteCommandType => Object.hasOwn(SITE_COMMAND_SCHEMAS, t);
