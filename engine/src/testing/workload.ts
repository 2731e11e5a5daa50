/**
 * A deterministic stream of booking commands over the fixture site, dense
 * enough that many collide (the whole hall against its sections, the same
 * evening slots asked for again and again).
 */
import type { SiteCommand } from '../site/commands.js';
import { UNITS } from '../site/fixtures.js';

const units = [UNITS.hall, UNITS.hallA, UNITS.hallB, UNITS.court, UNITS.sauna];
/** 2027-01-11 Monday 16:00 Helsinki, in UTC. */
const FIRST_EVENING = Date.parse('2027-01-11T14:00:00Z');
const HOUR = 3_600_000;

export function contendedBooking(
  i: number,
  seed = 0,
  spread: { days: number; hours: number } = { days: 5, hours: 5 },
): { command: SiteCommand; idempotencyKey: string } {
  // a small LCG keeps the sequence reproducible without a dependency
  const r = (i * 1_103_515_245 + 12_345 + seed * 7_919) >>> 0;
  const unit = units[r % units.length] as (typeof units)[number];
  const day = (r >>> 8) % spread.days; // from Monday 11 January 2027 on
  const hour = (r >>> 12) % spread.hours; // from 16:00 on (the hall closes at 22:00)
  const start = FIRST_EVENING + day * 24 * HOUR + hour * HOUR;
  const customerId = `cus_${(r >>> 16) % 50}`;
  return {
    idempotencyKey: `key-${seed}-${i}`,
    command: {
      type: 'RequestReservation',
      data: {
        reservationId: `res_${seed}_${i}`,
        unitId: unit.unitId,
        customer: { customerId, customerGroupId: 'grp_youth', freeOfCharge: true },
        start,
        end: start + HOUR,
        kind: 'behalf',
        confirm: true,
      },
      meta: { now: 0, actor: { kind: 'staff', staffId: 'stf_load' } },
    },
  };
}
