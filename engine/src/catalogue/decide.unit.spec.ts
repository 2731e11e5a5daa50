import { describe, expect, it } from 'vitest';
import { specFor } from '../testing/given.js';
import { siteDecider } from '../site/decider.js';
import type { CommandMeta, SiteCommand } from '../site/commands.js';
import type { SiteEvent } from '../site/events.js';
import { ALICE, SITE, STAFF, UNITS, asCustomer, siteCatalogue } from '../site/fixtures.js';

const spec = specFor(siteDecider);
const meta = (actor: CommandMeta['actor'] = STAFF): CommandMeta => ({ now: Date.parse('2027-01-04T08:00:00Z'), actor });
const cmd = (type: SiteCommand['type'], data: Record<string, unknown>, m = meta()): SiteCommand => ({ type, data, meta: m }) as SiteCommand;
const siteOnly: SiteEvent[] = [{ type: 'SiteDefined', data: { site: { siteId: SITE, name: 'Sports park' } } }];

describe('the catalogue of a site', () => {
  describe('when the site is new', () => {
    it('defines the site once', () => {
      spec([]).when(cmd('DefineSite', { site: { siteId: SITE, name: 'Sports park' } })).then(siteOnly);
      spec(siteOnly).when(cmd('DefineSite', { site: { siteId: SITE, name: 'Again' } })).thenFails('ALREADY_EXISTS');
    });
    it('needs the site before its spaces', () => {
      spec([]).when(cmd('DefineSpace', { space: { spaceId: 'spc_a', name: 'A' } })).thenFails('UNKNOWN_SITE');
    });
    it('is changed by staff only', () => {
      spec([]).when(cmd('DefineSite', { site: { siteId: SITE, name: 'x' } }, meta(asCustomer(ALICE)))).thenFails('FORBIDDEN');
    });
  });

  describe('spaces', () => {
    it('nests a space under an existing parent only', () => {
      spec(siteOnly).when(cmd('DefineSpace', { space: { spaceId: 'spc_a', parentId: 'spc_missing', name: 'A' } })).thenFails('UNKNOWN_SPACE');
      spec(siteCatalogue).when(cmd('DefineSpace', { space: { spaceId: 'spc_hall_d', parentId: 'spc_hall', name: 'Hall D' } })).then((e) => expect(e).toHaveLength(1));
      spec(siteCatalogue).when(cmd('DefineSpace', { space: { spaceId: 'spc_hall', name: 'dup' } })).thenFails('ALREADY_EXISTS');
    });
    it('refuses a cycle in the hierarchy', () => {
      spec(siteCatalogue).when(cmd('UpdateSpace', { space: { spaceId: 'spc_hall', parentId: 'spc_hall_a', name: 'Hall' } })).thenFails('INVALID_HIERARCHY');
      spec(siteCatalogue).when(cmd('UpdateSpace', { space: { spaceId: 'spc_hall', parentId: 'spc_hall', name: 'Hall' } })).thenFails('INVALID_HIERARCHY');
      spec(siteCatalogue).when(cmd('UpdateSpace', { space: { spaceId: 'spc_nope', name: 'x' } })).thenFails('UNKNOWN_SPACE');
    });
    it('a space added under the hall is blocked by a whole-hall booking', () => {
      const state = spec(siteCatalogue).when(cmd('DefineSpace', { space: { spaceId: 'spc_hall_d', parentId: 'spc_hall', name: 'Hall D' } })).state();
      expect(state.units.get('unt_hall')?.checkKeys).toContain('spc_hall_d');
    });
  });

  describe('units', () => {
    it('needs its spaces and resources to exist', () => {
      const unit = { ...UNITS.hallA, unitId: 'unt_new', spaceIds: ['spc_nope'] };
      spec(siteCatalogue).when(cmd('DefineUnit', { unit })).thenFails('UNKNOWN_SPACE');
      spec(siteCatalogue).when(cmd('DefineUnit', { unit: { ...UNITS.hallA, unitId: 'unt_new', resourceIds: ['rsc_nope'] } })).thenFails('UNKNOWN_RESOURCE');
      spec(siteCatalogue).when(cmd('DefineUnit', { unit: UNITS.hallA })).thenFails('ALREADY_EXISTS');
    });
    it('changes rules and prices of an existing unit only', () => {
      spec(siteCatalogue).when(cmd('ChangeUnitRules', { unitId: 'unt_nope', rules: UNITS.hallA.rules })).thenFails('UNKNOWN_UNIT');
      const price = { customerGroupId: 'grp_residents', validFrom: '2027-01-01', basis: 'per_hour', amountCents: 1500, vatBasisPoints: 1400 };
      spec(siteCatalogue).when(cmd('SetPrice', { unitId: 'unt_nope', price })).thenFails('UNKNOWN_UNIT');
      const state = spec(siteCatalogue).when(cmd('SetPrice', { unitId: 'unt_hall_a', price })).state();
      expect(state.units.get('unt_hall_a')?.unit.prices).toEqual([price]);
    });
    it('a new rule applies to the next booking', () => {
      const rules = { ...UNITS.hallA.rules, minDurationMinutes: 120 };
      const state = spec(siteCatalogue).when(cmd('ChangeUnitRules', { unitId: 'unt_hall_a', rules })).state();
      const r = siteDecider.decide(
        { type: 'RequestReservation', data: { reservationId: 'res_1', unitId: 'unt_hall_a', customer: ALICE, start: '2027-01-11T18:00', end: '2027-01-11T19:00', kind: 'normal', confirm: true }, meta: meta(asCustomer(ALICE)) },
        state,
      );
      expect(r.ok ? 'ok' : r.error.code).toBe('DURATION_OUT_OF_RANGE');
    });
  });
});
