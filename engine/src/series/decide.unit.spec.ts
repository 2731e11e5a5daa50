import { describe, expect, it } from 'vitest';
import { localMinutesOf } from '../calendar/index.js';
import { specFor } from '../testing/given.js';
import { siteDecider } from '../site/decider.js';
import type { CommandMeta, SiteCommand } from '../site/commands.js';
import type { SiteEvent, SiteEventOf } from '../site/events.js';
import { ALICE, STAFF, UNITS, YOUTH_CLUB, asCustomer, siteCatalogue } from '../site/fixtures.js';
import { occurrenceId } from './decide.js';

const spec = specFor(siteDecider);
const meta = (actor: CommandMeta['actor'] = STAFF): CommandMeta => ({ now: Date.parse('2027-01-04T08:00:00Z'), actor });
const pattern = { weekdays: [1], startTime: '18:00', endTime: '19:30', fromDate: '2027-03-01', toDate: '2027-11-29', everyWeeks: 1 };
const create = (over: Record<string, unknown> = {}, m = meta()): SiteCommand =>
  ({ type: 'CreateSeries', data: { seriesId: 'ser_1', unitId: UNITS.hallA.unitId, customer: YOUTH_CLUB, pattern, kind: 'seasonal', ...over }, meta: m }) as SiteCommand;

const requested = (events: SiteEvent[]) => events.filter((e): e is SiteEventOf<'ReservationRequested'> => e.type === 'ReservationRequested');
const rejected = (events: SiteEvent[]) => events.filter((e): e is SiteEventOf<'SeriesOccurrenceRejected'> => e.type === 'SeriesOccurrenceRejected');

describe('a weekly series', () => {
  it('books every Monday as one command, each confirmed', () => {
    spec(siteCatalogue).when(create()).then((events) => {
      expect(events[0]?.type).toBe('SeriesCreated');
      // 1 March - 29 November 2027: 40 Mondays, one of them Easter Monday (29 March)
      expect(requested(events)).toHaveLength(39);
      expect(events.filter((e) => e.type === 'ReservationConfirmed')).toHaveLength(39);
    });
  });

  it('keeps its wall time across both DST changes', () => {
    spec(siteCatalogue).when(create()).then((events) => {
      const starts = requested(events).map((e) => Date.parse(e.data.start));
      for (const s of starts) expect(localMinutesOf(s)).toBe(18 * 60);
      // 18:00 in winter is 16:00Z, in summer 15:00Z
      expect(requested(events).find((e) => e.data.start.startsWith('2027-03-22'))?.data.start).toBe('2027-03-22T16:00:00.000Z');
      expect(requested(events).find((e) => e.data.start.startsWith('2027-04-05'))?.data.start).toBe('2027-04-05T15:00:00.000Z');
      expect(requested(events).find((e) => e.data.start.startsWith('2027-10-25'))?.data.start).toBe('2027-10-25T15:00:00.000Z');
      expect(requested(events).find((e) => e.data.start.startsWith('2027-11-01'))?.data.start).toBe('2027-11-01T16:00:00.000Z');
    });
  });

  it('lists holidays and closures as rejected occurrences with reasons, and books the rest', () => {
    const thursdays = { ...pattern, weekdays: [4], fromDate: '2027-04-01', toDate: '2027-05-31' };
    const closedInMay: SiteEvent = {
      type: 'UnitRulesChanged',
      data: { unitId: UNITS.hallA.unitId, rules: { ...UNITS.hallA.rules, openingHours: { ...UNITS.hallA.rules.openingHours, closures: [{ from: '2027-05-20', to: '2027-05-27', reason: 'floor renovation' }] } } },
    };
    spec([...siteCatalogue, closedInMay]).when(create({ pattern: thursdays })).then((events) => {
      // Ascension Day is Thursday 6 May 2027
      expect(rejected(events).map((e) => [e.data.date, e.data.reason])).toEqual([
        ['2027-05-06', 'HOLIDAY'],
        ['2027-05-20', 'CLOSED'],
        ['2027-05-27', 'CLOSED'],
      ]);
      expect(requested(events)).toHaveLength(9 - 3);
      expect(rejected(events)[0]?.data.message).toMatch(/holiday/);
    });
  });

  it('rejects the occurrences that overlap existing reservations, including via the hierarchy', () => {
    const hallBooked: SiteEvent[] = [
      ...siteCatalogue,
      { type: 'TimeBlocked', data: { reservationId: 'res_blk', unitId: UNITS.hall.unitId, spaceIds: ['spc_hall'], resourceIds: [], start: '2027-03-08T15:00:00.000Z', end: '2027-03-08T20:00:00.000Z', reason: 'event', by: 'staff:x' } },
    ];
    spec(hallBooked).when(create()).then((events) => {
      expect(rejected(events).map((e) => [e.data.date, e.data.reason])).toContainEqual(['2027-03-08', 'OVERLAP']);
    });
  });

  it('rejects an occurrence in the spring-forward gap and books the other Sundays', () => {
    const sundays = { weekdays: [7], startTime: '03:00', endTime: '05:00', fromDate: '2027-03-14', toDate: '2027-04-04', everyWeeks: 1 };
    spec(siteCatalogue).when(create({ unitId: UNITS.cottage.unitId, pattern: sundays })).then((events) => {
      expect(rejected(events).map((e) => [e.data.date, e.data.reason])).toEqual([['2027-03-28', 'NONEXISTENT_LOCAL_TIME']]);
      expect(requested(events)).toHaveLength(3);
    });
  });

  it('every other week counts weeks from the first week', () => {
    spec(siteCatalogue).when(create({ pattern: { ...pattern, toDate: '2027-03-31', everyWeeks: 2 } })).then((events) => {
      expect(requested(events).map((e) => e.data.start.slice(0, 10))).toEqual(['2027-03-01', '2027-03-15']);
    });
  });

  it('is booked by staff only, on a known unit, with a pattern that has dates', () => {
    spec(siteCatalogue).when(create({}, meta(asCustomer(ALICE)))).thenFails('FORBIDDEN');
    spec(siteCatalogue).when(create({ unitId: 'unt_nope' })).thenFails('UNKNOWN_UNIT');
    spec(siteCatalogue).when(create({ pattern: { ...pattern, weekdays: [2], fromDate: '2027-03-01', toDate: '2027-03-01' } })).thenFails('EMPTY_SERIES');
  });

  describe('when it exists', () => {
    const created = siteDecider.decide(create(), siteCatalogue.reduce(siteDecider.evolve, siteDecider.initialState()));
    const history = [...siteCatalogue, ...(created.ok ? created.value : [])];

    it('cannot be created twice', () => {
      spec(history).when(create()).thenFails('ALREADY_EXISTS');
    });

    it('changes time from a date on and keeps the past occurrences', () => {
      const change: SiteCommand = { type: 'ChangeSeries', data: { seriesId: 'ser_1', fromDate: '2027-09-01', startTime: '19:00', endTime: '20:30' }, meta: meta() };
      const after = spec(history).when(change);
      after.then((events) => {
        expect(events[0]).toMatchObject({ type: 'SeriesChanged', data: { revision: 2, fromDate: '2027-09-01' } });
        const cancelled = events.filter((e) => e.type === 'ReservationCancelled');
        // September to 29 November: 13 Mondays
        expect(cancelled).toHaveLength(13);
        expect(requested(events)).toHaveLength(13);
        for (const e of requested(events)) expect(localMinutesOf(Date.parse(e.data.start))).toBe(19 * 60);
      });
      const state = after.state();
      expect(state.reservations.get(occurrenceId('ser_1', 1, '2027-08-30'))?.state).toBe('confirmed');
      expect(state.reservations.get(occurrenceId('ser_1', 1, '2027-09-06'))?.state).toBe('cancelled');
      expect(state.reservations.get(occurrenceId('ser_1', 2, '2027-09-06'))?.state).toBe('confirmed');
    });

    it('moves to an overlapping time without conflicting with its own cancelled occurrences', () => {
      const change: SiteCommand = { type: 'ChangeSeries', data: { seriesId: 'ser_1', fromDate: '2027-09-01', startTime: '18:30', endTime: '20:00' }, meta: meta() };
      spec(history).when(change).then((events) => expect(rejected(events)).toHaveLength(0));
    });

    it('moves to another unit from a date on', () => {
      const change: SiteCommand = { type: 'ChangeSeries', data: { seriesId: 'ser_1', fromDate: '2027-11-01', unitId: UNITS.hallB.unitId }, meta: meta() };
      spec(history).when(change).then((events) => {
        expect(requested(events).every((e) => e.data.unitId === UNITS.hallB.unitId)).toBe(true);
        expect(requested(events)).toHaveLength(5);
      });
    });

    it('cancels from a date on, keeping what came before', () => {
      const cancel: SiteCommand = { type: 'CancelSeries', data: { seriesId: 'ser_1', fromDate: '2027-10-01', reason: 'club stopped' }, meta: meta() };
      const after = spec(history).when(cancel);
      after.then((events) => expect(events.filter((e) => e.type === 'ReservationCancelled')).toHaveLength(9));
      expect(after.state().series.get('ser_1')?.cancelledFrom).toBe('2027-10-01');
    });

    it('cancels or moves a single occurrence like any reservation', () => {
      const one = occurrenceId('ser_1', 1, '2027-06-07');
      spec(history).when({ type: 'CancelReservation', data: { reservationId: one, reason: 'midsummer party' }, meta: meta() }).then((e) => expect(e).toHaveLength(1));
      spec(history).when({ type: 'ModifyReservation', data: { reservationId: one, start: '2027-06-07T19:00', end: '2027-06-07T20:30' }, meta: meta() }).then((e) => expect(e[0]?.type).toBe('ReservationModified'));
    });

    it('an unknown series is refused', () => {
      spec(history).when({ type: 'CancelSeries', data: { seriesId: 'ser_x', fromDate: '2027-10-01', reason: '' }, meta: meta() }).thenFails('UNKNOWN_SERIES');
    });
  });
});
