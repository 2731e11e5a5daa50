/**
 * Request and response pieces shared by the routes. Request shapes reuse the
 * engine's zod schemas where the engine has them (the single source of each
 * shape); these are the edge's own: how times, dates and pages look on the
 * wire.
 */
import { ID_PATTERN, isLocalDate, wallMinutesOf } from '@vuoro/engine';
import { z } from 'zod';

export const id = z.string().regex(ID_PATTERN, 'an id is 1-80 letters, digits, "_" or "-"');

export const timeInput = z
  .union([z.string().min(10).max(40), z.number().int()])
  .describe(
    "An instant in ISO 8601 with offset ('2027-03-28T18:00:00+03:00', 'Z' for UTC), or a Helsinki wall time without offset ('2027-03-28T18:00'), or epoch milliseconds. A wall time that does not exist (the spring-forward hour) or exists twice (the autumn hour) is refused with a clear message.",
  );

/** ISO 8601 with the Helsinki offset, e.g. 2027-03-28T18:00:00.000+03:00. */
export const instant = z.string().describe('ISO 8601 instant with the Helsinki offset, e.g. 2027-03-28T18:00:00.000+03:00');

export const localDate = z
  .string()
  .refine(isLocalDate, { message: 'a calendar date YYYY-MM-DD (e.g. 2027-03-28) that exists' })
  .describe('A Helsinki calendar date, YYYY-MM-DD');

export const wallTime = z
  .string()
  .refine((s) => wallMinutesOf(s) !== undefined, { message: 'a wall time HH:mm from 00:00 to 24:00' })
  .describe('A Helsinki wall-clock time, HH:mm');

export const cursor = z.string().max(400).describe('Opaque cursor from a previous page (`nextCursor`)');
export const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

export const moneySchema = z
  .object({
    amountCents: z.number().int().describe('Gross amount including VAT, in integer cents'),
    vatCents: z.number().int(),
    vatBasisPoints: z.number().int().describe('VAT rate in basis points: 1400 = 14 %'),
    currency: z.literal('EUR'),
    source: z.enum(['price_list', 'free_group', 'no_price_list', 'staff']).describe('Where the price came from'),
  })
  .meta({ id: 'Price' });

export const money = (q: { amountCents: number; vatCents: number; vatBasisPoints: number; source: z.infer<typeof moneySchema>['source'] }) => ({
  amountCents: q.amountCents,
  vatCents: q.vatCents,
  vatBasisPoints: q.vatBasisPoints,
  currency: 'EUR' as const,
  source: q.source,
});

export const reservationParams = z.object({ reservationId: id }).strict();

/** Cursors are opaque to clients; inside they are the sort key of the last item. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(raw: string, check: (x: unknown) => x is T): T | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return check(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
