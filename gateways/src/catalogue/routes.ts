/**
 * The catalogue: sites, their spaces and resources, reservation units with
 * their rules, opening hours and prices, customer groups and customers.
 * Reading is open to every channel (a web shop lists units); changing is for
 * staff. Changes are engine commands like any other, so a rule change and the
 * bookings it affects are ordered in one log.
 */
import {
  customerGroupSchema,
  customerSchema,
  daysBetween,
  eachDate,
  formatInstant,
  holidayOn,
  newId,
  priceSchema,
  resourceSchema,
  siteSchema,
  spaceSchema,
  unitRulesSchema,
  unitSchema,
  type Engine,
  type SiteState,
  type Unit,
} from '@vuoro/engine';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actingOf } from '../auth/acting.js';
import type { ApiContext } from '../context.js';
import { runCommand } from '../http/commands.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { id, instant, localDate } from '../http/schemas.js';

const TAG = ['Catalogue'];
const READ = ['book', 'staff', 'analyst'] as const;
const COMMON = problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429);

// Output shapes: the engine's catalogue types as stored (defaults applied).
const siteOut = z.object({ siteId: z.string(), name: z.string(), address: z.string().optional() }).meta({ id: 'Site' });
const spaceOut = spaceSchema.meta({ id: 'Space' });
const resourceOut = resourceSchema.meta({ id: 'Resource' });
const unitOut = unitSchema.extend({ siteId: z.string() }).meta({ id: 'Unit' });
const groupOut = customerGroupSchema.meta({ id: 'CustomerGroup' });
const customerOut = customerSchema.meta({ id: 'Customer' });
const siteDetail = siteOut
  .extend({ spaces: z.array(spaceOut), resources: z.array(resourceOut), units: z.array(unitOut) })
  .meta({ id: 'SiteDetail' });

const openingDay = z.object({
  date: z.string(),
  open: z.array(z.object({ from: instant, to: instant })),
  closedReason: z.enum(['HOLIDAY', 'CLOSED', 'EXCEPTION']).nullable(),
  holiday: z.string().nullable().describe('The Finnish public holiday on that date, if any'),
});

const siteParams = z.object({ siteId: id }).strict();
const unitParams = z.object({ unitId: id }).strict();

const unitWithSite = (siteId: string, unit: Unit) => ({ ...unit, siteId });

function siteOf(engine: Engine, siteId: string): void {
  if (!engine.directory.read((s) => s.sites.has(siteId))) {
    throw new ApiError('UNKNOWN_SITE', `Site ${siteId} does not exist.`, { field: 'siteId' });
  }
}

async function readSite<T>(engine: Engine, siteId: string, f: (s: SiteState) => T): Promise<T> {
  siteOf(engine, siteId);
  return (await engine.site(siteId)).read(f);
}

async function readUnit(engine: Engine, unitId: string): Promise<{ siteId: string; unit: Unit }> {
  const siteId = engine.siteOfUnit(unitId);
  const unit = siteId === undefined ? undefined : (await engine.site(siteId)).read((s) => s.units.get(unitId)?.unit);
  if (siteId === undefined || unit === undefined) {
    throw new ApiError('UNKNOWN_UNIT', `Reservation unit ${unitId} does not exist.`, { field: 'unitId' });
  }
  return { siteId, unit };
}

export async function catalogueRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { engine } = ctx;
  const staffActor = (req: Parameters<typeof actingOf>[0]) => actingOf(req, engine, { staffOnly: true }).actor;

  // ---- reads

  r.get('/v1/sites', {
    schema: { tags: TAG, summary: 'List sites', response: { 200: z.object({ items: z.array(siteOut) }), ...COMMON } },
    config: { scopes: READ },
    handler: async () => ({
      items: engine.directory.read((s) => [...s.sites.values()]).sort((a, b) => (a.siteId < b.siteId ? -1 : 1)),
    }),
  });

  r.get('/v1/sites/:siteId', {
    schema: {
      tags: TAG,
      summary: 'A site with its spaces, resources and units',
      params: siteParams,
      response: { 200: siteDetail, ...COMMON },
    },
    config: { scopes: READ },
    handler: async (req) =>
      readSite(engine, req.params.siteId, (s) => {
        const site = s.site ?? engine.directory.read((d) => d.sites.get(req.params.siteId));
        if (site === undefined) throw new ApiError('UNKNOWN_SITE', `Site ${req.params.siteId} does not exist.`);
        return {
          ...site,
          spaces: [...s.spaces.values()],
          resources: [...s.resources.values()],
          units: [...s.units.values()].map((v) => unitWithSite(req.params.siteId, v.unit)),
        };
      }),
  });

  r.get('/v1/units', {
    schema: {
      tags: TAG,
      summary: 'List reservation units',
      querystring: z.object({ siteId: id.optional(), unitType: z.string().max(40).optional() }).strict(),
      response: { 200: z.object({ items: z.array(unitOut) }), ...COMMON },
    },
    config: { scopes: READ },
    handler: async (req) => {
      const sites = req.query.siteId === undefined ? engine.partitions().sort() : [req.query.siteId];
      const items: z.infer<typeof unitOut>[] = [];
      for (const siteId of sites) {
        const units = await readSite(engine, siteId, (s) => [...s.units.values()].map((v) => v.unit));
        for (const u of units) if (req.query.unitType === undefined || u.unitType === req.query.unitType) items.push(unitWithSite(siteId, u));
      }
      return { items: items.sort((a, b) => (a.unitId < b.unitId ? -1 : 1)) };
    },
  });

  r.get('/v1/units/:unitId', {
    schema: {
      tags: TAG,
      summary: 'A reservation unit with its rules, opening hours and prices',
      params: unitParams,
      response: { 200: unitOut, ...COMMON },
    },
    config: { scopes: READ },
    handler: async (req) => {
      const { siteId, unit } = await readUnit(engine, req.params.unitId);
      return unitWithSite(siteId, unit);
    },
  });

  r.get('/v1/units/:unitId/opening-hours', {
    schema: {
      tags: TAG,
      summary: 'Opening hours of a unit as real times, date by date',
      description: 'Weekly hours, exceptions, closures and Finnish public holidays resolved for each date (DST included).',
      params: unitParams,
      querystring: z.object({ from: localDate, to: localDate }).strict(),
      response: { 200: z.object({ unitId: z.string(), timeZone: z.literal('Europe/Helsinki'), days: z.array(openingDay) }), ...COMMON },
    },
    config: { scopes: READ },
    handler: async (req) => {
      const { from, to } = req.query;
      const days = daysBetween(from, to) + 1;
      if (days < 1 || days > 366) {
        throw new ApiError('VALIDATION_FAILED', 'Ask for 1 to 366 days, with `to` on or after `from`.', { field: 'to' });
      }
      const { siteId } = await readUnit(engine, req.params.unitId);
      const actor = await engine.site(siteId);
      return actor.read((s) => {
        const view = s.units.get(req.params.unitId);
        if (view === undefined) throw new ApiError('UNKNOWN_UNIT', `Reservation unit ${req.params.unitId} does not exist.`);
        return {
          unitId: req.params.unitId,
          timeZone: 'Europe/Helsinki' as const,
          days: eachDate(from, to).map((date) => ({
            date,
            open: view.calendar.openIntervalsWithinDay(date).map(([a, b]) => ({ from: formatInstant(a), to: formatInstant(b) })),
            closedReason: view.calendar.closedReason(date) ?? null,
            holiday: holidayOn(date)?.name ?? null,
          })),
        };
      });
    },
  });

  r.get('/v1/customer-groups', {
    schema: { tags: TAG, summary: 'List customer groups', response: { 200: z.object({ items: z.array(groupOut) }), ...COMMON } },
    config: { scopes: READ },
    handler: async () => ({ items: engine.directory.read((s) => [...s.groups.values()]) }),
  });

  r.get('/v1/customers/:customerId', {
    schema: { tags: TAG, summary: 'A customer (staff)', params: z.object({ customerId: id }).strict(), response: { 200: customerOut, ...COMMON } },
    config: { scopes: ['staff'] },
    handler: async (req) => {
      const c = engine.directory.read((s) => s.customers.get(req.params.customerId));
      if (c === undefined) throw new ApiError('UNKNOWN_CUSTOMER', `Customer ${req.params.customerId} is not registered.`, { field: 'customerId' });
      return c;
    },
  });

  // ---- changes (staff)

  const cmd = { scopes: ['staff'] as const, command: true };

  r.post('/v1/sites', {
    schema: {
      tags: TAG,
      summary: 'Define a site (staff)',
      body: siteSchema.partial({ siteId: true }),
      response: { 201: siteOut, ...COMMON },
    },
    config: cmd,
    handler: async (req, reply) => {
      const site = { ...req.body, siteId: req.body.siteId ?? newId('site') };
      await runCommand(ctx, req, reply, { type: 'DefineSite', data: { site }, meta: { actor: staffActor(req) } });
      reply.code(201).header('location', `/v1/sites/${site.siteId}`);
      return site;
    },
  });

  r.post('/v1/sites/:siteId/spaces', {
    schema: { tags: TAG, summary: 'Define a space (staff)', params: siteParams, body: spaceSchema.partial({ spaceId: true }), response: { 201: spaceOut, ...COMMON } },
    config: cmd,
    handler: async (req, reply) => {
      siteOf(engine, req.params.siteId);
      const space = { ...req.body, spaceId: req.body.spaceId ?? newId('space') };
      await runCommand(ctx, req, reply, { type: 'DefineSpace', data: { space }, meta: { actor: staffActor(req) } }, { siteId: req.params.siteId });
      reply.code(201);
      return space;
    },
  });

  r.put('/v1/sites/:siteId/spaces/:spaceId', {
    schema: {
      tags: TAG,
      summary: 'Change a space (staff)',
      description: 'Replaces the space’s name, parent, capacity, area and costs.',
      params: z.object({ siteId: id, spaceId: id }).strict(),
      body: spaceSchema.omit({ spaceId: true }),
      response: { 200: spaceOut, ...COMMON },
    },
    config: cmd,
    handler: async (req, reply) => {
      siteOf(engine, req.params.siteId);
      const space = { ...req.body, spaceId: req.params.spaceId };
      await runCommand(ctx, req, reply, { type: 'UpdateSpace', data: { space }, meta: { actor: staffActor(req) } }, { siteId: req.params.siteId });
      return space;
    },
  });

  r.post('/v1/sites/:siteId/resources', {
    schema: { tags: TAG, summary: 'Define a resource (staff)', params: siteParams, body: resourceSchema.partial({ resourceId: true }), response: { 201: resourceOut, ...COMMON } },
    config: cmd,
    handler: async (req, reply) => {
      siteOf(engine, req.params.siteId);
      const resource = { ...req.body, resourceId: req.body.resourceId ?? newId('resource') };
      await runCommand(ctx, req, reply, { type: 'DefineResource', data: { resource }, meta: { actor: staffActor(req) } }, { siteId: req.params.siteId });
      reply.code(201);
      return resource;
    },
  });

  r.post('/v1/sites/:siteId/units', {
    schema: {
      tags: TAG,
      summary: 'Define a reservation unit (staff)',
      description: 'Its spaces and resources must exist in the site. Rules take defaults where not given (see the schema).',
      params: siteParams,
      body: unitSchema.partial({ unitId: true }),
      response: { 201: unitOut, ...COMMON },
    },
    config: cmd,
    handler: async (req, reply) => {
      siteOf(engine, req.params.siteId);
      const unit = { ...req.body, unitId: req.body.unitId ?? newId('unit') };
      await runCommand(ctx, req, reply, { type: 'DefineUnit', data: { unit }, meta: { actor: staffActor(req) } }, { siteId: req.params.siteId });
      reply.code(201).header('location', `/v1/units/${unit.unitId}`);
      return unitWithSite(req.params.siteId, unit);
    },
  });

  r.put('/v1/units/:unitId/rules', {
    schema: {
      tags: TAG,
      summary: 'Replace a unit’s rules (staff)',
      description: 'Opening hours, start interval, durations, buffers, booking window, limits, handling, groups, holds, payment deadline, access type. Existing reservations keep what they were promised.',
      params: unitParams,
      body: unitRulesSchema,
      response: { 200: unitOut, ...COMMON },
    },
    config: cmd,
    handler: async (req, reply) => {
      await readUnit(engine, req.params.unitId);
      await runCommand(ctx, req, reply, { type: 'ChangeUnitRules', data: { unitId: req.params.unitId, rules: req.body }, meta: { actor: staffActor(req) } });
      const { siteId, unit } = await readUnit(engine, req.params.unitId);
      return unitWithSite(siteId, unit);
    },
  });

  r.post('/v1/units/:unitId/prices', {
    schema: {
      tags: TAG,
      summary: 'Set a price for a customer group from a date on (staff)',
      description: 'Gross amount in cents with its VAT rate; applies to reservations starting on or after validFrom (Helsinki). A price for the same group and date replaces the earlier one.',
      params: unitParams,
      body: priceSchema,
      response: { 200: unitOut, ...COMMON },
    },
    config: cmd,
    handler: async (req, reply) => {
      await readUnit(engine, req.params.unitId);
      const known = engine.directory.read((s) => s.groups.has(req.body.customerGroupId));
      if (!known) {
        throw new ApiError('UNKNOWN_CUSTOMER_GROUP', `Customer group ${req.body.customerGroupId} does not exist; define it first.`, {
          field: 'customerGroupId',
        });
      }
      await runCommand(ctx, req, reply, { type: 'SetPrice', data: { unitId: req.params.unitId, price: req.body }, meta: { actor: staffActor(req) } });
      const { siteId, unit } = await readUnit(engine, req.params.unitId);
      return unitWithSite(siteId, unit);
    },
  });

  r.post('/v1/customer-groups', {
    schema: { tags: TAG, summary: 'Define a customer group (staff)', body: customerGroupSchema.partial({ customerGroupId: true }), response: { 201: groupOut, ...COMMON } },
    config: cmd,
    handler: async (req, reply) => {
      const group = { ...req.body, customerGroupId: req.body.customerGroupId ?? newId('customerGroup') };
      await runCommand(ctx, req, reply, { type: 'DefineCustomerGroup', data: { group }, meta: { actor: staffActor(req) } });
      reply.code(201);
      return group;
    },
  });

  r.post('/v1/customers', {
    schema: {
      tags: TAG,
      summary: 'Register a customer (staff)',
      description: 'The customer group decides what the customer may book and at what price, so only staff register customers.',
      body: customerSchema.partial({ customerId: true }),
      response: { 201: customerOut, ...COMMON },
    },
    config: cmd,
    handler: async (req, reply) => {
      const customer = { ...req.body, customerId: req.body.customerId ?? newId('customer') };
      await runCommand(ctx, req, reply, { type: 'RegisterCustomer', data: { customer }, meta: { actor: staffActor(req) } });
      reply.code(201).header('location', `/v1/customers/${customer.customerId}`);
      return customer;
    },
  });

}
