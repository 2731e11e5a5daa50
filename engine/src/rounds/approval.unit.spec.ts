/**
 * A round end to end against a real Engine over the memory event store:
 * applications in, allocator proposal, staff lock and move, re-run, approval
 * booking one seasonal series per allocation, rejected occurrences reported,
 * idempotent re-approval, publication, and a restart that sees it all.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CRITERIA } from '../allocation/criteria.js';
import { addDays, weekdayOf } from '../calendar/index.js';
import { Engine } from '../runtime/engine.js';
import type { Actor } from '../site/commands.js';
import { SITE, UNITS, siteCatalogue } from '../site/fixtures.js';
import { HOLDS_SLOT } from '../site/state.js';
import { MemoryEventStore } from '../store/memory.js';
import type { EventStore } from '../store/port.js';
import type { ApplicationInput } from './schemas.js';
import { RoundService } from './service.js';

const STAFF: Actor = { kind: 'staff', staffId: 'stf_anna' };
const NOW = Date.parse('2027-05-03T09:00:00Z');
const ROUND = 'rnd_autumn';
// Eleven weeks over the end of summer time (31 Oct), All Saints' Day (Sat 6 Nov) and Independence Day (Mon 6 Dec).
const SEASON = { fromDate: '2027-10-04', toDate: '2027-12-19' };
const HALL_UNITS = [UNITS.hall.unitId, UNITS.hallA.unitId, UNITS.hallB.unitId];

async function park(store: EventStore = new MemoryEventStore()): Promise<Engine> {
  const engine = await Engine.open({ store, clock: () => NOW });
  const ok = async (command: Parameters<Engine['execute']>[0]) => {
    const outcome = await engine.execute(command, { siteId: SITE });
    if (!outcome.ok) throw new Error(`${command.type}: ${outcome.error.code} ${outcome.error.message}`);
  };
  const meta = { actor: STAFF };
  await ok({ type: 'DefineCustomerGroup', data: { group: { customerGroupId: 'grp_youth', name: 'Youth', freeOfCharge: true } }, meta });
  await ok({ type: 'DefineCustomerGroup', data: { group: { customerGroupId: 'grp_assoc', name: 'Associations', freeOfCharge: false } }, meta });
  for (const [id, group] of [['cus_juniors', 'grp_youth'], ['cus_choir', 'grp_assoc'], ['cus_seniors', 'grp_assoc'], ['cus_futsal', 'grp_youth']] as const) {
    await ok({ type: 'RegisterCustomer', data: { customer: { customerId: id, name: id, customerGroupId: group } }, meta });
  }
  for (const e of siteCatalogue) {
    if (e.type === 'SiteDefined') await ok({ type: 'DefineSite', data: { site: e.data.site }, meta });
    if (e.type === 'SpaceDefined') await ok({ type: 'DefineSpace', data: { space: e.data.space }, meta } as Parameters<Engine['execute']>[0]);
    if (e.type === 'ResourceDefined') await ok({ type: 'DefineResource', data: { resource: e.data.resource }, meta } as Parameters<Engine['execute']>[0]);
    if (e.type === 'UnitDefined') await ok({ type: 'DefineUnit', data: { unit: e.data.unit }, meta } as Parameters<Engine['execute']>[0]);
  }
  // A tournament holds the whole hall one Wednesday evening.
  await ok({ type: 'BlockTime', data: { reservationId: 'res_cup', unitId: UNITS.hall.unitId, spaceIds: [], start: '2027-11-17T16:00', end: '2027-11-17T22:00', reason: 'event' }, meta } as Parameters<Engine['execute']>[0]);
  return engine;
}

function app(id: string, customerId: string, category: string, sections: ApplicationInput['sections']): ApplicationInput {
  return {
    applicationId: id,
    applicant: { customerId, customerGroupId: customerId === 'cus_juniors' || customerId === 'cus_futsal' ? 'grp_youth' : 'grp_assoc', freeOfCharge: false, contact: { name: 'Contact', email: 'contact@example.org' } },
    priorityCategoryId: category,
    sections,
  };
}

const evenings = (days: number[], from = '17:00', to = '21:00') => days.map((weekday) => ({ weekday, from, to, priority: 'primary' as const }));

const APPLICATIONS: ApplicationInput[] = [
  app('app_juniors', 'cus_juniors', 'children_youth', [
    { sectionId: 'sec_juniors', name: 'U12', wishedPerWeek: 2, minDurationMinutes: 60, maxDurationMinutes: 120, unitOptions: [UNITS.hallA.unitId, UNITS.hallB.unitId], timeWindows: evenings([1, 2, 3]) },
  ]),
  app('app_futsal', 'cus_futsal', 'children_youth', [
    { sectionId: 'sec_futsal', name: 'Futsal', wishedPerWeek: 1, minDurationMinutes: 90, maxDurationMinutes: 120, unitOptions: [UNITS.hall.unitId], timeWindows: evenings([2, 4]) },
  ]),
  app('app_choir', 'cus_choir', 'local_association', [
    { sectionId: 'sec_choir', name: 'Rehearsal', wishedPerWeek: 1, minDurationMinutes: 90, maxDurationMinutes: 90, unitOptions: [UNITS.meeting.unitId], timeWindows: evenings([1, 3], '18:00', '21:00') },
  ]),
  app('app_seniors', 'cus_seniors', 'other', [
    { sectionId: 'sec_seniors', name: 'Walking football', wishedPerWeek: 2, minDurationMinutes: 60, maxDurationMinutes: 60, unitOptions: [UNITS.hallB.unitId, UNITS.hallA.unitId], timeWindows: evenings([1, 2, 3]) },
  ]),
];

async function roundWithApplications(engine: Engine): Promise<RoundService> {
  const rounds = await RoundService.open(engine, { clock: () => NOW });
  const units = rounds.unitsWithSites([...HALL_UNITS, UNITS.meeting.unitId]);
  if (!units.ok) throw new Error(units.error.message);
  const step = async (command: Parameters<RoundService['execute']>[0]) => {
    const outcome = await rounds.execute(command);
    if (!outcome.ok) throw new Error(`${command.type}: ${outcome.error.code} ${outcome.error.message}`);
  };
  await step({ type: 'CreateRound', data: { roundId: ROUND, name: 'Autumn 2027', season: SEASON, units: units.value, criteria: DEFAULT_CRITERIA }, meta: { actor: STAFF } });
  await step({ type: 'OpenRound', data: { roundId: ROUND }, meta: { actor: STAFF } });
  for (const a of APPLICATIONS) {
    await step({ type: 'SubmitApplication', data: { roundId: ROUND, application: { ...a, applicant: { ...a.applicant, freeOfCharge: a.applicant.freeOfCharge ?? false }, sections: a.sections.map((s) => ({ ...s, previousSlots: s.previousSlots ?? [] })) } }, meta: { actor: { kind: 'customer', customerId: a.applicant.customerId } } });
  }
  await step({ type: 'CloseRound', data: { roundId: ROUND }, meta: { actor: STAFF } });
  await step({ type: 'StartAllocation', data: { roundId: ROUND }, meta: { actor: STAFF } });
  return rounds;
}

const weeksOf = (weekday: number): number => {
  let n = 0;
  for (let d = SEASON.fromDate; d <= SEASON.toDate; d = addDays(d, 1)) if (weekdayOf(d) === weekday) n++;
  return n;
};

describe('a round from applications to booked series', () => {
  it('proposes, lets staff lock and move, re-runs around the locks, approves into series and reports every rejected occurrence', async () => {
    const store = new MemoryEventStore();
    const engine = await park(store);
    const rounds = await roundWithApplications(engine);

    const first = await rounds.propose(ROUND, { actor: STAFF });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.value.metrics.objective).toBeGreaterThan(0);
    expect(first.value.metrics.bound).toBeGreaterThanOrEqual(first.value.metrics.objective - 1e-9);
    const proposal = (await rounds.read(ROUND, (s) => [...s.allocations.values()]))!;
    // Everyone that asked gets something: the children's sections first, the choir its room.
    expect(new Set(proposal.map((a) => a.sectionId))).toEqual(new Set(['sec_juniors', 'sec_futsal', 'sec_choir', 'sec_seniors']));

    // Staff lock the choir and move one of the juniors' slots to Wednesday 19:00-21:00 on section B.
    const choir = proposal.find((a) => a.sectionId === 'sec_choir')!;
    expect((await rounds.execute({ type: 'LockAllocation', data: { roundId: ROUND, allocationId: choir.allocationId }, meta: { actor: STAFF } })).ok).toBe(true);
    const junior = proposal.find((a) => a.sectionId === 'sec_juniors')!;
    const occupied = proposal.filter((a) => a.weekday === 3 && a.allocationId !== junior.allocationId && HALL_UNITS.includes(a.unitId));
    for (const a of occupied) {
      expect((await rounds.execute({ type: 'RemoveAllocation', data: { roundId: ROUND, allocationId: a.allocationId, reason: 'make room' }, meta: { actor: STAFF } })).ok).toBe(true);
    }
    const sameDay = proposal.find((a) => a.sectionId === 'sec_juniors' && a.allocationId !== junior.allocationId && a.weekday === 3);
    if (sameDay) await rounds.execute({ type: 'RemoveAllocation', data: { roundId: ROUND, allocationId: sameDay.allocationId, reason: 'make room' }, meta: { actor: STAFF } });
    const moved = await rounds.move(ROUND, junior.allocationId, { unitId: UNITS.hallB.unitId, weekday: 3, startTime: '19:00', endTime: '21:00' }, STAFF);
    expect(moved.ok, moved.ok ? '' : moved.error.message).toBe(true);
    // A move onto the whole hall at the same time clashes through the hierarchy.
    const clash = await rounds.move(ROUND, choir.allocationId, { unitId: UNITS.hall.unitId, weekday: 3, startTime: '20:00', endTime: '21:00' }, STAFF);
    expect(clash.ok ? 'ok' : clash.error.code).toBe('SLOT_CONFLICT');
    // A move outside opening hours is refused with the share of weeks it would work.
    const closed = await rounds.move(ROUND, choir.allocationId, { unitId: UNITS.meeting.unitId, weekday: 1, startTime: '21:00', endTime: '23:00' }, STAFF);
    expect(closed.ok ? 'ok' : closed.error.code).toBe('SLOT_UNAVAILABLE');

    // Re-run: the locked and moved allocations stay exactly; the rest is allocated around them.
    const second = await rounds.propose(ROUND, { actor: STAFF });
    expect(second.ok, second.ok ? '' : second.error.message).toBe(true);
    const after = (await rounds.read(ROUND, (s) => [...s.allocations.values()]))!;
    expect(after.find((a) => a.allocationId === choir.allocationId)).toMatchObject({ unitId: choir.unitId, weekday: choir.weekday, startTime: choir.startTime, locked: true });
    expect(after.find((a) => a.allocationId === junior.allocationId)).toMatchObject({ unitId: UNITS.hallB.unitId, weekday: 3, startTime: '19:00', endTime: '21:00', locked: true, source: 'staff' });

    // Publishing before approval is refused; approval books a series per allocation.
    const early = await rounds.execute({ type: 'PublishRound', data: { roundId: ROUND }, meta: { actor: STAFF } });
    expect(early.ok ? 'ok' : early.error.code).toBe('INVALID_STATE');
    const approved = await rounds.approve(ROUND, { actor: STAFF, idempotencyKey: 'approve-1' });
    expect(approved.ok, approved.ok ? '' : approved.error.message).toBe(true);
    if (!approved.ok) return;
    const report = approved.value;
    expect(report.complete).toBe(true);
    expect(report.totals.allocations).toBe(after.length);
    expect(report.totals.seriesCreated).toBe(after.length);
    for (const s of report.series) {
      // Every week of the season is either booked or listed as rejected, with its reason.
      expect(s.booked + s.rejected.length).toBe(weeksOf(s.weekday));
    }
    const mondays = report.series.filter((s) => s.weekday === 1);
    expect(mondays.length).toBeGreaterThan(0);
    for (const s of mondays) expect(s.rejected).toContainEqual(expect.objectContaining({ date: '2027-12-06', reason: 'HOLIDAY' }));
    // The moved Wednesday slot meets the tournament once.
    const wednesdaysInHall = report.series.filter((s) => s.weekday === 3 && HALL_UNITS.includes(s.unitId));
    expect(wednesdaysInHall.map((s) => s.allocationId)).toContain(junior.allocationId);
    for (const s of wednesdaysInHall) expect(s.rejected).toContainEqual(expect.objectContaining({ date: '2027-11-17', reason: 'OVERLAP' }));
    expect(report.totals.occurrencesRejected).toBe(report.series.reduce((n, s) => n + s.rejected.length, 0));

    // The site partition holds the seasonal reservations, none overlapping (the site's own index refused any clash).
    const site = await engine.site(SITE);
    const booked = site.read((s) => [...s.reservations.values()].filter((r) => r.kind === 'seasonal' && HOLDS_SLOT.has(r.state)).length);
    expect(booked).toBe(report.totals.occurrencesBooked);
    const series = site.read((s) => [...s.series.values()].filter((x) => x.roundId === ROUND).length);
    expect(series).toBe(after.length);

    // Approving again books nothing twice.
    const again = await rounds.approve(ROUND, { actor: STAFF, idempotencyKey: 'approve-2' });
    expect(again.ok && again.value.totals).toEqual(report.totals);
    expect(site.read((s) => [...s.series.values()].filter((x) => x.roundId === ROUND).length)).toBe(after.length);

    expect((await rounds.execute({ type: 'PublishRound', data: { roundId: ROUND }, meta: { actor: STAFF } })).ok).toBe(true);

    // A restart over the same log sees the published round and its report.
    await rounds.close();
    await engine.close();
    const engine2 = await Engine.open({ store, clock: () => NOW });
    const rounds2 = await RoundService.open(engine2);
    expect(rounds2.list()).toEqual([{ roundId: ROUND, name: 'Autumn 2027' }]);
    expect(await rounds2.read(ROUND, (s) => s.status)).toBe('published');
    expect((await rounds2.report(ROUND))?.totals).toEqual(report.totals);
    await rounds2.close();
    await engine2.close();
  });

  it('refuses to run the allocator before the round is closed and allocating', async () => {
    const engine = await park();
    const rounds = await RoundService.open(engine);
    const units = rounds.unitsWithSites(HALL_UNITS);
    expect(units.ok).toBe(true);
    if (!units.ok) return;
    await rounds.execute({ type: 'CreateRound', data: { roundId: ROUND, name: 'Autumn', season: SEASON, units: units.value, criteria: DEFAULT_CRITERIA }, meta: { actor: STAFF } });
    const proposal = await rounds.propose(ROUND, { actor: STAFF });
    expect(proposal.ok ? 'ok' : proposal.error.code).toBe('INVALID_STATE');
    expect(rounds.unitsWithSites(['unt_nowhere']).ok).toBe(false);
    const unknown = await rounds.propose('rnd_nope', { actor: STAFF });
    expect(unknown.ok ? 'ok' : unknown.error.code).toBe('UNKNOWN_ROUND');
    await rounds.close();
    await engine.close();
  });
});
