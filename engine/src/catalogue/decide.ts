/**
 * Catalogue commands of a site partition. Catalogue changes are commands and
 * events like any other, decided by the partition that owns the site, so a
 * rule change and the bookings it affects are ordered in one log.
 */
import { fail, ok, type Result } from '../shared/result.js';
import type { SiteCommandOf } from '../site/commands.js';
import type { SiteEvent } from '../site/events.js';
import type { SiteState } from '../site/state.js';
import { ancestorsOf } from '../site/state.js';

type Decision = Result<SiteEvent[]>;

const needsStaff = (cmd: { meta: { actor: { kind: string } } }): Decision | undefined =>
  cmd.meta.actor.kind === 'customer'
    ? fail('FORBIDDEN', 'Only staff can change the catalogue. Ask the booking office.')
    : undefined;

const needsSite = (state: SiteState): Decision | undefined =>
  state.site === undefined ? fail('UNKNOWN_SITE', 'This site is not defined yet; define the site first.') : undefined;

export function defineSite(cmd: SiteCommandOf<'DefineSite'>, state: SiteState): Decision {
  const denied = needsStaff(cmd);
  if (denied) return denied;
  if (state.site !== undefined) {
    return fail('ALREADY_EXISTS', `Site ${state.site.siteId} is already defined.`, { field: 'site.siteId' });
  }
  return ok([{ type: 'SiteDefined', data: { site: cmd.data.site } }]);
}

function checkParent(state: SiteState, spaceId: string, parentId: string | undefined): Decision | undefined {
  if (parentId === undefined) return undefined;
  if (!state.spaces.has(parentId)) {
    return fail('UNKNOWN_SPACE', `Parent space ${parentId} does not exist in this site.`, { field: 'space.parentId' });
  }
  if (parentId === spaceId || ancestorsOf(state, parentId).includes(spaceId)) {
    return fail('INVALID_HIERARCHY', `Space ${spaceId} cannot be placed inside itself or its own sub-space.`, {
      field: 'space.parentId',
    });
  }
  return undefined;
}

export function defineSpace(cmd: SiteCommandOf<'DefineSpace'>, state: SiteState): Decision {
  const denied = needsStaff(cmd) ?? needsSite(state);
  if (denied) return denied;
  const { space } = cmd.data;
  if (state.spaces.has(space.spaceId)) {
    return fail('ALREADY_EXISTS', `Space ${space.spaceId} already exists; use UpdateSpace to change it.`, {
      field: 'space.spaceId',
    });
  }
  const bad = checkParent(state, space.spaceId, space.parentId);
  if (bad) return bad;
  return ok([{ type: 'SpaceDefined', data: { space } }]);
}

export function updateSpace(cmd: SiteCommandOf<'UpdateSpace'>, state: SiteState): Decision {
  const denied = needsStaff(cmd) ?? needsSite(state);
  if (denied) return denied;
  const { space } = cmd.data;
  if (!state.spaces.has(space.spaceId)) {
    return fail('UNKNOWN_SPACE', `Space ${space.spaceId} does not exist in this site.`, { field: 'space.spaceId' });
  }
  const bad = checkParent(state, space.spaceId, space.parentId);
  if (bad) return bad;
  return ok([{ type: 'SpaceUpdated', data: { space } }]);
}

export function defineResource(cmd: SiteCommandOf<'DefineResource'>, state: SiteState): Decision {
  const denied = needsStaff(cmd) ?? needsSite(state);
  if (denied) return denied;
  const { resource } = cmd.data;
  if (state.resources.has(resource.resourceId)) {
    return fail('ALREADY_EXISTS', `Resource ${resource.resourceId} already exists.`, { field: 'resource.resourceId' });
  }
  return ok([{ type: 'ResourceDefined', data: { resource } }]);
}

export function defineUnit(cmd: SiteCommandOf<'DefineUnit'>, state: SiteState): Decision {
  const denied = needsStaff(cmd) ?? needsSite(state);
  if (denied) return denied;
  const { unit } = cmd.data;
  if (state.units.has(unit.unitId)) {
    return fail('ALREADY_EXISTS', `Reservation unit ${unit.unitId} already exists.`, { field: 'unit.unitId' });
  }
  const missingSpace = unit.spaceIds.find((s) => !state.spaces.has(s));
  if (missingSpace !== undefined) {
    return fail('UNKNOWN_SPACE', `Space ${missingSpace} does not exist in this site; define it first.`, {
      field: 'unit.spaceIds',
    });
  }
  const missingResource = unit.resourceIds.find((r) => !state.resources.has(r));
  if (missingResource !== undefined) {
    return fail('UNKNOWN_RESOURCE', `Resource ${missingResource} does not exist in this site; define it first.`, {
      field: 'unit.resourceIds',
    });
  }
  return ok([{ type: 'UnitDefined', data: { unit } }]);
}

export function changeUnitRules(cmd: SiteCommandOf<'ChangeUnitRules'>, state: SiteState): Decision {
  const denied = needsStaff(cmd);
  if (denied) return denied;
  if (!state.units.has(cmd.data.unitId)) {
    return fail('UNKNOWN_UNIT', `Reservation unit ${cmd.data.unitId} does not exist in this site.`, { field: 'unitId' });
  }
  return ok([{ type: 'UnitRulesChanged', data: { unitId: cmd.data.unitId, rules: cmd.data.rules } }]);
}

export function setPrice(cmd: SiteCommandOf<'SetPrice'>, state: SiteState): Decision {
  const denied = needsStaff(cmd);
  if (denied) return denied;
  if (!state.units.has(cmd.data.unitId)) {
    return fail('UNKNOWN_UNIT', `Reservation unit ${cmd.data.unitId} does not exist in this site.`, { field: 'unitId' });
  }
  return ok([{ type: 'PriceSet', data: { unitId: cmd.data.unitId, price: cmd.data.price } }]);
}
