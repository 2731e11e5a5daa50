/**
 * Weekly series over real HTTP, as the booking office uses them: one request
 * books a season of Mondays, holidays come back as rejected occurrences with
 * their reason, the wall time holds across DST, and the series is changed and
 * cancelled from a date on while past occurrences stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from './harness.js';

type Series = {
  seriesId: string;
  revision: number;
  cancelledFrom: string | null;
  occurrences: { reservationId: string; state: string; start: string; end: string }[];
  rejected: { date: string; reason: string; message: string }[];
};
type Problem = { code: string; status: number; detail: string };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw.close());

const pattern = { weekdays: [1], startTime: '18:00', endTime: '19:30', fromDate: '2027-03-01', toDate: '2027-06-28', everyWeeks: 1 };

describe('a weekly series booked by the booking office', () => {
  let series: Series;
  it('books a spring of Mondays in one request and lists Easter Monday as rejected, with its reason', async () => {
    const r = await gw.call<Series>('POST', '/v1/series', { key: gw.keys.desk, body: { unitId: 'unt_hall_b', customerId: 'cus_youth', pattern } });
    expect(r.status).toBe(201);
    series = r.body;
    expect(r.headers.get('location')).toBe(`/v1/series/${series.seriesId}`);
    // 18 Mondays from 1 March to 28 June 2027; Easter Monday (29 March) is a public holiday
    expect(series.rejected.map((x) => [x.date, x.reason])).toEqual([['2027-03-29', 'HOLIDAY']]);
    expect(series.occurrences).toHaveLength(17);
    expect(series.occurrences.every((o) => o.state === 'confirmed')).toBe(true);
  });

  it('keeps 18:00 on the clock before and after the spring change', () => {
    expect(series.occurrences.find((o) => o.start.startsWith('2027-03-22'))?.start).toBe('2027-03-22T18:00:00.000+02:00');
    expect(series.occurrences.find((o) => o.start.startsWith('2027-04-05'))?.start).toBe('2027-04-05T18:00:00.000+03:00');
  });

  it('its occurrences block the slot for everyone else', async () => {
    const r = await gw.call<Problem>('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall_b', start: '2027-01-11T18:00', end: '2027-01-11T19:00' } });
    expect(r.status).toBe(201);
    const clash = await gw.call<Problem>('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall', start: '2027-03-08T18:00', end: '2027-03-08T19:00' } });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('SLOT_CONFLICT');
  });

  it('changes the time from a date on; the earlier occurrences stay', async () => {
    const r = await gw.call<Series>('POST', `/v1/series/${series.seriesId}/change`, { key: gw.keys.desk, body: { fromDate: '2027-06-01', startTime: '19:00', endTime: '20:30' } });
    expect(r.status).toBe(200);
    expect(r.body.revision).toBe(2);
    const june = r.body.occurrences.filter((o) => o.start.startsWith('2027-06') && o.state === 'confirmed');
    expect(june.length).toBe(4);
    expect(june.every((o) => o.start.includes('T19:00'))).toBe(true);
    expect(r.body.occurrences.find((o) => o.start.startsWith('2027-05-31'))?.state).toBe('confirmed');
  });

  it('cancels from a date on', async () => {
    const r = await gw.call<Series>('POST', `/v1/series/${series.seriesId}/cancel`, { key: gw.keys.desk, body: { fromDate: '2027-05-01', reason: 'team stopped' } });
    expect(r.status).toBe(200);
    expect(r.body.cancelledFrom).toBe('2027-05-01');
    const after = r.body.occurrences.filter((o) => o.start >= '2027-05-01');
    expect(after.every((o) => o.state === 'cancelled')).toBe(true);
    expect(r.body.occurrences.filter((o) => o.state === 'confirmed').length).toBeGreaterThan(5);
  });

  it('is staff only, and an unknown series is a 404 problem', async () => {
    const asChannel = await gw.call<Problem>('POST', '/v1/series', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall_b', customerId: 'cus_alice', pattern } });
    expect(asChannel.status).toBe(403);
    const missing = await gw.call<Problem>('GET', '/v1/series/ser_nope', { key: gw.keys.desk });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('UNKNOWN_SERIES');
  });

  it('refuses a malformed pattern with the offending field', async () => {
    const r = await gw.call<Problem & { errors: { field: string }[] }>('POST', '/v1/series', { key: gw.keys.desk, body: { unitId: 'unt_hall_b', customerId: 'cus_youth', pattern: { ...pattern, endTime: '17:00' } } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.errors)).toMatch(/endTime/);
  });
});
