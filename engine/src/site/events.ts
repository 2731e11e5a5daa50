/**
 * Events of a site partition: its catalogue (spaces, units, rules, prices) and
 * its reservations. Every change is an event; nothing is updated in place.
 *
 * Each event's `data` has a versioned zod schema (`SITE_EVENT_SCHEMAS`); the
 * current version is what deciders emit. Older versions stored in the log are
 * upcast when read (`upcast.ts`), so evolve only ever sees the current shape.
 * Instants are ISO 8601 UTC strings: the log is read by other processes and
 * languages, so it carries no epoch numbers.
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

const instant = z.iso.datetime({ offset: true });

export const SERIES_REJECTION_REASONS = [
  'OVERLAP',
  'CLOSED',
  'HOLIDAY',
  'OUTSIDE_OPENING_HOURS',
  'OUTSIDE_INTERVAL',
  'NONEXISTENT_LOCAL_TIME',
  'DURATION_OUT_OF_RANGE',
  'CUSTOMER_GROUP_NOT_ALLOWED',
  'NO_PRICE',
  'OTHER',
] as const;
export type SeriesRejectionReason = (typeof SERIES_REJECTION_REASONS)[number];

export const RESERVATION_KINDS = ['normal', 'staff', 'behalf', 'seasonal', 'blocked'] as const;
export type ReservationKind = (typeof RESERVATION_KINDS)[number];

export const priceQuoteSchema = z
  .object({
    amountCents: z.number().int().min(0),
    vatCents: z.number().int().min(0),
    vatBasisPoints: z.number().int().min(0),
    /** The price list entry used, or `free` (no price list, or a free customer group). */
    source: z.enum(['price_list', 'free_group', 'no_price_list', 'staff']),
  })
  .strict();
export type PriceQuote = z.infer<typeof priceQuoteSchema>;

const by = z.string().min(1);

export const SITE_EVENT_SCHEMAS = {
  SiteDefined: z.object({ site: siteSchema }),
  SpaceDefined: z.object({ space: spaceSchema }),
  SpaceUpdated: z.object({ space: spaceSchema }),
  ResourceDefined: z.object({ resource: resourceSchema }),
  UnitDefined: z.object({ unit: unitSchema }),
  UnitRulesChanged: z.object({ unitId: idSchema, rules: unitRulesSchema }),
  PriceSet: z.object({ unitId: idSchema, price: priceSchema }),

  ReservationRequested: z.object({
    reservationId: idSchema,
    unitId: idSchema,
    spaceIds: z.array(idSchema),
    resourceIds: z.array(idSchema),
    customerId: idSchema,
    customerGroupId: idSchema,
    kind: z.enum(RESERVATION_KINDS),
    start: instant,
    end: instant,
    bufferBeforeMinutes: z.number().int().min(0),
    bufferAfterMinutes: z.number().int().min(0),
    price: priceQuoteSchema,
    holdExpiresAt: instant,
    seriesId: idSchema.optional(),
  }),
  ReservationHandlingRequired: z.object({ reservationId: idSchema }),
  ReservationApproved: z.object({ reservationId: idSchema, by }),
  ReservationDenied: z.object({ reservationId: idSchema, by, reason: z.string() }),
  ReservationPaymentRequired: z.object({ reservationId: idSchema, amountCents: z.number().int(), deadline: instant }),
  ReservationPaid: z.object({ reservationId: idSchema, paymentRef: z.string(), amountCents: z.number().int() }),
  ReservationConfirmed: z.object({ reservationId: idSchema }),
  ReservationExpired: z.object({ reservationId: idSchema, reason: z.enum(['hold', 'payment']) }),
  ReservationCancelled: z.object({ reservationId: idSchema, by, reason: z.string() }),
  ReservationModified: z.object({
    reservationId: idSchema,
    start: instant,
    end: instant,
    price: priceQuoteSchema,
  }),
  TimeBlocked: z.object({
    reservationId: idSchema,
    unitId: idSchema.optional(),
    spaceIds: z.array(idSchema),
    resourceIds: z.array(idSchema),
    start: instant,
    end: instant,
    reason: z.enum(['closure', 'maintenance', 'event', 'other']),
    note: z.string().optional(),
    by,
  }),
  ReservationCompleted: z.object({ reservationId: idSchema }),
  ReservationNoShow: z.object({ reservationId: idSchema, by }),

  SeriesCreated: z.object({
    seriesId: idSchema,
    unitId: idSchema,
    customerId: idSchema,
    customerGroupId: idSchema,
    kind: z.enum(['seasonal', 'staff', 'behalf']),
    pattern: seriesPatternSchema,
    roundId: idSchema.optional(),
    by,
  }),
  /** An occurrence that could not be booked; never silently dropped. */
  SeriesOccurrenceRejected: z.object({
    seriesId: idSchema,
    revision: z.number().int().min(1),
    date: z.iso.date(),
    start: instant.optional(),
    end: instant.optional(),
    reason: z.enum(SERIES_REJECTION_REASONS),
    message: z.string(),
  }),
  SeriesChanged: z.object({
    seriesId: idSchema,
    fromDate: z.iso.date(),
    unitId: idSchema,
    pattern: seriesPatternSchema,
    revision: z.number().int().min(2),
    by,
  }),
  SeriesCancelled: z.object({ seriesId: idSchema, fromDate: z.iso.date(), reason: z.string(), by }),
} as const;

type Schemas = typeof SITE_EVENT_SCHEMAS;
export type SiteEventType = keyof Schemas;
export type SiteEvent = { [K in SiteEventType]: { type: K; data: z.infer<Schemas[K]> } }[SiteEventType];
export type SiteEventOf<K extends SiteEventType> = Extract<SiteEvent, { type: K }>;

export const SITE_EVENT_SCHEMA_VERSION = 1;

export const isSiteEventType = (t: string): t is SiteEventType => Object.hasOwn(SITE_EVENT_SCHEMAS, t);
