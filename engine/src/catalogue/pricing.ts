/**
 * Price of a reservation (hinnoitteluperiaatteet): per customer group,
 * date-effective, gross amounts with VAT, all in integer cents. The price is
 * computed once, at booking, and stored in the event, so a later price change
 * never rewrites what a customer was promised.
 */
import { localDateOf } from '../calendar/index.js';
import type { PriceQuote } from '../site/events.js';
import type { Price, Unit } from './schemas.js';

/** VAT contained in a gross amount, rounded half up to a cent. */
export const vatOf = (grossCents: number, vatBasisPoints: number): number =>
  Math.round((grossCents * vatBasisPoints) / (10_000 + vatBasisPoints));

/** The price list entry in force for a group on the date `start` falls on (Helsinki), if any. */
export function priceInForce(prices: readonly Price[], customerGroupId: string, start: number): Price | undefined {
  const date = localDateOf(start);
  let found: Price | undefined;
  for (const p of prices) {
    // prices are kept sorted by validFrom, so the last match is the newest in force
    if (p.customerGroupId === customerGroupId && p.validFrom <= date) found = p;
  }
  return found;
}

export type QuoteResult = { ok: true; quote: PriceQuote } | { ok: false };

const FREE_QUOTES = Object.fromEntries(
  (['price_list', 'free_group', 'no_price_list', 'staff'] as const).map((source) => [
    source,
    Object.freeze({ amountCents: 0, vatCents: 0, vatBasisPoints: 0, source }),
  ]),
) as Record<PriceQuote['source'], PriceQuote>;

/** A zero price, shared and frozen: events carry it by reference. */
export const FREE_QUOTE = (source: PriceQuote['source']): PriceQuote => FREE_QUOTES[source];

export function quote(
  unit: Unit,
  customer: { customerGroupId: string; freeOfCharge: boolean },
  start: number,
  end: number,
): QuoteResult {
  if (customer.freeOfCharge) return { ok: true, quote: FREE_QUOTE('free_group') };
  if (unit.prices.length === 0) return { ok: true, quote: FREE_QUOTE('no_price_list') };
  const price = priceInForce(unit.prices, customer.customerGroupId, start);
  if (price === undefined) return { ok: false };
  const amountCents =
    price.basis === 'fixed' ? price.amountCents : Math.round((price.amountCents * (end - start)) / 3_600_000);
  return {
    ok: true,
    quote: {
      amountCents,
      vatCents: vatOf(amountCents, price.vatBasisPoints),
      vatBasisPoints: price.vatBasisPoints,
      source: 'price_list',
    },
  };
}
