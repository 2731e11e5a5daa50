/**
 * Random but realistic histories for property tests: bookings through the
 * real engine (so every refusal the engine makes is made), cancellations,
 * moves, staff blocks, approvals, completions and no-shows, opening-hour and
 * price changes, a new hall section, occupancy intervals and sensors, over
 * two weeks around a DST change and public holidays.
 */
import fc from 'fast-check';
import { addDays, startOfLocalDay, wallTimeToInstant, unitRulesSchema, type UnitRules } from '@vuoro/engine';
import { PARK, STAFF, type Harness } from './harness.js';

/** Two weeks each: Easter 2027 with the spring DST change on Easter Sunday; the autumn change and All Saints' Day; Christmas. */
export const WINDOWS = ['2027-03-22', '2027-10-25', '2027-12-20'] as const;
export const WINDOW_DAYS = 14;

const UNITS = PARK.units.map((u) => u.unitId);
const OCCUPANCY_SPACES = ['spc_hall', 'spc_hall_a', 'spc_hall_b', 'spc_hall_c', 'spc_court1', 'spc_court2', 'spc_sauna', 'spc_meeting', 'spc_cottage'];
const GROUPS = ['grp_residents', 'grp_companies', 'grp_youth'];
const REASONS = ['closure', 'maintenance', 'event', 'other'] as const;

export type Op =
  | { kind: 'book'; unit: number; day: number; minute: number; dur: number; group: number; confirm: boolean; pay: boolean; later: boolean; byCustomer: boolean }
  | { kind: 'cancel'; target: number }
  | { kind: 'modify'; target: number; shift: number; dur: number }
  | { kind: 'block'; unit: number; day: number; minute: number; dur: number; reason: number }
  | { kind: 'decide'; target: number; approve: boolean; afterHours: number }
  | { kind: 'finish'; target: number; noShow: boolean }
  | { kind: 'occupancy'; space: number; day: number; minute: number; dur: number }
  | { kind: 'sensor'; space: number; day: number; minute: number }
  | { kind: 'rules'; unit: number; day: number; variant: number }
  | { kind: 'price'; unit: number; day: number; amount: number }
  | { kind: 'section' };

export interface Scenario {
  window: string;
  ops: Op[];
}

const day = fc.integer({ min: 0, max: WINDOW_DAYS - 1 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('book' as const),
      unit: fc.integer({ min: 0, max: UNITS.length - 1 }),
      day,
      // Mostly in opening hours; sometimes at night, where only the cottage is open (and DST happens).
      minute: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 14, max: 41 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 47 }) }).map((k) => k * 30),
      dur: fc.integer({ min: 1, max: 8 }).map((k) => k * 30),
      group: fc.integer({ min: 0, max: GROUPS.length - 1 }),
      confirm: fc.boolean(),
      pay: fc.boolean(),
      later: fc.boolean(),
      // A customer's own booking ('normal') goes through handling where the unit asks for it; staff's does not.
      byCustomer: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), target: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('modify' as const), target: fc.nat(), shift: fc.integer({ min: -4, max: 4 }), dur: fc.integer({ min: 1, max: 6 }).map((k) => k * 30) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('block' as const),
      unit: fc.integer({ min: 0, max: UNITS.length - 1 }),
      day,
      minute: fc.integer({ min: 0, max: 47 }).map((k) => k * 30),
      dur: fc.integer({ min: 1, max: 40 }).map((k) => k * 30),
      reason: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('decide' as const), target: fc.nat(), approve: fc.boolean(), afterHours: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('finish' as const), target: fc.nat(), noShow: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('occupancy' as const),
      space: fc.integer({ min: 0, max: OCCUPANCY_SPACES.length - 1 }),
      day,
      minute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
      dur: fc.integer({ min: 1, max: 300 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sensor' as const),
      space: fc.integer({ min: 0, max: OCCUPANCY_SPACES.length - 1 }),
      day,
      minute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rules' as const), unit: fc.integer({ min: 0, max: UNITS.length - 1 }), day, variant: fc.integer({ min: 0, max: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('price' as const), unit: fc.integer({ min: 0, max: UNITS.length - 1 }), day, amount: fc.integer({ min: 0, max: 20_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('section' as const) }) },
);

export const scenarioArb = (maxOps = 40): fc.Arbitrary<Scenario> =>
  fc.record({ window: fc.constantFrom(...WINDOWS), ops: fc.array(opArb, { minLength: 8, maxLength: maxOps, size: 'max' }) });

const MINUTE = 60_000;
const HOUR = 3_600_000;

function rulesVariant(unitId: string, variant: number, date: string): UnitRules {
  const base = PARK.units.find((u) => u.unitId === unitId)!.rules;
  const hours = base.openingHours as UnitRules['openingHours'];
  const changed = (() => {
    switch (variant) {
      case 0: {
        const r = [{ from: '08:00', to: '20:00' }];
        return { ...hours, weekly: { mon: r, tue: r, wed: r, thu: r, fri: r, sat: [{ from: '10:00', to: '16:00' }] } };
      }
      case 1:
        return { ...hours, closures: [{ from: addDays(date, 1), to: addDays(date, 2), reason: 'Floor maintenance' }] };
      case 2:
        return { ...hours, exceptions: [{ date: addDays(date, 1), ranges: [{ from: '10:00', to: '14:00' }], reason: 'Event day' }] };
      case 3:
        return { ...hours, holidays: 'open' as const };
      default:
        return { ...hours, holidays: { ranges: [{ from: '10:00', to: '15:00' }] } };
    }
  })();
  return unitRulesSchema.parse({ ...base, openingHours: changed });
}

export interface PlayStats {
  booked: number;
  refused: number;
  applied: number;
  /** Refusals by code, to see that a generator still reaches the interesting paths. */
  codes: Record<string, number>;
}

/** Plays a scenario on a harness whose catalogue is the park. */
export async function play(h: Harness, s: Scenario, prefix = 'p'): Promise<PlayStats> {
  const player = new Player(h, s.window, prefix);
  for (const op of s.ops) await player.run(op);
  return player.stats;
}

/** Plays operations one at a time, remembering what earlier ones made. */
export class Player {
  readonly stats: PlayStats = { booked: 0, refused: 0, applied: 0, codes: {} };
  private readonly made: { id: string; start: number; end: number; handlingAt: number | undefined }[] = [];
  private n = 0;
  private sections = 0;

  constructor(
    private readonly h: Harness,
    private readonly window: string,
    /** Ids of what this player makes start with it, so two players never collide. */
    private readonly prefix = 'p',
  ) {}

  private async exec(command: Parameters<Harness['exec']>[0], siteId?: string) {
    const o = await this.h.exec(command, { allowRefusal: true, siteId: siteId ?? PARK.siteId, channel: 'staff-desk' });
    if (o.ok) this.stats.applied++;
    else {
      this.stats.refused++;
      const k = `${command.type}:${o.error.code}`;
      this.stats.codes[k] = (this.stats.codes[k] ?? 0) + 1;
    }
    return o;
  }

  async run(op: Op): Promise<void> {
    const h = this.h;
    const stats = this.stats;
    const made = this.made;
    const run = (command: Parameters<Harness['exec']>[0]) => this.exec(command);
    const dateOf = (d: number) => addDays(this.window, d);
    const bookingClock = startOfLocalDay(this.window) - 2 * 24 * HOUR;
    switch (op.kind) {
      case 'book': {
        const date = dateOf(op.day);
        const start = wallTimeToInstant(date, op.minute, { gap: 'after', ambiguous: op.later ? 'later' : 'earlier' });
        if (!start.ok) break;
        const id = `res_${this.prefix}${this.n++}`;
        const group = GROUPS[op.group]!;
        const customerId = `cus_${this.n % 7}`;
        h.setNow(bookingClock);
        const o = await run({
          type: 'RequestReservation',
          data: {
            reservationId: id,
            unitId: UNITS[op.unit]!,
            customer: { customerId, customerGroupId: group, freeOfCharge: group === 'grp_youth' },
            start: start.value,
            end: start.value + op.dur * MINUTE,
            kind: op.byCustomer ? 'normal' : 'behalf',
            confirm: op.confirm,
          },
          meta: { actor: op.byCustomer ? { kind: 'customer', customerId } : STAFF },
        });
        if (!o.ok) break;
        stats.booked++;
        const types = o.events.map((e) => e.type);
        made.push({ id, start: start.value, end: start.value + op.dur * MINUTE, handlingAt: types.includes('ReservationHandlingRequired') ? bookingClock : undefined });
        const payment = o.events.find((e) => e.type === 'ReservationPaymentRequired');
        if (payment !== undefined && op.pay) {
          await run({ type: 'RecordPayment', data: { reservationId: id, paymentRef: `pay_${id}`, amountCents: (payment.data as { amountCents: number }).amountCents }, meta: { actor: STAFF } });
        }
        if (!op.confirm && op.pay) {
          const c = await run({ type: 'ConfirmReservation', data: { reservationId: id }, meta: { actor: STAFF } });
          if (c.ok) {
            const last = made[made.length - 1]!;
            if (c.events.some((e) => e.type === 'ReservationHandlingRequired')) last.handlingAt = bookingClock;
            const pay = c.events.find((e) => e.type === 'ReservationPaymentRequired');
            if (pay !== undefined) {
              await run({ type: 'RecordPayment', data: { reservationId: id, paymentRef: `pay_${id}`, amountCents: (pay.data as { amountCents: number }).amountCents }, meta: { actor: STAFF } });
            }
          }
        }
        break;
      }
      case 'cancel': {
        const r = made[op.target % Math.max(made.length, 1)];
        if (r === undefined) break;
        h.setNow(bookingClock);
        await run({ type: 'CancelReservation', data: { reservationId: r.id, reason: 'changed plans' }, meta: { actor: STAFF } });
        break;
      }
      case 'modify': {
        const r = made[op.target % Math.max(made.length, 1)];
        if (r === undefined) break;
        h.setNow(bookingClock);
        const start = r.start + op.shift * 30 * MINUTE;
        const o = await run({ type: 'ModifyReservation', data: { reservationId: r.id, start, end: start + op.dur * MINUTE }, meta: { actor: STAFF } });
        if (o.ok) {
          r.start = start;
          r.end = start + op.dur * MINUTE;
        }
        break;
      }
      case 'block': {
        const date = dateOf(op.day);
        const start = wallTimeToInstant(date, op.minute, { gap: 'after', ambiguous: 'earlier' });
        if (!start.ok) break;
        h.setNow(bookingClock);
        const id = `blk_${this.prefix}${this.n++}`;
        const o = await run({
          type: 'BlockTime',
          data: { reservationId: id, unitId: UNITS[op.unit]!, spaceIds: [], start: start.value, end: start.value + op.dur * MINUTE, reason: REASONS[op.reason]! },
          meta: { actor: STAFF },
        });
        if (o.ok) made.push({ id, start: start.value, end: start.value + op.dur * MINUTE, handlingAt: undefined });
        break;
      }
      case 'decide': {
        const pending = made.filter((m) => m.handlingAt !== undefined);
        const r = pending[op.target % Math.max(pending.length, 1)];
        if (r === undefined) break;
        h.setNow((r.handlingAt as number) + op.afterHours * HOUR);
        if (op.approve) await run({ type: 'ApproveReservation', data: { reservationId: r.id }, meta: { actor: STAFF } });
        else await run({ type: 'DenyReservation', data: { reservationId: r.id, reason: 'not available for this use' }, meta: { actor: STAFF } });
        break;
      }
      case 'finish': {
        const r = made[op.target % Math.max(made.length, 1)];
        if (r === undefined) break;
        h.setNow(r.end + HOUR);
        await run({ type: op.noShow ? 'MarkNoShow' : 'MarkCompleted', data: { reservationId: r.id }, meta: { actor: STAFF } });
        break;
      }
      case 'occupancy': {
        const start = startOfLocalDay(dateOf(op.day)) + op.minute * MINUTE;
        await h.log(PARK.siteId, [
          {
            type: 'SpaceOccupancyRecorded',
            data: { siteId: PARK.siteId, spaceId: OCCUPANCY_SPACES[op.space]!, start: new Date(start).toISOString(), end: new Date(start + op.dur * MINUTE).toISOString(), sensorIds: ['sen_x'] },
          },
        ]);
        break;
      }
      case 'sensor': {
        const at = startOfLocalDay(dateOf(op.day)) + op.minute * MINUTE;
        const spaceId = OCCUPANCY_SPACES[op.space]!;
        await h.log(PARK.siteId, [
          {
            type: 'DeviceProvisioned',
            data: { siteId: PARK.siteId, deviceId: `dev_${this.prefix}${this.n++}`, kind: 'occupancy_sensor', spaceId, name: 'Sensor', secretDigest: 'x'.repeat(32), by: 'staff:stf_test' },
            metadata: { decidedAt: new Date(at).toISOString() },
          },
        ]);
        break;
      }
      case 'rules': {
        const date = dateOf(op.day);
        h.setNow(startOfLocalDay(date) + 6 * HOUR);
        const unitId = UNITS[op.unit]!;
        await run({ type: 'ChangeUnitRules', data: { unitId, rules: rulesVariant(unitId, op.variant, date) }, meta: { actor: STAFF } });
        break;
      }
      case 'price': {
        h.setNow(bookingClock);
        await run({
          type: 'SetPrice',
          data: { unitId: UNITS[op.unit]!, price: { customerGroupId: 'grp_residents', validFrom: dateOf(op.day), basis: 'per_hour', amountCents: op.amount, vatBasisPoints: 1400 } },
          meta: { actor: STAFF },
        });
        break;
      }
      case 'section': {
        h.setNow(bookingClock);
        await run({ type: 'DefineSpace', data: { space: { spaceId: `spc_hall_${this.prefix}${this.sections++}`, parentId: 'spc_hall', name: 'Hall, extra section', areaM2: 300 } }, meta: { actor: STAFF } });
        break;
      }
    }
  }
}
