/**
 * The demo catalogue (`infra/demo-catalogue.json`): it parses, it is
 * consistent (ids, spaces, groups, prices), it has what the demo promises
 * (a hall in three sections, 18 tennis courts, 7 saunas and cottages), and
 * it loads into an engine without a refusal, twice, with bookings behaving
 * as its rules say.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../engine/src/catalogue/load.js';
import { priceInForce } from '../engine/src/catalogue/pricing.js';
import { catalogueFileSchema, type CatalogueFile } from '../engine/src/catalogue/schemas.js';
import { Engine } from '../engine/src/runtime/engine.js';
import { MemoryEventStore } from '../engine/src/store/memory.js';

const raw: unknown = JSON.parse(readFileSync(new URL('./demo-catalogue.json', import.meta.url), 'utf8'));
const parsed = catalogueFileSchema.safeParse(raw);
const file: CatalogueFile = parsed.success ? parsed.data : catalogueFileSchema.parse(raw);

const units = file.sites.flatMap((s) => s.units);
const unitsOfType = (t: string) => units.filter((u) => u.unitType === t);
const siteOf = (siteId: string) => {
  const site = file.sites.find((s) => s.siteId === siteId);
  if (site === undefined) throw new Error(`no site ${siteId}`);
  return site;
};

describe('demo catalogue file', () => {
  it('parses with catalogueFileSchema', () => {
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it('has unique ids with the right prefixes', () => {
    const ids: [prefix: string, id: string][] = [
      ...file.customerGroups.map((g): [string, string] => ['grp_', g.customerGroupId]),
      ...file.customers.map((c): [string, string] => ['cus_', c.customerId]),
      ...file.sites.flatMap((s): [string, string][] => [
        ['sit_', s.siteId],
        ...s.spaces.map((x): [string, string] => ['spc_', x.spaceId]),
        ...s.resources.map((x): [string, string] => ['rsc_', x.resourceId]),
        ...s.units.map((x): [string, string] => ['unt_', x.unitId]),
      ]),
    ];
    expect(ids.filter(([prefix, id]) => !id.startsWith(prefix))).toEqual([]);
    const seen = new Set<string>();
    const duplicates = ids.map(([, id]) => id).filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    expect(duplicates).toEqual([]);
  });

  it("books only spaces and resources of the unit's own site, and parents are in the same site", () => {
    const problems: string[] = [];
    for (const site of file.sites) {
      const spaces = new Set(site.spaces.map((s) => s.spaceId));
      const resources = new Set(site.resources.map((r) => r.resourceId));
      for (const s of site.spaces) if (s.parentId !== undefined && !spaces.has(s.parentId)) problems.push(`${s.spaceId} parent ${s.parentId}`);
      for (const u of site.units) {
        for (const s of u.spaceIds) if (!spaces.has(s)) problems.push(`${u.unitId} space ${s}`);
        for (const r of u.resourceIds) if (!resources.has(r)) problems.push(`${u.unitId} resource ${r}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names only customer groups that exist (prices, allowed groups, customers)', () => {
    const groups = new Set(file.customerGroups.map((g) => g.customerGroupId));
    const problems = [
      ...file.customers.filter((c) => !groups.has(c.customerGroupId)).map((c) => `${c.customerId} -> ${c.customerGroupId}`),
      ...units.flatMap((u) => u.prices.filter((p) => !groups.has(p.customerGroupId)).map((p) => `${u.unitId} price -> ${p.customerGroupId}`)),
      ...units.flatMap((u) => (u.rules.allowedCustomerGroups ?? []).filter((g) => !groups.has(g)).map((g) => `${u.unitId} allows ${g}`)),
    ];
    expect(problems).toEqual([]);
  });

  it('prices every group that may book a priced unit, from 2026 on (no NO_PRICE surprises)', () => {
    const paying = file.customerGroups.filter((g) => !g.freeOfCharge).map((g) => g.customerGroupId);
    const missing: string[] = [];
    for (const u of units) {
      if (u.prices.length === 0) continue;
      for (const g of paying) {
        if (u.rules.allowedCustomerGroups !== null && !u.rules.allowedCustomerGroups.includes(g)) continue;
        if (priceInForce(u.prices, g, Date.parse('2026-01-01T12:00:00Z')) === undefined) missing.push(`${u.unitId} ${g}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has the customer groups of a Finnish city, children and youth associations free of charge', () => {
    expect(file.customerGroups.map((g) => g.customerGroupId).sort()).toEqual([
      'grp_associations',
      'grp_city_own_use',
      'grp_companies',
      'grp_residents',
      'grp_schools',
      'grp_youth_associations',
    ]);
    expect(file.customerGroups.filter((g) => g.freeOfCharge).map((g) => g.customerGroupId)).toEqual(['grp_youth_associations']);
    expect(new Set(file.customers.map((c) => c.customerGroupId)).size).toBe(file.customerGroups.length);
  });

  it('has a sports hall that splits into three sections, each bookable, and the whole hall', () => {
    const park = siteOf('sit_kontula_sports_park');
    const sections = park.spaces.filter((s) => s.parentId === 'spc_kontula_hall');
    expect(sections.map((s) => s.spaceId)).toEqual(['spc_kontula_hall_a', 'spc_kontula_hall_b', 'spc_kontula_hall_c']);
    const booked = park.units.filter((u) => u.unitType === 'sports_hall').map((u) => u.spaceIds);
    expect(booked).toEqual([['spc_kontula_hall'], ['spc_kontula_hall_a'], ['spc_kontula_hall_b'], ['spc_kontula_hall_c']]);
  });

  it('has 18 tennis courts, one space and one unit each', () => {
    const courts = unitsOfType('tennis_court');
    expect(courts).toHaveLength(18);
    expect(new Set(courts.map((u) => u.spaceIds.join())).size).toBe(18);
    expect(courts.every((u) => u.spaceIds.length === 1)).toBe(true);
  });

  it('has 7 saunas and cottages at the seaside: 4 saunas with cleaning buffers, 3 cottages by the day', () => {
    const seaside = siteOf('sit_uutela_recreation');
    expect(seaside.units).toHaveLength(7);
    const saunas = seaside.units.filter((u) => u.unitType === 'sauna');
    const cottages = seaside.units.filter((u) => u.unitType === 'cottage');
    expect([saunas.length, cottages.length]).toEqual([4, 3]);
    for (const s of saunas) {
      expect(s.rules).toMatchObject({ bufferBeforeMinutes: 15, bufferAfterMinutes: 30, accessType: 'access_code', minDurationMinutes: 90, maxDurationMinutes: 180 });
    }
    for (const c of cottages) {
      expect(c.rules).toMatchObject({ startIntervalMinutes: 420, minDurationMinutes: 420 });
      expect(c.rules.openingHours.holidays).toBe('open');
    }
  });

  it('restricts the youth centre music studio to youth associations, schools and the city', () => {
    const studio = siteOf('sit_itakeskus_youth_centre').units.find((u) => u.unitType === 'studio');
    expect(studio?.rules.requiresHandling).toBe(true);
    expect(studio?.rules.allowedCustomerGroups).toEqual(['grp_youth_associations', 'grp_schools', 'grp_city_own_use']);
  });

  it('puts annual costs on every top-level space', () => {
    const spaces = file.sites.flatMap((s) => s.spaces).filter((s) => s.parentId === undefined);
    expect(spaces.filter((s) => s.annualCosts === undefined).map((s) => s.spaceId)).toEqual([]);
  });
});

describe('demo catalogue in an engine', () => {
  const NOW = Date.parse('2027-01-04T08:00:00Z'); // Monday 10:00 in Helsinki
  let engine: Engine;
  const total =
    file.customerGroups.length +
    file.customers.length +
    file.sites.reduce((n, s) => n + 1 + s.spaces.length + s.resources.length + s.units.length, 0);

  const customer = (customerId: string) => {
    const c = file.customers.find((x) => x.customerId === customerId);
    const g = file.customerGroups.find((x) => x.customerGroupId === c?.customerGroupId);
    if (c === undefined || g === undefined) throw new Error(`no customer ${customerId}`);
    return { customerId, customerGroupId: g.customerGroupId, freeOfCharge: g.freeOfCharge };
  };
  const book = (reservationId: string, unitId: string, customerId: string, start: string, end: string) =>
    engine.execute({
      type: 'RequestReservation',
      data: { reservationId, unitId, customer: customer(customerId), start, end, kind: 'normal', confirm: true },
      meta: { actor: { kind: 'customer', customerId } },
    });
  const outcomeOf = async (p: ReturnType<typeof book>) => {
    const o = await p;
    return o.ok ? o.events.map((e) => e.type) : o.error.code;
  };

  beforeAll(async () => {
    engine = await Engine.open({ store: new MemoryEventStore(), clock: () => NOW });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('loads without a refusal', async () => {
    const report = await loadCatalogue(engine, file);
    expect(report.refused).toEqual([]);
    expect(report).toEqual({ applied: total, unchanged: 0, refused: [] });
    expect(engine.partitions().sort()).toEqual(file.sites.map((s) => s.siteId).sort());
  });

  it('loads again with everything unchanged', async () => {
    expect(await loadCatalogue(engine, file)).toEqual({ applied: 0, unchanged: total, refused: [] });
  });

  it('blocks the whole hall when a section is booked, but not the other sections', async () => {
    const first = await book('res_1', 'unt_kontula_hall_a', 'cus_alice', '2027-01-11T18:00', '2027-01-11T19:00');
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    // The 2027 resident price of a section: 32 EUR an hour, 14 % VAT.
    expect(first.events.map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationPaymentRequired']);
    expect(first.events[0]?.data).toMatchObject({ price: { amountCents: 3200, vatBasisPoints: 1400, source: 'price_list' } });

    const whole = await book('res_2', 'unt_kontula_hall', 'cus_bob', '2027-01-11T18:00', '2027-01-11T20:00');
    expect(whole.ok ? 'booked' : whole.error.code).toBe('SLOT_CONFLICT');
    expect(await outcomeOf(book('res_3', 'unt_kontula_hall_b', 'cus_bob', '2027-01-11T18:00', '2027-01-11T20:00'))).toContain(
      'ReservationRequested',
    );
    // The whole hall is free again once the section booking has ended.
    expect(await outcomeOf(book('res_4', 'unt_kontula_hall', 'cus_kontula_fc_juniors', '2027-01-11T20:00', '2027-01-11T22:00'))).toEqual([
      'ReservationRequested',
      'ReservationConfirmed',
    ]);
  });

  it('keeps the cleaning buffers between sauna turns', async () => {
    const sauna = 'unt_uutela_rantasauna';
    expect(await outcomeOf(book('res_s1', sauna, 'cus_bob', '2027-01-12T17:00', '2027-01-12T18:30'))).toContain('ReservationPaymentRequired');
    // 30 minutes of cleaning after a turn; the 15 minutes before the next one may overlap them.
    expect(await outcomeOf(book('res_s2', sauna, 'cus_alice', '2027-01-12T18:30', '2027-01-12T20:00'))).toBe('SLOT_CONFLICT');
    expect(await outcomeOf(book('res_s3', sauna, 'cus_alice', '2027-01-12T19:00', '2027-01-12T20:30'))).toContain('ReservationPaymentRequired');
    expect(await outcomeOf(book('res_s4', sauna, 'cus_kaiku_choir', '2027-01-12T20:30', '2027-01-12T22:00'))).toBe('SLOT_CONFLICT');
  });

  it('books a cottage over two nights at the hourly rate', async () => {
    const o = await book('res_c1', 'unt_uutela_cottage_kuikka', 'cus_alice', '2027-01-15T14:00', '2027-01-17T12:00');
    expect(o.ok).toBe(true);
    if (o.ok) expect(o.events[0]?.data).toMatchObject({ price: { amountCents: 46 * 550, vatBasisPoints: 1400 } });
  });

  it('lets only the allowed groups book the music studio, and staff handle it', async () => {
    const studio = 'unt_itakeskus_music_studio';
    expect(await outcomeOf(book('res_m1', studio, 'cus_alice', '2027-01-13T16:00', '2027-01-13T18:00'))).toBe('CUSTOMER_GROUP_NOT_ALLOWED');
    expect(await outcomeOf(book('res_m2', studio, 'cus_kontula_fc_juniors', '2027-01-13T16:00', '2027-01-13T18:00'))).toEqual([
      'ReservationRequested',
      'ReservationHandlingRequired',
    ]);
  });

  it('books the library meeting room with its projector, free for associations, at most two at a time', async () => {
    const room = 'unt_kallio_meeting_room';
    expect(await outcomeOf(book('res_l1', room, 'cus_kaiku_choir', '2027-01-14T17:30', '2027-01-14T19:00'))).toEqual([
      'ReservationRequested',
      'ReservationConfirmed',
    ]);
    expect(await outcomeOf(book('res_l2', room, 'cus_kaiku_choir', '2027-01-21T17:30', '2027-01-21T19:00'))).toContain('ReservationConfirmed');
    expect(await outcomeOf(book('res_l3', room, 'cus_kaiku_choir', '2027-01-28T17:30', '2027-01-28T19:00'))).toBe('TOO_MANY_ACTIVE');
    expect(await outcomeOf(book('res_l4', room, 'cus_nordic_code', '2027-03-15T09:00', '2027-03-15T10:00'))).toBe('BOOKING_WINDOW');
  });
});
